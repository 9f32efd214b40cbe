//! Messaging windows (DESIGN.md §6): how long after the customer's last
//! message the business may write free-form. Which rule a channel has is
//! the channel adapter's capability ([`crate::capabilities`]); this module
//! only applies a rule.

use crate::time::Millis;

pub const HOUR_MS: i64 = 60 * 60 * 1000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// A channel's messaging window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct WindowRule {
    /// Free-form messages are allowed this long after the customer's last
    /// message; `None`: the channel has no window.
    pub free_form_ms: Option<i64>,
    /// After the free-form period, a tagged message may still go out until
    /// this long after the customer's last message (Messenger's
    /// `HUMAN_AGENT` tag: 7 days).
    pub extension: Option<WindowExtension>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct WindowExtension {
    /// The provider's name for the tag that allows it.
    pub tag: &'static str,
    pub until_ms: i64,
}

impl WindowRule {
    /// No window: the business may always write.
    pub const NONE: WindowRule = WindowRule {
        free_form_ms: None,
        extension: None,
    };

    pub const fn free_form(ms: i64) -> WindowRule {
        WindowRule {
            free_form_ms: Some(ms),
            extension: None,
        }
    }

    pub const fn with_extension(self, tag: &'static str, until_ms: i64) -> WindowRule {
        WindowRule {
            free_form_ms: self.free_form_ms,
            extension: Some(WindowExtension { tag, until_ms }),
        }
    }

    /// Whether the channel has a window at all.
    pub const fn applies(&self) -> bool {
        self.free_form_ms.is_some()
    }

    /// Whether a free-form message (or a reopen) is allowed now.
    pub fn open(&self, last_customer_message_at: Option<Millis>, now: Millis) -> bool {
        match self.free_form_ms {
            None => true,
            Some(window) => last_customer_message_at.is_some_and(|last| now.since(last) < window),
        }
    }

    /// Whether a message with the extension's tag may go out now (the
    /// free-form period is over but the extension is not).
    pub fn extension_open(&self, last_customer_message_at: Option<Millis>, now: Millis) -> bool {
        match self.extension {
            None => false,
            Some(ext) => last_customer_message_at.is_some_and(|last| now.since(last) < ext.until_ms),
        }
    }
}

/// Whether a free-form message (or a reopen) is allowed now under `rule`.
pub fn window_open(rule: &WindowRule, last_customer_message_at: Option<Millis>, now: Millis) -> bool {
    rule.open(last_customer_message_at, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_24_hour_window_closes_after_24_hours() {
        let rule = WindowRule::free_form(DAY_MS);
        let last = Some(Millis(0));
        assert!(window_open(&rule, last, Millis(24 * HOUR_MS - 1)));
        assert!(!window_open(&rule, last, Millis(24 * HOUR_MS)));
        assert!(!window_open(&rule, None, Millis(0)));
        assert!(window_open(&WindowRule::NONE, None, Millis(i64::MAX)));
    }

    #[test]
    fn the_extension_runs_past_the_free_form_period() {
        let rule = WindowRule::free_form(DAY_MS).with_extension("HUMAN_AGENT", 7 * DAY_MS);
        let last = Some(Millis(0));
        assert!(!rule.open(last, Millis(2 * DAY_MS)));
        assert!(rule.extension_open(last, Millis(2 * DAY_MS)));
        assert!(!rule.extension_open(last, Millis(7 * DAY_MS)));
        assert!(!WindowRule::free_form(DAY_MS).extension_open(last, Millis(1)));
    }
}

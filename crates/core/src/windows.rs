//! Messaging windows (DESIGN.md §6): how long after the customer's last
//! message the business may write free-form on each channel.

use crate::model::ChannelKind;
use crate::time::Millis;

const HOUR_MS: i64 = 60 * 60 * 1000;

/// The free-form window of a channel kind, if it has one.
pub const fn free_form_window_ms(kind: ChannelKind) -> Option<i64> {
    match kind {
        ChannelKind::Whatsapp | ChannelKind::Messenger | ChannelKind::Instagram => Some(24 * HOUR_MS),
        _ => None,
    }
}

/// Whether a free-form message (or a reopen) is allowed now.
pub fn window_open(kind: ChannelKind, last_customer_message_at: Option<Millis>, now: Millis) -> bool {
    match free_form_window_ms(kind) {
        None => true,
        Some(window) => last_customer_message_at.is_some_and(|last| now.since(last) < window),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatsapp_window_closes_after_24_hours() {
        let last = Some(Millis(0));
        assert!(window_open(ChannelKind::Whatsapp, last, Millis(24 * HOUR_MS - 1)));
        assert!(!window_open(ChannelKind::Whatsapp, last, Millis(24 * HOUR_MS)));
        assert!(!window_open(ChannelKind::Whatsapp, None, Millis(0)));
        assert!(window_open(ChannelKind::Api, None, Millis(i64::MAX)));
    }
}

//! How values read on a page: times, waiting times, channel badges and
//! status names. Plain strings; the templates escape them. Activity
//! sentences and ISO times are `switchboard_core::transcript`'s.

use chrono::{DateTime, Utc};
use switchboard_core::{ChannelKind, ConversationStatus, Millis};

/// A readable UTC time, the text inside `<time>` before the script localises it.
pub fn clock(at: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(at.0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// "3 min", "2 h 5 min", "4 d".
pub fn duration(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    match minutes {
        0 => "<1 min".into(),
        1..=59 => format!("{minutes} min"),
        60..=1439 if minutes % 60 == 0 => format!("{} h", minutes / 60),
        60..=1439 => format!("{} h {} min", minutes / 60, minutes % 60),
        _ => format!("{} d", minutes / 1440),
    }
}

/// A short badge and a full name for a channel kind.
pub fn channel_badge(kind: Option<ChannelKind>) -> (&'static str, &'static str) {
    match kind.map(switchboard_service::standard_capabilities) {
        Some(caps) => (caps.badge, caps.label),
        None => ("?", "Deleted channel"),
    }
}

pub fn status_label(status: ConversationStatus) -> &'static str {
    match status {
        ConversationStatus::Bot => "Bot",
        ConversationStatus::Queued => "Waiting",
        ConversationStatus::Assigned => "Assigned",
        ConversationStatus::Resolved => "Resolved",
        ConversationStatus::Abandoned => "Abandoned",
        ConversationStatus::Expired => "Expired",
        ConversationStatus::Pending => "Pending",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(30_000), "<1 min");
        assert_eq!(duration(5 * 60_000), "5 min");
        assert_eq!(duration(125 * 60_000), "2 h 5 min");
        assert_eq!(duration(120 * 60_000), "2 h");
        assert_eq!(duration(3 * 86_400_000), "3 d");
    }
}

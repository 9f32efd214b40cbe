//! The figures of DESIGN.md §8, defined once for the pages, the API and
//! every export: durations in milliseconds from a conversation's times.

use crate::hours::BusinessHours;
use crate::model::ConversationTimes;
use crate::time::Millis;

/// `first_reply_at − created_at`.
pub fn response_time(t: &ConversationTimes) -> Option<i64> {
    t.first_reply_at.map(|r| r.since(t.created_at))
}

/// First reply after the latest assignment − `assigned_at`.
pub fn response_time_after_assignment(t: &ConversationTimes) -> Option<i64> {
    match (t.first_reply_after_assignment_at, t.assigned_at) {
        (Some(r), Some(a)) if r >= a => Some(r.since(a)),
        _ => None,
    }
}

/// (`closed_at` or now) − `created_at`.
pub fn duration(t: &ConversationTimes, now: Millis) -> i64 {
    t.closed_at.unwrap_or(now).since(t.created_at)
}

/// now − `last_message_at` (or `created_at` before any message).
pub fn inactivity(t: &ConversationTimes, now: Millis) -> i64 {
    now.since(t.last_message_at.unwrap_or(t.created_at))
}

/// The first response counted in business hours only (calendar time
/// when the workspace keeps no schedule).
pub fn response_time_business(t: &ConversationTimes, hours: Option<&BusinessHours>) -> Option<i64> {
    let reply = t.first_reply_at?;
    Some(match hours {
        Some(h) => h.open_ms_between(t.created_at, reply),
        None => reply.since(t.created_at),
    })
}

/// Time with the bot: `handed_off_at − created_at`, for chats the bot had.
pub fn bot_time(t: &ConversationTimes) -> Option<i64> {
    t.handed_off_at.map(|h| h.since(t.created_at))
}

/// Whose turn it is: `"agent"` when the customer wrote last and waits,
/// `"customer"` when the business wrote last; `None` before any message.
pub fn awaiting(t: &ConversationTimes) -> Option<&'static str> {
    let last = t.last_message_at?;
    Some(if t.last_customer_message_at == Some(last) {
        "agent"
    } else {
        "customer"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times() -> ConversationTimes {
        ConversationTimes {
            created_at: Millis(1_000),
            assigned_at: Some(Millis(5_000)),
            first_assigned_at: Some(Millis(2_000)),
            first_reply_at: Some(Millis(3_000)),
            first_reply_after_assignment_at: Some(Millis(9_000)),
            last_customer_message_at: Some(Millis(8_000)),
            last_message_at: Some(Millis(9_000)),
            closed_at: None,
            queued_at: None,
            feedback_requested_at: None,
            window_closed_at: None,
            handed_off_at: None,
            messages_in: 0,
            messages_out: 0,
            started_by: None,
        }
    }

    #[test]
    fn figures_follow_their_definitions() {
        let t = times();
        assert_eq!(response_time(&t), Some(2_000));
        assert_eq!(response_time_after_assignment(&t), Some(4_000));
        assert_eq!(duration(&t, Millis(20_000)), 19_000);
        assert_eq!(inactivity(&t, Millis(20_000)), 11_000);
        let closed = ConversationTimes {
            closed_at: Some(Millis(10_000)),
            first_reply_after_assignment_at: None,
            ..t
        };
        assert_eq!(duration(&closed, Millis(20_000)), 9_000);
        assert_eq!(response_time_after_assignment(&closed), None);
    }
}

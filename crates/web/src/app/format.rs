//! How values read on a page: times, waiting times, channel badges,
//! activity lines. Plain strings; the templates escape them.

use chrono::{DateTime, Utc};
use switchboard_core::{Activity, ChannelKind, ConversationStatus, Millis};
use switchboard_service::Names;

/// ISO-8601 in UTC, for `<time datetime>` (the browser shows local time).
pub fn iso(at: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(at.0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

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
    match kind {
        Some(ChannelKind::Whatsapp) => ("WA", "WhatsApp"),
        Some(ChannelKind::Web) => ("Web", "Web chat"),
        Some(ChannelKind::Messenger) => ("FB", "Messenger"),
        Some(ChannelKind::Instagram) => ("IG", "Instagram"),
        Some(ChannelKind::Telegram) => ("TG", "Telegram"),
        Some(ChannelKind::Sms) => ("SMS", "SMS"),
        Some(ChannelKind::Email) => ("@", "E-mail"),
        Some(ChannelKind::Vk) => ("VK", "VK"),
        Some(ChannelKind::X) => ("X", "X"),
        Some(ChannelKind::Api) => ("API", "API"),
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

fn by(names: &Names, who: Option<switchboard_core::UserId>) -> String {
    who.map_or_else(|| "Switchboard".to_owned(), |u| names.user(u))
}

fn with_comment(line: String, comment: &Option<String>) -> String {
    match comment.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => format!("{line}: “{c}”"),
        None => line,
    }
}

/// One activity as a sentence.
pub fn activity(a: &Activity, names: &Names) -> String {
    match a {
        Activity::Opened {
            status,
            team_id,
            ticket,
            ..
        } => {
            let team = team_id.map(|t| format!(" for {}", names.team(t))).unwrap_or_default();
            let ticket = if *ticket { " as a ticket" } else { "" };
            format!(
                "Conversation opened{team}{ticket} ({})",
                status_label(*status).to_lowercase()
            )
        }
        Activity::Assigned { by: who, to_user, .. } => match who {
            Some(w) if w == to_user => format!("{} took the chat", names.user(*to_user)),
            _ => format!("{} assigned the chat to {}", by(names, *who), names.user(*to_user)),
        },
        Activity::Transferred {
            by: who,
            from_user,
            from_team,
            to_user,
            to_team,
            comment,
        } => {
            let side = |u: &Option<switchboard_core::UserId>, t: &Option<switchboard_core::TeamId>| match (u, t) {
                (Some(u), Some(t)) => format!("{} ({})", names.user(*u), names.team(*t)),
                (Some(u), None) => names.user(*u),
                (None, Some(t)) => names.team(*t),
                (None, None) => "nobody".into(),
            };
            with_comment(
                format!(
                    "{} transferred the chat from {} to {}",
                    by(names, *who),
                    side(from_user, from_team),
                    side(to_user, to_team)
                ),
                comment,
            )
        }
        Activity::Unassigned { by: who, from_user } => {
            format!(
                "{} put the chat back in the queue (was {})",
                by(names, *who),
                names.user(*from_user)
            )
        }
        Activity::StatusChanged {
            by: who,
            from,
            to,
            comment,
        } => with_comment(
            format!(
                "{} changed the status from {} to {}",
                by(names, *who),
                status_label(*from),
                status_label(*to)
            ),
            comment,
        ),
        Activity::Reopened { by: who, .. } => format!("{} reopened the chat", by(names, *who)),
        Activity::PriorityChanged { by: who, to, .. } => {
            format!("{} marked the chat {}", by(names, *who), to.as_str())
        }
        Activity::TagsChanged {
            by: who,
            added,
            removed,
        } => {
            let mut parts = Vec::new();
            if !added.is_empty() {
                parts.push(format!("added {}", added.join(", ")));
            }
            if !removed.is_empty() {
                parts.push(format!("removed {}", removed.join(", ")));
            }
            format!("{} {} (tags)", by(names, *who), parts.join(" and "))
        }
        Activity::Snoozed { by: who, until } => format!("{} snoozed the chat until {}", by(names, *who), clock(*until)),
        Activity::Woke { customer_wrote, .. } => {
            if *customer_wrote {
                "The customer wrote; the chat woke up".into()
            } else {
                "The chat woke up".into()
            }
        }
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

    #[test]
    fn transfer_lines_name_both_sides_and_the_comment() {
        let mut names = Names::default();
        let (alice, billing) = (switchboard_core::UserId::new(), switchboard_core::TeamId::new());
        names.users.insert(alice, "Alice".into());
        names.teams.insert(billing, "Billing".into());
        let line = activity(
            &Activity::Transferred {
                by: Some(alice),
                from_user: Some(alice),
                from_team: None,
                to_user: None,
                to_team: Some(billing),
                comment: Some("needs a refund".into()),
            },
            &names,
        );
        assert_eq!(
            line,
            "Alice transferred the chat from Alice to Billing: “needs a refund”"
        );
    }
}

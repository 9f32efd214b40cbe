//! A conversation as plain text, for download: a header (contact, channel,
//! status, times), then one entry per message in time order:
//!
//! ```text
//! [2026-01-05 09:00:00 UTC] Carla Customer: Hello, where is my order?
//! [2026-01-05 09:01:10 UTC] Assigned to Ana Agent (team Support) by Ada Admin.
//! [2026-01-05 09:02:00 UTC] Ana Agent (private note): checking the warehouse
//! ```
//!
//! Only formatting lives here (no I/O): the service fetches the records and
//! the names. Every entry starts a line with its time; text that spans lines
//! continues on lines indented by four spaces, so a message can never pass
//! itself off as another entry.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::ids::{ConversationId, TeamId, UserId};
use crate::model::{
    Activity, ChannelKind, Conversation, ConversationStatus, DeliveryStatus, MessageKind, MessageView, Priority,
    SenderKind,
};
use crate::time::Millis;

/// What the header says about the conversation besides its own fields.
#[derive(Debug, Clone)]
pub struct TranscriptHeader<'a> {
    pub conversation: &'a Conversation,
    /// The contact's name (or another way to call them); "Customer" if none.
    pub contact_name: Option<&'a str>,
    pub channel_name: &'a str,
    pub channel_kind: ChannelKind,
}

/// Names of the people and teams a transcript mentions.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub users: HashMap<UserId, String>,
    pub teams: HashMap<TeamId, String>,
}

impl Names {
    pub fn user(&self, id: UserId) -> String {
        self.users
            .get(&id)
            .map_or_else(|| "a former member".to_owned(), |n| single_line(n))
    }

    fn team(&self, id: TeamId) -> String {
        self.teams
            .get(&id)
            .map_or_else(|| "team (deleted)".to_owned(), |n| format!("team {}", single_line(n)))
    }

    /// "Ana Agent (team Support)", "Ana Agent", "team Support", or `none`.
    fn party(&self, user: Option<UserId>, team: Option<TeamId>, none: &str) -> String {
        match (user, team) {
            (Some(u), Some(t)) => format!("{} ({})", self.user(u), self.team(t)),
            (Some(u), None) => self.user(u),
            (None, Some(t)) => self.team(t),
            (None, None) => none.to_owned(),
        }
    }

    fn by(&self, by: Option<UserId>) -> String {
        by.map(|u| format!(" by {}", self.user(u))).unwrap_or_default()
    }
}

/// The file name a transcript is downloaded as.
pub fn filename(id: ConversationId) -> String {
    format!("conversation-{id}.txt")
}

/// `2026-01-05T09:00:00Z` (ISO 8601, UTC).
pub fn iso_utc(at: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(at.0)
        .map_or_else(|| at.0.to_string(), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// `2026-01-05 09:00:00 UTC`.
pub fn stamp_utc(at: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(at.0)
        .map_or_else(|| at.0.to_string(), |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

/// `512 bytes`, `12.5 KB`, `3 MB`.
fn size(bytes: i64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes.max(0) as f64;
    let (value, unit) = if b < KB {
        return format!("{bytes} bytes");
    } else if b < KB * KB {
        (b / KB, "KB")
    } else {
        (b / KB / KB, "MB")
    };
    let text = format!("{value:.1}");
    format!("{} {unit}", text.strip_suffix(".0").unwrap_or(&text))
}

/// A name or label on one line: line breaks and control characters become spaces.
fn single_line(s: &str) -> String {
    let cleaned: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    cleaned.trim().to_owned()
}

/// Text as entry content: control characters other than line breaks and
/// tabs dropped, `\r\n` read as one break, later lines indented.
fn block(s: &str) -> String {
    let normalized = s.replace("\r\n", "\n").replace('\r', "\n");
    let cleaned: String = normalized
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    cleaned.trim_end().replace('\n', "\n    ")
}

fn status_word(s: ConversationStatus) -> &'static str {
    s.as_str()
}

fn priority_word(p: Priority) -> &'static str {
    p.as_str()
}

fn with_comment(sentence: String, comment: Option<&str>) -> String {
    match comment.map(block).filter(|c| !c.is_empty()) {
        Some(c) => format!("{sentence} Comment: {c}"),
        None => sentence,
    }
}

/// An activity as a sentence.
pub fn activity_sentence(activity: &Activity, names: &Names) -> String {
    match activity {
        Activity::Opened {
            status,
            team_id,
            assignee_id,
            ticket,
        } => {
            let place = match status {
                ConversationStatus::Bot => " with the bot".to_owned(),
                ConversationStatus::Assigned => {
                    format!(", assigned to {}", names.party(*assignee_id, *team_id, "nobody"))
                }
                ConversationStatus::Queued => match team_id {
                    Some(t) => format!(" in the queue of {}", names.team(*t)),
                    None => " in the queue".to_owned(),
                },
                other => format!(" as {}", status_word(*other)),
            };
            let ticket = if *ticket { " as a ticket" } else { "" };
            format!("Conversation opened{place}{ticket}.")
        }
        Activity::Assigned { by, to_user, team_id } => {
            format!(
                "Assigned to {}{}.",
                names.party(Some(*to_user), *team_id, ""),
                names.by(*by)
            )
        }
        Activity::Transferred {
            by,
            from_user,
            from_team,
            to_user,
            to_team,
            comment,
        } => with_comment(
            format!(
                "Transferred from {} to {}{}.",
                names.party(*from_user, *from_team, "the queue"),
                names.party(*to_user, *to_team, "the queue"),
                names.by(*by)
            ),
            comment.as_deref(),
        ),
        Activity::Unassigned { by, from_user } => {
            format!(
                "Unassigned from {}{}; back in the queue.",
                names.user(*from_user),
                names.by(*by)
            )
        }
        Activity::StatusChanged { by, from, to, comment } => with_comment(
            format!(
                "Status changed from {} to {}{}.",
                status_word(*from),
                status_word(*to),
                names.by(*by)
            ),
            comment.as_deref(),
        ),
        Activity::Reopened { by, from, to } => format!(
            "Reopened{} (status {} to {}).",
            names.by(*by),
            status_word(*from),
            status_word(*to)
        ),
        Activity::PriorityChanged { by, from, to } => format!(
            "Priority changed from {} to {}{}.",
            priority_word(*from),
            priority_word(*to),
            names.by(*by)
        ),
        Activity::TagsChanged { by, added, removed } => {
            let list = |tags: &[String]| tags.iter().map(|t| single_line(t)).collect::<Vec<_>>().join(", ");
            let mut parts = Vec::new();
            if !added.is_empty() {
                parts.push(format!("added {}", list(added)));
            }
            if !removed.is_empty() {
                parts.push(format!("removed {}", list(removed)));
            }
            let what = if parts.is_empty() {
                "no change".to_owned()
            } else {
                parts.join("; ")
            };
            format!("Tags changed{}: {what}.", names.by(*by))
        }
        Activity::Snoozed { by, until } => format!("Snoozed until {}{}.", stamp_utc(*until), names.by(*by)),
        Activity::Woke { by, customer_wrote } => match (by, customer_wrote) {
            (_, true) => "Woke up: the customer wrote.".to_owned(),
            (Some(u), false) => format!("Woken up by {}.", names.user(*u)),
            (None, false) => "Snooze ended.".to_owned(),
        },
        Activity::Notice { text } => text.clone(),
    }
}

/// Who wrote a message, as the transcript names them.
pub fn sender(view: &MessageView, contact: &str, names: &Names) -> String {
    let m = &view.message;
    match m.sender_kind {
        SenderKind::Contact => contact.to_owned(),
        SenderKind::Bot => "Bot".to_owned(),
        SenderKind::System if m.sender_id.as_deref() == Some(crate::SENT_OUTSIDE) => {
            "Sent outside Switchboard".to_owned()
        }
        SenderKind::System => "System".to_owned(),
        SenderKind::User => match m.sender_id.as_deref().and_then(|s| s.parse::<UserId>().ok()) {
            Some(u) => names.user(u),
            None => "Agent".to_owned(),
        },
    }
}

/// The header block (ends with a blank line).
pub fn write_header(out: &mut String, header: &TranscriptHeader<'_>, names: &Names) {
    let c = header.conversation;
    let contact = contact_label(header.contact_name);
    let _ = writeln!(out, "Conversation {}", c.id);
    let _ = writeln!(out, "Contact: {contact}");
    let _ = writeln!(
        out,
        "Channel: {} ({})",
        single_line(header.channel_name),
        header.channel_kind
    );
    let _ = writeln!(out, "Status: {}", c.status);
    if let Some(user) = c.assignee_id {
        let _ = writeln!(out, "Assignee: {}", names.user(user));
    }
    if let Some(team) = c.team_id {
        let name = names
            .teams
            .get(&team)
            .map_or_else(|| "(deleted)".to_owned(), |n| single_line(n));
        let _ = writeln!(out, "Team: {name}");
    }
    if c.priority != Priority::Normal {
        let _ = writeln!(out, "Priority: {}", c.priority);
    }
    if !c.tags.is_empty() {
        let tags: Vec<String> = c.tags.iter().map(|t| single_line(t)).collect();
        let _ = writeln!(out, "Tags: {}", tags.join(", "));
    }
    let _ = writeln!(out, "Created: {}", iso_utc(c.times.created_at));
    match c.times.closed_at {
        Some(at) => {
            let _ = writeln!(out, "Closed: {}", iso_utc(at));
        }
        None => {
            let _ = writeln!(out, "Closed: not closed");
        }
    }
    out.push('\n');
}

fn contact_label(name: Option<&str>) -> String {
    name.map(single_line)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Customer".to_owned())
}

/// One entry (ends with a line break).
pub fn write_message(out: &mut String, view: &MessageView, contact_name: Option<&str>, names: &Names) {
    let m = &view.message;
    let at = stamp_utc(m.created_at);
    if m.kind == MessageKind::Activity {
        let sentence = m
            .activity
            .as_ref()
            .map_or_else(|| "(activity)".to_owned(), |a| activity_sentence(a, names));
        let _ = writeln!(out, "[{at}] {sentence}");
        return;
    }
    let who = sender(view, &contact_label(contact_name), names);
    let marker = match m.kind {
        MessageKind::Note => " (private note)",
        MessageKind::Comment => " (comment)",
        MessageKind::Template => " (template)",
        _ => "",
    };
    let mut parts: Vec<String> = view
        .attachments
        .iter()
        .map(|a| {
            // The type without parameters: `text/plain`, not `text/plain; charset=utf-8`.
            let mime = a.mime.split(';').next().unwrap_or_default().trim();
            format!("[file: {}, {mime}, {}]", single_line(&a.filename), size(a.size))
        })
        .collect();
    if let Some(text) = m.body.as_deref().map(block).filter(|t| !t.is_empty()) {
        parts.push(text);
    }
    if parts.is_empty() {
        parts.push("(no text)".to_owned());
    }
    let mut line = format!("[{at}] {who}{marker}: {}", parts.join(" "));
    if !m.buttons.is_empty() {
        let buttons: Vec<String> = m.buttons.iter().map(|b| single_line(b)).collect();
        let _ = write!(line, "\n    Options: {}", buttons.join(" | "));
    }
    match m.delivery_status {
        Some(DeliveryStatus::Failed) => {
            let why = m.delivery_error.as_deref().map(single_line).unwrap_or_default();
            if why.is_empty() {
                line.push_str("\n    (not delivered)");
            } else {
                let _ = write!(line, "\n    (not delivered: {why})");
            }
        }
        Some(DeliveryStatus::Scheduled) => {
            if let Some(at) = m.send_at {
                let _ = write!(line, "\n    (scheduled for {})", stamp_utc(at));
            }
        }
        Some(DeliveryStatus::Cancelled) => line.push_str("\n    (cancelled; never sent)"),
        _ => {}
    }
    out.push_str(&line);
    out.push('\n');
}

/// Every user a transcript of these messages names: the assignee, writers,
/// and the people in activities (to look up names the members list lacks).
pub fn mentioned_users(conversation: &Conversation, messages: &[MessageView]) -> Vec<UserId> {
    let mut ids: Vec<UserId> = conversation.assignee_id.into_iter().collect();
    for view in messages {
        let m = &view.message;
        if m.sender_kind == SenderKind::User
            && let Some(id) = m.sender_id.as_deref().and_then(|s| s.parse().ok())
        {
            ids.push(id);
        }
        match &m.activity {
            Some(Activity::Opened { assignee_id, .. }) => ids.extend(*assignee_id),
            Some(Activity::Assigned { by, to_user, .. }) => ids.extend(by.iter().chain([to_user])),
            Some(Activity::Transferred {
                by, from_user, to_user, ..
            }) => ids.extend([by, from_user, to_user].into_iter().flatten()),
            Some(Activity::Unassigned { by, from_user }) => ids.extend(by.iter().chain([from_user])),
            Some(
                Activity::StatusChanged { by, .. }
                | Activity::Reopened { by, .. }
                | Activity::PriorityChanged { by, .. }
                | Activity::TagsChanged { by, .. }
                | Activity::Snoozed { by, .. }
                | Activity::Woke { by, .. },
            ) => ids.extend(*by),
            Some(Activity::Notice { .. }) | None => {}
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The whole transcript: the header, then every message in the order given.
pub fn transcript(header: &TranscriptHeader<'_>, names: &Names, messages: &[MessageView]) -> String {
    let mut out = String::new();
    write_header(&mut out, header, names);
    for view in messages {
        write_message(&mut out, view, header.contact_name, names);
    }
    out
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::ids::{AttachmentId, ChannelId, ContactId, MessageId, WorkspaceId};
    use crate::model::{Attachment, AttachmentKind, ConversationTimes, Direction, Message};

    /// 2026-01-05 09:00:00 UTC.
    const T0: i64 = 1_767_603_600_000;

    fn uid(n: u128) -> UserId {
        UserId(Uuid::from_u128(n))
    }
    fn tid(n: u128) -> TeamId {
        TeamId(Uuid::from_u128(1000 + n))
    }

    fn names() -> Names {
        Names {
            users: HashMap::from([
                (uid(1), "Ana Agent".to_owned()),
                (uid(2), "Bob Agent".to_owned()),
                (uid(3), "Ada Admin".to_owned()),
            ]),
            teams: HashMap::from([(tid(1), "Support".to_owned()), (tid(2), "Sales".to_owned())]),
        }
    }

    fn conversation() -> Conversation {
        Conversation {
            id: ConversationId(Uuid::from_u128(77)),
            workspace_id: WorkspaceId(Uuid::from_u128(9)),
            channel_id: ChannelId(Uuid::from_u128(8)),
            contact_id: ContactId(Uuid::from_u128(7)),
            team_id: Some(tid(1)),
            assignee_id: Some(uid(2)),
            status: ConversationStatus::Resolved,
            priority: Priority::Critical,
            ticket: false,
            tags: vec!["vip".into()],
            close_comment: Some("solved".into()),
            close_reason: None,
            rating: None,
            times: ConversationTimes {
                created_at: Millis(T0),
                closed_at: Some(Millis(T0 + 3_600_000 + 5_000)),
                ..ConversationTimes::default()
            },
            snoozed_until: None,
            updated_at: Millis(T0),
        }
    }

    fn message(
        secs: i64,
        sender_kind: SenderKind,
        sender: Option<UserId>,
        kind: MessageKind,
        body: &str,
    ) -> MessageView {
        MessageView {
            message: Message {
                html: None,
                subject: None,
                id: MessageId::new(),
                workspace_id: WorkspaceId(Uuid::from_u128(9)),
                conversation_id: ConversationId(Uuid::from_u128(77)),
                direction: if sender_kind == SenderKind::Contact {
                    Direction::In
                } else {
                    Direction::Out
                },
                sender_kind,
                sender_id: sender.map(|u| u.to_string()),
                kind,
                body: (!body.is_empty()).then(|| body.to_owned()),
                activity: None,
                in_reply_to: None,
                provider_message_id: None,
                delivery_status: None,
                delivery_error: None,
                created_at: Millis(T0 + secs * 1000),
                send_at: None,
                buttons: Vec::new(),
                template: None,
                edited_at: None,
            },
            attachments: Vec::new(),
        }
    }

    fn activity(secs: i64, a: Activity) -> MessageView {
        let mut v = message(secs, SenderKind::System, None, MessageKind::Activity, "");
        v.message.activity = Some(a);
        v
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(iso_utc(Millis(T0)), "2026-01-05T09:00:00Z");
        assert_eq!(stamp_utc(Millis(T0 + 61_999)), "2026-01-05 09:01:01 UTC");
        assert_eq!(
            filename(ConversationId(Uuid::from_u128(77))),
            format!("conversation-{}.txt", Uuid::from_u128(77))
        );
        assert_eq!(
            (size(512), size(12_800), size(3 * 1024 * 1024)),
            ("512 bytes".into(), "12.5 KB".into(), "3 MB".into())
        );
    }

    #[test]
    fn a_whole_conversation_reads_in_order() {
        let c = conversation();
        let header = TranscriptHeader {
            conversation: &c,
            contact_name: Some("Carla Customer"),
            channel_name: "Shop",
            channel_kind: ChannelKind::Api,
        };
        let mut file = message(30, SenderKind::Contact, None, MessageKind::Media, "the receipt");
        file.message.delivery_status = None;
        file.attachments.push(Attachment {
            id: AttachmentId::new(),
            workspace_id: c.workspace_id,
            conversation_id: Some(c.id),
            message_id: Some(file.message.id),
            kind: AttachmentKind::Image,
            mime: "image/png; name=receipt".into(),
            filename: "receipt.png".into(),
            size: 2048,
            sha256: String::new(),
            width: None,
            height: None,
            created_at: Millis(T0),
            url: String::new(),
            preview_url: None,
        });
        let mut bot = message(2, SenderKind::Bot, None, MessageKind::Text, "How can we help?");
        bot.message.buttons = vec!["Orders".into(), "Billing".into()];
        let messages = vec![
            activity(
                0,
                Activity::Opened {
                    status: ConversationStatus::Queued,
                    team_id: Some(tid(1)),
                    assignee_id: None,
                    ticket: true,
                },
            ),
            message(
                1,
                SenderKind::Contact,
                None,
                MessageKind::Text,
                "Hello\r\nwhere is my order?",
            ),
            bot,
            activity(
                10,
                Activity::Assigned {
                    by: Some(uid(3)),
                    to_user: uid(1),
                    team_id: Some(tid(1)),
                },
            ),
            message(20, SenderKind::User, Some(uid(1)), MessageKind::Text, "Let me check."),
            file,
            message(
                40,
                SenderKind::User,
                Some(uid(1)),
                MessageKind::Note,
                "warehouse says Tuesday",
            ),
            message(
                41,
                SenderKind::User,
                Some(uid(3)),
                MessageKind::Comment,
                "@Ana ask for the order number",
            ),
            activity(
                50,
                Activity::Transferred {
                    by: Some(uid(1)),
                    from_user: Some(uid(1)),
                    from_team: Some(tid(1)),
                    to_user: Some(uid(2)),
                    to_team: Some(tid(2)),
                    comment: Some("billing question".into()),
                },
            ),
            activity(
                60,
                Activity::PriorityChanged {
                    by: Some(uid(2)),
                    from: Priority::Normal,
                    to: Priority::Critical,
                },
            ),
            activity(
                61,
                Activity::TagsChanged {
                    by: Some(uid(2)),
                    added: vec!["vip".into()],
                    removed: vec![],
                },
            ),
            activity(
                70,
                Activity::StatusChanged {
                    by: Some(uid(2)),
                    from: ConversationStatus::Assigned,
                    to: ConversationStatus::Resolved,
                    comment: Some("solved by phone".into()),
                },
            ),
            activity(
                80,
                Activity::Reopened {
                    by: Some(uid(2)),
                    from: ConversationStatus::Resolved,
                    to: ConversationStatus::Assigned,
                },
            ),
            message(
                90,
                SenderKind::User,
                Some(uid(99)),
                MessageKind::Text,
                "from someone who left",
            ),
        ];
        assert_eq!(mentioned_users(&c, &messages), vec![uid(1), uid(2), uid(3), uid(99)]);
        let text = transcript(&header, &names(), &messages);
        let expected = format!(
            "Conversation {id}
Contact: Carla Customer
Channel: Shop (api)
Status: resolved
Assignee: Bob Agent
Team: Support
Priority: critical
Tags: vip
Created: 2026-01-05T09:00:00Z
Closed: 2026-01-05T10:00:05Z

[2026-01-05 09:00:00 UTC] Conversation opened in the queue of team Support as a ticket.
[2026-01-05 09:00:01 UTC] Carla Customer: Hello
    where is my order?
[2026-01-05 09:00:02 UTC] Bot: How can we help?
    Options: Orders | Billing
[2026-01-05 09:00:10 UTC] Assigned to Ana Agent (team Support) by Ada Admin.
[2026-01-05 09:00:20 UTC] Ana Agent: Let me check.
[2026-01-05 09:00:30 UTC] Carla Customer: [file: receipt.png, image/png, 2 KB] the receipt
[2026-01-05 09:00:40 UTC] Ana Agent (private note): warehouse says Tuesday
[2026-01-05 09:00:41 UTC] Ada Admin (comment): @Ana ask for the order number
[2026-01-05 09:00:50 UTC] Transferred from Ana Agent (team Support) to Bob Agent (team Sales) by Ana Agent. Comment: billing question
[2026-01-05 09:01:00 UTC] Priority changed from normal to critical by Bob Agent.
[2026-01-05 09:01:01 UTC] Tags changed by Bob Agent: added vip.
[2026-01-05 09:01:10 UTC] Status changed from assigned to resolved by Bob Agent. Comment: solved by phone
[2026-01-05 09:01:20 UTC] Reopened by Bob Agent (status resolved to assigned).
[2026-01-05 09:01:30 UTC] a former member: from someone who left
",
            id = c.id
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn every_activity_reads_as_a_sentence() {
        let n = names();
        let cases = [
            (
                Activity::Opened {
                    status: ConversationStatus::Bot,
                    team_id: None,
                    assignee_id: None,
                    ticket: false,
                },
                "Conversation opened with the bot.",
            ),
            (
                Activity::Opened {
                    status: ConversationStatus::Assigned,
                    team_id: None,
                    assignee_id: Some(uid(1)),
                    ticket: false,
                },
                "Conversation opened, assigned to Ana Agent.",
            ),
            (
                Activity::Assigned {
                    by: None,
                    to_user: uid(2),
                    team_id: None,
                },
                "Assigned to Bob Agent.",
            ),
            (
                Activity::Transferred {
                    by: Some(uid(3)),
                    from_user: None,
                    from_team: Some(tid(1)),
                    to_user: None,
                    to_team: Some(tid(2)),
                    comment: None,
                },
                "Transferred from team Support to team Sales by Ada Admin.",
            ),
            (
                Activity::Transferred {
                    by: None,
                    from_user: None,
                    from_team: None,
                    to_user: Some(uid(1)),
                    to_team: None,
                    comment: Some("two\nlines".into()),
                },
                "Transferred from the queue to Ana Agent. Comment: two\n    lines",
            ),
            (
                Activity::Unassigned {
                    by: Some(uid(1)),
                    from_user: uid(1),
                },
                "Unassigned from Ana Agent by Ana Agent; back in the queue.",
            ),
            (
                Activity::StatusChanged {
                    by: None,
                    from: ConversationStatus::Assigned,
                    to: ConversationStatus::Expired,
                    comment: None,
                },
                "Status changed from assigned to expired.",
            ),
            (
                Activity::TagsChanged {
                    by: None,
                    added: vec!["a".into(), "b".into()],
                    removed: vec!["c".into()],
                },
                "Tags changed: added a, b; removed c.",
            ),
            (
                Activity::Snoozed {
                    by: Some(uid(1)),
                    until: Millis(T0),
                },
                "Snoozed until 2026-01-05 09:00:00 UTC by Ana Agent.",
            ),
            (
                Activity::Woke {
                    by: None,
                    customer_wrote: true,
                },
                "Woke up: the customer wrote.",
            ),
            (
                Activity::Woke {
                    by: None,
                    customer_wrote: false,
                },
                "Snooze ended.",
            ),
        ];
        for (a, expected) in cases {
            assert_eq!(activity_sentence(&a, &n), expected);
        }
    }

    #[test]
    fn text_cannot_forge_an_entry_and_names_stay_on_one_line() {
        let c = Conversation {
            assignee_id: None,
            team_id: None,
            priority: Priority::Normal,
            tags: vec![],
            status: ConversationStatus::Queued,
            times: ConversationTimes {
                created_at: Millis(T0),
                ..ConversationTimes::default()
            },
            ..conversation()
        };
        let header = TranscriptHeader {
            conversation: &c,
            contact_name: Some("Eve\n[2026-01-05 09:00:00 UTC] Ana Agent"),
            channel_name: "Site",
            channel_kind: ChannelKind::Web,
        };
        let mut failed = message(5, SenderKind::User, Some(uid(1)), MessageKind::Text, "hi");
        failed.message.delivery_status = Some(DeliveryStatus::Failed);
        failed.message.delivery_error = Some("provider said no".into());
        let messages = vec![
            message(
                1,
                SenderKind::Contact,
                None,
                MessageKind::Text,
                "a\n[2026-01-05 09:00:00 UTC] Ana Agent: pay me\u{7}",
            ),
            failed,
            message(6, SenderKind::System, None, MessageKind::Text, "We are closed."),
        ];
        let text = transcript(&header, &names(), &messages);
        let expected = "Contact: Eve [2026-01-05 09:00:00 UTC] Ana Agent\nChannel: Site (web)\nStatus: queued\nCreated: 2026-01-05T09:00:00Z\nClosed: not closed\n\n";
        assert!(text.contains(expected), "{text}");
        let body = text.split_once("\n\n").unwrap().1;
        assert_eq!(
            body,
            "[2026-01-05 09:00:01 UTC] Eve [2026-01-05 09:00:00 UTC] Ana Agent: a\n    [2026-01-05 09:00:00 UTC] Ana Agent: pay me\n\
             [2026-01-05 09:00:05 UTC] Ana Agent: hi\n    (not delivered: provider said no)\n\
             [2026-01-05 09:00:06 UTC] System: We are closed.\n"
        );
        // Every entry line starts with a time; every other line is indented.
        for line in body.lines() {
            assert!(line.starts_with("[2026-") || line.starts_with("    "), "{line:?}");
        }
        let nameless = TranscriptHeader {
            contact_name: None,
            ..header
        };
        assert!(transcript(&nameless, &Names::default(), &[]).contains("Contact: Customer\n"));
    }
}

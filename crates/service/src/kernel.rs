//! The small kernel every domain may use: a conversation's state and
//! scope, opening one, applying a lifecycle command with its activity
//! line, the messages the business queues, tags by name and a channel's
//! stored record. It imports no domain.

use switchboard_core::lifecycle::{self, Command, LifecycleState};
use switchboard_core::permissions::ConversationScope;
use switchboard_core::validate::Invalid;
use switchboard_core::{
    Activity, ChannelId, ContactId, Conversation, ConversationId, DeliveryStatus, Direction, Message, MessageKind,
    Millis, Priority, SenderKind, UserId, WorkspaceId,
};
use switchboard_store::Exec;

use crate::ServiceResult;

pub(crate) fn scope(c: &Conversation) -> ConversationScope {
    ConversationScope {
        team_id: c.team_id,
        assignee_id: c.assignee_id,
        status: c.status,
    }
}

pub(crate) fn state_of(c: &Conversation) -> LifecycleState {
    LifecycleState {
        status: c.status,
        assignee: c.assignee_id,
        team: c.team_id,
        priority: c.priority,
        ticket: c.ticket,
        close_comment: c.close_comment.clone(),
        close_reason: c.close_reason.clone(),
        times: c.times,
        snoozed_until: c.snoozed_until,
    }
}

/// A conversation just opened with `contact` on `channel`, in the state the
/// lifecycle gave it (status, team, assignee, times).
pub(crate) fn new_conversation(
    ws: switchboard_core::WorkspaceId,
    channel: ChannelId,
    contact: ContactId,
    state: LifecycleState,
    now: Millis,
) -> Conversation {
    let mut c = Conversation {
        id: ConversationId::new(),
        workspace_id: ws,
        channel_id: channel,
        contact_id: contact,
        team_id: None,
        assignee_id: None,
        status: state.status,
        priority: Priority::Normal,
        ticket: false,
        tags: Vec::new(),
        close_comment: None,
        close_reason: None,
        rating: None,
        times: state.times,
        snoozed_until: None,
        updated_at: now,
    };
    set_state(&mut c, state, now);
    c
}

pub(crate) fn set_state(c: &mut Conversation, s: LifecycleState, now: Millis) {
    c.status = s.status;
    c.assignee_id = s.assignee;
    c.team_id = s.team;
    c.priority = s.priority;
    c.ticket = s.ticket;
    c.close_comment = s.close_comment;
    c.close_reason = s.close_reason;
    c.times = s.times;
    c.snoozed_until = s.snoozed_until;
    c.updated_at = now;
}

/// Record an activity line in the conversation.
pub(crate) async fn insert_activity(
    exec: &mut Exec<'_>,
    c: &Conversation,
    activity: Activity,
    by: Option<UserId>,
    now: Millis,
) -> ServiceResult<Message> {
    let m = activity_message(c, activity, by, now);
    exec.insert_message(&m, c.channel_id).await?;
    Ok(m)
}

/// An activity line of the conversation, not stored yet.
pub(crate) fn activity_message(c: &Conversation, activity: Activity, by: Option<UserId>, now: Millis) -> Message {
    let sender_kind = if by.is_some() {
        SenderKind::User
    } else {
        SenderKind::System
    };
    let author = (Direction::Out, sender_kind, by.map(|u| u.to_string()));
    Message {
        activity: Some(activity),
        ..Message::new(c, author, MessageKind::Activity, None, now)
    }
}

/// A text to the customer from the business, queued for the outbox (not
/// stored yet): ticket auto-replies and bot messages.
pub(crate) fn outgoing_text(
    c: &Conversation,
    sender_kind: SenderKind,
    sender_id: Option<String>,
    text: String,
    buttons: Vec<String>,
    now: Millis,
) -> Message {
    Message {
        delivery_status: Some(DeliveryStatus::Queued),
        buttons,
        ..Message::new(
            c,
            (Direction::Out, sender_kind, sender_id),
            MessageKind::Text,
            Some(text),
            now,
        )
    }
}

/// Apply a lifecycle command and write the result with its activity line.
pub(crate) async fn transition(
    exec: &mut Exec<'_>,
    c: &mut Conversation,
    command: Command,
    by: Option<UserId>,
    now: Millis,
) -> ServiceResult<Message> {
    let (next, activity) = lifecycle::apply(&state_of(c), command, now)?;
    set_state(c, next, now);
    save_conversation(exec, c, now).await?;
    insert_activity(exec, c, activity, by, now).await
}

/// Write a changed conversation back, with its assignment legs kept in
/// step (`switchboard_core::legs`). Every use case writes through here or
/// [`record_legs`], so no move escapes the legs.
pub(crate) async fn save_conversation(exec: &mut Exec<'_>, c: &Conversation, now: Millis) -> ServiceResult<()> {
    exec.update_conversation(c).await?;
    record_legs(exec, &[c], now).await
}

/// A new conversation, with its first leg when it opened assigned.
pub(crate) async fn insert_conversation(exec: &mut Exec<'_>, c: &Conversation, now: Millis) -> ServiceResult<()> {
    exec.insert_conversation(c).await?;
    record_legs(exec, &[c], now).await
}

/// Bring the legs of `conversations` (already written) in line with them.
pub(crate) async fn record_legs(
    exec: &mut Exec<'_>,
    conversations: &[&Conversation],
    now: Millis,
) -> ServiceResult<()> {
    let ids: Vec<ConversationId> = conversations.iter().map(|c| c.id).collect();
    let latest = exec.latest_legs(&ids).await?;
    for c in conversations {
        let changes = switchboard_core::legs::plan(latest.get(&c.id), c);
        if !changes.is_empty() {
            exec.write_leg_changes(c.workspace_id, c.id, &changes, now).await?;
        }
    }
    Ok(())
}

/// A channel's writable record as stored, to change one part of it.
pub(crate) fn channel_record(row: &switchboard_store::ChannelRow) -> ServiceResult<switchboard_store::ChannelRecord> {
    let c = row.to_domain()?;
    Ok(switchboard_store::ChannelRecord {
        id: c.id,
        workspace_id: c.workspace_id,
        kind: c.kind,
        name: c.name,
        secret: row.secret.clone(),
        callback_url: c.callback_url,
        default_team_id: c.default_team_id,
        reopen_minutes: c.reopen_minutes,
        settings: row.settings_json(),
        created_at: c.created_at,
    })
}

/// Tag names as given for a conversation or a contact: trimmed, sorted and
/// deduplicated, at most 50 (else 422 on `tags`).
pub(crate) fn tag_names(names: Vec<String>) -> ServiceResult<Vec<String>> {
    let mut names: Vec<String> = names.into_iter().map(|n| n.trim().to_owned()).collect();
    names.sort();
    names.dedup();
    if names.len() > 50 {
        return Err(Invalid::new("tags", "at most 50 tags").into());
    }
    if names.iter().any(String::is_empty) {
        return Err(Invalid::new("tags", "a tag name must not be blank").into());
    }
    Ok(names)
}

/// The ids of the workspace's tags named `names` (from [`tag_names`]); a
/// name no tag has answers 409 on `tags`.
pub(crate) async fn tag_ids(exec: &mut Exec<'_>, ws: WorkspaceId, names: &[String]) -> ServiceResult<Vec<String>> {
    let tags = exec.tags_named(ws, names).await?;
    if let Some(missing) = names.iter().find(|n| !tags.iter().any(|t| &t.name == *n)) {
        return Err(crate::ServiceError::Stale(Invalid::new(
            "tags",
            format!("there is no tag named {missing:?}; define it first"),
        )));
    }
    Ok(tags.iter().map(|t| t.id.to_string()).collect())
}

/// The workspace's close reasons: its own list, or the defaults.
pub(crate) async fn close_reasons(exec: &mut Exec<'_>, ws: WorkspaceId) -> ServiceResult<Vec<String>> {
    Ok(exec
        .workspace_close_reasons(ws)
        .await?
        .unwrap_or_else(switchboard_core::validate::default_close_reasons))
}

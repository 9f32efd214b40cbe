//! Events: every change appends its events to the workspace's durable log
//! in the transaction that makes the change (so an event exists exactly
//! when its change does, on every backend); each node's [`EventHub`] reads
//! the log when woken — by its own commits, or on PostgreSQL by `NOTIFY`
//! from any node — and fans the events out to the sockets it holds.
//! Outgoing webhooks consume the same log with a cursor (DESIGN.md §2).

mod hub;
mod listen;
mod presence;

pub use hub::EventHub;
pub(crate) use hub::spawn_fanout;
pub(crate) use listen::CacheChange;
pub(crate) use listen::spawn_listener;
pub(crate) use presence::{Presence, spawn_upkeep};

use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use switchboard_core::permissions::{Actor, ConversationScope};
use switchboard_core::{ConversationStatus, TeamId, UserId, WorkspaceId};
use switchboard_store::{NewEvent, Tx};
use tokio::sync::broadcast;

use crate::ServiceResult;

/// Who may receive an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum EventScope {
    /// Every member of the workspace.
    Workspace,
    /// Whoever may see this conversation (DESIGN.md §7).
    Conversation {
        team_id: Option<TeamId>,
        assignee_id: Option<UserId>,
        status: ConversationStatus,
    },
    /// One user (mentions, personal notifications).
    User { user_id: UserId },
}

/// One event, as read from the log.
#[derive(Debug)]
pub struct Event {
    pub seq: i64,
    pub workspace_id: WorkspaceId,
    pub kind: String,
    pub scope: EventScope,
    pub data: serde_json::Value,
    /// When it was written (ms).
    pub at: i64,
    /// `{"seq","type","workspace_id","data"}`, serialised once.
    pub json: Bytes,
}

impl Event {
    pub fn visible_to(&self, viewer: &Actor) -> bool {
        match &self.scope {
            EventScope::Workspace => true,
            EventScope::User { user_id } => *user_id == viewer.user_id,
            EventScope::Conversation {
                team_id,
                assignee_id,
                status,
            } => viewer.can_see(&ConversationScope {
                team_id: *team_id,
                assignee_id: *assignee_id,
                status: *status,
            }),
        }
    }

    /// An event read back from the log; `None` if the row does not parse
    /// (written by a newer build that this one does not understand).
    pub(crate) fn from_log(workspace_id: WorkspaceId, row: switchboard_store::LoggedEvent) -> Option<Event> {
        let scope: EventScope = serde_json::from_str(&row.scope).ok()?;
        let data: serde_json::Value = serde_json::from_str(&row.data).ok()?;
        let json = serde_json::to_vec(&Wire {
            seq: row.seq,
            kind: &row.kind,
            workspace_id,
            data: &data,
        })
        .ok()?;
        Some(Event {
            seq: row.seq,
            workspace_id,
            kind: row.kind,
            scope,
            data,
            at: row.created_at,
            json: Bytes::from(json),
        })
    }
}

#[derive(Serialize)]
struct Wire<'a> {
    seq: i64,
    #[serde(rename = "type")]
    kind: &'a str,
    workspace_id: WorkspaceId,
    data: &'a serde_json::Value,
}

/// A `resync` notice: the client missed more than can be replayed and
/// should reload its lists.
pub fn resync_json(workspace_id: WorkspaceId, seq: i64) -> Bytes {
    let value = serde_json::json!({"seq": seq, "type": "resync", "workspace_id": workspace_id, "data": {}});
    Bytes::from(value.to_string())
}

/// What a subscriber gets: the events it missed (or the need to resync),
/// then a live feed. The live feed may repeat events of the backlog or from
/// before `head`: skip every seq not above the last one handled.
pub struct Subscription {
    pub backlog: Backlog,
    pub live: broadcast::Receiver<Arc<Event>>,
    /// The seq of the newest event at subscription time.
    pub head: i64,
}

pub enum Backlog {
    Events(Vec<Arc<Event>>),
    /// What was asked for is no longer kept.
    Resync,
}

/// An event a change will append to the log when it commits; its data
/// serialised once, straight to JSON text.
pub(crate) struct Pending {
    kind: &'static str,
    scope: EventScope,
    data: String,
}

impl Pending {
    pub(crate) fn new(kind: &'static str, scope: EventScope, data: &impl Serialize) -> Self {
        Pending {
            kind,
            scope,
            data: serde_json::to_string(data).unwrap_or_else(|_| "{}".into()),
        }
    }

    fn into_row(self) -> NewEvent {
        NewEvent {
            kind: self.kind.to_owned(),
            scope: serde_json::to_string(&self.scope).unwrap_or_default(),
            data: self.data,
        }
    }
}

pub(crate) fn conversation_scope(c: &switchboard_core::Conversation) -> EventScope {
    EventScope::Conversation {
        team_id: c.team_id,
        assignee_id: c.assignee_id,
        status: c.status,
    }
}

/// The data of a message event: the message, with its files (as a message
/// with its `attachments` reads from the API).
#[derive(Serialize)]
pub(crate) struct MessageData<'a> {
    #[serde(flatten)]
    message: &'a switchboard_core::Message,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    attachments: &'a [switchboard_core::Attachment],
}

pub(crate) fn message_data<'a>(
    message: &'a switchboard_core::Message,
    attachments: &'a [switchboard_core::Attachment],
) -> MessageData<'a> {
    MessageData { message, attachments }
}

impl crate::Services {
    pub fn events(&self) -> &EventHub {
        &self.inner.events
    }

    /// Append events of workspace `ws` to its log, in `tx`.
    pub(crate) async fn publish_all(
        &self,
        tx: &mut Tx<'_>,
        ws: WorkspaceId,
        events: Vec<Pending>,
    ) -> ServiceResult<()> {
        if events.is_empty() || !self.config().event_log {
            return Ok(());
        }
        let rows: Vec<NewEvent> = events.into_iter().map(Pending::into_row).collect();
        // A workspace's first seq comes from the wall clock (see `append_events`).
        let start = switchboard_store::now_ms().saturating_mul(1000);
        tx.append_events(ws, &rows, self.now().0, start).await?;
        Ok(())
    }

    /// Append one event, in `tx`.
    pub(crate) async fn publish(
        &self,
        tx: &mut Tx<'_>,
        ws: WorkspaceId,
        kind: &'static str,
        scope: EventScope,
        data: serde_json::Value,
    ) -> ServiceResult<()> {
        self.publish_all(tx, ws, vec![Pending::new(kind, scope, &data)]).await
    }

    /// Append one event in a transaction of its own: for events that
    /// describe no stored change (typing) or one already committed.
    pub async fn publish_now(
        &self,
        ws: WorkspaceId,
        kind: &'static str,
        scope: EventScope,
        data: serde_json::Value,
    ) -> ServiceResult<()> {
        let mut tx = self.store().begin().await?;
        self.publish(&mut tx, ws, kind, scope, data).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Append events of one kind and scope in one transaction of their own
    /// (benchmarks and tests that need many).
    pub async fn publish_many_now(
        &self,
        ws: WorkspaceId,
        kind: &'static str,
        scope: EventScope,
        data: Vec<serde_json::Value>,
    ) -> ServiceResult<()> {
        let events = data
            .into_iter()
            .map(|d| Pending::new(kind, scope.clone(), &d))
            .collect();
        let mut tx = self.store().begin().await?;
        self.publish_all(&mut tx, ws, events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `conversation.created` or `conversation.updated`.
    pub(crate) async fn emit_conversation(
        &self,
        tx: &mut Tx<'_>,
        kind: &'static str,
        c: &switchboard_core::Conversation,
    ) -> ServiceResult<()> {
        let event = Pending::new(kind, conversation_scope(c), c);
        self.publish_all(tx, c.workspace_id, vec![event]).await
    }

    /// `message.created` or `message.updated`, visible like its conversation.
    pub(crate) async fn emit_message(
        &self,
        tx: &mut Tx<'_>,
        kind: &'static str,
        c: &switchboard_core::Conversation,
        m: &switchboard_core::Message,
    ) -> ServiceResult<()> {
        self.emit_message_with_files(tx, kind, c, m, &[]).await
    }

    /// The same, with the message's files.
    pub(crate) async fn emit_message_with_files(
        &self,
        tx: &mut Tx<'_>,
        kind: &'static str,
        c: &switchboard_core::Conversation,
        m: &switchboard_core::Message,
        files: &[switchboard_core::Attachment],
    ) -> ServiceResult<()> {
        let event = Pending::new(kind, conversation_scope(c), &message_data(m, files));
        self.publish_all(tx, c.workspace_id, vec![event]).await
    }

    /// `message.updated` after a delivery status change, in the transaction
    /// that made it (read back, so the event carries what is stored).
    pub(crate) async fn emit_delivery(
        &self,
        tx: &mut Tx<'_>,
        ws: WorkspaceId,
        message: switchboard_core::MessageId,
    ) -> ServiceResult<()> {
        let Some(m) = tx.exec().message(ws, message).await? else {
            return Ok(());
        };
        if let Some(c) = tx.exec().conversation(ws, m.conversation_id).await? {
            self.emit_message(tx, "message.updated", &c, &m).await?;
        }
        Ok(())
    }

    /// A conversation changed and left activity lines.
    pub(crate) async fn emit_change(
        &self,
        tx: &mut Tx<'_>,
        c: &switchboard_core::Conversation,
        messages: &[switchboard_core::Message],
    ) -> ServiceResult<()> {
        let scope = conversation_scope(c);
        let mut events = vec![Pending::new("conversation.updated", scope.clone(), c)];
        for m in messages {
            events.push(Pending::new("message.created", scope.clone(), &message_data(m, &[])));
        }
        self.publish_all(tx, c.workspace_id, events).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::Role;
    use uuid::Uuid;

    fn viewer(role: Role, team: u128) -> Actor {
        Actor {
            user_id: UserId(Uuid::from_u128(1)),
            workspace_id: WorkspaceId(Uuid::from_u128(9)),
            role,
            team_ids: vec![TeamId(Uuid::from_u128(team))],
        }
    }

    fn logged(scope: &EventScope) -> Event {
        let row = switchboard_store::LoggedEvent {
            seq: 7,
            kind: "x".into(),
            scope: serde_json::to_string(scope).unwrap(),
            data: r#"{"x":1}"#.into(),
            created_at: 1,
        };
        Event::from_log(WorkspaceId(Uuid::from_u128(9)), row).unwrap()
    }

    #[test]
    fn scopes_survive_the_log_and_decide_who_sees() {
        let conv = EventScope::Conversation {
            team_id: Some(TeamId(Uuid::from_u128(100))),
            assignee_id: None,
            status: ConversationStatus::Queued,
        };
        let e = logged(&conv);
        assert_eq!(e.scope, conv);
        assert!(e.visible_to(&viewer(Role::Agent, 100)));
        assert!(!e.visible_to(&viewer(Role::Agent, 200)));
        assert!(e.visible_to(&viewer(Role::Admin, 200)));
        let personal = logged(&EventScope::User {
            user_id: UserId(Uuid::from_u128(2)),
        });
        assert!(!personal.visible_to(&viewer(Role::Admin, 100)));
        let text = String::from_utf8(e.json.to_vec()).unwrap();
        assert!(text.contains("\"type\":\"x\"") && text.contains("\"x\":1") && text.contains("\"seq\":7"));
    }

    #[test]
    fn a_row_this_build_cannot_read_is_skipped() {
        let row = switchboard_store::LoggedEvent {
            seq: 1,
            kind: "x".into(),
            scope: r#"{"to":"martians"}"#.into(),
            data: "{}".into(),
            created_at: 1,
        };
        assert!(Event::from_log(WorkspaceId(Uuid::from_u128(9)), row).is_none());
    }
}

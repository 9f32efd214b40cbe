//! The event bus: every change publishes one event; WebSocket sessions and
//! outgoing webhooks receive them. Each event is serialised once, when it is
//! published, and shared by every receiver. `seq` increases per workspace;
//! the last events of each workspace are kept so a client that reconnects
//! can ask for what it missed.
//!
//! [`InProcessBus`] serves one process. In a cluster the same trait is
//! implemented over PostgreSQL LISTEN/NOTIFY or NATS (DESIGN.md §2).

mod presence;

pub(crate) use presence::Presence;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::Serialize;
use switchboard_core::permissions::{Actor, ConversationScope};
use switchboard_core::{ConversationStatus, TeamId, UserId, WorkspaceId};
use tokio::sync::broadcast;

/// Who may receive an event.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    User(UserId),
}

/// One published event.
#[derive(Debug)]
pub struct Event {
    pub seq: i64,
    pub workspace_id: WorkspaceId,
    pub kind: &'static str,
    pub scope: EventScope,
    pub data: serde_json::Value,
    /// `{"seq","type","workspace_id","data"}`, serialised once.
    pub json: Bytes,
}

impl Event {
    pub fn visible_to(&self, viewer: &Actor) -> bool {
        match &self.scope {
            EventScope::Workspace => true,
            EventScope::User(user) => *user == viewer.user_id,
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
/// then a live feed.
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

pub trait EventBus: Send + Sync + 'static {
    fn publish(
        &self,
        workspace_id: WorkspaceId,
        kind: &'static str,
        scope: EventScope,
        data: serde_json::Value,
    ) -> Arc<Event>;
    /// Subscribe to a workspace; with `since`, replay the events after it.
    fn subscribe(&self, workspace_id: WorkspaceId, since: Option<i64>) -> Subscription;
}

struct Channel {
    last_seq: i64,
    recent: VecDeque<Arc<Event>>,
    sender: broadcast::Sender<Arc<Event>>,
}

/// The bus of a single process.
pub struct InProcessBus {
    channels: Mutex<HashMap<WorkspaceId, Channel>>,
    keep: usize,
    live_capacity: usize,
    first_seq: i64,
}

impl InProcessBus {
    /// Keep `keep` events per workspace for replay; let a subscriber fall
    /// `live_capacity` events behind before it is dropped as too slow.
    /// Sequence numbers start from the wall clock (ms × 1000) so a `since`
    /// from before a restart is always older than anything kept, and the
    /// client is told to resync instead of silently missing events.
    pub fn new(keep: usize, live_capacity: usize, now_ms: i64) -> Self {
        Self {
            channels: Mutex::new(HashMap::new()),
            keep: keep.max(1),
            live_capacity: live_capacity.max(1),
            first_seq: now_ms.saturating_mul(1000),
        }
    }

    fn channel<'a>(&self, map: &'a mut HashMap<WorkspaceId, Channel>, ws: WorkspaceId) -> &'a mut Channel {
        map.entry(ws).or_insert_with(|| Channel {
            last_seq: self.first_seq,
            recent: VecDeque::with_capacity(self.keep.min(1024)),
            sender: broadcast::channel(self.live_capacity).0,
        })
    }
}

impl EventBus for InProcessBus {
    fn publish(
        &self,
        workspace_id: WorkspaceId,
        kind: &'static str,
        scope: EventScope,
        data: serde_json::Value,
    ) -> Arc<Event> {
        let mut map = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        let keep = self.keep;
        let channel = self.channel(&mut map, workspace_id);
        channel.last_seq += 1;
        let seq = channel.last_seq;
        let json = serde_json::to_vec(&Wire {
            seq,
            kind,
            workspace_id,
            data: &data,
        })
        .unwrap_or_default();
        let event = Arc::new(Event {
            seq,
            workspace_id,
            kind,
            scope,
            data,
            json: Bytes::from(json),
        });
        if channel.recent.len() == keep {
            channel.recent.pop_front();
        }
        channel.recent.push_back(event.clone());
        // Nobody listening is fine.
        let _ = channel.sender.send(event.clone());
        event
    }

    fn subscribe(&self, workspace_id: WorkspaceId, since: Option<i64>) -> Subscription {
        let mut map = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        let channel = self.channel(&mut map, workspace_id);
        // Subscribing under the lock: no event falls between backlog and live.
        let live = channel.sender.subscribe();
        let head = channel.last_seq;
        let backlog = match since {
            None => Backlog::Events(Vec::new()),
            Some(since) if since == head => Backlog::Events(Vec::new()),
            Some(since) => {
                let oldest_kept = channel.recent.front().map_or(head + 1, |e| e.seq);
                if since > head || since + 1 < oldest_kept {
                    Backlog::Resync
                } else {
                    Backlog::Events(channel.recent.iter().filter(|e| e.seq > since).cloned().collect())
                }
            }
        };
        Subscription { backlog, live, head }
    }
}

impl crate::Services {
    fn conversation_scope(c: &switchboard_core::Conversation) -> EventScope {
        EventScope::Conversation {
            team_id: c.team_id,
            assignee_id: c.assignee_id,
            status: c.status,
        }
    }

    /// `conversation.created` or `conversation.updated`.
    pub(crate) fn emit_conversation(&self, kind: &'static str, c: &switchboard_core::Conversation) {
        let data = serde_json::to_value(c).unwrap_or_default();
        self.events()
            .publish(c.workspace_id, kind, Self::conversation_scope(c), data);
    }

    /// `message.created` or `message.updated`, visible like its conversation.
    pub(crate) fn emit_message(
        &self,
        kind: &'static str,
        c: &switchboard_core::Conversation,
        m: &switchboard_core::Message,
    ) {
        self.emit_message_with_files(kind, c, m, &[]);
    }

    /// The same, with the message's files (as a message with its
    /// `attachments` reads from the API).
    pub(crate) fn emit_message_with_files(
        &self,
        kind: &'static str,
        c: &switchboard_core::Conversation,
        m: &switchboard_core::Message,
        files: &[switchboard_core::Attachment],
    ) {
        let mut data = serde_json::to_value(m).unwrap_or_default();
        if !files.is_empty() {
            data["attachments"] = serde_json::to_value(files).unwrap_or_default();
        }
        self.events()
            .publish(c.workspace_id, kind, Self::conversation_scope(c), data);
    }

    /// `message.updated` after a delivery status change (read back, so the
    /// event carries what is stored).
    pub(crate) async fn emit_delivery(&self, ws: WorkspaceId, message: switchboard_core::MessageId) {
        let mut db = self.store().reader();
        let Ok(Some(m)) = db.message(ws, message).await else {
            return;
        };
        if let Ok(Some(c)) = db.conversation(ws, m.conversation_id).await {
            self.emit_message("message.updated", &c, &m);
        }
    }

    /// A conversation changed and left activity lines.
    pub(crate) fn emit_change(&self, c: &switchboard_core::Conversation, messages: &[switchboard_core::Message]) {
        self.emit_conversation("conversation.updated", c);
        for m in messages {
            self.emit_message("message.created", c, m);
        }
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

    #[test]
    fn replays_what_was_missed_or_asks_for_a_resync() {
        let bus = InProcessBus::new(3, 16, 1);
        let ws = WorkspaceId(Uuid::from_u128(9));
        let first = bus.publish(ws, "a", EventScope::Workspace, serde_json::json!({})).seq;
        for _ in 0..4 {
            bus.publish(ws, "b", EventScope::Workspace, serde_json::json!({}));
        }
        // Kept: first+2 ..= first+4.
        match bus.subscribe(ws, Some(first + 1)).backlog {
            Backlog::Events(e) => assert_eq!(
                e.iter().map(|e| e.seq).collect::<Vec<_>>(),
                [first + 2, first + 3, first + 4]
            ),
            Backlog::Resync => panic!("should replay"),
        }
        assert!(matches!(bus.subscribe(ws, Some(first)).backlog, Backlog::Resync));
        assert!(matches!(bus.subscribe(ws, Some(first + 99)).backlog, Backlog::Resync));
        assert!(matches!(bus.subscribe(ws, Some(first + 4)).backlog, Backlog::Events(ref e) if e.is_empty()));
        let text = String::from_utf8(
            bus.publish(ws, "c", EventScope::Workspace, serde_json::json!({"x": 1}))
                .json
                .to_vec(),
        )
        .unwrap();
        assert!(text.contains("\"type\":\"c\"") && text.contains("\"x\":1"));
    }

    #[test]
    fn scopes() {
        let ws = WorkspaceId(Uuid::from_u128(9));
        let bus = InProcessBus::new(8, 8, 1);
        let conv = |team| EventScope::Conversation {
            team_id: Some(TeamId(Uuid::from_u128(team))),
            assignee_id: None,
            status: ConversationStatus::Queued,
        };
        let e = bus.publish(ws, "x", conv(100), serde_json::json!({}));
        assert!(e.visible_to(&viewer(Role::Agent, 100)));
        assert!(!e.visible_to(&viewer(Role::Agent, 200)));
        assert!(e.visible_to(&viewer(Role::Admin, 200)));
        let personal = bus.publish(
            ws,
            "x",
            EventScope::User(UserId(Uuid::from_u128(2))),
            serde_json::json!({}),
        );
        assert!(!personal.visible_to(&viewer(Role::Admin, 100)));
    }
}

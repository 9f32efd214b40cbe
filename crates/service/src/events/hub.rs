//! One node's fan-out: a broadcast channel per workspace that has
//! subscribers here, fed from the event log. Whatever wakes it (this node's
//! commits, another node's `NOTIFY`, a reconnected listener), it reads the
//! log from the last seq it delivered, so nothing is skipped or sent twice
//! and the order is the log's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use switchboard_core::WorkspaceId;
use switchboard_store::Store;
use tokio::sync::{broadcast, mpsc};

use super::{Backlog, Event, Subscription};
use crate::ServiceResult;

/// Events read from the log per query while catching up.
const READ_BATCH: u64 = 512;

struct Local {
    sender: broadcast::Sender<Arc<Event>>,
    /// The newest seq fanned out here.
    delivered: i64,
}

pub struct EventHub {
    store: Store,
    locals: Mutex<HashMap<WorkspaceId, Local>>,
    wake: mpsc::UnboundedSender<Wake>,
    /// Most events a reconnecting client is replayed; past that it resyncs.
    replay_max: usize,
    live_capacity: usize,
}

pub(crate) enum Wake {
    One(WorkspaceId),
    /// The listener lost notifications: look at every workspace.
    All,
}

pub(crate) struct WakeReceiver(mpsc::UnboundedReceiver<Wake>);

impl EventHub {
    pub(crate) fn new(store: Store, replay_max: usize, live_capacity: usize) -> (Arc<EventHub>, WakeReceiver) {
        let (wake, rx) = mpsc::unbounded_channel();
        let hub = Arc::new(EventHub {
            store,
            locals: Mutex::new(HashMap::new()),
            wake,
            replay_max: replay_max.max(1),
            live_capacity: live_capacity.max(1),
        });
        (hub, WakeReceiver(rx))
    }

    /// The workspace's log grew (or may have).
    pub(crate) fn wake(&self, ws: WorkspaceId) {
        let _ = self.wake.send(Wake::One(ws));
    }

    pub(crate) fn wake_all(&self) {
        let _ = self.wake.send(Wake::All);
    }

    /// Subscribe to a workspace; with `since`, replay the events after it
    /// from the log (or ask for a resync when the log no longer holds them).
    pub async fn subscribe(&self, ws: WorkspaceId, since: Option<i64>) -> ServiceResult<Subscription> {
        let head = self.store.reader().event_bounds(ws).await?.map_or(0, |b| b.head);
        let (live, created) = {
            let mut locals = self.locals.lock().unwrap_or_else(|e| e.into_inner());
            let created = !locals.contains_key(&ws);
            let local = locals.entry(ws).or_insert_with(|| Local {
                sender: broadcast::channel(self.live_capacity).0,
                delivered: head,
            });
            (local.sender.subscribe(), created)
        };
        if created {
            // An event committed between reading the head and creating the
            // channel woke nobody here: look once more.
            self.wake(ws);
        }
        // Read after subscribing: what was fanned out before is in the log.
        let backlog = match since {
            None => Backlog::Events(Vec::new()),
            Some(since) => self.backlog(ws, since).await?,
        };
        let head = match &backlog {
            Backlog::Events(events) => events.last().map_or(head, |e| e.seq.max(head)),
            Backlog::Resync => head,
        };
        Ok(Subscription { backlog, live, head })
    }

    async fn backlog(&self, ws: WorkspaceId, since: i64) -> ServiceResult<Backlog> {
        let mut db = self.store.reader();
        let Some(bounds) = db.event_bounds(ws).await? else {
            return Ok(if since == 0 {
                Backlog::Events(Vec::new())
            } else {
                Backlog::Resync
            });
        };
        if since > bounds.head || since + 1 < bounds.oldest.unwrap_or(bounds.head + 1) {
            return Ok(Backlog::Resync);
        }
        let rows = db.events_after(ws, since, self.replay_max as u64 + 1).await?;
        if rows.len() > self.replay_max {
            return Ok(Backlog::Resync);
        }
        Ok(Backlog::Events(
            rows.into_iter()
                .filter_map(|row| Event::from_log(ws, row).map(Arc::new))
                .collect(),
        ))
    }

    /// What a subscriber that fell behind the live channel missed after
    /// `since`, read back from the log, if it is no more than the live
    /// channel holds: a subscriber that only skipped what it had already
    /// (events before it subscribed) goes on; one really behind gets
    /// `None` and is dropped, so nothing is buffered without bound.
    pub async fn missed(&self, ws: WorkspaceId, since: i64) -> ServiceResult<Option<Vec<Arc<Event>>>> {
        let rows = self
            .store
            .reader()
            .events_after(ws, since, self.live_capacity as u64 + 1)
            .await?;
        if rows.len() > self.live_capacity {
            return Ok(None);
        }
        Ok(Some(
            rows.into_iter()
                .filter_map(|row| Event::from_log(ws, row).map(Arc::new))
                .collect(),
        ))
    }

    /// The workspaces with subscribers here.
    fn watched(&self) -> Vec<WorkspaceId> {
        let mut locals = self.locals.lock().unwrap_or_else(|e| e.into_inner());
        locals.retain(|_, l| l.sender.receiver_count() > 0);
        locals.keys().copied().collect()
    }

    /// Where this node's fan-out of `ws` stands, if anyone here listens.
    fn delivered(&self, ws: WorkspaceId) -> Option<i64> {
        let mut locals = self.locals.lock().unwrap_or_else(|e| e.into_inner());
        let local = locals.get(&ws)?;
        if local.sender.receiver_count() == 0 {
            locals.remove(&ws);
            return None;
        }
        Some(local.delivered)
    }

    /// Fan out what the log holds past what was delivered here.
    async fn catch_up(&self, ws: WorkspaceId) -> ServiceResult<()> {
        while let Some(after) = self.delivered(ws) {
            let rows = self.store.reader().events_after(ws, after, READ_BATCH).await?;
            let Some(last) = rows.last().map(|r| r.seq) else {
                return Ok(());
            };
            let full = rows.len() as u64 == READ_BATCH;
            {
                let mut locals = self.locals.lock().unwrap_or_else(|e| e.into_inner());
                let Some(local) = locals.get_mut(&ws) else {
                    return Ok(());
                };
                for row in rows {
                    if let Some(event) = Event::from_log(ws, row) {
                        // Nobody listening any more is fine.
                        let _ = local.sender.send(Arc::new(event));
                    }
                }
                local.delivered = last;
            }
            if !full {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// Run the hub's fan-out: one task per node, taking wake-ups in batches.
pub(crate) fn spawn_fanout(hub: &Arc<EventHub>, rx: WakeReceiver) {
    let weak = Arc::downgrade(hub);
    tokio::spawn(async move {
        let mut rx = rx.0;
        let mut batch = Vec::with_capacity(64);
        while rx.recv_many(&mut batch, 256).await > 0 {
            let Some(hub) = weak.upgrade() else { break };
            let mut workspaces: Vec<WorkspaceId> = Vec::new();
            for wake in batch.drain(..) {
                match wake {
                    Wake::One(ws) => workspaces.push(ws),
                    Wake::All => workspaces.extend(hub.watched()),
                }
            }
            workspaces.sort_unstable();
            workspaces.dedup();
            for ws in workspaces {
                if let Err(e) = hub.catch_up(ws).await {
                    tracing::warn!(error = %e, "could not read the event log; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    hub.wake(ws);
                }
            }
        }
    });
}

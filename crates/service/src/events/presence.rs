//! Presence across nodes: each node counts the live connections it holds
//! per user and keeps a lease in the database for every user it holds one
//! for, renewed by its heartbeat. A user goes offline when no node holds a
//! live lease: after the grace period once their last connection closes
//! (a reload or a flaky network does not flip them offline), or once the
//! leases of a node that died expire.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use switchboard_core::{Availability, UserId, WorkspaceId};

use crate::Services;

#[derive(Default)]
pub(crate) struct Presence {
    sockets: Mutex<HashMap<(WorkspaceId, UserId), usize>>,
}

impl Presence {
    fn change(&self, key: (WorkspaceId, UserId), delta: isize) -> usize {
        let mut map = self.sockets.lock().unwrap_or_else(|e| e.into_inner());
        let count = map.entry(key).or_insert(0);
        *count = count.saturating_add_signed(delta);
        let now = *count;
        if now == 0 {
            map.remove(&key);
        }
        now
    }

    fn count(&self, key: (WorkspaceId, UserId)) -> usize {
        self.sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .copied()
            .unwrap_or(0)
    }

    fn held(&self) -> Vec<(WorkspaceId, UserId)> {
        self.sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .copied()
            .collect()
    }
}

/// Held while a connection is open; dropping it counts the connection closed.
pub struct Connection {
    services: Services,
    key: (WorkspaceId, UserId),
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self.services.inner.presence.change(self.key, -1) > 0 {
            return;
        }
        let services = self.services.clone();
        let key = self.key;
        let grace = services.config().presence_grace;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                tokio::time::sleep(grace).await;
                if services.inner.presence.count(key) == 0
                    && let Err(e) = services.release_presence(key.0, key.1).await
                {
                    tracing::warn!(error = %e, "could not mark a disconnected user offline");
                }
            });
        }
    }
}

impl Services {
    /// Count a new live connection of `user`.
    pub fn connection_opened(&self, workspace: WorkspaceId, user: UserId) -> Connection {
        if self.inner.presence.change((workspace, user), 1) == 1 {
            let services = self.clone();
            tokio::spawn(async move {
                if let Err(e) = services.take_lease(workspace, user).await {
                    tracing::warn!(error = %e, "could not record a user's presence");
                }
            });
        }
        Connection {
            services: self.clone(),
            key: (workspace, user),
        }
    }

    /// Live connections of a user on this node (for tests and the supervisor view).
    pub fn connections_of(&self, workspace: WorkspaceId, user: UserId) -> usize {
        self.inner.presence.count((workspace, user))
    }

    /// How long a lease lasts unless renewed: the grace period, and at
    /// least three heartbeats.
    fn lease_ttl(&self) -> Duration {
        self.config().presence_grace.max(self.heartbeat_interval() * 3)
    }

    pub(crate) fn heartbeat_interval(&self) -> Duration {
        (self.config().presence_grace / 3).clamp(Duration::from_millis(100), Duration::from_secs(10))
    }

    fn lease_expiry(&self) -> i64 {
        switchboard_store::now_ms() + self.lease_ttl().as_millis() as i64
    }

    async fn take_lease(&self, ws: WorkspaceId, user: UserId) -> crate::ServiceResult<()> {
        let mut tx = self.store().begin().await?;
        tx.exec()
            .renew_lease(self.node_id(), ws, user, self.lease_expiry())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// This node's last connection of the user closed and the grace passed.
    async fn release_presence(&self, ws: WorkspaceId, user: UserId) -> crate::ServiceResult<()> {
        let mut tx = self.store().begin().await?;
        tx.exec().drop_lease(self.node_id(), ws, user).await?;
        tx.commit().await?;
        self.offline_unless_leased(ws, user).await
    }

    async fn offline_unless_leased(&self, ws: WorkspaceId, user: UserId) -> crate::ServiceResult<()> {
        let mut tx = self.store().begin().await?;
        if tx.exec().live_leases(ws, user, switchboard_store::now_ms()).await? > 0 {
            return Ok(());
        }
        let Some(member) = tx.exec().member(ws, user).await? else {
            return Ok(());
        };
        if member.availability == Availability::Offline {
            return Ok(());
        }
        tx.exec()
            .update_membership(ws, user, None, None, Some((Availability::Offline, self.now())))
            .await?;
        self.emit_presence(&mut tx, ws, user, Availability::Offline).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One heartbeat: renew the leases of the users connected here, and
    /// mark offline the users whose every lease expired (their node died).
    pub(crate) async fn presence_heartbeat(&self) -> crate::ServiceResult<()> {
        let held = self.inner.presence.held();
        let expires = self.lease_expiry();
        let mut tx = self.store().begin().await?;
        for (ws, user) in held {
            tx.exec().renew_lease(self.node_id(), ws, user, expires).await?;
        }
        let expired = tx.exec().take_expired_leases(switchboard_store::now_ms()).await?;
        tx.commit().await?;
        for (ws, user) in expired {
            self.offline_unless_leased(ws, user).await?;
        }
        Ok(())
    }

    pub(crate) async fn emit_presence(
        &self,
        tx: &mut switchboard_store::Tx<'_>,
        workspace: WorkspaceId,
        user: UserId,
        availability: Availability,
    ) -> crate::ServiceResult<()> {
        self.publish(
            tx,
            workspace,
            "presence.updated",
            crate::events::EventScope::Workspace,
            serde_json::json!({"user_id": user, "availability": availability}),
        )
        .await
    }
}

/// The node's upkeep loop: presence heartbeats, outgoing webhooks that a
/// node which died left behind, and trimming the event log.
pub(crate) fn spawn_upkeep(services: &Services) {
    let weak = std::sync::Arc::downgrade(&services.inner);
    let interval = services.heartbeat_interval();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_trim = std::time::Instant::now() - Duration::from_secs(3600);
        loop {
            ticker.tick().await;
            let Some(inner) = weak.upgrade() else { return };
            let services = Services { inner };
            // A safety net under NOTIFY (and the only way another node's
            // events reach this one on SQLite): look at the log anyway.
            services.events().wake_all();
            if let Err(e) = services.presence_heartbeat().await {
                tracing::warn!(error = %e, "presence heartbeat failed");
            }
            if let Err(e) = services.resume_webhook_fanout().await {
                tracing::warn!(error = %e, "could not look for webhook events left behind");
            }
            if last_trim.elapsed() >= Duration::from_secs(60) {
                last_trim = std::time::Instant::now();
                if let Err(e) = services.trim_shared_state().await {
                    tracing::warn!(error = %e, "could not trim the event log");
                }
            }
        }
    });
}

impl Services {
    /// Forget events older than the log keeps (as of the marks taken by
    /// earlier calls), mark where each log stands now, and forget rate
    /// windows past. Run every minute; returns how many events went.
    pub async fn trim_shared_state(&self) -> crate::ServiceResult<u64> {
        let now = self.now().0;
        let keep = self.config().event_log_keep.as_millis() as i64;
        let mut tx = self.store().begin().await?;
        let trimmed = tx.exec().trim_event_log(now - keep).await?;
        tx.exec().mark_event_heads(now).await?;
        tx.exec().trim_rate_hits(now - 24 * 3600 * 1000).await?;
        tx.commit().await?;
        Ok(trimmed)
    }
}

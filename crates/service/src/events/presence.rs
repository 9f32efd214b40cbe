//! Presence: how many live connections each user has. When the last one
//! closes, the user is marked offline after a grace period (a reload or a
//! flaky network does not flip them offline), and a `presence.updated`
//! event is published.

use std::collections::HashMap;
use std::sync::Mutex;

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
                    && let Err(e) = services.mark_offline(key.0, key.1).await
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
        self.inner.presence.change((workspace, user), 1);
        Connection {
            services: self.clone(),
            key: (workspace, user),
        }
    }

    /// Live connections of a user (for tests and the supervisor view).
    pub fn connections_of(&self, workspace: WorkspaceId, user: UserId) -> usize {
        self.inner.presence.count((workspace, user))
    }

    async fn mark_offline(&self, workspace: WorkspaceId, user: UserId) -> crate::ServiceResult<()> {
        let mut tx = self.store().begin().await?;
        let Some(member) = tx.exec().member(workspace, user).await? else {
            return Ok(());
        };
        if member.availability == Availability::Offline {
            return Ok(());
        }
        tx.exec()
            .update_membership(workspace, user, None, None, Some((Availability::Offline, self.now())))
            .await?;
        tx.commit().await?;
        self.emit_presence(workspace, user, Availability::Offline);
        Ok(())
    }

    pub(crate) fn emit_presence(&self, workspace: WorkspaceId, user: UserId, availability: Availability) {
        self.events().publish(
            workspace,
            "presence.updated",
            crate::events::EventScope::Workspace,
            serde_json::json!({"user_id": user, "availability": availability}),
        );
    }
}

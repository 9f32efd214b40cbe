//! PostgreSQL `LISTEN`: every node hears when any node's transaction
//! appended events (payload: the workspace id) or changed something other
//! nodes may cache. A lost connection is reopened and, since notifications
//! sent meanwhile are gone, every workspace watched here is read again from
//! the log and every cache is dropped: late, but without a gap.

use std::time::Duration;

use sqlx::postgres::PgListener;
use switchboard_core::WorkspaceId;
use switchboard_store::EVENTS_CHANNEL;

use crate::Services;

/// The `LISTEN` channel for cache changes; payloads are [`CacheChange`]s.
pub(crate) const CACHES_CHANNEL: &str = "switchboard_caches";

/// Something other nodes may hold a copy of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheChange {
    Channel(switchboard_core::ChannelId),
    AllChannels,
    Webhooks(WorkspaceId),
}

impl CacheChange {
    pub(crate) fn payload(self) -> String {
        match self {
            CacheChange::Channel(id) => format!("channel:{id}"),
            CacheChange::AllChannels => "channel:*".to_owned(),
            CacheChange::Webhooks(ws) => format!("webhooks:{ws}"),
        }
    }

    fn parse(payload: &str) -> Option<CacheChange> {
        let (what, id) = payload.split_once(':')?;
        match what {
            "channel" if id == "*" => Some(CacheChange::AllChannels),
            "channel" => id.parse().ok().map(CacheChange::Channel),
            "webhooks" => id.parse().ok().map(CacheChange::Webhooks),
            _ => None,
        }
    }
}

/// On PostgreSQL, listen for as long as the services live.
pub(crate) fn spawn_listener(services: &Services) {
    let Some(pool) = services.store().pg_pool().cloned() else {
        return;
    };
    let weak = std::sync::Arc::downgrade(&services.inner);
    let name = services.listener_name();
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            let listener = async {
                // A pool of its own, so the connection carries our name.
                let options = (*pool.connect_options()).clone().application_name(&name);
                let own = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect_lazy_with(options);
                let mut listener = PgListener::connect_with(&own).await?;
                listener.listen_all([EVENTS_CHANNEL, CACHES_CHANNEL]).await?;
                Ok::<_, sqlx::Error>(listener)
            };
            let mut listener = match listener.await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "could not listen for events; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            // Anything sent before LISTEN took effect is read from the log.
            match weak.upgrade() {
                Some(inner) => Services { inner }.listener_reconnected(),
                None => return,
            }
            // `Ok(None)` or an error: the connection dropped, and
            // notifications may be lost.
            while let Ok(Some(n)) = listener.try_recv().await {
                let Some(inner) = weak.upgrade() else { return };
                Services { inner }.notified(n.channel(), n.payload());
            }
            tracing::warn!("lost the event listener's connection; reconnecting");
        }
    });
}

impl Services {
    /// The `application_name` of this node's listening connection, so
    /// operators (and tests) can find it in `pg_stat_activity`.
    pub fn listener_name(&self) -> String {
        format!("switchboard-listen-{}", &self.node_id()[..16])
    }

    fn notified(&self, channel: &str, payload: &str) {
        if channel == EVENTS_CHANNEL {
            if let Ok(ws) = payload.parse() {
                self.events().wake(ws);
            }
        } else if let Some(change) = CacheChange::parse(payload) {
            self.forget_cached(Some(change));
        }
    }

    fn listener_reconnected(&self) {
        self.events().wake_all();
        self.forget_cached(None);
    }

    /// Drop a cached copy (or all of them) on this node.
    pub(crate) fn forget_cached(&self, change: Option<CacheChange>) {
        match change {
            Some(CacheChange::Channel(id)) => self.forget_channel_here(Some(id)),
            Some(CacheChange::AllChannels) => self.forget_channel_here(None),
            Some(CacheChange::Webhooks(ws)) => self.forget_webhook_targets(Some(ws)),
            None => {
                self.forget_channel_here(None);
                self.forget_webhook_targets(None);
            }
        }
    }

    /// Tell the other nodes to drop their copy of something just committed.
    pub(crate) fn tell_other_nodes(&self, change: CacheChange) {
        let Some(pool) = self.store().pg_pool().cloned() else {
            return;
        };
        tokio::spawn(async move {
            let sent = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CACHES_CHANNEL)
                .bind(change.payload())
                .execute(&pool)
                .await;
            if let Err(e) = sent {
                // Their copies expire within seconds anyway.
                tracing::warn!(error = %e, "could not tell other nodes of a change");
            }
        });
    }

    /// Tell every node (this one at once, the others when `tx` commits) to
    /// drop their copy of something `tx` changes.
    pub(crate) async fn announce_cache_change(
        &self,
        tx: &mut switchboard_store::Tx<'_>,
        change: CacheChange,
    ) -> crate::ServiceResult<()> {
        self.forget_cached(Some(change));
        if let switchboard_store::TxConn::Postgres(conn) = &mut tx.conn {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CACHES_CHANNEL)
                .bind(change.payload())
                .execute(&mut **conn)
                .await
                .map_err(switchboard_store::StoreError::from)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_changes_round_trip_and_stay_small() {
        let changes = [
            CacheChange::Channel(switchboard_core::ChannelId::new()),
            CacheChange::AllChannels,
            CacheChange::Webhooks(WorkspaceId(uuid::Uuid::from_u128(7))),
        ];
        for change in changes {
            let payload = change.payload();
            assert!(payload.len() < 100);
            assert_eq!(CacheChange::parse(&payload), Some(change));
        }
        assert_eq!(CacheChange::parse("nonsense"), None);
    }
}

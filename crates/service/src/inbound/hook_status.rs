//! What each channel's provider last did at its hook, for the admin's
//! channel page: when a request was last handled, and the last one
//! refused with why. Written after the answer (never delaying it), at most
//! every few seconds per channel and outcome, so a busy hook costs no
//! write per request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use switchboard_channels::ChannelSetup;
use switchboard_core::ChannelId;
use switchboard_core::permissions::Actor;

use crate::authz::require_admin;
use crate::{ServiceResult, Services};

/// How often per channel a handled request, and a refused one, is written.
const RECEIVED_EVERY: Duration = Duration::from_secs(30);
const REFUSED_EVERY: Duration = Duration::from_secs(2);

/// A channel's hook as last seen: when a request was last handled, and
/// the last one refused with why.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ChannelHookStatus {
    pub channel_id: ChannelId,
    pub last_received_at: Option<switchboard_core::Millis>,
    pub last_error: Option<String>,
    pub last_error_at: Option<switchboard_core::Millis>,
}

/// When this node last wrote each channel's outcomes.
#[derive(Default)]
pub(crate) struct HookNotes {
    written: Mutex<HashMap<(ChannelId, bool), Instant>>,
}

impl HookNotes {
    fn due(&self, channel: ChannelId, refused: bool) -> bool {
        let every = if refused { REFUSED_EVERY } else { RECEIVED_EVERY };
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match written.get(&(channel, refused)) {
            Some(at) if now.duration_since(*at) < every => false,
            _ => {
                written.insert((channel, refused), now);
                true
            }
        }
    }
}

impl Services {
    /// Remember how a request to the channel's hook ended.
    pub(super) fn note_hook(&self, setup: &ChannelSetup, outcome: Result<(), String>) {
        let refusal = outcome.err();
        if !self.inner.ingest.hook_notes.due(setup.id, refusal.is_some()) {
            return;
        }
        let services = self.clone();
        let (ws, channel, at) = (setup.workspace_id, setup.id, self.now());
        tokio::spawn(async move {
            let written = async {
                let mut tx = services.store().begin().await?;
                tx.exec().note_hook(ws, channel, at, refusal.as_deref()).await?;
                tx.commit().await?;
                Ok::<_, crate::ServiceError>(())
            }
            .await;
            if let Err(e) = written {
                tracing::warn!(%channel, error = %e, "the hook's status could not be kept");
            }
        });
    }

    /// The hook status of the workspace's channels that were ever called
    /// (admins).
    pub async fn channel_hook_statuses(&self, actor: &Actor) -> ServiceResult<Vec<ChannelHookStatus>> {
        require_admin(actor)?;
        let rows = self.store().reader().hook_statuses(actor.workspace_id).await?;
        Ok(rows
            .into_iter()
            .map(|s| ChannelHookStatus {
                channel_id: s.channel_id,
                last_received_at: s.last_received_at,
                last_error: s.last_error,
                last_error_at: s.last_error_at,
            })
            .collect())
    }
}

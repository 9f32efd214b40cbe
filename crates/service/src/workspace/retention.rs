//! Retention (DESIGN.md §10): each workspace keeps closed conversations
//! for its retention period (183 days, about 6 months, unless an admin sets
//! another). A periodic job in the durable job table deletes those closed
//! longer ago, in batches, with their messages and attachments, then the
//! stored files and image previews no attachment uses any more, and records
//! what it deleted in the workspace's audit log.

use switchboard_core::validate::Invalid;
use switchboard_core::{Millis, WorkspaceId};

use crate::jobs::{BoxFuture, Job, Lane, Outcome};
use crate::{ServiceResult, Services};
use switchboard_store::JobRow;

/// The periodic purge over every workspace. It schedules its own next run.
pub(crate) const PURGE: &str = "retention_purge";
/// The audit action of a purge that deleted something.
pub(crate) const PURGED: &str = "retention.purged";
/// The audit action of removing library files no quick reply carries.
pub(crate) const LIBRARY_PURGED: &str = "retention.library_files_removed";

/// Allowed retention periods: a day to ten years. The default, 183 days,
/// is the column's default (migration 0012).
pub(crate) const RETENTION_DAYS: std::ops::RangeInclusive<i64> = 1..=3650;

/// How often the purge runs.
const PURGE_INTERVAL_MS: i64 = 3_600_000;
/// Conversations deleted per transaction.
const PURGE_BATCH: u64 = 500;
const DAY_MS: i64 = 86_400_000;

/// A retention period as sent by a client: a whole number of days in range.
pub(crate) fn retention_days(raw: &serde_json::Value) -> Result<i64, Invalid> {
    let reason = || {
        Invalid::new(
            "retention_days",
            format!(
                "a whole number of days between {} and {}",
                RETENTION_DAYS.start(),
                RETENTION_DAYS.end()
            ),
        )
    };
    let days = raw
        .as_i64()
        .or_else(|| {
            raw.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e12)
                .map(|f| f as i64)
        })
        .ok_or_else(reason)?;
    if RETENTION_DAYS.contains(&days) {
        Ok(days)
    } else {
        Err(reason())
    }
}

/// What a purge run deleted in one workspace.
#[derive(Debug, Default)]
struct Totals {
    conversations: u64,
    messages: u64,
    attachments: u64,
    /// Stored objects deleted: files and image previews.
    files: u64,
}

/// The hourly purge of what retention no longer keeps.
pub(crate) struct Purge;

impl Job for Purge {
    const KIND: &'static str = PURGE;
    const LANE: Lane = Lane::Maintenance;
    type Payload = serde_json::Value;

    fn run<'a>(services: &'a Services, _: &'a JobRow, _: serde_json::Value) -> BoxFuture<'a, Outcome> {
        Box::pin(services.run_purge())
    }

    fn schedule_first<'a>(services: &'a Services) -> Option<BoxFuture<'a, ServiceResult<()>>> {
        Some(Box::pin(services.ensure_purge(services.now())))
    }
}

/// How many of the oldest conversations a dry run lists.
const PREVIEW_OLDEST: u64 = 20;

/// What the next purge would delete (a dry run): nothing is changed.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct RetentionPreview {
    pub retention_days: i64,
    /// Conversations closed before this (milliseconds) are purged.
    pub closed_before: Millis,
    pub conversations: u64,
    pub attachments: u64,
    /// The oldest of them, oldest first.
    pub oldest: Vec<PreviewConversation>,
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct PreviewConversation {
    pub id: switchboard_core::ConversationId,
    pub closed_at: Millis,
}

impl Services {
    /// A dry run of the purge for the actor's workspace (admins).
    pub async fn retention_preview(
        &self,
        actor: &switchboard_core::permissions::Actor,
    ) -> ServiceResult<RetentionPreview> {
        crate::authz::require_admin(actor)?;
        let ws = actor.workspace_id;
        let mut reader = self.store().reader();
        let days = reader
            .workspace_retention_days(ws)
            .await?
            .ok_or(crate::ServiceError::NotFound("workspace"))?;
        let closed_before = self.purge_cutoff(days);
        let preview = reader.purge_preview(ws, closed_before, PREVIEW_OLDEST).await?;
        Ok(RetentionPreview {
            retention_days: days,
            closed_before,
            conversations: preview.conversations,
            attachments: preview.attachments,
            oldest: preview
                .oldest
                .into_iter()
                .map(|(id, closed_at)| PreviewConversation { id, closed_at })
                .collect(),
        })
    }

    /// Conversations closed before this are past a retention of `days`.
    fn purge_cutoff(&self, days: i64) -> Millis {
        self.now()
            .plus_ms(-(days.clamp(*RETENTION_DAYS.start(), *RETENTION_DAYS.end()) * DAY_MS))
    }

    /// Make sure the purge timer exists (called when the worker starts).
    pub(crate) async fn ensure_purge(&self, at: Millis) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.exec().ensure_job(PURGE, &serde_json::json!({}), at, 3, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One purge over every workspace. The next one is scheduled first, so a
    /// failing workspace never stops the purge of the others.
    pub(crate) async fn run_purge(&self) -> Outcome {
        if let Err(e) = self.ensure_purge(self.now().plus_ms(PURGE_INTERVAL_MS)).await {
            return Outcome::Retry(e.to_string());
        }
        let workspaces = match self.store().reader().workspace_ids().await {
            Ok(ids) => ids,
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        for ws in workspaces {
            if let Err(e) = self.purge_workspace(ws).await {
                tracing::warn!(workspace = %ws, error = %e, "retention purge failed for a workspace");
            }
            if let Err(e) = self.purge_library(ws).await {
                tracing::warn!(workspace = %ws, error = %e, "removing unused library files failed");
            }
        }
        Outcome::Done
    }

    /// Remove library files (uploaded for quick replies) that no quick reply
    /// carries, once they are a day old (younger ones may belong to a quick
    /// reply being created), and record how many went.
    async fn purge_library(&self, ws: WorkspaceId) -> ServiceResult<()> {
        let now = self.now();
        let made_before = now.plus_ms(-DAY_MS);
        let (mut rows, mut files) = (0u64, 0u64);
        let mut entry: Option<String> = None;
        loop {
            let mut tx = self.store().begin().await?;
            let (deleted, keys) = tx
                .exec()
                .purge_unused_library_files(ws, made_before, PURGE_BATCH)
                .await?;
            if deleted == 0 {
                break;
            }
            rows += deleted;
            let details = serde_json::json!({"library_files": rows});
            let id = tx
                .exec()
                .record_purge(ws, entry.as_deref(), LIBRARY_PURGED, &details, now)
                .await?;
            entry = Some(id);
            tx.commit().await?;
            files += self.delete_unreferenced_objects(&keys).await;
            if deleted < PURGE_BATCH {
                break;
            }
        }
        if rows > 0 {
            tracing::info!(workspace = %ws, library_files = rows, files, "unused library files removed");
        }
        Ok(())
    }

    /// Delete the workspace's conversations closed before its retention
    /// period, batch by batch. Each batch and the run's audit entry (its
    /// counts so far) commit together, so the log never misses a deletion.
    async fn purge_workspace(&self, ws: WorkspaceId) -> ServiceResult<()> {
        let now = self.now();
        let Some(days) = self.store().reader().workspace_retention_days(ws).await? else {
            return Ok(()); // deleted meanwhile
        };
        let closed_before = self.purge_cutoff(days);
        let details = |t: &Totals| {
            serde_json::json!({
                "retention_days": days,
                "closed_before": closed_before,
                "conversations": t.conversations,
                "messages": t.messages,
                "attachments": t.attachments,
                "files": t.files,
            })
        };
        let mut totals = Totals::default();
        let mut entry: Option<String> = None;
        loop {
            let mut tx = self.store().begin().await?;
            let batch = tx
                .exec()
                .purge_closed_conversations(ws, closed_before, PURGE_BATCH)
                .await?;
            if batch.conversations == 0 {
                break;
            }
            totals.conversations += batch.conversations;
            totals.messages += batch.messages;
            totals.attachments += batch.attachments;
            let id = tx
                .exec()
                .record_purge(ws, entry.as_deref(), PURGED, &details(&totals), now)
                .await?;
            entry = Some(id);
            tx.commit().await?;
            totals.files += self.delete_unreferenced_objects(&batch.storage_keys).await;
            if batch.conversations < PURGE_BATCH {
                break;
            }
        }
        if let Some(id) = entry.as_deref()
            && totals.files > 0
        {
            let mut tx = self.store().begin().await?;
            tx.exec()
                .record_purge(ws, Some(id), PURGED, &details(&totals), now)
                .await?;
            tx.commit().await?;
        }
        if totals.conversations > 0 {
            tracing::info!(
                workspace = %ws,
                conversations = totals.conversations,
                messages = totals.messages,
                attachments = totals.attachments,
                files = totals.files,
                "retention purge"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn retention_days_are_whole_days_in_range() {
        assert_eq!(retention_days(&json!(183)).unwrap(), 183);
        assert_eq!(retention_days(&json!(1)).unwrap(), 1);
        assert_eq!(retention_days(&json!(3650)).unwrap(), 3650);
        assert_eq!(retention_days(&json!(30.0)).unwrap(), 30);
        for bad in [
            json!(0),
            json!(3651),
            json!(-5),
            json!(1.5),
            json!("30"),
            json!(null),
            json!(true),
        ] {
            let e = retention_days(&bad).unwrap_err();
            assert_eq!(e.field, "retention_days", "{bad}");
        }
    }
}

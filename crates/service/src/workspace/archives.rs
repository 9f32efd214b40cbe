//! Monthly archives (DESIGN.md §10): a workspace that turns them on gets
//! each closed month (UTC) written to storage as a ZIP of JSON transcripts
//! and their files, by a job in the exports lane; admins list and download
//! them; retention purges only what a written archive covers.

use chrono::{Datelike, NaiveDate};
use schemars::JsonSchema;
use serde::Serialize;
use switchboard_core::permissions::Actor;
use switchboard_core::{Millis, Role, WorkspaceId};
use switchboard_store::{JobRow, MonthlyArchive};

use crate::authz::require_admin;
use crate::conversations::ZipLayout;
use crate::jobs::{BoxFuture, Job, Lane, Outcome};
use crate::{ServiceError, ServiceResult, Services};

pub(crate) const WRITE_ARCHIVES: &str = "monthly_archives";
/// How often closed months are looked for.
const INTERVAL_MS: i64 = 3_600_000;

/// A month written to storage.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MonthlyArchiveView {
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub conversations: u64,
    pub bytes: u64,
    pub created_at: Millis,
}

impl From<MonthlyArchive> for MonthlyArchiveView {
    fn from(a: MonthlyArchive) -> Self {
        Self {
            month: a.month,
            conversations: a.conversations,
            bytes: a.bytes,
            created_at: a.created_at,
        }
    }
}

/// The UTC month holding `at`: its name and bounds.
fn month_of(at: Millis) -> Option<(String, Millis, Millis)> {
    let day = chrono::DateTime::from_timestamp_millis(at.0)?.date_naive();
    let first = NaiveDate::from_ymd_opt(day.year(), day.month(), 1)?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    let ms = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| Millis(t.and_utc().timestamp_millis()));
    Some((first.format("%Y-%m").to_string(), ms(first)?, ms(next)?))
}

/// The periodic writer of closed months.
pub(crate) struct WriteArchives;

impl Job for WriteArchives {
    const KIND: &'static str = WRITE_ARCHIVES;
    const LANE: Lane = Lane::Exports;
    type Payload = serde_json::Value;

    fn run<'a>(services: &'a Services, _: &'a JobRow, _: serde_json::Value) -> BoxFuture<'a, Outcome> {
        Box::pin(services.run_archives())
    }

    fn schedule_first<'a>(services: &'a Services) -> Option<BoxFuture<'a, ServiceResult<()>>> {
        Some(Box::pin(services.ensure_archives(services.now())))
    }
}

impl Services {
    pub(crate) async fn ensure_archives(&self, at: Millis) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.exec()
            .ensure_job(WRITE_ARCHIVES, &serde_json::json!({}), at, 3, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn run_archives(&self) -> Outcome {
        if let Err(e) = self.ensure_archives(self.now().plus_ms(INTERVAL_MS)).await {
            return Outcome::Retry(e.to_string());
        }
        let workspaces = match self.store().reader().workspaces_writing_archives().await {
            Ok(ids) => ids,
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        for ws in workspaces {
            if let Err(e) = self.write_closed_months(ws).await {
                tracing::warn!(workspace = %ws, error = %e, "writing a monthly archive failed");
            }
        }
        Outcome::Done
    }

    /// Write every closed month not archived yet, oldest first.
    async fn write_closed_months(&self, ws: WorkspaceId) -> ServiceResult<()> {
        let Some((_, this_month, _)) = month_of(self.now()) else {
            return Ok(());
        };
        // Reads as an admin of the workspace would (everything, notes included).
        let actor = Actor {
            user_id: "00000000-0000-0000-0000-000000000000"
                .parse()
                .map_err(|_| ServiceError::Internal("system actor".into()))?,
            workspace_id: ws,
            role: Role::Admin,
            team_ids: Vec::new(),
        };
        while let Some(oldest) = self.store().reader().oldest_unarchived_close(ws, this_month).await? {
            let Some((month, from, before)) = month_of(oldest) else {
                return Ok(());
            };
            let ids = self.store().reader().closed_between(ws, from, before).await?;
            let conversations: Vec<_> = ids.iter().filter_map(|id| id.parse().ok()).collect();
            let count = conversations.len() as u64;
            let key = format!("archives/{ws}/{month}.zip");
            let zip = self.conversations_zip(&actor, conversations, ZipLayout::Many, true);
            let bytes = self.write_stored(&key, zip).await?;
            let mut tx = self.store().begin().await?;
            let archive = MonthlyArchive {
                month: month.clone(),
                from,
                before,
                storage_key: key,
                conversations: count,
                bytes,
                created_at: self.now(),
            };
            tx.exec().insert_monthly_archive(ws, &archive).await?;
            tx.exec()
                .record_purge(
                    ws,
                    None,
                    "archive.month_written",
                    &serde_json::json!({"month": month, "conversations": count, "bytes": bytes}),
                    self.now(),
                )
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// The workspace's monthly archives, newest first (admins).
    pub async fn monthly_archives(&self, actor: &Actor) -> ServiceResult<Vec<MonthlyArchiveView>> {
        require_admin(actor)?;
        let archives = self.store().reader().monthly_archives(actor.workspace_id).await?;
        Ok(archives.into_iter().map(Into::into).collect())
    }

    /// Where a month's archive is stored (admins); 404 for a month not written.
    pub async fn monthly_archive_key(&self, actor: &Actor, month: &str) -> ServiceResult<String> {
        require_admin(actor)?;
        self.store()
            .reader()
            .monthly_archives(actor.workspace_id)
            .await?
            .into_iter()
            .find(|a| a.month == month)
            .map(|a| a.storage_key)
            .ok_or(ServiceError::NotFound("archive"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_runs_from_its_first_day_to_the_next_months() {
        let at = Millis(
            chrono::DateTime::parse_from_rfc3339("2026-02-14T10:00:00Z")
                .unwrap()
                .timestamp_millis(),
        );
        let (name, from, before) = month_of(at).unwrap();
        assert_eq!(name, "2026-02");
        assert_eq!(
            from.0,
            chrono::DateTime::parse_from_rfc3339("2026-02-01T00:00:00Z")
                .unwrap()
                .timestamp_millis()
        );
        assert_eq!(
            before.0,
            chrono::DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
                .unwrap()
                .timestamp_millis()
        );
    }
}

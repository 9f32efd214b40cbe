//! Retention (DESIGN.md §10): each workspace's retention period, and the
//! purge of conversations closed longer ago than that. Deleting a
//! conversation deletes its messages, attachment rows, tags, notifications
//! and bot session through the foreign keys' `ON DELETE CASCADE`.

use std::collections::BTreeSet;

use sea_query::{Expr, LockBehavior, LockType, Order, Query};
use switchboard_core::{ConversationStatus, Millis, WorkspaceId};

use crate::schema::*;
use crate::{Exec, Result};

/// What one purge batch deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgedBatch {
    pub conversations: u64,
    pub messages: u64,
    pub attachments: u64,
    /// Storage keys the deleted attachment rows used, files and previews
    /// (each once); an object may be deleted only if no remaining
    /// attachment row uses its key.
    pub storage_keys: Vec<String>,
}

/// The stored objects of attachment rows (`storage_key`, `preview_key`),
/// each key once, in order.
fn object_keys(rows: Vec<(String, Option<String>)>) -> Vec<String> {
    let keys: BTreeSet<String> = rows
        .into_iter()
        .flat_map(|(file, preview)| std::iter::once(file).chain(preview))
        .collect();
    keys.into_iter().collect()
}

impl Exec<'_> {
    /// The workspace's retention period in days (`None`: no such workspace).
    pub async fn workspace_retention_days(&mut self, ws: WorkspaceId) -> Result<Option<i64>> {
        let row: Option<(i64,)> = self
            .fetch_optional(
                Query::select()
                    .column(Workspaces::RetentionDays)
                    .from(Workspaces::Table)
                    .and_where(Expr::col(Workspaces::Id).eq(ws.to_string())),
            )
            .await?;
        Ok(row.map(|(days,)| days))
    }

    pub async fn set_workspace_retention_days(&mut self, ws: WorkspaceId, days: i64) -> Result<u64> {
        self.execute(
            Query::update()
                .table(Workspaces::Table)
                .value(Workspaces::RetentionDays, days)
                .and_where(Expr::col(Workspaces::Id).eq(ws.to_string())),
        )
        .await
    }

    /// Delete up to `limit` (at most 500) of the workspace's closed conversations (resolved,
    /// abandoned, expired) closed before `closed_before`, with everything that
    /// cascades from them. Open, pending and snoozed ones are never touched,
    /// whatever their `closed_at`. On PostgreSQL the chosen rows are locked
    /// first and rows another transaction holds are skipped (a reopen in
    /// flight, or a second node purging), so counts and deletes agree.
    pub async fn purge_closed_conversations(
        &mut self,
        ws: WorkspaceId,
        closed_before: Millis,
        limit: u64,
    ) -> Result<PurgedBatch> {
        let closed: Vec<&str> = ConversationStatus::ALL
            .iter()
            .filter(|s| s.is_closed())
            .map(|s| s.as_str())
            .collect();
        let rows: Vec<(String,)> = self
            .fetch_all(
                Query::select()
                    .column(Conversations::Id)
                    .from(Conversations::Table)
                    .and_where(Expr::col(Conversations::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Conversations::Status).is_in(closed.iter().copied()))
                    .and_where(Expr::col(Conversations::ClosedAt).lt(closed_before.0))
                    .order_by(Conversations::ClosedAt, Order::Asc)
                    .order_by(Conversations::Id, Order::Asc)
                    .limit(limit.min(crate::IN_LIST_MAX as u64))
                    .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked),
            )
            .await?;
        if rows.is_empty() {
            return Ok(PurgedBatch::default());
        }
        let ids: Vec<String> = rows.into_iter().map(|(id,)| id).collect();
        let (messages,): (i64,) = self
            .fetch_one(
                Query::select()
                    .expr(Expr::col(Messages::Id).count())
                    .from(Messages::Table)
                    .and_where(Expr::col(Messages::ConversationId).is_in(ids.iter().cloned())),
            )
            .await?;
        let (attachments,): (i64,) = self
            .fetch_one(
                Query::select()
                    .expr(Expr::col(Attachments::Id).count())
                    .from(Attachments::Table)
                    .and_where(Expr::col(Attachments::ConversationId).is_in(ids.iter().cloned())),
            )
            .await?;
        let keys: Vec<(String, Option<String>)> = self
            .fetch_all(
                Query::select()
                    .columns([Attachments::StorageKey, Attachments::PreviewKey])
                    .from(Attachments::Table)
                    .and_where(Expr::col(Attachments::ConversationId).is_in(ids.iter().cloned())),
            )
            .await?;
        let conversations = self
            .execute(
                Query::delete()
                    .from_table(Conversations::Table)
                    .and_where(Expr::col(Conversations::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Conversations::Id).is_in(ids)),
            )
            .await?;
        Ok(PurgedBatch {
            conversations,
            messages: messages as u64,
            attachments: attachments as u64,
            storage_keys: object_keys(keys),
        })
    }

    /// Delete up to `limit` library files (uploaded for quick replies, with
    /// no conversation) made before `made_before` that no quick reply
    /// carries any more: how many rows went, and the storage keys they
    /// used (files and previews), each once.
    pub async fn purge_unused_library_files(
        &mut self,
        ws: WorkspaceId,
        made_before: Millis,
        limit: u64,
    ) -> Result<(u64, Vec<String>)> {
        let carried = Query::select()
            .column(QuickReplies::AttachmentId)
            .from(QuickReplies::Table)
            .and_where(Expr::col(QuickReplies::AttachmentId).is_not_null())
            .to_owned();
        let rows: Vec<(String, String, Option<String>)> = self
            .fetch_all(
                Query::select()
                    .columns([Attachments::Id, Attachments::StorageKey, Attachments::PreviewKey])
                    .from(Attachments::Table)
                    .and_where(Expr::col(Attachments::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Attachments::ConversationId).is_null())
                    .and_where(Expr::col(Attachments::CreatedAt).lt(made_before.0))
                    .and_where(Expr::col(Attachments::Id).not_in_subquery(carried))
                    .order_by(Attachments::Id, Order::Asc)
                    .limit(limit.min(crate::IN_LIST_MAX as u64)),
            )
            .await?;
        if rows.is_empty() {
            return Ok((0, Vec::new()));
        }
        let (ids, keys): (Vec<String>, Vec<(String, Option<String>)>) = rows
            .into_iter()
            .map(|(id, file, preview)| (id, (file, preview)))
            .unzip();
        let deleted = self
            .execute(
                Query::delete()
                    .from_table(Attachments::Table)
                    .and_where(Expr::col(Attachments::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Attachments::Id).is_in(ids)),
            )
            .await?;
        Ok((deleted, object_keys(keys)))
    }

    /// Write the system's audit entry of a purge run (`id: None`, returning
    /// the new entry's id), or replace its details as the run goes on, so
    /// one run leaves one entry whose counts match what was deleted.
    pub async fn record_purge(
        &mut self,
        ws: WorkspaceId,
        id: Option<&str>,
        action: &str,
        details: &serde_json::Value,
        now: Millis,
    ) -> Result<String> {
        if let Some(id) = id {
            self.execute(
                Query::update()
                    .table(AuditLog::Table)
                    .value(AuditLog::Details, details.to_string())
                    .and_where(Expr::col(AuditLog::Id).eq(id))
                    .and_where(Expr::col(AuditLog::WorkspaceId).eq(ws.to_string())),
            )
            .await?;
            return Ok(id.to_owned());
        }
        self.insert_audit(
            &crate::AuditEntry {
                workspace_id: Some(ws),
                actor_id: None,
                action,
                target_kind: Some("workspace"),
                target_id: Some(ws.to_string()),
                details: details.clone(),
            },
            now,
        )
        .await
    }
}

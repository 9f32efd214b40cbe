//! Retention (DESIGN.md §10): each workspace's retention period, and the
//! purge of conversations closed longer ago than that. Deleting a
//! conversation deletes its messages, attachment rows, tags, notifications
//! and bot session through the foreign keys' `ON DELETE CASCADE`.

use std::collections::BTreeSet;

use sea_query::{Expr, LockBehavior, LockType, Order, Query, SelectStatement};
use switchboard_core::{ContactId, ConversationId, ConversationStatus, Millis, WorkspaceId};

use crate::schema::*;
use crate::{Exec, Result, parse};

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

/// Where a conversation's legal hold comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LegalHold {
    pub conversation: bool,
    pub contact: bool,
}

impl LegalHold {
    pub fn any(self) -> bool {
        self.conversation || self.contact
    }
}

/// What the next purge would delete.
#[derive(Debug, Clone, Default)]
pub struct PurgePreview {
    pub conversations: u64,
    pub attachments: u64,
    pub oldest: Vec<(ConversationId, Millis)>,
}

/// Conversations of `ws` retention may delete: closed (resolved, abandoned,
/// expired) before `closed_before`, not held, not of a held contact. Open,
/// pending and snoozed ones are never touched, whatever their `closed_at`.
fn purgeable(ws: WorkspaceId, closed_before: Millis) -> SelectStatement {
    let closed: Vec<&str> = ConversationStatus::ALL
        .iter()
        .filter(|s| s.is_closed())
        .map(|s| s.as_str())
        .collect();
    Query::select()
        .from(Conversations::Table)
        .and_where(Expr::col(Conversations::WorkspaceId).eq(ws.to_string()))
        .and_where(Expr::col(Conversations::Status).is_in(closed))
        .and_where(Expr::col(Conversations::ClosedAt).lt(closed_before.0))
        .and_where(Expr::col(Conversations::LegalHold).eq(false))
        .cond_where(crate::repo::archives::purge_allowed_by_archives(ws))
        .and_where(
            Expr::col(Conversations::ContactId).not_in_subquery(
                Query::select()
                    .column(Contacts::Id)
                    .from(Contacts::Table)
                    .and_where(Expr::col(Contacts::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Contacts::LegalHold).eq(true))
                    .to_owned(),
            ),
        )
        .to_owned()
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
        let rows: Vec<(String,)> = self
            .fetch_all(
                purgeable(ws, closed_before)
                    .column(Conversations::Id)
                    .order_by(Conversations::ClosedAt, Order::Asc)
                    .order_by(Conversations::Id, Order::Asc)
                    .limit(limit.min(crate::IN_LIST_MAX as u64))
                    .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked),
            )
            .await?;
        let ids: Vec<String> = rows.into_iter().map(|(id,)| id).collect();
        self.delete_conversations(ws, &ids).await
    }

    /// What the next purge would delete: how many conversations and files,
    /// and the oldest conversations (id, closed at), oldest first.
    pub async fn purge_preview(&mut self, ws: WorkspaceId, closed_before: Millis, oldest: u64) -> Result<PurgePreview> {
        let (conversations,): (i64,) = self
            .fetch_one(purgeable(ws, closed_before).expr(Expr::col(Conversations::Id).count()))
            .await?;
        let (attachments,): (i64,) = self
            .fetch_one(
                Query::select()
                    .expr(Expr::col(Attachments::Id).count())
                    .from(Attachments::Table)
                    .and_where(
                        Expr::col(Attachments::ConversationId)
                            .in_subquery(purgeable(ws, closed_before).column(Conversations::Id).to_owned()),
                    ),
            )
            .await?;
        let rows: Vec<(String, Option<i64>)> = self
            .fetch_all(
                purgeable(ws, closed_before)
                    .columns([Conversations::Id, Conversations::ClosedAt])
                    .order_by(Conversations::ClosedAt, Order::Asc)
                    .order_by(Conversations::Id, Order::Asc)
                    .limit(oldest),
            )
            .await?;
        Ok(PurgePreview {
            conversations: conversations.max(0) as u64,
            attachments: attachments.max(0) as u64,
            oldest: rows
                .into_iter()
                .map(|(id, closed)| Ok((parse("conversation id", &id)?, Millis(closed.unwrap_or_default()))))
                .collect::<Result<_>>()?,
        })
    }

    /// Delete these conversations of `ws` with everything that cascades
    /// from them (messages, their search entries, attachment rows): what
    /// went, and the storage keys the attachments used.
    pub async fn delete_conversations(&mut self, ws: WorkspaceId, ids: &[String]) -> Result<PurgedBatch> {
        if ids.is_empty() {
            return Ok(PurgedBatch::default());
        }
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
                    .and_where(Expr::col(Conversations::Id).is_in(ids.iter().cloned())),
            )
            .await?;
        Ok(PurgedBatch {
            conversations,
            messages: messages as u64,
            attachments: attachments as u64,
            storage_keys: object_keys(keys),
        })
    }

    /// Hold a conversation (or lift its hold); `false` when `ws` has no such conversation.
    pub async fn set_conversation_hold(&mut self, ws: WorkspaceId, id: ConversationId, held: bool) -> Result<bool> {
        let n = self
            .execute(
                Query::update()
                    .table(Conversations::Table)
                    .value(Conversations::LegalHold, held)
                    .and_where(Expr::col(Conversations::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Conversations::Id).eq(id.to_string())),
            )
            .await?;
        Ok(n > 0)
    }

    /// Hold a contact and so all their conversations (or lift it).
    pub async fn set_contact_hold(&mut self, ws: WorkspaceId, id: ContactId, held: bool) -> Result<bool> {
        let n = self
            .execute(
                Query::update()
                    .table(Contacts::Table)
                    .value(Contacts::LegalHold, held)
                    .and_where(Expr::col(Contacts::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Contacts::Id).eq(id.to_string())),
            )
            .await?;
        Ok(n > 0)
    }

    /// Whether a conversation is held, by itself or by its contact.
    pub async fn legal_hold(&mut self, ws: WorkspaceId, id: ConversationId) -> Result<LegalHold> {
        let row: Option<(bool, bool)> = self
            .fetch_optional(
                Query::select()
                    .column((Conversations::Table, Conversations::LegalHold))
                    .column((Contacts::Table, Contacts::LegalHold))
                    .from(Conversations::Table)
                    .inner_join(
                        Contacts::Table,
                        Expr::col((Contacts::Table, Contacts::Id))
                            .equals((Conversations::Table, Conversations::ContactId)),
                    )
                    .and_where(Expr::col((Conversations::Table, Conversations::WorkspaceId)).eq(ws.to_string()))
                    .and_where(Expr::col((Conversations::Table, Conversations::Id)).eq(id.to_string())),
            )
            .await?;
        let (conversation, contact) = row.unwrap_or_default();
        Ok(LegalHold { conversation, contact })
    }

    /// The ids of a contact's conversations (erasure).
    pub async fn conversation_ids_of_contact(&mut self, ws: WorkspaceId, contact: ContactId) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = self
            .fetch_all(
                Query::select()
                    .column(Conversations::Id)
                    .from(Conversations::Table)
                    .and_where(Expr::col(Conversations::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Conversations::ContactId).eq(contact.to_string())),
            )
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
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

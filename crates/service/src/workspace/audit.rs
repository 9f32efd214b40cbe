//! The audit log (DESIGN.md §3 "Audit entry"): who did what to which record
//! — role changes, channels, teams, webhooks, templates, tokens, deletions.
//! Entries are written where the change happens (`Services::audit`); this
//! module lists them for admins.

use schemars::JsonSchema;
use serde::Serialize;
use switchboard_core::permissions::Actor;
use switchboard_core::validate::Invalid;
use switchboard_core::{AuditId, Millis, UserId};
use switchboard_store::{AuditFilter, AuditRow, Page};

use crate::authz::require_admin;
use crate::{ServiceError, ServiceResult, Services};

/// One entry of the audit log.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AuditLogEntry {
    pub id: AuditId,
    /// Who did it (absent for the system).
    pub actor_id: Option<UserId>,
    /// The actor's name and e-mail, while their account exists.
    pub actor_name: Option<String>,
    pub actor_email: Option<String>,
    /// What happened, e.g. `member.role_changed`, `channel.created`.
    pub action: String,
    /// The kind of record it happened to (`user`, `channel`, `template`, …) and its id.
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    /// What changed (depends on the action).
    pub details: serde_json::Value,
    pub created_at: Millis,
}

impl AuditLogEntry {
    fn from_row(row: AuditRow) -> ServiceResult<Self> {
        let id = row
            .id
            .parse()
            .map_err(|_| ServiceError::Internal(format!("audit entry id {:?}", row.id)))?;
        Ok(Self {
            id,
            actor_id: row.actor_id.as_deref().and_then(|a| a.parse().ok()),
            actor_name: row.actor_name,
            actor_email: row.actor_email,
            action: row.action,
            target_kind: row.target_kind,
            target_id: row.target_id,
            details: serde_json::from_str(&row.details).unwrap_or(serde_json::Value::String(row.details)),
            created_at: Millis(row.created_at),
        })
    }
}

/// An action name to filter by: the shape actions are written in.
fn action_filter(raw: Option<&str>) -> ServiceResult<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(a)
            if a.len() <= 100
                && a.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.') =>
        {
            Ok(Some(a.to_owned()))
        }
        Some(_) => Err(Invalid::new("action", "must be an action name such as member.role_changed").into()),
    }
}

impl Services {
    /// A page of the workspace's audit log, newest first (admins only).
    pub async fn audit_log(
        &self,
        actor: &Actor,
        action: Option<&str>,
        cursor: Option<AuditId>,
        limit: u64,
    ) -> ServiceResult<Page<AuditLogEntry>> {
        require_admin(actor)?;
        let filter = AuditFilter {
            action: action_filter(action)?,
            cursor,
            limit,
        };
        let page = self.store().reader().audit_log(actor.workspace_id, &filter).await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(AuditLogEntry::from_row)
                .collect::<ServiceResult<_>>()?,
            next_cursor: page.next_cursor,
        })
    }
}

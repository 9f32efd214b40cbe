//! The workspace's audit log (admins only).

use axum::extract::State;
use schemars::JsonSchema;
use serde::Deserialize;
use switchboard_core::AuditId;
use switchboard_service::AuditLogEntry;

use crate::AppState;
use crate::api::PageOut;
use crate::auth::InWorkspace;
use crate::error::ApiResult;
use crate::extract::Query;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditLogQuery {
    /// Only entries of this action, e.g. `member.role_changed`.
    pub action: Option<String>,
    pub cursor: Option<AuditId>,
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u64>,
}

pub async fn list(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Query(q): Query<AuditLogQuery>,
) -> ApiResult<axum::Json<PageOut<AuditLogEntry>>> {
    let limit = crate::api::limit(q.limit)?;
    Ok(axum::Json(
        s.services
            .audit_log(&a, q.action.as_deref(), q.cursor, limit)
            .await?
            .into(),
    ))
}

//! Legal hold, permanent deletion and the retention dry run (admins).

use axum::extract::State;
use switchboard_core::{ContactId, ConversationId, WorkspaceId};
use switchboard_service::{Deleted, HoldRequest, HoldState, RetentionPreview};

use crate::AppState;
use crate::auth::InWorkspace;
use crate::error::ApiResult;
use crate::extract::{Json, Path};

type Conv = Path<(WorkspaceId, ConversationId)>;
type Contact = Path<(WorkspaceId, ContactId)>;

pub async fn hold(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Conv,
) -> ApiResult<axum::Json<HoldState>> {
    Ok(axum::Json(s.services.legal_hold(&a, id).await?))
}

pub async fn set_hold(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Conv,
    Json(req): Json<HoldRequest>,
) -> ApiResult<axum::Json<HoldState>> {
    Ok(axum::Json(s.services.hold_conversation(&a, id, req).await?))
}

pub async fn set_contact_hold(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Contact,
    Json(req): Json<HoldRequest>,
) -> ApiResult<axum::http::StatusCode> {
    s.services.hold_contact(&a, id, req).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

pub async fn delete_conversation(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Conv,
) -> ApiResult<axum::Json<Deleted>> {
    Ok(axum::Json(s.services.delete_conversation(&a, id).await?))
}

pub async fn erase_contact(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Contact,
) -> ApiResult<axum::Json<Deleted>> {
    Ok(axum::Json(s.services.erase_contact(&a, id).await?))
}

pub async fn retention_preview(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
) -> ApiResult<axum::Json<RetentionPreview>> {
    Ok(axum::Json(s.services.retention_preview(&a).await?))
}

pub async fn monthly_archives(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
) -> ApiResult<axum::Json<crate::api::Items<switchboard_service::MonthlyArchiveView>>> {
    Ok(axum::Json(crate::api::Items {
        items: s.services.monthly_archives(&a).await?,
    }))
}

/// A month's ZIP, streamed from storage.
pub async fn download_monthly_archive(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, month)): Path<(WorkspaceId, String)>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let key = s.services.monthly_archive_key(&a, &month).await?;
    let stream = s.services.open_stored(&key).await?;
    // The month was matched against stored names (`YYYY-MM`), so it is plain ASCII.
    let headers = crate::api::download_headers(
        "application/zip",
        &format!("attachment; filename=\"archive-{month}.zip\""),
    )?;
    Ok((headers, axum::body::Body::from_stream(stream)).into_response())
}

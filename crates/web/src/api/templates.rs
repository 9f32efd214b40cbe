//! Message templates: every member lists and previews them; admins create,
//! change and delete them.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_core::template::MessageTemplate;
use switchboard_core::{TemplateId, WorkspaceId};
use switchboard_service::{TemplateInput, TemplatePreview, TemplatePreviewRequest, TemplateQuery, TemplateUpdate};

use crate::AppState;
use crate::api::Items;
use crate::auth::InWorkspace;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};

type Tpl = Path<(WorkspaceId, TemplateId)>;

pub async fn list(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Query(q): Query<TemplateQuery>,
) -> ApiResult<axum::Json<Items<MessageTemplate>>> {
    Ok(axum::Json(Items {
        items: s.services.templates(&a, q).await?,
    }))
}

pub async fn get(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Tpl,
) -> ApiResult<axum::Json<MessageTemplate>> {
    Ok(axum::Json(s.services.template(&a, id).await?))
}

pub async fn create(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Json(input): Json<TemplateInput>,
) -> ApiResult<(StatusCode, axum::Json<MessageTemplate>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.services.create_template(&a, input).await?),
    ))
}

pub async fn update(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Tpl,
    Json(input): Json<TemplateUpdate>,
) -> ApiResult<axum::Json<MessageTemplate>> {
    Ok(axum::Json(s.services.update_template(&a, id, input).await?))
}

pub async fn delete(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Tpl,
) -> ApiResult<StatusCode> {
    s.services.delete_template(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn preview(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Tpl,
    Json(req): Json<TemplatePreviewRequest>,
) -> ApiResult<axum::Json<TemplatePreview>> {
    Ok(axum::Json(s.services.preview_template(&a, id, req).await?))
}

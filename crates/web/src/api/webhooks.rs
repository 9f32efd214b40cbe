//! Outgoing webhooks of a workspace, their delivery logs, and the workspace
//! settings (admins only).

use axum::extract::State;
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::Deserialize;
use switchboard_core::{WebhookDeliveryId, WebhookId, WorkspaceId};
use switchboard_service::{
    CreatedWebhook, Webhook, WebhookDelivery, WebhookInput, WebhookUpdate, WorkspaceSettings, WorkspaceSettingsUpdate,
};

use crate::AppState;
use crate::api::{Items, PageOut};
use crate::auth::InWorkspace;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};

type Ws<T> = Path<(WorkspaceId, T)>;

pub async fn list(State(s): State<AppState>, InWorkspace(a): InWorkspace) -> ApiResult<axum::Json<Items<Webhook>>> {
    Ok(axum::Json(Items {
        items: s.services.webhooks(&a).await?,
    }))
}

pub async fn create(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Json(input): Json<WebhookInput>,
) -> ApiResult<(StatusCode, axum::Json<CreatedWebhook>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.services.create_webhook(&a, input).await?),
    ))
}

pub async fn get(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<WebhookId>,
) -> ApiResult<axum::Json<Webhook>> {
    Ok(axum::Json(s.services.webhook(&a, id).await?))
}

pub async fn update(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<WebhookId>,
    Json(input): Json<WebhookUpdate>,
) -> ApiResult<axum::Json<CreatedWebhook>> {
    Ok(axum::Json(s.services.update_webhook(&a, id, input).await?))
}

pub async fn delete(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<WebhookId>,
) -> ApiResult<StatusCode> {
    s.services.delete_webhook(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryListQuery {
    pub cursor: Option<WebhookDeliveryId>,
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u64>,
}

pub async fn deliveries(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<WebhookId>,
    Query(q): Query<DeliveryListQuery>,
) -> ApiResult<axum::Json<PageOut<WebhookDelivery>>> {
    let limit = crate::api::limit(q.limit)?;
    Ok(axum::Json(
        s.services.webhook_deliveries(&a, id, q.cursor, limit).await?.into(),
    ))
}

pub async fn send_test(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<WebhookId>,
) -> ApiResult<(StatusCode, axum::Json<WebhookDelivery>)> {
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(s.services.send_test_event(&a, id).await?),
    ))
}

pub async fn get_settings(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
) -> ApiResult<axum::Json<WorkspaceSettings>> {
    Ok(axum::Json(s.services.workspace_settings(&a).await?))
}

pub async fn update_settings(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Json(input): Json<WorkspaceSettingsUpdate>,
) -> ApiResult<axum::Json<WorkspaceSettings>> {
    Ok(axum::Json(s.services.update_workspace_settings(&a, input).await?))
}

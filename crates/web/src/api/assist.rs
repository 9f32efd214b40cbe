//! AI assist: the workspace's provider (admin), its call log, and the
//! composer's actions on a conversation (an answer, or the same streamed
//! as server-sent events).

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use switchboard_core::ConversationId;
use switchboard_service::{
    AssistAnswer, AssistCall, AssistCheck, AssistRequest, AssistSettingsInput, AssistSettingsView,
};

use crate::AppState;
use crate::api::PageOut;
use crate::auth::InWorkspace;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};

pub async fn settings(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
) -> ApiResult<axum::Json<AssistSettingsView>> {
    Ok(axum::Json(s.services.assist_settings(&a).await?))
}

pub async fn update_settings(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Json(input): Json<AssistSettingsInput>,
) -> ApiResult<axum::Json<AssistSettingsView>> {
    Ok(axum::Json(s.services.update_assist_settings(&a, input).await?))
}

pub async fn test(State(s): State<AppState>, InWorkspace(a): InWorkspace) -> ApiResult<axum::Json<AssistCheck>> {
    Ok(axum::Json(s.services.test_assist(&a).await?))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallListQuery {
    pub cursor: Option<String>,
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u64>,
}

pub async fn calls(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Query(q): Query<CallListQuery>,
) -> ApiResult<axum::Json<PageOut<AssistCall>>> {
    Ok(axum::Json(s.services.assist_calls(&a, q.cursor, q.limit).await?.into()))
}

pub async fn run(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Path<(switchboard_core::WorkspaceId, ConversationId)>,
    Json(req): Json<AssistRequest>,
) -> ApiResult<axum::Json<AssistAnswer>> {
    Ok(axum::Json(s.services.assist(&a, id, req).await?))
}

/// The same as server-sent events: `delta` pieces, then `done` with the
/// checked answer or `failed`. Closing the connection cancels the call.
pub async fn stream(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Path<(switchboard_core::WorkspaceId, ConversationId)>,
    Json(req): Json<AssistRequest>,
) -> ApiResult<Response> {
    let events = s.services.assist_stream(&a, id, req).await?;
    let sse = events.map(|e| Ok::<_, Infallible>(Event::default().json_data(&e).unwrap_or_default()));
    Ok(Sse::new(sse).keep_alive(KeepAlive::default()).into_response())
}

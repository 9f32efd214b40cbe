//! Conversations and their messages.

use axum::extract::State;
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::Deserialize;
use switchboard_core::MessageId;
use switchboard_core::{Conversation, ConversationId, Message, Priority, WorkspaceId};
use switchboard_service::{
    AssignRequest, ConversationQuery, MessageQuery, NewMessage, SearchHit, SnoozeRequest, StatusRequest,
};

use crate::AppState;
use crate::api::PageOut;
use crate::auth::InWorkspace;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};

type Conv = Path<(WorkspaceId, ConversationId)>;

pub async fn list(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Query(q): Query<ConversationQuery>,
) -> ApiResult<axum::Json<PageOut<Conversation>>> {
    Ok(axum::Json(s.services.conversations(&a, q).await?.into()))
}

pub async fn search(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Query(q): Query<ConversationQuery>,
) -> ApiResult<axum::Json<PageOut<SearchHit>>> {
    Ok(axum::Json(s.services.search(&a, q).await?.into()))
}

pub async fn get(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Conv,
) -> ApiResult<axum::Json<Conversation>> {
    Ok(axum::Json(s.services.conversation(&a, id).await?))
}

pub async fn status(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Conv,
    Json(req): Json<StatusRequest>,
) -> ApiResult<axum::Json<Conversation>> {
    Ok(axum::Json(s.services.change_status(&a, id, req).await?))
}

pub async fn transfer_targets(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
) -> ApiResult<axum::Json<Vec<switchboard_service::TransferTeam>>> {
    Ok(axum::Json(s.services.transfer_targets(&a).await?))
}

pub async fn snooze(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Conv,
    Json(req): Json<SnoozeRequest>,
) -> ApiResult<axum::Json<Conversation>> {
    Ok(axum::Json(s.services.snooze(&a, id, req).await?))
}

pub async fn unsnooze(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Conv,
) -> ApiResult<axum::Json<Conversation>> {
    Ok(axum::Json(s.services.unsnooze(&a, id).await?))
}

pub async fn cancel_scheduled(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, conversation, message)): Path<(WorkspaceId, ConversationId, MessageId)>,
) -> ApiResult<axum::Json<Message>> {
    Ok(axum::Json(
        s.services.cancel_scheduled(&a, conversation, message).await?,
    ))
}

pub async fn message_history(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, conversation, message)): Path<(WorkspaceId, ConversationId, MessageId)>,
) -> ApiResult<axum::Json<Vec<switchboard_core::MessageEdit>>> {
    Ok(axum::Json(s.services.message_history(&a, conversation, message).await?))
}

pub async fn assign(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Conv,
    Json(req): Json<AssignRequest>,
) -> ApiResult<axum::Json<Conversation>> {
    Ok(axum::Json(s.services.assign(&a, id, req).await?))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriorityRequest {
    pub priority: Priority,
}

pub async fn priority(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Conv,
    Json(req): Json<PriorityRequest>,
) -> ApiResult<axum::Json<Conversation>> {
    Ok(axum::Json(s.services.set_priority(&a, id, req.priority).await?))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TagsRequest {
    /// The full set of tag names the conversation should carry.
    pub tags: Vec<String>,
}

pub async fn tags(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Conv,
    Json(req): Json<TagsRequest>,
) -> ApiResult<axum::Json<Conversation>> {
    Ok(axum::Json(s.services.set_tags(&a, id, req.tags).await?))
}

pub async fn messages(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Conv,
    Query(q): Query<MessageQuery>,
) -> ApiResult<axum::Json<PageOut<switchboard_core::MessageView>>> {
    Ok(axum::Json(s.services.message_views(&a, id, q).await?.into()))
}

pub async fn post_message(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Conv,
    Json(req): Json<NewMessage>,
) -> ApiResult<(StatusCode, axum::Json<Message>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.services.post_message(&a, id, req).await?),
    ))
}

pub async fn read(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Conv,
) -> ApiResult<StatusCode> {
    s.services.mark_read_by_business(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn typing(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Conv,
) -> ApiResult<StatusCode> {
    s.services.agent_typing(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

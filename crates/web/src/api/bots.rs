//! Bots: a channel's flow or external bot (admin), an external bot's
//! replies and hand-offs, and "Enter chat".

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_core::{ChannelId, Conversation, ConversationId, Message, WorkspaceId};
use switchboard_service::{BotHandoffRequest, BotInput, BotReplyRequest, SavedBot};

use crate::AppState;
use crate::auth::InWorkspace;
use crate::error::ApiResult;
use crate::extract::{Json, Path};

pub async fn set(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Path<(WorkspaceId, ChannelId)>,
    Json(input): Json<BotInput>,
) -> ApiResult<axum::Json<SavedBot>> {
    Ok(axum::Json(s.services.set_channel_bot(&a, id, input).await?))
}

pub async fn remove(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Path<(WorkspaceId, ChannelId)>,
) -> ApiResult<StatusCode> {
    s.services.remove_channel_bot(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn enter(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Path<(WorkspaceId, ConversationId)>,
) -> ApiResult<axum::Json<Conversation>> {
    Ok(axum::Json(s.services.enter_chat(&a, id).await?))
}

pub async fn reply(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Path<(WorkspaceId, ConversationId)>,
    Json(req): Json<BotReplyRequest>,
) -> ApiResult<(StatusCode, axum::Json<Message>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.services.bot_reply(&a, id, req).await?),
    ))
}

pub async fn handoff(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Path<(WorkspaceId, ConversationId)>,
    Json(req): Json<BotHandoffRequest>,
) -> ApiResult<axum::Json<Conversation>> {
    Ok(axum::Json(s.services.bot_handoff(&a, id, req).await?))
}

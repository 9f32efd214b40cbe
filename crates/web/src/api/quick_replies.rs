//! Quick replies: the caller's personal ones, their teams' and the workspace's.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_core::{ConversationId, MessageView, QuickReplyId, QuickReplyView, WorkspaceId};
use switchboard_service::{QuickReplyInput, QuickReplyUpdate, SendQuickReply};

use crate::AppState;
use crate::api::Items;
use crate::auth::InWorkspace;
use crate::error::ApiResult;
use crate::extract::{Json, Path};

pub async fn list(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
) -> ApiResult<axum::Json<Items<QuickReplyView>>> {
    Ok(axum::Json(Items {
        items: s.services.quick_replies(&a).await?,
    }))
}

pub async fn create(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Json(input): Json<QuickReplyInput>,
) -> ApiResult<(StatusCode, axum::Json<QuickReplyView>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.services.create_quick_reply(&a, input).await?),
    ))
}

pub async fn update(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Path<(WorkspaceId, QuickReplyId)>,
    Json(input): Json<QuickReplyUpdate>,
) -> ApiResult<axum::Json<QuickReplyView>> {
    Ok(axum::Json(s.services.update_quick_reply(&a, id, input).await?))
}

pub async fn delete(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Path<(WorkspaceId, QuickReplyId)>,
) -> ApiResult<StatusCode> {
    s.services.delete_quick_reply(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn send(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, conversation, id)): Path<(WorkspaceId, ConversationId, QuickReplyId)>,
    Json(input): Json<SendQuickReply>,
) -> ApiResult<(StatusCode, axum::Json<MessageView>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.services.send_quick_reply(&a, conversation, id, input).await?),
    ))
}

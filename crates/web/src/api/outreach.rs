//! Outreach: start a conversation with a saved contact.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_core::{ContactId, Conversation, WorkspaceId};
use switchboard_service::StartConversation;

use crate::AppState;
use crate::auth::InWorkspace;
use crate::error::ApiResult;
use crate::extract::{Json, Path};

pub async fn start(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, contact)): Path<(WorkspaceId, ContactId)>,
    Json(req): Json<StartConversation>,
) -> ApiResult<(StatusCode, axum::Json<Conversation>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.services.start_conversation(&a, contact, req).await?),
    ))
}

//! A conversation's transcript as a plain-text download.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use switchboard_core::{ConversationId, WorkspaceId};

use crate::AppState;
use crate::auth::InWorkspace;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::Path;

/// `GET …/conversations/{conversation_id}/transcript`: the conversation as
/// text, if the caller can see it (404 otherwise).
pub async fn download(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Path<(WorkspaceId, ConversationId)>,
) -> ApiResult<Response> {
    let transcript = s.services.transcript(&a, id).await?;
    // The file name is built from the id alone, so it is plain ASCII.
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", transcript.filename))
        .map_err(|_| ApiError::new(ErrorCode::Internal, "internal error"))?;
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    headers.insert(CONTENT_DISPOSITION, disposition);
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok((StatusCode::OK, headers, transcript.text).into_response())
}

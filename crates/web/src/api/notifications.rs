//! The caller's notifications: mentions in notes and comments, chats given
//! to them by someone else. Each member reads and marks only their own.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_service::{MarkNotificationsRead, NotificationList, NotificationQuery};

use crate::AppState;
use crate::auth::InWorkspace;
use crate::error::ApiResult;
use crate::extract::{Json, Query};

pub async fn list(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Query(q): Query<NotificationQuery>,
) -> ApiResult<axum::Json<NotificationList>> {
    Ok(axum::Json(s.services.notifications(&a, q).await?))
}

pub async fn mark_read(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Json(req): Json<MarkNotificationsRead>,
) -> ApiResult<StatusCode> {
    s.services.mark_notifications_read(&a, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

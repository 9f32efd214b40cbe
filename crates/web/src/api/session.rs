//! Sign-in and the caller's own account.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header::SET_COOKIE};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_core::{Role, UserId, WorkspaceId};

use crate::AppState;
use crate::auth::{Authenticated, ClientAddr, Credential, SESSION_COOKIE, cookie, set_cookie};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WorkspaceRole {
    pub id: WorkspaceId,
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Me {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub workspaces: Vec<WorkspaceRole>,
    /// Send this in `X-CSRF-Token` with cookie-authenticated writes.
    pub csrf_token: Option<String>,
}

async fn me_of(state: &AppState, user_id: UserId, csrf_token: Option<String>) -> ApiResult<Me> {
    let (email, name) = state.services.user_profile(user_id).await?;
    let workspaces = state
        .services
        .workspaces_of(user_id)
        .await?
        .into_iter()
        .map(|(w, role)| WorkspaceRole {
            id: w.id,
            name: w.name,
            role,
        })
        .collect();
    Ok(Me {
        user_id,
        email,
        name,
        workspaces,
        csrf_token,
    })
}

pub(crate) fn session_cookie(state: &AppState, token: &str) -> HeaderValue {
    let max_age = state.services.config().session_ttl.as_secs() as i64;
    HeaderValue::from_str(&set_cookie(SESSION_COOKIE, token, max_age, state.web.secure_cookies))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub(crate) fn clear_session_cookie(state: &AppState) -> HeaderValue {
    HeaderValue::from_str(&set_cookie(SESSION_COOKIE, "", 0, state.web.secure_cookies))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Response> {
    let outcome = state.services.login(&req.email, &req.password, &client).await?;
    let me = me_of(&state, outcome.user_id, Some(outcome.csrf_token)).await?;
    let mut response = axum::Json(me).into_response();
    response
        .headers_mut()
        .insert(SET_COOKIE, session_cookie(&state, &outcome.session_token));
    Ok(response)
}

pub async fn logout(State(state): State<AppState>, auth: Authenticated, headers: HeaderMap) -> ApiResult<Response> {
    if let (Credential::Session { .. }, Some(token)) = (&auth.credential, cookie(&headers, SESSION_COOKIE)) {
        state.services.logout(token).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(SET_COOKIE, clear_session_cookie(&state));
    Ok(response)
}

pub async fn me(State(state): State<AppState>, auth: Authenticated) -> ApiResult<axum::Json<Me>> {
    let csrf = match auth.credential {
        Credential::Session { csrf_token, .. } => Some(csrf_token),
        Credential::Bearer { .. } => None,
    };
    Ok(axum::Json(me_of(&state, auth.user_id, csrf).await?))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 10 characters, at most 1,024 bytes.
    #[schemars(length(min = 10, max = 256))]
    pub new_password: String,
}

/// Change one's password. Every other session of the user ends.
pub async fn change_password(
    State(state): State<AppState>,
    auth: Authenticated,
    Json(req): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    let keep = match &auth.credential {
        Credential::Session { token_hash, .. } => Some(token_hash.as_str()),
        Credential::Bearer { .. } => None,
    };
    state
        .services
        .change_password(auth.user_id, keep, &req.current_password, &req.new_password)
        .await
        .map_err(ApiError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

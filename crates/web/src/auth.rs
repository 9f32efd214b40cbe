//! Who is calling: a session cookie (pages, and the API from pages) or a
//! bearer token (programs). Cookie-authenticated writes must carry the
//! session's CSRF token in `X-CSRF-Token`; bearer requests cannot be forged
//! by a browser, so they need none.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use subtle::ConstantTimeEq;
use switchboard_core::{UserId, WorkspaceId};
use switchboard_service::Actor;

use crate::AppState;
use crate::error::{ApiError, ErrorCode};

pub const SESSION_COOKIE: &str = "sb_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Read one cookie from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure when served over TLS.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{}",
        if secure { "; Secure" } else { "" }
    )
}

pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[derive(Debug, Clone)]
pub enum Credential {
    Session { csrf_token: String, token_hash: String },
    Bearer { workspace_id: WorkspaceId },
}

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user_id: UserId,
    pub credential: Credential,
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "use Authorization: Bearer <token>"))?;
            let token = state.services.bearer(token.trim()).await?;
            return Ok(Authenticated {
                user_id: token.user_id,
                credential: Credential::Bearer {
                    workspace_id: token.workspace_id,
                },
            });
        }
        let Some(cookie) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ApiError::new(ErrorCode::Unauthenticated, "sign in first"));
        };
        let session = state
            .services
            .session(cookie)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "the session has ended; sign in again"))?;
        if is_write(&parts.method) {
            let given = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !constant_time_eq(given, &session.csrf_token) {
                return Err(ApiError::new(
                    ErrorCode::CsrfFailed,
                    "send the session's CSRF token in X-CSRF-Token",
                ));
            }
        }
        Ok(Authenticated {
            user_id: session.user_id,
            credential: Credential::Session {
                csrf_token: session.csrf_token,
                token_hash: session.token_hash,
            },
        })
    }
}

/// The caller acting in the workspace named by the path's `{workspace_id}`.
/// A workspace the caller is not in, or that a token was not made for,
/// answers 404.
#[derive(Debug, Clone)]
pub struct InWorkspace(pub Actor);

impl FromRequestParts<AppState> for InWorkspace {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let auth = Authenticated::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("workspace"))?;
        let workspace: WorkspaceId = params
            .iter()
            .find(|(k, _)| *k == "workspace_id")
            .and_then(|(_, v)| v.parse().ok())
            .ok_or_else(|| ApiError::not_found("workspace"))?;
        if let Credential::Bearer { workspace_id } = auth.credential
            && workspace_id != workspace
        {
            return Err(ApiError::not_found("workspace"));
        }
        Ok(InWorkspace(state.services.actor(workspace, auth.user_id).await?))
    }
}

/// The client's address, for rate limits: the socket peer, or the first
/// `X-Forwarded-For` hop when the operator says a trusted proxy is in front.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if state.web.trust_forwarded_for
            && let Some(first) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
        {
            return Ok(ClientAddr(first.trim().to_owned()));
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
        Ok(ClientAddr(peer))
    }
}

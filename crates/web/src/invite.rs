//! The invitation page: the holder of an invitation link accepts it, with
//! their account's password, or choosing a name and password for a new
//! account; then they are signed in to the workspace.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard_service::{AcceptInvitation, InvitationInfo, ServiceError};

use crate::AppState;
use crate::api::session::session_cookie;
use crate::pages::{form_csrf, form_csrf_ok, render, with_cookie};

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage {
    /// `None`: the link is not valid (used, withdrawn, expired).
    info: Option<InvitationInfo>,
    csrf: String,
    token: String,
    name: String,
    error: Option<String>,
    name_error: Option<String>,
    password_error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct InviteQuery {
    #[serde(default)]
    token: String,
}

pub async fn form(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<InviteQuery>) -> Response {
    let info = state.services.invitation_info(&q.token).await.ok();
    let (csrf, set) = form_csrf(&state, &headers);
    let status = if info.is_some() {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    let page = InvitePage {
        name: info.as_ref().map(|i| i.name.clone()).unwrap_or_default(),
        info,
        csrf,
        token: q.token,
        error: None,
        name_error: None,
        password_error: None,
    };
    with_cookie(render(&page, status), set)
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

pub async fn submit(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<InviteForm>) -> Response {
    let (csrf, set) = form_csrf(&state, &headers);
    let info = state.services.invitation_info(&form.token).await.ok();
    let mut page = InvitePage {
        info,
        csrf,
        token: form.token.clone(),
        name: form.name.clone(),
        error: None,
        name_error: None,
        password_error: None,
    };
    if page.info.is_none() {
        return with_cookie(render(&page, StatusCode::GONE), set);
    }
    if !form_csrf_ok(&headers, &form.csrf) {
        page.error = Some("The form expired. Please try again.".into());
        return with_cookie(render(&page, StatusCode::FORBIDDEN), set);
    }
    let request = AcceptInvitation {
        token: form.token,
        name: Some(form.name).filter(|n| !n.trim().is_empty()),
        password: form.password,
    };
    match state.services.accept_invitation(request).await {
        Ok((ws, outcome)) => {
            let to = format!("/w/{ws}/inbox");
            let mut response = (StatusCode::SEE_OTHER, [(axum::http::header::LOCATION, to)]).into_response();
            response
                .headers_mut()
                .append(SET_COOKIE, session_cookie(&state, &outcome.session_token));
            response
        }
        Err(ServiceError::Invalid(invalid)) => {
            match invalid.field {
                "name" => page.name_error = Some(invalid.reason),
                _ => page.password_error = Some(invalid.reason),
            }
            with_cookie(render(&page, StatusCode::UNPROCESSABLE_ENTITY), set)
        }
        Err(ServiceError::InvalidCredentials) => {
            page.password_error = Some("That is not the password of this account.".into());
            with_cookie(render(&page, StatusCode::UNAUTHORIZED), set)
        }
        Err(ServiceError::NotFound(_)) => {
            page.info = None;
            with_cookie(render(&page, StatusCode::GONE), set)
        }
        Err(e) => {
            tracing::error!(error = %e, "accepting an invitation failed");
            page.error = Some("Something went wrong; please try again.".into());
            with_cookie(render(&page, StatusCode::INTERNAL_SERVER_ERROR), set)
        }
    }
}

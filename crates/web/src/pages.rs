//! Server-rendered pages: sign-in, first-run setup, the account page.
//! Forms carry a CSRF token: before sign-in a double-submit cookie, after
//! it the session's token.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use switchboard_service::ServiceError;

use crate::AppState;
use crate::api::session::{clear_session_cookie, session_cookie};
use crate::auth::{ClientAddr, SESSION_COOKIE, constant_time_eq, cookie, set_cookie};

const FORM_CSRF_COOKIE: &str = "sb_form_csrf";

pub(crate) fn render(t: &impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn redirect(to: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, HeaderValue::from_static(to))]).into_response()
}

/// The pre-session CSRF token: reuse the browser's, or mint one.
pub(crate) fn form_csrf(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie(headers, FORM_CSRF_COOKIE) {
        Some(existing) if existing.len() >= 32 => (existing.to_owned(), None),
        _ => {
            let token = switchboard_service::random_token();
            let header =
                HeaderValue::from_str(&set_cookie(FORM_CSRF_COOKIE, &token, 3600, state.web.secure_cookies)).ok();
            (token, header)
        }
    }
}

pub(crate) fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        response.headers_mut().append(SET_COOKIE, c);
    }
    response
}

pub(crate) fn form_csrf_ok(headers: &HeaderMap, given: &str) -> bool {
    cookie(headers, FORM_CSRF_COOKIE).is_some_and(|c| constant_time_eq(c, given))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    email: String,
    error: Option<String>,
}

pub async fn login_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if signed_in(&state, &headers).await.is_some() {
        return redirect("/");
    }
    let (csrf, set) = form_csrf(&state, &headers);
    with_cookie(
        render(
            &LoginPage {
                csrf,
                email: String::new(),
                error: None,
            },
            StatusCode::OK,
        ),
        set,
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn login_submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let (csrf, set) = form_csrf(&state, &headers);
    let page = |error: String, status| {
        with_cookie(
            render(
                &LoginPage {
                    csrf: csrf.clone(),
                    email: form.email.clone(),
                    error: Some(error),
                },
                status,
            ),
            set.clone(),
        )
    };
    if !form_csrf_ok(&headers, &form.csrf) {
        return page("The form expired. Please try again.".into(), StatusCode::FORBIDDEN);
    }
    match state.services.login(&form.email, &form.password, &client).await {
        Ok(outcome) => {
            let mut response = redirect("/");
            response
                .headers_mut()
                .append(SET_COOKIE, session_cookie(&state, &outcome.session_token));
            response
        }
        Err(e @ ServiceError::RateLimited { .. }) => page(e.to_string(), StatusCode::TOO_MANY_REQUESTS),
        Err(ServiceError::InvalidCredentials) => page("Wrong e-mail or password.".into(), StatusCode::UNAUTHORIZED),
        Err(e) => {
            tracing::error!(error = %e, "login failed");
            page(
                "Something went wrong; please try again.".into(),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

#[derive(Default)]
struct SetupFieldErrors {
    workspace_name: Option<String>,
    name: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    valid: bool,
    csrf: String,
    token: String,
    workspace_name: String,
    name: String,
    email: String,
    error: Option<String>,
    field_errors: SetupFieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct SetupQuery {
    #[serde(default)]
    token: String,
}

pub async fn setup_form(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<SetupQuery>) -> Response {
    let valid = state.services.setup_token_valid(&q.token).await.unwrap_or(false);
    let (csrf, set) = form_csrf(&state, &headers);
    let page = SetupPage {
        valid,
        csrf,
        token: q.token,
        workspace_name: String::new(),
        name: String::new(),
        email: String::new(),
        error: None,
        field_errors: SetupFieldErrors::default(),
    };
    with_cookie(
        render(&page, if valid { StatusCode::OK } else { StatusCode::GONE }),
        set,
    )
}

#[derive(Debug, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    workspace_name: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn setup_submit(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<SetupForm>) -> Response {
    let (csrf, set) = form_csrf(&state, &headers);
    let mut page = SetupPage {
        valid: true,
        csrf,
        token: form.token.clone(),
        workspace_name: form.workspace_name.clone(),
        name: form.name.clone(),
        email: form.email.clone(),
        error: None,
        field_errors: SetupFieldErrors::default(),
    };
    if !form_csrf_ok(&headers, &form.csrf) {
        page.error = Some("The form expired. Please try again.".into());
        return with_cookie(render(&page, StatusCode::FORBIDDEN), set);
    }
    match state
        .services
        .complete_setup(
            &form.token,
            &form.workspace_name,
            &form.name,
            &form.email,
            &form.password,
        )
        .await
    {
        Ok((_, outcome)) => {
            let mut response = redirect("/");
            response
                .headers_mut()
                .append(SET_COOKIE, session_cookie(&state, &outcome.session_token));
            response
        }
        Err(ServiceError::Invalid(invalid)) => {
            let slot = match invalid.field {
                "workspace_name" => &mut page.field_errors.workspace_name,
                "name" => &mut page.field_errors.name,
                "email" => &mut page.field_errors.email,
                _ => &mut page.field_errors.password,
            };
            *slot = Some(invalid.reason);
            with_cookie(render(&page, StatusCode::UNPROCESSABLE_ENTITY), set)
        }
        Err(ServiceError::SetupUnavailable(_)) => {
            page.valid = false;
            with_cookie(render(&page, StatusCode::GONE), set)
        }
        Err(e) => {
            tracing::error!(error = %e, "setup failed");
            page.error = Some("Something went wrong; please try again.".into());
            with_cookie(render(&page, StatusCode::INTERNAL_SERVER_ERROR), set)
        }
    }
}

async fn signed_in(state: &AppState, headers: &HeaderMap) -> Option<switchboard_service::SessionInfo> {
    let token = cookie(headers, SESSION_COOKIE)?;
    state.services.session(token).await.ok().flatten()
}

struct WorkspaceLine {
    id: String,
    name: String,
    role: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    name: String,
    email: String,
    workspaces: Vec<WorkspaceLine>,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
}

async fn account_page(
    state: &AppState,
    session: &switchboard_service::SessionInfo,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let (email, name) = match state.services.user_profile(session.user_id).await {
        Ok(p) => p,
        Err(_) => return redirect("/login"),
    };
    let workspaces = state
        .services
        .workspaces_of(session.user_id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(w, role)| WorkspaceLine {
            id: w.id.to_string(),
            name: w.name,
            role: role.to_string(),
        })
        .collect();
    render(
        &AccountPage {
            name,
            email,
            workspaces,
            csrf: session.csrf_token.clone(),
            notice,
            error,
        },
        status,
    )
}

/// The account page, for someone who belongs to no workspace yet.
pub async fn account(state: &AppState, session: &switchboard_service::SessionInfo) -> Response {
    account_page(state, session, None, None, StatusCode::OK).await
}

/// `/account`: one's workspaces and password, whatever the workspace.
pub async fn account_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match signed_in(&state, &headers).await {
        Some(session) => account(&state, &session).await,
        None => redirect("/login"),
    }
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

pub async fn password_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let Some(session) = signed_in(&state, &headers).await else {
        return redirect("/login");
    };
    if !constant_time_eq(&form.csrf, &session.csrf_token) {
        return account_page(
            &state,
            &session,
            None,
            Some("The form expired. Please try again.".into()),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    match state
        .services
        .change_password(
            session.user_id,
            Some(&session.token_hash),
            &form.current_password,
            &form.new_password,
        )
        .await
    {
        Ok(()) => {
            account_page(
                &state,
                &session,
                Some("Password changed. Other sessions were signed out.".into()),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(ServiceError::Invalid(invalid) | ServiceError::Refused(invalid)) => {
            let field = if invalid.field == "current_password" {
                "Current password"
            } else {
                "New password"
            };
            account_page(
                &state,
                &session,
                None,
                Some(format!("{field} {}", invalid.reason)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "password change failed");
            account_page(
                &state,
                &session,
                None,
                Some("Something went wrong; please try again.".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    if let Some(session) = signed_in(&state, &headers).await {
        if !constant_time_eq(&form.csrf, &session.csrf_token) {
            return account_page(
                &state,
                &session,
                None,
                Some("The form expired. Please try again.".into()),
                StatusCode::FORBIDDEN,
            )
            .await;
        }
        if let Some(token) = cookie(&headers, SESSION_COOKIE) {
            let _ = state.services.logout(token).await;
        }
    }
    let mut response = redirect("/login");
    response.headers_mut().append(SET_COOKIE, clear_session_cookie(&state));
    response
}

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../assets/app.css"),
    )
}

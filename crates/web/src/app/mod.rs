//! The signed-in web app: inbox, conversation, supervisor view, contacts,
//! admin and profile pages under `/w/{workspace_id}/…`. Pages are rendered
//! here (askama escapes every value); our own JS modules in
//! `assets/app/` call the JSON API with the session's CSRF token and
//! re-fetch page fragments when `/api/v1/ws` reports a change.

pub mod admin;
pub mod analytics;
pub mod campaigns;
pub mod charts;
pub mod console;
pub mod contacts;
pub mod conversation;
pub mod format;
pub mod inbox;
pub mod pdf;
pub mod profile;
pub mod supervisor;

use askama::Template;
use axum::extract::{FromRequestParts, RawPathParams, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use switchboard_core::{Availability, Member, Role, WorkspaceId};
use switchboard_service::{Actor, Names};

use crate::AppState;
use crate::auth::{SESSION_COOKIE, cookie};

/// Everything a page of the app needs about who is looking.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub actor: Actor,
    pub me: Member,
    pub csrf: String,
    pub workspace_name: String,
}

impl Viewer {
    pub fn ws(&self) -> WorkspaceId {
        self.actor.workspace_id
    }
    pub fn is_admin(&self) -> bool {
        self.actor.role == Role::Admin
    }
    pub fn is_supervisor(&self) -> bool {
        matches!(self.actor.role, Role::Admin | Role::Supervisor)
    }
}

/// Why a page cannot be shown.
pub enum PageRejection {
    SignIn,
    NotFound,
    Failed,
}

impl IntoResponse for PageRejection {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn => (StatusCode::SEE_OTHER, [(LOCATION, HeaderValue::from_static("/login"))]).into_response(),
            Self::NotFound => not_found_page(),
            Self::Failed => (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.").into_response(),
        }
    }
}

pub fn not_found_page() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html("<!doctype html><title>Not found</title><p>Not found. <a href=\"/\">Home</a></p>"),
    )
        .into_response()
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageRejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(PageRejection::SignIn)?;
        let session = state
            .services
            .session(token)
            .await
            .map_err(|_| PageRejection::Failed)?
            .ok_or(PageRejection::SignIn)?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| PageRejection::NotFound)?;
        let ws: WorkspaceId = params
            .iter()
            .find(|(k, _)| *k == "workspace_id")
            .and_then(|(_, v)| v.parse().ok())
            .ok_or(PageRejection::NotFound)?;
        let actor = state
            .services
            .actor(ws, session.user_id)
            .await
            .map_err(|_| PageRejection::NotFound)?;
        let me = state
            .services
            .member(&actor, session.user_id)
            .await
            .map_err(|_| PageRejection::NotFound)?;
        let workspace_name = state
            .services
            .workspaces_of(session.user_id)
            .await
            .map_err(|_| PageRejection::Failed)?
            .into_iter()
            .find(|(w, _)| w.id == ws)
            .map(|(w, _)| w.name)
            .unwrap_or_default();
        Ok(Viewer {
            actor,
            me,
            csrf: session.csrf_token,
            workspace_name,
        })
    }
}

/// The frame around every app page: navigation, the availability switch,
/// the live-update connection.
#[derive(Default)]
pub struct Layout {
    pub title: String,
    pub nav: &'static str,
    pub ws: String,
    pub workspace_name: String,
    pub csrf: String,
    pub me_id: String,
    pub me_name: String,
    pub availability: &'static str,
    pub is_admin: bool,
    pub is_supervisor: bool,
    /// The page's own script module, under `/assets/app/`.
    pub script: &'static str,
}

impl Layout {
    pub fn new(viewer: &Viewer, title: impl Into<String>, nav: &'static str, script: &'static str) -> Self {
        Self {
            title: title.into(),
            nav,
            ws: viewer.ws().to_string(),
            workspace_name: viewer.workspace_name.clone(),
            csrf: viewer.csrf.clone(),
            me_id: viewer.me.id.to_string(),
            me_name: viewer.me.name.clone(),
            availability: match viewer.me.availability {
                Availability::Online => "online",
                Availability::Busy => "busy",
                Availability::Offline => "offline",
            },
            is_admin: viewer.is_admin(),
            is_supervisor: viewer.is_supervisor(),
            script,
        }
    }

    /// `aria-current` for a navigation link.
    pub fn current(&self, nav: &str) -> &'static str {
        if self.nav == nav { "page" } else { "false" }
    }
}

pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Names for ids, or a failed page.
pub async fn names(state: &AppState, viewer: &Viewer) -> Result<Names, PageRejection> {
    state
        .services
        .names(&viewer.actor)
        .await
        .map_err(|_| PageRejection::Failed)
}

/// `/`: the first workspace's inbox, or the account page for someone in none.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = cookie(&headers, SESSION_COOKIE) else {
        return PageRejection::SignIn.into_response();
    };
    let Ok(Some(session)) = state.services.session(token).await else {
        return PageRejection::SignIn.into_response();
    };
    match state.services.workspaces_of(session.user_id).await {
        Ok(list) if !list.is_empty() => {
            let to = format!("/w/{}/inbox", list[0].0.id);
            match HeaderValue::from_str(&to) {
                Ok(v) => (StatusCode::SEE_OTHER, [(LOCATION, v)]).into_response(),
                Err(_) => PageRejection::Failed.into_response(),
            }
        }
        _ => crate::pages::account(&state, &session).await,
    }
}

/// Our JS modules, compiled into the binary.
const SCRIPTS: &[(&str, &str)] = &[
    ("api.js", include_str!("../../assets/app/api.js")),
    ("live.js", include_str!("../../assets/app/live.js")),
    ("shell.js", include_str!("../../assets/app/shell.js")),
    ("forms.js", include_str!("../../assets/app/forms.js")),
    ("inbox.js", include_str!("../../assets/app/inbox.js")),
    ("composer.js", include_str!("../../assets/app/composer.js")),
    ("sms.js", include_str!("../../assets/app/sms.js")),
    ("mail.js", include_str!("../../assets/app/mail.js")),
    ("actions.js", include_str!("../../assets/app/actions.js")),
    ("supervisor.js", include_str!("../../assets/app/supervisor.js")),
    ("paging.js", include_str!("../../assets/app/paging.js")),
    ("page.js", include_str!("../../assets/app/page.js")),
    ("hours.js", include_str!("../../assets/app/hours.js")),
    ("campaigns.js", include_str!("../../assets/app/campaigns.js")),
    ("console.js", include_str!("../../assets/app/console.js")),
    ("assist.js", include_str!("../../assets/app/assist.js")),
];

pub async fn script(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    match SCRIPTS.iter().find(|(n, _)| *n == name) {
        Some((_, body)) => (
            [
                (CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => not_found_page(),
    }
}

/// The app's routes.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/assets/app/{name}", get(script))
        .route("/w/{workspace_id}/inbox", get(inbox::page))
        .route("/w/{workspace_id}/inbox/list", get(inbox::list_fragment))
        .route("/w/{workspace_id}/inbox/export", get(inbox::export))
        .route(
            "/w/{workspace_id}/conversations/{conversation_id}",
            get(conversation::page),
        )
        .route(
            "/w/{workspace_id}/conversations/{conversation_id}/pane",
            get(conversation::pane),
        )
        .route("/w/{workspace_id}/analytics", get(analytics::page))
        .route("/w/{workspace_id}/analytics/report", get(analytics::printable))
        .route("/w/{workspace_id}/analytics/report.pdf", get(analytics::pdf))
        .route("/w/{workspace_id}/console", get(console::page))
        .route("/w/{workspace_id}/console/tiles", get(console::tiles_fragment))
        .route("/w/{workspace_id}/console/rows", get(console::rows_fragment))
        .route("/w/{workspace_id}/console/export", get(console::export))
        .route("/w/{workspace_id}/supervisor", get(supervisor::page))
        .route("/w/{workspace_id}/supervisor/board", get(supervisor::board_fragment))
        .route("/w/{workspace_id}/contacts", get(contacts::list))
        .route("/w/{workspace_id}/contacts/{contact_id}", get(contacts::show))
        .route("/w/{workspace_id}/profile", get(profile::page))
        .route("/w/{workspace_id}/admin", get(admin::index))
        .route("/w/{workspace_id}/admin/campaigns", get(campaigns::list))
        .route("/w/{workspace_id}/admin/campaigns/{campaign_id}", get(campaigns::show))
        .route("/w/{workspace_id}/admin/{section}", get(admin::section))
}

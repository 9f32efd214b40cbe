//! HTTP for Switchboard: the JSON API, provider webhooks and the pages.
//! Handlers parse input and call the service layer; nothing here decides
//! who may do what.

pub mod api;
pub mod app;
pub mod auth;
pub mod error;
pub mod extract;
mod invite;
pub mod pages;
pub mod widget;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use switchboard_service::Services;
use tower_http::set_header::SetResponseHeaderLayer;

pub use api::{ApiRoute, RouteAuth, api_routes};
pub use error::{ApiError, ERROR_CODES, ErrorCode};

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure` (the server is reached over TLS).
    pub secure_cookies: bool,
    /// Take the client address from `X-Forwarded-For` (a trusted proxy is in front).
    pub trust_forwarded_for: bool,
    /// Largest request body, in bytes.
    pub body_limit: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            trust_forwarded_for: false,
            body_limit: 1024 * 1024,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub web: WebConfig,
}

// Images from anywhere: an e-mail's remote images, once the agent loads
// them (until then they have no `src`, see `mail.js`).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: http: https:; connect-src 'self'; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") || uri.path().starts_with("/hooks/") || uri.path().starts_with("/widget/v1/") {
        ApiError::new(ErrorCode::NotFound, format!("no route for {}", uri.path())).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            axum::response::Html("<!doctype html><title>Not found</title><p>Not found. <a href=\"/\">Home</a></p>"),
        )
            .into_response()
    }
}

/// Answer 405 in the API's error format.
async fn api_error_format(response: Response) -> Response {
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        return ApiError::new(ErrorCode::MethodNotAllowed, "this path does not take that method").into_response();
    }
    response
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let mut app = Router::new();
    for route in api_routes() {
        app = app.route(route.path, (route.router)());
    }
    let app = app
        .route("/", get(app::home))
        .merge(app::routes())
        .route("/login", get(pages::login_form).post(pages::login_submit))
        .route("/setup", get(pages::setup_form).post(pages::setup_submit))
        .route("/invite", get(invite::form).post(invite::submit))
        .route("/logout", post(pages::logout_submit))
        .route("/account", get(pages::account_form))
        .route("/account/password", post(pages::password_submit))
        .route("/assets/app.css", get(pages::stylesheet))
        .route("/widget.js", get(widget::loader))
        .route("/widget/frame", get(widget::frame))
        .route("/widget/assets/frame.js", get(widget::frame_script))
        .route("/widget/assets/frame.css", get(widget::frame_style))
        .fallback(not_found)
        .layer(axum::middleware::map_response(api_error_format))
        .layer(DefaultBodyLimit::max(state.web.body_limit));
    let header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(HeaderName::from_static(name), HeaderValue::from_static(value))
    };
    app.layer(header("content-security-policy", CSP))
        .layer(header("x-content-type-options", "nosniff"))
        .layer(header("referrer-policy", "same-origin"))
        .layer(header("x-frame-options", "DENY"))
        .layer(header("cache-control", "no-store"))
        .with_state(state)
}

/// Serve the application on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

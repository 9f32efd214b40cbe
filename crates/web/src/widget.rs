//! The widget's own pages: the loader script other sites embed, and the
//! chat frame it opens (framed only by the channel's allowed sites). The
//! visitor's JSON and WebSocket endpoints are in `api::widget`.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use switchboard_core::ChannelId;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::Query;

// ----- the loader script and the chat frame -----

pub async fn loader() -> Response {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("application/javascript; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
            // Other sites load this script.
            (
                axum::http::HeaderName::from_static("cross-origin-resource-policy"),
                HeaderValue::from_static("cross-origin"),
            ),
        ],
        include_str!("../assets/widget/loader.js"),
    )
        .into_response()
}

pub async fn frame_script() -> Response {
    (
        [
            (CONTENT_TYPE, "application/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../assets/widget/frame.js"),
    )
        .into_response()
}

pub async fn frame_style() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../assets/widget/frame.css"),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "widget_frame.html")]
struct FramePage {
    channel_id: String,
    title: String,
    color: String,
    greeting: String,
    prechat_name: String,
    prechat_email: String,
}

#[derive(Debug, Deserialize)]
pub struct FrameQuery {
    channel: ChannelId,
}

/// The chat panel, framed by the channel's allowed sites only.
pub async fn frame(State(state): State<AppState>, Query(q): Query<FrameQuery>) -> ApiResult<Response> {
    let widget = state.services.widget(q.channel).await?;
    let s = &widget.settings;
    let ancestors = if s.allowed_origins.is_empty() {
        "'none'".to_owned()
    } else {
        s.allowed_origins.join(" ")
    };
    let page = FramePage {
        channel_id: widget.channel_id.to_string(),
        title: s.title.clone(),
        color: s.color.clone(),
        greeting: s.greeting.clone().unwrap_or_default(),
        prechat_name: serde_json::to_value(s.prechat_name)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        prechat_email: serde_json::to_value(s.prechat_email)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    };
    let html = page
        .render()
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
    );
    let mut response = Html(html).into_response();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        response.headers_mut().insert("content-security-policy", v);
    }
    Ok(response)
}

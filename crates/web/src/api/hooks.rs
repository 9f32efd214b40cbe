//! Provider webhooks: `/hooks/{kind}/{channel_id}`, any method. One generic
//! handler: the channel's adapter reads the request (a handshake, a form, a
//! JSON body) and chooses the answer, which is sent only after what the
//! request brought is durably stored.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header::CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;
use switchboard_core::{AttachmentId, ChannelId, ConversationId, MessageId};
use switchboard_service::{HookMethod, HookRequest};

use crate::AppState;
use crate::api::attachments::{Served, serve};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::Path;

/// The API channel's answer (other providers get what their protocol wants).
#[derive(Debug, Serialize, JsonSchema)]
pub struct HookAnswer {
    pub message_id: MessageId,
    pub conversation_id: Option<ConversationId>,
    /// The message was already stored by an earlier delivery of the same request.
    pub duplicate: bool,
    /// For delivery reports: whether the status moved forward.
    pub applied: Option<bool>,
}

pub async fn receive(
    State(state): State<AppState>,
    Path((kind, channel_id)): Path<(String, String)>,
    req: Request,
) -> ApiResult<Response> {
    let method = match *req.method() {
        Method::GET => HookMethod::Get,
        Method::POST => HookMethod::Post,
        _ => HookMethod::Other,
    };
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let headers = req
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    // A kind whose provider posts more than the general limit (whole
    // e-mails) reads up to its own; the route itself sets none.
    let limit = state.services.hook_body_limit(&kind).unwrap_or(state.web.body_limit);
    let body = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| ApiError::new(ErrorCode::PayloadTooLarge, "the body is larger than the limit"))?
        .to_vec();
    let request = HookRequest {
        method,
        path,
        query,
        headers,
        body,
    };
    let reply = state.services.receive_hook(&kind, &channel_id, request).await?;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut response = (status, reply.body).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    Ok(response)
}

#[derive(Debug, serde::Deserialize, JsonSchema)]
pub struct FileLink {
    /// When the link stops working (milliseconds since the epoch).
    pub expires: i64,
    /// Hex HMAC-SHA256 of `<attachment id>.<expires>`, keyed with the channel secret.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub signature: String,
}

/// `GET /hooks/{kind}/{channel_id}/files/{attachment_id}`: a file the
/// business sent, fetched by the channel's receiver with the signed link it
/// got.
pub async fn channel_file(
    State(s): State<AppState>,
    Path((kind, channel, attachment)): Path<(String, ChannelId, AttachmentId)>,
    crate::extract::Query(link): crate::extract::Query<FileLink>,
    headers: axum::http::HeaderMap,
) -> ApiResult<axum::response::Response> {
    let record = s
        .services
        .api_channel_file(
            &kind,
            channel,
            attachment,
            switchboard_core::Millis(link.expires),
            &link.signature,
        )
        .await?;
    serve(&s, &Served::file(&record), true, &headers).await
}

//! Provider webhooks: `POST /hooks/{kind}/{channel_id}`. The answer is 2xx
//! only after the message is durably stored.

use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use schemars::JsonSchema;
use serde::Serialize;
use switchboard_core::{AttachmentId, ChannelId, ChannelKind, ConversationId, MessageId};
use switchboard_service::HookOutcome;

use crate::AppState;
use crate::api::attachments::{Served, serve};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, body_bytes, is_json};

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
    Path((kind, channel_id)): Path<(String, ChannelId)>,
    req: Request,
) -> ApiResult<axum::Json<HookAnswer>> {
    let kind: ChannelKind = kind.parse().map_err(|_| ApiError::not_found("channel"))?;
    if !is_json(req.headers().get(CONTENT_TYPE)) {
        return Err(ApiError::new(
            "unsupported_media_type",
            "send the body as application/json",
        ));
    }
    let signature = req
        .headers()
        .get(switchboard_service::signature_header(kind))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = body_bytes(req, &state).await?;
    let answer = match state
        .services
        .receive_hook(kind, channel_id, signature.as_deref(), &body)
        .await?
    {
        HookOutcome::Message(o) => HookAnswer {
            message_id: o.message_id,
            conversation_id: Some(o.conversation_id),
            duplicate: o.duplicate,
            applied: None,
        },
        HookOutcome::Status { message_id, applied } => HookAnswer {
            message_id,
            conversation_id: None,
            duplicate: false,
            applied: Some(applied),
        },
    };
    Ok(axum::Json(answer))
}

#[derive(Debug, serde::Deserialize, JsonSchema)]
pub struct FileLink {
    /// When the link stops working (milliseconds since the epoch).
    pub expires: i64,
    /// Hex HMAC-SHA256 of `<attachment id>.<expires>`, keyed with the channel secret.
    pub signature: String,
}

/// `GET /hooks/api/{channel_id}/files/{attachment_id}`: a file the business
/// sent, fetched by the API channel's receiver with the signed link it got.
pub async fn api_file(
    State(s): State<AppState>,
    Path((channel, attachment)): Path<(ChannelId, AttachmentId)>,
    axum::extract::Query(link): axum::extract::Query<FileLink>,
    headers: axum::http::HeaderMap,
) -> ApiResult<axum::response::Response> {
    let record = s
        .services
        .api_channel_file(
            channel,
            attachment,
            switchboard_core::Millis(link.expires),
            &link.signature,
        )
        .await?;
    serve(&s, &Served::file(&record), true, &headers).await
}

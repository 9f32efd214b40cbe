//! The web-chat widget's visitor API and WebSocket (`/widget/v1/…`); the
//! loader script and the chat frame are pages, in `crate::widget`.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;
use switchboard_core::{ContactId, ConversationId, DeliveryStatus, Message as StoredMessage, MessageId};
use switchboard_service::events::{Backlog, Event};
use switchboard_service::widget::{
    SessionRequest, Visitor, VisitorConversation, VisitorMessage, VisitorSend, VisitorSession,
};
use switchboard_service::{IngestOutcome, Services};
use tokio::sync::broadcast::error::RecvError;

use super::attachments::{Served, serve};
use crate::AppState;
use crate::auth::ClientAddr;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, Path, Query};

/// A widget visitor, from `Authorization: Bearer sbv1…`.
#[derive(Debug, Clone)]
pub struct VisitorAuth(pub Visitor);

async fn visitor_from(state: &AppState, token: Option<&str>) -> Result<Visitor, ApiError> {
    let token = token.ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "start a widget session first"))?;
    state
        .services
        .visitor(token.trim())
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "the visitor token is not valid"))
}

impl FromRequestParts<AppState> for VisitorAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        visitor_from(state, token).await.map(VisitorAuth)
    }
}

pub async fn session(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Json(req): Json<SessionRequest>,
) -> ApiResult<axum::Json<VisitorSession>> {
    Ok(axum::Json(state.services.visitor_session(req, &client).await?))
}

pub async fn conversations(
    State(state): State<AppState>,
    VisitorAuth(v): VisitorAuth,
) -> ApiResult<axum::Json<super::Items<VisitorConversation>>> {
    Ok(axum::Json(super::Items {
        items: state.services.visitor_conversations(&v).await?,
    }))
}

pub async fn messages(
    State(state): State<AppState>,
    VisitorAuth(v): VisitorAuth,
    Path(id): Path<ConversationId>,
) -> ApiResult<axum::Json<super::Items<VisitorMessage>>> {
    Ok(axum::Json(super::Items {
        items: state.services.visitor_messages(&v, id).await?,
    }))
}

pub async fn send(
    State(state): State<AppState>,
    VisitorAuth(v): VisitorAuth,
    Json(req): Json<VisitorSend>,
) -> ApiResult<(StatusCode, axum::Json<IngestOutcome>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(state.services.visitor_send(&v, req).await?),
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    /// The newest message the widget received or showed.
    pub up_to: MessageId,
    /// `delivered` or `read`.
    pub status: DeliveryStatus,
}

pub async fn ack(
    State(state): State<AppState>,
    VisitorAuth(v): VisitorAuth,
    Path(id): Path<ConversationId>,
    Json(req): Json<AckRequest>,
) -> ApiResult<StatusCode> {
    state.services.visitor_ack(&v, id, req.up_to, req.status).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct StreamQuery {
    pub token: String,
    /// The last `seq` received: what came after it is replayed first (or a
    /// `resync` is sent when that is no longer kept).
    pub since: Option<i64>,
}

/// The visitor's live feed: their conversations' messages, agent typing,
/// assignment. Nothing of anyone else's.
pub async fn stream(
    State(state): State<AppState>,
    Query(q): Query<StreamQuery>,
    crate::extract::WsUpgrade(upgrade): crate::extract::WsUpgrade,
) -> ApiResult<Response> {
    let visitor = visitor_from(&state, Some(&q.token)).await?;
    let widget = state.services.widget(visitor.channel_id).await?;
    let workspace = state.services.channel_workspace(widget.channel_id).await?;
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(16 * 1024)
        .on_upgrade(move |socket| run_visitor(socket, state.services, visitor, workspace, q.since))
        .into_response())
}

struct Feed {
    visitor: Visitor,
    contact: Option<ContactId>,
    conversations: HashSet<ConversationId>,
}

impl Feed {
    async fn refresh(&mut self, services: &Services) {
        if let Ok(list) = services.visitor_conversations(&self.visitor).await {
            self.conversations = list.into_iter().map(|c| c.id).collect();
        }
        if self.contact.is_none() {
            self.contact = services.visitor_contact_id(&self.visitor).await.ok().flatten();
        }
    }

    /// What, if anything, of this event the visitor gets, with its `seq`
    /// (for `since` when the widget reconnects).
    async fn translate(&mut self, services: &Services, event: &Event) -> Option<serde_json::Value> {
        let mut frame = self.frame_of(services, event).await?;
        frame["seq"] = event.seq.into();
        Some(frame)
    }

    async fn frame_of(&mut self, services: &Services, event: &Event) -> Option<serde_json::Value> {
        let data = &event.data;
        let conversation = |key: &str| {
            data.get(key)
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse::<ConversationId>().ok())
        };
        match event.kind.as_str() {
            "conversation.created" | "conversation.updated" => {
                let id = conversation("id")?;
                if !self.conversations.contains(&id) {
                    let channel = data.get("channel_id").and_then(|v| v.as_str());
                    if channel != Some(self.visitor.channel_id.to_string().as_str()) {
                        return None;
                    }
                    self.refresh(services).await;
                    if !self.conversations.contains(&id) {
                        return None;
                    }
                }
                let list = services.visitor_conversations(&self.visitor).await.ok()?;
                let view = list.into_iter().find(|c| c.id == id)?;
                Some(serde_json::json!({"type": "conversation", "data": view}))
            }
            "message.created" | "message.updated" => {
                let id = conversation("conversation_id")?;
                if !self.conversations.contains(&id) {
                    self.refresh(services).await;
                    if !self.conversations.contains(&id) {
                        return None;
                    }
                }
                let message: StoredMessage = serde_json::from_value(data.clone()).ok()?;
                if !matches!(
                    message.kind,
                    switchboard_core::MessageKind::Text
                        | switchboard_core::MessageKind::Media
                        | switchboard_core::MessageKind::Template
                ) {
                    return None;
                }
                let view = services.visitor_view(&message).await.ok()?;
                let kind = if event.kind == "message.created" {
                    "message"
                } else {
                    "message.updated"
                };
                Some(serde_json::json!({"type": kind, "data": view}))
            }
            "conversation.typing" => {
                let id = conversation("conversation_id")?;
                (self.conversations.contains(&id) && data.get("by").and_then(|v| v.as_str()) == Some("user")).then(
                    || serde_json::json!({"type": "typing", "data": {"conversation_id": id, "name": data.get("name")}}),
                )
            }
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum VisitorSays {
    Typing {
        conversation_id: ConversationId,
    },
    Ack {
        conversation_id: ConversationId,
        up_to: MessageId,
        status: DeliveryStatus,
    },
}

async fn run_visitor(
    mut socket: WebSocket,
    services: Services,
    visitor: Visitor,
    workspace: switchboard_core::WorkspaceId,
    since: Option<i64>,
) {
    let (mut live, mut last_seen, backlog) = match services.events().subscribe(workspace, since).await {
        Ok(s) => (s.live, s.head, s.backlog),
        Err(e) => {
            tracing::warn!(error = %e, "could not subscribe a visitor to events");
            let frame = axum::extract::ws::CloseFrame {
                code: super::ws::CLOSE_TRY_AGAIN,
                reason: Utf8Bytes::from_static("try again later"),
            };
            let _ = socket.send(Message::Close(Some(frame))).await;
            return;
        }
    };
    let mut feed = Feed {
        visitor,
        contact: None,
        conversations: HashSet::new(),
    };
    feed.refresh(&services).await;
    match backlog {
        Backlog::Resync => {
            let notice = serde_json::json!({"type": "resync", "seq": last_seen});
            if socket
                .send(Message::Text(Utf8Bytes::from(notice.to_string())))
                .await
                .is_err()
            {
                return;
            }
        }
        Backlog::Events(events) => {
            for event in events {
                if let Some(out) = feed.translate(&services, &event).await
                    && socket
                        .send(Message::Text(Utf8Bytes::from(out.to_string())))
                        .await
                        .is_err()
                {
                    return;
                }
            }
        }
    }
    let mut last_typing = tokio::time::Instant::now() - Duration::from_secs(10);
    let mut heartbeat = super::ws::Heartbeat::new(services.config().ws_ping_interval).await;
    loop {
        tokio::select! {
            received = live.recv() => match received {
                Ok(event) => {
                    // The live feed may repeat what came before subscribing.
                    if event.seq <= last_seen {
                        continue;
                    }
                    last_seen = event.seq;
                    if let Some(out) = feed.translate(&services, &event).await
                        && socket.send(Message::Text(Utf8Bytes::from(out.to_string()))).await.is_err()
                    {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    // The widget reloads its messages when it reconnects.
                    let _ = socket.send(Message::Close(Some(axum::extract::ws::CloseFrame { code: super::ws::CLOSE_TOO_SLOW, reason: Utf8Bytes::from_static("too slow") }))).await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming.inspect(|m| if m.is_ok() { heartbeat.heard() }) {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<VisitorSays>(&text) {
                    Ok(VisitorSays::Typing { conversation_id }) => {
                        // At most one typing notice every two seconds.
                        if last_typing.elapsed() >= Duration::from_secs(2)
                            && let Ok(c) = services.visitor_conversation(&feed.visitor, conversation_id).await
                        {
                            last_typing = tokio::time::Instant::now();
                            services.typing(&c, None).await;
                        }
                    }
                    Ok(VisitorSays::Ack { conversation_id, up_to, status }) => {
                        let _ = services.visitor_ack(&feed.visitor, conversation_id, up_to, status).await;
                    }
                    Err(_) => {}
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            alive = heartbeat.due() => {
                if !alive {
                    let frame = axum::extract::ws::CloseFrame {
                        code: super::ws::CLOSE_SILENT,
                        reason: Utf8Bytes::from_static("no answer to ping"),
                    };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    return;
                }
                if socket.send(Message::Ping(bytes::Bytes::new())).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// `POST /widget/v1/conversations/{conversation_id}/attachments?filename=…`:
/// the visitor sends a file (raw body), checked and stored like any upload.
pub async fn upload(
    State(state): State<AppState>,
    VisitorAuth(v): VisitorAuth,
    Path(id): Path<ConversationId>,
    Query(q): Query<super::attachments::UploadQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> ApiResult<(StatusCode, axum::Json<switchboard_core::MessageView>)> {
    use futures::TryStreamExt;
    let declared_size = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut stream = body.into_data_stream().map_err(std::io::Error::other);
    let upload = switchboard_service::Upload {
        filename: q.filename,
        caption: q.caption,
        declared_size,
        body: &mut stream,
    };
    let view = state.services.visitor_upload(&v, id, upload).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

/// `GET /widget/v1/attachments/{attachment_id}`: a file of the visitor's own
/// conversations (fetched by the frame with its token, shown as a blob).
pub async fn download(
    State(state): State<AppState>,
    VisitorAuth(v): VisitorAuth,
    Path(id): Path<switchboard_core::AttachmentId>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let record = state.services.visitor_attachment(&v, id).await?;
    serve(&state, &Served::file(&record), false, &headers).await
}

/// `GET /widget/v1/attachments/{attachment_id}/preview`: the preview of an
/// image of the visitor's own conversations (404 when it has none).
pub async fn preview(
    State(state): State<AppState>,
    VisitorAuth(v): VisitorAuth,
    Path(id): Path<switchboard_core::AttachmentId>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let record = state.services.visitor_attachment(&v, id).await?;
    serve(&state, &Served::preview(&record)?, false, &headers).await
}

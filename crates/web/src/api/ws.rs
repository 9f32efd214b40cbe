//! `GET /api/v1/ws?workspace_id=…&since=…`: the live event stream of one
//! workspace for one signed-in user. Only events the user may see are sent
//! (checked against the user's scope, computed once per connection and
//! refreshed when their membership changes). A client that fell too far
//! behind is closed with code 4001 and reconnects with `since`.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;
use switchboard_core::WorkspaceId;
use switchboard_service::Actor;
use switchboard_service::events::{Backlog, Event, Subscription, resync_json};
use tokio::sync::broadcast::error::RecvError;

use crate::AppState;
use crate::auth::{Authenticated, Credential};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::Query;

/// Close code for a client that could not keep up.
pub const CLOSE_TOO_SLOW: u16 = 4001;
/// The server could not read the event log just now; reconnect with `since`.
pub const CLOSE_TRY_AGAIN: u16 = 1013;
/// Pings a socket at a fixed interval. A peer that sent nothing (not even
/// a pong) since the previous ping is gone and gets closed, so a dead
/// connection does not hold a subscription, and presence, open.
pub(crate) struct Heartbeat {
    ticker: tokio::time::Interval,
    heard: bool,
}

impl Heartbeat {
    pub(crate) async fn new(every: Duration) -> Self {
        let mut ticker = tokio::time::interval(every);
        ticker.tick().await;
        Self { ticker, heard: true }
    }

    /// The peer said something (any frame).
    pub(crate) fn heard(&mut self) {
        self.heard = true;
    }

    /// Wait until the next ping is due: `true` to send it, `false` when the
    /// peer stayed silent since the last one. Cancel-safe (for `select!`).
    pub(crate) async fn due(&mut self) -> bool {
        self.ticker.tick().await;
        std::mem::replace(&mut self.heard, false)
    }
}

/// The close code for a peer that did not answer pings (going away).
pub(crate) const CLOSE_SILENT: u16 = 1001;
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    pub workspace_id: WorkspaceId,
    /// The last `seq` the client saw: events after it are replayed, or a
    /// `resync` event says they are no longer available.
    pub since: Option<i64>,
}

/// Browsers send the page's origin with a WebSocket handshake; a cookie
/// session is accepted only from our own origin.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| !host.is_empty() && rest.eq_ignore_ascii_case(host))
}

pub async fn stream(
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
    Query(q): Query<StreamQuery>,
    crate::extract::WsUpgrade(upgrade): crate::extract::WsUpgrade,
) -> ApiResult<Response> {
    if matches!(auth.credential, Credential::Session { .. }) && !same_origin(&headers) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "WebSocket connections with a session must come from this site",
        ));
    }
    if let Credential::Bearer { workspace_id } = auth.credential
        && workspace_id != q.workspace_id
    {
        return Err(ApiError::not_found("workspace"));
    }
    let actor = state.services.actor(q.workspace_id, auth.user_id).await?;
    // Subscribed before the upgrade is answered: an event the client causes
    // right after its socket opens is never missed.
    let subscription = state.services.events().subscribe(q.workspace_id, q.since).await?;
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(512 * 1024)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| run(socket, state, actor, subscription))
        .into_response())
}

fn text(bytes: &bytes::Bytes) -> Option<Utf8Bytes> {
    Utf8Bytes::try_from(bytes.clone()).ok()
}

async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let _ = send(
        socket,
        Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        })),
    )
    .await;
}

async fn run(mut socket: WebSocket, state: AppState, mut actor: Actor, subscription: Subscription) {
    let services = state.services.clone();
    let ws = actor.workspace_id;
    let _connection = services.connection_opened(ws, actor.user_id);
    let mut live = subscription.live;
    let mut last_sent = subscription.head;
    match subscription.backlog {
        Backlog::Resync => {
            if let Some(t) = text(&resync_json(ws, subscription.head))
                && !send(&mut socket, Message::Text(t)).await
            {
                return;
            }
        }
        Backlog::Events(events) => {
            for event in events.iter().filter(|e| e.visible_to(&actor)) {
                let Some(t) = text(&event.json) else { continue };
                if !send(&mut socket, Message::Text(t)).await {
                    return;
                }
            }
        }
    }
    let mut heartbeat = Heartbeat::new(services.config().ws_ping_interval).await;
    loop {
        tokio::select! {
            received = live.recv() => match received {
                Ok(event) => {
                    if event.seq <= last_sent {
                        continue;
                    }
                    last_sent = event.seq;
                    refresh_scope(&services, &mut actor, &event).await;
                    if !event.visible_to(&actor) {
                        continue;
                    }
                    let Some(t) = text(&event.json) else { continue };
                    if !send(&mut socket, Message::Text(t)).await {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    // Behind only on events it had already (a burst before it
                    // subscribed): what it misses is read back and it goes on.
                    let missed = match services.events().missed(ws, last_sent).await {
                        Ok(Some(missed)) => missed,
                        Ok(None) | Err(_) => {
                            close(&mut socket, CLOSE_TOO_SLOW, "too slow; reconnect with since").await;
                            return;
                        }
                    };
                    for event in missed {
                        last_sent = last_sent.max(event.seq);
                        refresh_scope(&services, &mut actor, &event).await;
                        if !event.visible_to(&actor) {
                            continue;
                        }
                        let Some(t) = text(&event.json) else { continue };
                        if !send(&mut socket, Message::Text(t)).await {
                            return;
                        }
                    }
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => heartbeat.heard(),
            },
            alive = heartbeat.due() => {
                if !alive {
                    close(&mut socket, CLOSE_SILENT, "no answer to ping").await;
                    return;
                }
                if !send(&mut socket, Message::Ping(bytes::Bytes::new())).await {
                    return;
                }
            }
        }
    }
}

/// A change to this user's membership (teams, role) changes what they may see.
async fn refresh_scope(services: &switchboard_service::Services, actor: &mut Actor, event: &Event) {
    if event.kind == "member.updated"
        && event.data.get("id").and_then(|v| v.as_str()) == Some(actor.user_id.to_string().as_str())
        && let Ok(fresh) = services.actor(actor.workspace_id, actor.user_id).await
    {
        *actor = fresh;
    }
}

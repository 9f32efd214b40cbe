//! An X API test server for the calls Switchboard makes for an account:
//! `POST /2/dm_conversations/with/{participant_id}/messages` (answered with
//! a `dm_event_id`, or X's error shapes: 403 for a user who does not take
//! messages, 429 with `x-rate-limit-reset`), `GET /2/users/me`, and files
//! on a `ton` path. Every call must carry an OAuth 1.0a header for the
//! account (401 otherwise, as X answers); each is recorded as sent, so a
//! test can have `oauthlib` judge the signatures. It also builds Account
//! Activity events, signed as X signs them.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use switchboard_channels::x::XApi;

/// A participant who does not take messages from the account.
pub const CLOSED_DMS: &str = "403000";

/// One call as it reached the server.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The full URL the client signed (this server's address and the path).
    pub url: String,
    pub authorization: String,
    pub body: String,
}

#[derive(Default)]
struct XState {
    base: String,
    user_id: String,
    token: String,
    calls: Mutex<Vec<Call>>,
    failures: Mutex<VecDeque<(u16, Option<i64>)>>,
    files: Mutex<HashMap<String, Vec<u8>>>,
    events: AtomicI64,
}

impl XState {
    /// Record the call; `None` when its OAuth header is not the account's.
    fn record(&self, method: &Method, uri: &str, headers: &HeaderMap, body: &[u8]) -> Option<()> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        self.calls.lock().unwrap().push(Call {
            method: method.to_string(),
            url: format!("{}{uri}", self.base),
            authorization: authorization.clone(),
            body: String::from_utf8_lossy(body).into_owned(),
        });
        let token = format!("oauth_token=\"{}\"", self.token);
        (authorization.starts_with("OAuth ")
            && authorization.contains(&token)
            && authorization.contains("oauth_signature=\"")
            && authorization.contains("oauth_signature_method=\"HMAC-SHA1\""))
        .then_some(())
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})),
    )
        .into_response()
}

async fn send_dm(
    State(state): State<Arc<XState>>,
    Path(participant): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if state.record(&method, &uri.to_string(), &headers, &body).is_none() {
        return unauthorized();
    }
    if let Some((status, reset)) = state.failures.lock().unwrap().pop_front() {
        let mut response = (
            StatusCode::from_u16(status).unwrap(),
            Json(json!({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": status})),
        )
            .into_response();
        if let Some(reset) = reset {
            response
                .headers_mut()
                .insert("x-rate-limit-reset", reset.to_string().parse().unwrap());
        }
        return response;
    }
    if participant == CLOSED_DMS {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"detail": "You cannot send messages to this user.", "type": "https://api.twitter.com/2/problems/client-forbidden", "title": "Forbidden", "status": 403})),
        )
            .into_response();
    }
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"title": "Invalid Request"}))).into_response();
    };
    if message["text"].as_str().is_none_or(str::is_empty) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"title": "Invalid Request", "detail": "text or attachments required"})),
        )
            .into_response();
    }
    let id = state.events.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::CREATED,
        Json(json!({"data": {"dm_conversation_id": format!("{}-{participant}", state.user_id), "dm_event_id": format!("{id}")}})),
    )
        .into_response()
}

async fn me(
    State(state): State<Arc<XState>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    if state.record(&method, &uri.to_string(), &headers, b"").is_none() {
        return unauthorized();
    }
    Json(json!({"data": {"id": state.user_id, "name": "Acme Shop", "username": "acmeshop"}})).into_response()
}

async fn ton(
    State(state): State<Arc<XState>>,
    Path(name): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    if state.record(&method, &uri.to_string(), &headers, b"").is_none() {
        return unauthorized();
    }
    match state.files.lock().unwrap().get(&name) {
        Some(bytes) => (StatusCode::OK, bytes.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Clone)]
pub struct XServer {
    pub url: String,
    state: Arc<XState>,
}

impl XServer {
    /// A server for the account whose access token is `token` (it starts
    /// with the account's id).
    pub async fn start(token: &str) -> XServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(XState {
            base: url.clone(),
            user_id: token.split('-').next().unwrap().to_owned(),
            token: token.to_owned(),
            events: AtomicI64::new(1_900_000_000_000_000_000),
            ..XState::default()
        });
        let app = axum::Router::new()
            .route("/2/dm_conversations/with/{participant}/messages", post(send_dm))
            .route("/2/users/me", get(me))
            .route("/ton/{name}", get(ton))
            .with_state(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        XServer { url, state }
    }

    pub fn api(&self) -> XApi {
        XApi {
            base_url: self.url.clone(),
        }
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    /// The direct messages sent: their JSON bodies and participants.
    pub fn sent(&self) -> Vec<(String, Value)> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == "POST" && c.url.contains("/2/dm_conversations/with/"))
            .filter_map(|c| {
                let participant = c.url.split("/with/").nth(1)?.split('/').next()?.to_owned();
                Some((participant, serde_json::from_str(&c.body).ok()?))
            })
            .collect()
    }

    /// The next send fails with this status (and `x-rate-limit-reset`, in
    /// seconds since the epoch).
    pub fn fail_next(&self, status: u16, reset: Option<i64>) {
        self.state.failures.lock().unwrap().push_back((status, reset));
    }

    /// Serve a file on the `ton` path; its URL.
    pub fn add_file(&self, name: &str, bytes: Vec<u8>) -> String {
        self.state.files.lock().unwrap().insert(name.to_owned(), bytes);
        format!("{}/ton/{name}", self.url)
    }
}

/// An Account Activity delivery for `for_user_id` with one direct message
/// from `sender` (named in `users`), as X sends it.
pub fn dm_event(
    for_user_id: &str,
    id: &str,
    sender: &str,
    recipient: &str,
    text: &str,
    media: Option<(&str, &str)>,
) -> Value {
    let mut data = json!({"text": text, "entities": {"hashtags": [], "symbols": [], "urls": [], "user_mentions": []}});
    if let Some((media_url, short)) = media {
        data["attachment"] = json!({"type": "media", "media": {"id": 1, "id_str": "1", "media_url_https": media_url, "url": short, "type": "photo"}});
    }
    json!({
        "for_user_id": for_user_id,
        "direct_message_events": [{
            "type": "message_create", "id": id, "created_timestamp": "1765000000000",
            "message_create": {"target": {"recipient_id": recipient}, "sender_id": sender, "message_data": data}
        }],
        "users": {
            sender: {"id": sender, "created_timestamp": "1422556069340", "name": "Dana Customer", "screen_name": "dana", "protected": false, "verified": false, "followers_count": 10, "friends_count": 5, "statuses_count": 40},
            recipient: {"id": recipient, "name": "Acme Shop", "screen_name": "acmeshop"}
        }
    })
}

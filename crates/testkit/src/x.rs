//! An X API test server for the calls Switchboard makes for an account:
//! `POST /2/dm_conversations/with/{participant_id}/messages` (answered with
//! a `dm_event_id`, or X's error shapes: 403 for a user who does not take
//! messages, 429 with `x-rate-limit-reset`, 400 for an attachment whose
//! media id it did not issue), `GET /2/users/me`, and files on a `ton`
//! path. Media uploads as X's v2 takes them: an image in one multipart
//! `POST /2/media/upload`, a GIF or video by `…/initialize`,
//! `…/{id}/append` and `…/{id}/finalize` (answered `pending` once, so the
//! client asks `GET /2/media/upload?command=STATUS`); each kept with its
//! bytes, category and type. Every call must carry an OAuth 1.0a header
//! for the account (401 otherwise, as X answers); each is recorded as
//! sent, so a test can have `oauthlib` judge the signatures. It also
//! builds Account Activity events, signed as X signs them.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Multipart, OriginalUri, Path, Query, State};
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

/// A file uploaded to the server, as X keeps it.
#[derive(Debug, Clone)]
pub struct Media {
    pub id: String,
    /// `media_category` (`dm_image`, `dm_gif`, `dm_video`).
    pub category: String,
    /// `media_type`.
    pub media_type: String,
    pub bytes: Vec<u8>,
    /// The size a chunked upload announced at `initialize`.
    total_bytes: Option<usize>,
    /// Finalized and processed: a DM may name it.
    ready: bool,
}

#[derive(Default)]
struct XState {
    base: String,
    user_id: String,
    token: String,
    calls: Mutex<Vec<Call>>,
    failures: Mutex<VecDeque<(u16, Option<i64>)>>,
    files: Mutex<HashMap<String, Vec<u8>>>,
    media: Mutex<Vec<Media>>,
    events: AtomicI64,
    media_ids: AtomicI64,
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

fn invalid(detail: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"title": "Invalid Request", "detail": detail, "type": "https://api.twitter.com/2/problems/invalid-request", "status": 400})),
    )
        .into_response()
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
        return invalid("the body is not JSON");
    };
    let attachments = message["attachments"].as_array().cloned().unwrap_or_default();
    if attachments.len() > 1 {
        return invalid("one attachment per message");
    }
    for attachment in &attachments {
        let id = attachment["media_id"].as_str().unwrap_or_default();
        let known = state.media.lock().unwrap().iter().any(|m| m.id == id && m.ready);
        if !known {
            return invalid(&format!("media id {id} is not a valid media id"));
        }
    }
    if message["text"].as_str().is_none_or(str::is_empty) && attachments.is_empty() {
        return invalid("text or attachments required");
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

/// A multipart body's fields: the text ones, and `media`'s bytes.
async fn fields_of(mut multipart: Multipart) -> Option<(HashMap<String, String>, Option<Vec<u8>>)> {
    let mut fields = HashMap::new();
    let mut media = None;
    while let Some(field) = multipart.next_field().await.ok()? {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.ok()?;
        if name == "media" {
            media = Some(bytes.to_vec());
        } else {
            fields.insert(name, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Some((fields, media))
}

impl XState {
    /// Keep a new upload; its id.
    fn keep(&self, category: &str, media_type: &str, bytes: Vec<u8>, total_bytes: Option<usize>) -> String {
        let id = self.media_ids.fetch_add(1, Ordering::SeqCst).to_string();
        self.media.lock().unwrap().push(Media {
            id: id.clone(),
            category: category.to_owned(),
            media_type: media_type.to_owned(),
            bytes,
            ready: total_bytes.is_none(),
            total_bytes,
        });
        id
    }

    fn answer(&self, id: &str, processing: Option<Value>) -> Response {
        let media = self.media.lock().unwrap();
        let Some(m) = media.iter().find(|m| m.id == id) else {
            return invalid("unknown media id");
        };
        let mut data =
            json!({"id": m.id, "media_key": format!("3_{}", m.id), "size": m.bytes.len(), "expires_after_secs": 86400});
        if let Some(processing) = processing {
            data["processing_info"] = processing;
        }
        Json(json!({"data": data})).into_response()
    }
}

/// The one-request upload: images (and subtitles) only, as X takes them.
async fn upload(
    State(state): State<Arc<XState>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    // A multipart body is not part of the signature: recorded empty.
    if state.record(&method, &uri.to_string(), &headers, b"").is_none() {
        return unauthorized();
    }
    let Some((fields, Some(bytes))) = fields_of(multipart).await else {
        return invalid("media is required");
    };
    let category = fields.get("media_category").map(String::as_str).unwrap_or_default();
    if !matches!(category, "tweet_image" | "dm_image" | "subtitles") {
        return invalid("media_category must be one of tweet_image, dm_image, subtitles");
    }
    let media_type = fields.get("media_type").cloned().unwrap_or_default();
    let id = state.keep(category, &media_type, bytes, None);
    state.answer(&id, None)
}

async fn initialize(
    State(state): State<Arc<XState>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if state.record(&method, &uri.to_string(), &headers, &body).is_none() {
        return unauthorized();
    }
    let Ok(init) = serde_json::from_slice::<Value>(&body) else {
        return invalid("the body is not JSON");
    };
    let (Some(category), Some(media_type), Some(total)) = (
        init["media_category"].as_str(),
        init["media_type"].as_str(),
        init["total_bytes"].as_u64(),
    ) else {
        return invalid("media_category, media_type and total_bytes are required");
    };
    let id = state.keep(category, media_type, Vec::new(), Some(total as usize));
    state.answer(&id, None)
}

async fn append(
    State(state): State<Arc<XState>>,
    Path(id): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    if state.record(&method, &uri.to_string(), &headers, b"").is_none() {
        return unauthorized();
    }
    let Some((fields, Some(chunk))) = fields_of(multipart).await else {
        return invalid("media is required");
    };
    let mut media = state.media.lock().unwrap();
    let Some(m) = media.iter_mut().find(|m| m.id == id && !m.ready) else {
        return invalid("unknown media id");
    };
    // Segments arrive in order here; X checks them at finalize.
    if fields
        .get("segment_index")
        .and_then(|i| i.parse::<usize>().ok())
        .is_none()
    {
        return invalid("segment_index is required");
    }
    m.bytes.extend_from_slice(&chunk);
    Json(json!({"data": {"expires_at": 0}})).into_response()
}

/// Answered `pending` (X processes GIFs and videos): STATUS says when done.
async fn finalize(
    State(state): State<Arc<XState>>,
    Path(id): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    if state.record(&method, &uri.to_string(), &headers, b"").is_none() {
        return unauthorized();
    }
    let complete = state
        .media
        .lock()
        .unwrap()
        .iter()
        .any(|m| m.id == id && m.total_bytes == Some(m.bytes.len()));
    if !complete {
        return invalid("the segments do not add up to total_bytes");
    }
    state.answer(&id, Some(json!({"state": "pending", "check_after_secs": 1})))
}

#[derive(serde::Deserialize)]
struct StatusQuery {
    command: String,
    media_id: String,
}

async fn status(
    State(state): State<Arc<XState>>,
    Query(query): Query<StatusQuery>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    if state.record(&method, &uri.to_string(), &headers, b"").is_none() {
        return unauthorized();
    }
    if query.command != "STATUS" {
        return invalid("command must be STATUS");
    }
    if let Some(m) = state.media.lock().unwrap().iter_mut().find(|m| m.id == query.media_id) {
        m.ready = true;
    }
    state.answer(
        &query.media_id,
        Some(json!({"state": "succeeded", "progress_percent": 100})),
    )
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
            media_ids: AtomicI64::new(1_880_000_000_000_000_000),
            ..XState::default()
        });
        let app = axum::Router::new()
            .route("/2/dm_conversations/with/{participant}/messages", post(send_dm))
            .route("/2/users/me", get(me))
            .route("/2/media/upload", post(upload).get(status))
            .route("/2/media/upload/initialize", post(initialize))
            .route("/2/media/upload/{id}/append", post(append))
            .route("/2/media/upload/{id}/finalize", post(finalize))
            .route("/ton/{name}", get(ton))
            // X takes chunks up to 5 MB and images in one piece.
            .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
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

    /// Every file uploaded so far, in order (a chunked one as appended).
    pub fn uploads(&self) -> Vec<Media> {
        self.state.media.lock().unwrap().clone()
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

//! A Graph API test server that answers like Meta for the WhatsApp calls
//! Switchboard makes: bearer auth (code 190 when wrong), `POST
//! /{version}/{phone-number-id}/messages` (recorded, answered with a
//! `wamid`, or with a queued failure in Meta's error shape), and media in
//! two steps (`GET /{version}/{media-id}` gives a URL, which gives the bytes
//! with the same token), phone numbers (`GET /{version}/{phone-number-id}`).
//! It also builds webhook bodies the way Meta sends them.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use switchboard_channels::whatsapp::GraphApi;

pub const VERSION: &str = "v23.0";

#[derive(Default)]
struct GraphState {
    base: String,
    token: String,
    sent: Mutex<Vec<Value>>,
    failures: Mutex<VecDeque<(u16, Value)>>,
    media: Mutex<HashMap<String, (String, Vec<u8>)>>,
    phones: Mutex<HashMap<String, (String, String)>>,
    templates: Mutex<Vec<Value>>,
    /// Numbers every send to fails, with Meta's status and error.
    refused: Mutex<HashMap<String, (u16, Value)>>,
    /// Messages accepted: (Meta's id, the number), in the order answered.
    accepted: Mutex<Vec<(String, String)>>,
    ids: AtomicUsize,
}

fn meta_error(code: i64, message: &str) -> Value {
    json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Atest"}})
}

#[derive(Clone)]
pub struct GraphServer {
    pub url: String,
    state: Arc<GraphState>,
}

/// Meta's answer to a wrong token, unless the request carries the right one.
fn authorized(state: &GraphState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let expected = format!("Bearer {}", state.token);
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(expected.as_str()) {
        return Ok(());
    }
    let error = json!({"error": {"message": "Invalid OAuth access token - Cannot parse access token", "type": "OAuthException", "code": 190, "fbtrace_id": "Atest"}});
    Err(Box::new((StatusCode::UNAUTHORIZED, Json(error)).into_response()))
}

async fn messages(State(state): State<Arc<GraphState>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if let Err(denied) = authorized(&state, &headers) {
        return *denied;
    }
    state.sent.lock().unwrap().push(body.clone());
    let refused = body["to"]
        .as_str()
        .and_then(|to| state.refused.lock().unwrap().get(to).cloned());
    if let Some((status, error)) = refused.or_else(|| state.failures.lock().unwrap().pop_front()) {
        return (StatusCode::from_u16(status).unwrap(), Json(error)).into_response();
    }
    let n = state.ids.fetch_add(1, Ordering::SeqCst);
    let to = body["to"].clone();
    if let Some(number) = to.as_str() {
        state
            .accepted
            .lock()
            .unwrap()
            .push((format!("wamid.TEST{n}"), number.to_owned()));
    }
    Json(
        json!({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": format!("wamid.TEST{n}"), "message_status": "accepted"}]}),
    )
    .into_response()
}

async fn media_info(
    State(state): State<Arc<GraphState>>,
    headers: HeaderMap,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    if let Err(denied) = authorized(&state, &headers) {
        return *denied;
    }
    if let Some((display, name)) = state.phones.lock().unwrap().get(&id) {
        return Json(json!({"display_phone_number": display, "verified_name": name, "id": id})).into_response();
    }
    match state.media.lock().unwrap().get(&id) {
        Some((mime, bytes)) => Json(
            json!({"messaging_product": "whatsapp", "url": format!("{}/media-download/{id}", state.base),
                                            "mime_type": mime, "file_size": bytes.len().to_string(), "id": id}),
        )
        .into_response(),
        None => (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": {"message": "Unsupported get request.", "type": "GraphMethodException", "code": 100}}),
            ),
        )
            .into_response(),
    }
}

#[derive(serde::Deserialize)]
struct TemplateQuery {
    limit: Option<usize>,
    after: Option<String>,
}

/// The business account's templates, a page at a time (the cursor is the
/// index to start at).
async fn templates(
    State(state): State<Arc<GraphState>>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<TemplateQuery>,
) -> Response {
    if let Err(denied) = authorized(&state, &headers) {
        return *denied;
    }
    let all = state.templates.lock().unwrap().clone();
    let start: usize = q.after.as_deref().and_then(|a| a.parse().ok()).unwrap_or(0);
    let end = (start + q.limit.unwrap_or(25)).min(all.len());
    let mut page = json!({"data": all[start.min(end)..end], "paging": {"cursors": {"before": start.to_string(), "after": end.to_string()}}});
    if end < all.len() {
        page["paging"]["next"] = json!(format!("{}/{VERSION}/waba/message_templates?after={end}", state.base));
    }
    Json(page).into_response()
}

async fn media_bytes(State(state): State<Arc<GraphState>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(denied) = authorized(&state, &headers) {
        return *denied;
    }
    match state.media.lock().unwrap().get(&id) {
        Some((mime, bytes)) => ([(header::CONTENT_TYPE, mime.clone())], bytes.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

impl GraphServer {
    /// A server that takes `token` as its only valid access token.
    pub async fn start(token: &str) -> GraphServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(GraphState {
            base: url.clone(),
            token: token.to_owned(),
            ..GraphState::default()
        });
        let app = axum::Router::new()
            .route("/media-download/{id}", get(media_bytes))
            .route("/{version}/{phone}/messages", post(messages))
            .route("/{version}/{waba}/message_templates", get(templates))
            .route("/{version}/{id}", get(media_info))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        GraphServer { url, state }
    }

    /// Where Switchboard should call it.
    pub fn api(&self) -> GraphApi {
        GraphApi {
            base_url: self.url.clone(),
            version: VERSION.into(),
        }
    }

    /// Messages accepted from `from` on: (Meta's id, the number).
    pub fn accepted_since(&self, from: usize) -> Vec<(String, String)> {
        let accepted = self.state.accepted.lock().unwrap();
        accepted.get(from..).map(<[_]>::to_vec).unwrap_or_default()
    }

    /// Every message body received, in order.
    pub fn sent(&self) -> Vec<Value> {
        self.state.sent.lock().unwrap().clone()
    }

    /// The next send is answered with this status and Meta error code.
    pub fn fail_next(&self, status: u16, code: i64, message: &str) {
        self.state
            .failures
            .lock()
            .unwrap()
            .push_back((status, meta_error(code, message)));
    }

    /// Every send to this number fails with Meta's status and error (an
    /// invalid or unreachable number).
    pub fn refuse_number(&self, to: &str, status: u16, code: i64, message: &str) {
        self.state
            .refused
            .lock()
            .unwrap()
            .insert(to.to_owned(), (status, meta_error(code, message)));
    }

    /// Sends to this number go through again.
    pub fn accept_number(&self, to: &str) {
        self.state.refused.lock().unwrap().remove(to);
    }

    /// A phone number of the business account, as Meta describes it.
    pub fn add_phone(&self, id: &str, display: &str, verified_name: &str) {
        self.state
            .phones
            .lock()
            .unwrap()
            .insert(id.to_owned(), (display.to_owned(), verified_name.to_owned()));
    }

    /// The business account's templates, as Meta lists them.
    pub fn set_templates(&self, templates: Vec<Value>) {
        *self.state.templates.lock().unwrap() = templates;
    }

    /// A file the customer sent, under a media id.
    pub fn add_media(&self, id: &str, mime: &str, bytes: Vec<u8>) {
        self.state
            .media
            .lock()
            .unwrap()
            .insert(id.to_owned(), (mime.to_owned(), bytes));
    }
}

/// A webhook body as Meta sends it for one phone number.
pub fn webhook(phone_number_id: &str, contacts: Value, messages: Value, statuses: Value) -> Vec<u8> {
    let mut value = json!({"messaging_product": "whatsapp",
                           "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_number_id}});
    if !contacts.is_null() {
        value["contacts"] = contacts;
    }
    if !messages.is_null() {
        value["messages"] = messages;
    }
    if !statuses.is_null() {
        value["statuses"] = statuses;
    }
    serde_json::to_vec(&json!({"object": "whatsapp_business_account",
                               "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]}))
    .unwrap()
}

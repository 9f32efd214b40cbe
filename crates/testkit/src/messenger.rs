//! A Graph API test server that answers like Meta for the Messenger and
//! Instagram calls Switchboard makes: bearer auth (code 190 when wrong),
//! the Send API (`POST /{version}/me/messages`: recorded, answered with a
//! `message_id`, or a queued failure in Meta's error shape), the account
//! and customers' profiles (`GET /{version}/{id}?fields=…`, counted), and
//! files on a CDN path. It also builds webhook bodies as Meta sends them.

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
struct PageState {
    token: String,
    account_id: String,
    account_name: String,
    sent: Mutex<Vec<Value>>,
    failures: Mutex<VecDeque<(u16, Value)>>,
    profiles: Mutex<HashMap<String, Value>>,
    profile_calls: Mutex<HashMap<String, usize>>,
    files: Mutex<HashMap<String, Vec<u8>>>,
    ids: AtomicUsize,
}

fn meta_error(code: i64, message: &str) -> Value {
    json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Atest"}})
}

fn authorized(state: &PageState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let expected = format!("Bearer {}", state.token);
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(expected.as_str()) {
        return Ok(());
    }
    let error = meta_error(190, "Invalid OAuth access token - Cannot parse access token");
    Err(Box::new((StatusCode::UNAUTHORIZED, Json(error)).into_response()))
}

async fn messages(State(state): State<Arc<PageState>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if let Err(denied) = authorized(&state, &headers) {
        return *denied;
    }
    state.sent.lock().unwrap().push(body.clone());
    if let Some((status, error)) = state.failures.lock().unwrap().pop_front() {
        return (StatusCode::from_u16(status).unwrap(), Json(error)).into_response();
    }
    let n = state.ids.fetch_add(1, Ordering::SeqCst);
    Json(json!({"recipient_id": body["recipient"]["id"], "message_id": format!("m_TEST{n}")})).into_response()
}

async fn object(
    State(state): State<Arc<PageState>>,
    headers: HeaderMap,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    if let Err(denied) = authorized(&state, &headers) {
        return *denied;
    }
    if id == state.account_id {
        return Json(json!({"id": id, "name": state.account_name, "username": "acme.shop"})).into_response();
    }
    *state.profile_calls.lock().unwrap().entry(id.clone()).or_default() += 1;
    match state.profiles.lock().unwrap().get(&id) {
        Some(profile) => Json(profile.clone()).into_response(),
        None => (
            StatusCode::BAD_REQUEST,
            Json(meta_error(100, "Unsupported get request. Object does not exist")),
        )
            .into_response(),
    }
}

async fn cdn(State(state): State<Arc<PageState>>, Path(name): Path<String>) -> Response {
    match state.files.lock().unwrap().get(&name) {
        Some(bytes) => (StatusCode::OK, bytes.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Clone)]
pub struct PageServer {
    pub url: String,
    state: Arc<PageState>,
}

impl PageServer {
    /// A server for one Page or Instagram account and its token.
    pub async fn start(token: &str, account_id: &str) -> PageServer {
        let state = Arc::new(PageState {
            token: token.to_owned(),
            account_id: account_id.to_owned(),
            account_name: "Acme Shop".into(),
            ..PageState::default()
        });
        let app = axum::Router::new()
            .route("/{version}/me/messages", post(messages))
            .route("/{version}/{id}", get(object))
            .route("/cdn/{name}", get(cdn))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        PageServer { url, state }
    }

    pub fn api(&self) -> GraphApi {
        GraphApi {
            base_url: self.url.clone(),
            version: VERSION.into(),
        }
    }

    /// The Send API bodies received, in order.
    pub fn sent(&self) -> Vec<Value> {
        self.state.sent.lock().unwrap().clone()
    }

    /// The next send fails with Meta's error.
    pub fn fail_next(&self, status: u16, code: i64, message: &str) {
        self.state
            .failures
            .lock()
            .unwrap()
            .push_back((status, meta_error(code, message)));
    }

    /// What the profile API says about a customer.
    pub fn add_profile(&self, id: &str, profile: Value) {
        self.state.profiles.lock().unwrap().insert(id.to_owned(), profile);
    }

    /// How often a customer's profile was asked for.
    pub fn profile_calls(&self, id: &str) -> usize {
        self.state.profile_calls.lock().unwrap().get(id).copied().unwrap_or(0)
    }

    /// A file on the CDN; its URL.
    pub fn add_file(&self, name: &str, bytes: Vec<u8>) -> String {
        self.state.files.lock().unwrap().insert(name.to_owned(), bytes);
        format!("{}/cdn/{name}", self.url)
    }
}

/// A webhook body as Meta sends it: `object` `page` or `instagram`, one
/// entry for the account with these `messaging` events.
pub fn webhook(object: &str, account_id: &str, messaging: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"object": object,
                               "entry": [{"id": account_id, "time": 1_730_000_000_500i64, "messaging": messaging}]}))
    .unwrap()
}

/// One customer's event: `sender` the customer, `recipient` the account.
pub fn from_customer(customer: &str, account_id: &str, timestamp: i64, event: Value) -> Value {
    let mut e = json!({"sender": {"id": customer}, "recipient": {"id": account_id}, "timestamp": timestamp});
    if let Value::Object(fields) = event {
        for (k, v) in fields {
            e[k] = v;
        }
    }
    e
}

//! A VK API test server that answers like VK for the calls Switchboard
//! makes (`POST /method/{name}`, form parameters, the community token as a
//! bearer): a wrong token gets VK's error 5, answers are `{"response": …}`
//! or `{"error": {"error_code", "error_msg"}}` with status 200.
//! `messages.send` is recorded and, like VK, keeps one message per
//! `random_id` (a resend gets the first one's ids). It also serves files on
//! a CDN path and builds Callback API notifications.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use switchboard_channels::vk::VkApi;

/// A call: the method and its form parameters.
type Call = (String, Vec<(String, String)>);

/// A file uploaded to the upload server: the form field, the file's name
/// and its bytes.
pub type Upload = (String, String, Vec<u8>);

#[derive(Default)]
struct VkState {
    base: String,
    token: String,
    uploads: Mutex<Vec<Upload>>,
    calls: Mutex<Vec<Call>>,
    failures: Mutex<VecDeque<(i64, String)>>,
    sent_by_random_id: Mutex<HashMap<String, i64>>,
    files: Mutex<HashMap<String, Vec<u8>>>,
    users: Mutex<HashMap<String, Value>>,
    cmids: AtomicI64,
}

fn vk_error(code: i64, message: &str) -> Response {
    Json(json!({"error": {"error_code": code, "error_msg": message, "request_params": []}})).into_response()
}

async fn method(
    State(state): State<Arc<VkState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let expected = format!("Bearer {}", state.token);
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return vk_error(5, "User authorization failed: invalid access_token (4).");
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    state.calls.lock().unwrap().push((name.clone(), form.clone()));
    if get("v").as_deref() != Some("5.199") {
        return vk_error(8, "Invalid request: v (version) is required");
    }
    match name.as_str() {
        "messages.send" => {
            if let Some((code, message)) = state.failures.lock().unwrap().pop_front() {
                return vk_error(code, &message);
            }
            let peer: i64 = get("peer_ids")
                .or_else(|| get("peer_id"))
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            let random_id = get("random_id").unwrap_or_default();
            let cmid = *state
                .sent_by_random_id
                .lock()
                .unwrap()
                .entry(random_id)
                .or_insert_with(|| state.cmids.fetch_add(1, Ordering::SeqCst));
            Json(json!({"response": [{"peer_id": peer, "message_id": 0, "conversation_message_id": cmid}]}))
                .into_response()
        }
        "users.get" => {
            let id = get("user_ids").unwrap_or_default();
            let users: Vec<Value> = state.users.lock().unwrap().get(&id).cloned().into_iter().collect();
            Json(json!({"response": users})).into_response()
        }
        "photos.getMessagesUploadServer" => Json(json!({"response": {
            "upload_url": format!("{}/upload/photo", state.base), "album_id": -64, "group_id": 218_000_123}}))
        .into_response(),
        "photos.saveMessagesPhoto" => {
            let (Some(photo), Some(server), Some(hash)) = (get("photo"), get("server"), get("hash")) else {
                return vk_error(
                    100,
                    "One of the parameters specified was missing or invalid: photo, server and hash",
                );
            };
            if photo.is_empty() || server.is_empty() || hash != "h4sh" {
                return vk_error(100, "One of the parameters specified was missing or invalid: hash");
            }
            Json(json!({"response": [{"id": 457_239_100, "owner_id": -218_000_123, "access_key": "k3y", "album_id": -64}]}))
                .into_response()
        }
        "docs.getMessagesUploadServer" => {
            if get("type").as_deref() != Some("doc") {
                return vk_error(100, "One of the parameters specified was missing or invalid: type");
            }
            Json(json!({"response": {"upload_url": format!("{}/upload/doc", state.base)}})).into_response()
        }
        "docs.save" => match get("file") {
            Some(file) if file.starts_with("doc-token-") => Json(json!({"response": {"type": "doc", "doc": {
                "id": 660_000_001, "owner_id": 55_555, "title": get("title"), "ext": "pdf"}}}))
            .into_response(),
            _ => vk_error(100, "One of the parameters specified was missing or invalid: file"),
        },
        "groups.getById" => Json(
            json!({"response": {"groups": [{"id": get("group_id").and_then(|g| g.parse::<i64>().ok()),
            "name": "Acme Shop", "screen_name": "acmeshop", "type": "group"}], "profiles": []}}),
        )
        .into_response(),
        _ => vk_error(3, "Unknown method passed"),
    }
}

/// VK's upload server: one file in the multipart field the kind asks for.
async fn upload(
    State(state): State<Arc<VkState>>,
    Path(kind): Path<String>,
    mut form: axum::extract::Multipart,
) -> Response {
    let field_name = if kind == "photo" { "photo" } else { "file" };
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().unwrap_or_default().to_owned();
        let Ok(bytes) = field.bytes().await else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        if name != field_name {
            continue;
        }
        state.uploads.lock().unwrap().push((name, filename, bytes.to_vec()));
        return if kind == "photo" {
            Json(json!({"server": 123_456, "photo": "[{\"photo\":\"abc\",\"sizes\":[]}]", "hash": "h4sh"}))
                .into_response()
        } else {
            Json(json!({"file": format!("doc-token-{}", state.uploads.lock().unwrap().len())})).into_response()
        };
    }
    Json(json!({"error": "ERR_UPLOAD_FILE_NOT_UPLOADED: file not uploaded"})).into_response()
}

async fn cdn(State(state): State<Arc<VkState>>, Path(name): Path<String>) -> Response {
    match state.files.lock().unwrap().get(&name) {
        Some(bytes) => (StatusCode::OK, bytes.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Clone)]
pub struct VkServer {
    pub url: String,
    state: Arc<VkState>,
}

impl VkServer {
    pub async fn start(token: &str) -> VkServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(VkState {
            base: url.clone(),
            token: token.to_owned(),
            cmids: AtomicI64::new(3000),
            ..VkState::default()
        });
        let app = axum::Router::new()
            .route("/method/{name}", post(method))
            .route("/upload/{kind}", post(upload))
            .route("/cdn/{name}", get(cdn))
            .with_state(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        VkServer { url, state }
    }

    pub fn api(&self) -> VkApi {
        VkApi {
            base_url: self.url.clone(),
        }
    }

    /// The calls of one method, their form parameters, in order.
    pub fn calls_of(&self, method: &str) -> Vec<Vec<(String, String)>> {
        self.state
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, form)| form.clone())
            .collect()
    }

    /// The messages VK keeps (one per `random_id`).
    pub fn messages_kept(&self) -> usize {
        self.state.sent_by_random_id.lock().unwrap().len()
    }

    /// The next `messages.send` fails with VK's error.
    pub fn fail_next(&self, code: i64, message: &str) {
        self.state
            .failures
            .lock()
            .unwrap()
            .push_back((code, message.to_owned()));
    }

    /// The files uploaded so far.
    pub fn uploads(&self) -> Vec<Upload> {
        self.state.uploads.lock().unwrap().clone()
    }

    pub fn add_user(&self, id: &str, user: Value) {
        self.state.users.lock().unwrap().insert(id.to_owned(), user);
    }

    /// A file on the CDN; its URL.
    pub fn add_file(&self, name: &str, bytes: Vec<u8>) -> String {
        self.state.files.lock().unwrap().insert(name.to_owned(), bytes);
        format!("{}/cdn/{name}", self.url)
    }
}

/// A Callback API notification as VK sends it.
pub fn notification(kind: &str, group_id: i64, secret: &str, event_id: &str, object: Value) -> Value {
    json!({"type": kind, "group_id": group_id, "event_id": event_id, "v": "5.199", "secret": secret, "object": object})
}

/// A customer's `message_new` (API ≥ 5.103 shape).
pub fn message_new(group_id: i64, secret: &str, peer: i64, cmid: i64, text: &str, attachments: Value) -> Value {
    notification(
        "message_new",
        group_id,
        secret,
        &format!("ev{cmid}"),
        json!({"message": {"id": 0, "date": 1_730_000_000, "peer_id": peer, "from_id": peer, "out": 0, "text": text,
                           "conversation_message_id": cmid, "attachments": attachments, "fwd_messages": [],
                           "important": false, "is_hidden": false},
               "client_info": {"button_actions": ["text", "callback"], "keyboard": true, "inline_keyboard": true,
                               "carousel": true, "lang_id": 0}}),
    )
}

/// The form field of a call.
pub fn param<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

//! A Bot API test server that answers like Telegram for the calls
//! Switchboard makes (`https://api.telegram.org/bot<token>/<method>`): a
//! wrong token gets Telegram's 401, every answer is `{"ok": …}` with
//! `error_code`, `description` and `parameters.retry_after` on failure.
//! `setWebhook`/`deleteWebhook`/`getWebhookInfo` keep the webhook,
//! `getUpdates` hands out queued updates from an offset (refused with 409
//! while a webhook is set, as Telegram does), sends are recorded (JSON or
//! multipart uploads) and answered with a `Message`, `getFile` and
//! `/file/bot<token>/<path>` serve files. It also builds the updates
//! Telegram sends, in the Bot API's shapes.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use switchboard_channels::telegram::BotApi;

/// One call the server answered: the method and its parameters (an
/// uploaded file's field holds `{"filename", "mime", "size"}`).
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub params: Value,
}

#[derive(Default)]
struct BotState {
    token: String,
    username: String,
    calls: Mutex<Vec<Call>>,
    failures: Mutex<VecDeque<(u16, Value)>>,
    webhook: Mutex<Option<(String, String)>>,
    last_error: Mutex<Option<(i64, String)>>,
    updates: Mutex<Vec<Value>>,
    files: Mutex<HashMap<String, (String, Vec<u8>)>>,
    /// Refuse every `setWebhook` as Telegram does a non-HTTPS URL.
    https_only: Mutex<bool>,
    message_ids: AtomicI64,
}

fn refusal(code: u16, description: &str) -> Value {
    json!({"ok": false, "error_code": code, "description": description})
}

fn answer(code: u16, body: Value) -> Response {
    (StatusCode::from_u16(code).unwrap(), Json(body)).into_response()
}

#[derive(Clone)]
pub struct BotApiServer {
    pub url: String,
    state: Arc<BotState>,
}

/// A request's parameters: JSON, a form, or a multipart upload.
async fn params_of(request: Request) -> Value {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if content_type.starts_with("multipart/form-data") {
        let mut params = serde_json::Map::new();
        let Ok(mut multipart) = Multipart::from_request(request, &()).await else {
            return Value::Null;
        };
        while let Ok(Some(field)) = multipart.next_field().await {
            let name = field.name().unwrap_or_default().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let mime = field.content_type().map(str::to_owned);
            let bytes = field.bytes().await.unwrap_or_default();
            let value = match filename {
                Some(filename) => json!({"filename": filename, "mime": mime, "size": bytes.len(),
                                         "sha256": sha256_hex(&bytes)}),
                None => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    serde_json::from_str::<Value>(&text)
                        .ok()
                        .filter(|v| v.is_object())
                        .unwrap_or(Value::String(text))
                }
            };
            params.insert(name, value);
        }
        return Value::Object(params);
    }
    let body = axum::body::to_bytes(request.into_body(), 64 * 1024 * 1024)
        .await
        .unwrap_or_default();
    serde_json::from_slice(&body).unwrap_or(Value::Null)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(bytes);
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

async fn method(
    State(state): State<Arc<BotState>>,
    Path((bot, method)): Path<(String, String)>,
    request: Request,
) -> Response {
    if bot != format!("bot{}", state.token) {
        return answer(401, refusal(401, "Unauthorized"));
    }
    let params = params_of(request).await;
    state.calls.lock().unwrap().push(Call {
        method: method.clone(),
        params: params.clone(),
    });
    let sends = method.starts_with("send");
    if sends && let Some((code, body)) = state.failures.lock().unwrap().pop_front() {
        return answer(code, body);
    }
    let ok = |result: Value| answer(200, json!({"ok": true, "result": result}));
    match method.as_str() {
        "getMe" => ok(
            json!({"id": state.token.split(':').next().unwrap().parse::<i64>().unwrap_or(1),
                             "is_bot": true, "first_name": "Support", "username": state.username,
                             "can_join_groups": true, "can_read_all_group_messages": false,
                             "supports_inline_queries": false}),
        ),
        "setWebhook" => {
            let url = params["url"].as_str().unwrap_or_default().to_owned();
            if *state.https_only.lock().unwrap() && !url.starts_with("https://") {
                return answer(
                    400,
                    refusal(
                        400,
                        "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
                    ),
                );
            }
            let secret = params["secret_token"].as_str().unwrap_or_default().to_owned();
            *state.webhook.lock().unwrap() = Some((url, secret));
            ok(json!(true))
        }
        "deleteWebhook" => {
            *state.webhook.lock().unwrap() = None;
            ok(json!(true))
        }
        "getWebhookInfo" => {
            let url = state
                .webhook
                .lock()
                .unwrap()
                .as_ref()
                .map(|w| w.0.clone())
                .unwrap_or_default();
            let mut info = json!({"url": url, "has_custom_certificate": false, "pending_update_count": 0});
            if let Some((at, message)) = state.last_error.lock().unwrap().clone() {
                info["last_error_date"] = at.into();
                info["last_error_message"] = message.into();
            }
            ok(info)
        }
        "getUpdates" => {
            if state.webhook.lock().unwrap().is_some() {
                return answer(
                    409,
                    refusal(
                        409,
                        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
                    ),
                );
            }
            let offset = params["offset"].as_i64().unwrap_or(0);
            let mut updates = state.updates.lock().unwrap();
            // Asking from an offset confirms every update before it.
            updates.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            ok(Value::Array(updates.clone()))
        }
        "getFile" => {
            let id = params["file_id"].as_str().unwrap_or_default();
            match state.files.lock().unwrap().get(id) {
                Some((path, bytes)) => ok(json!({"file_id": id, "file_unique_id": format!("u{id}"),
                                                 "file_size": bytes.len(), "file_path": path})),
                None => answer(400, refusal(400, "Bad Request: invalid file_id")),
            }
        }
        "answerCallbackQuery" => ok(json!(true)),
        m if sends => {
            let n = state.message_ids.fetch_add(1, Ordering::SeqCst);
            let chat: i64 = params["chat_id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .or(params["chat_id"].as_i64())
                .unwrap_or(0);
            let mut message = json!({"message_id": n, "date": 1_730_000_000,
                                     "chat": {"id": chat, "type": "private"},
                                     "from": {"id": 1, "is_bot": true, "first_name": "Support"}});
            if m == "sendMessage" {
                message["text"] = params["text"].clone();
            }
            ok(message)
        }
        _ => answer(404, refusal(404, "Not Found")),
    }
}

async fn file(State(state): State<Arc<BotState>>, Path((bot, path)): Path<(String, String)>) -> Response {
    if bot != format!("bot{}", state.token) {
        return answer(401, refusal(401, "Unauthorized"));
    }
    let found = state
        .files
        .lock()
        .unwrap()
        .values()
        .find(|(p, _)| *p == path)
        .map(|(_, bytes)| bytes.clone());
    match found {
        Some(bytes) => (StatusCode::OK, Bytes::from(bytes)).into_response(),
        None => answer(404, refusal(404, "Not Found")),
    }
}

impl BotApiServer {
    /// A server on a free port that knows one bot by its token.
    pub async fn start(token: &str) -> BotApiServer {
        let state = Arc::new(BotState {
            token: token.to_owned(),
            username: "switchboard_test_bot".into(),
            message_ids: AtomicI64::new(100),
            ..BotState::default()
        });
        let app = axum::Router::new()
            .route("/file/{bot}/{*path}", axum::routing::get(file))
            .route("/{bot}/{method}", axum::routing::any(method))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        BotApiServer { url, state }
    }

    /// Where the channel adapter calls it, Telegram reaching us at `public_url`.
    pub fn api(&self, public_url: &str) -> BotApi {
        BotApi {
            base_url: self.url.clone(),
            public_url: public_url.to_owned(),
            poll_wait_secs: 0,
        }
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    /// The calls of one method, in order.
    pub fn calls_of(&self, method: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .map(|c| c.params)
            .collect()
    }

    /// The sends (`send*`), in order.
    pub fn sends(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method.starts_with("send"))
            .collect()
    }

    /// The webhook set now: `(url, secret_token)`.
    pub fn webhook(&self) -> Option<(String, String)> {
        self.state.webhook.lock().unwrap().clone()
    }

    /// The next send fails with this answer.
    pub fn fail_next_send(&self, code: u16, description: &str, retry_after: Option<i64>) {
        let mut body = refusal(code, description);
        if let Some(wait) = retry_after {
            body["parameters"] = json!({"retry_after": wait});
        }
        self.state.failures.lock().unwrap().push_back((code, body));
    }

    /// `setWebhook` refuses URLs that are not HTTPS, as Telegram does.
    pub fn require_https(&self) {
        *self.state.https_only.lock().unwrap() = true;
    }

    /// What `getWebhookInfo` reports as Telegram's last failure to call us.
    pub fn set_last_error(&self, at_secs: i64, message: &str) {
        *self.state.last_error.lock().unwrap() = Some((at_secs, message.to_owned()));
    }

    /// An update for `getUpdates` to hand out.
    pub fn queue_update(&self, update: Value) {
        self.state.updates.lock().unwrap().push(update);
    }

    /// A file the customer sent, under a file id.
    pub fn add_file(&self, file_id: &str, path: &str, bytes: Vec<u8>) {
        self.state
            .files
            .lock()
            .unwrap()
            .insert(file_id.to_owned(), (path.to_owned(), bytes));
    }
}

/// The customer of the fixtures: a private chat's id is the user's.
pub const CHAT_ID: i64 = 111_222_333;

fn from() -> Value {
    json!({"id": CHAT_ID, "is_bot": false, "first_name": "Ana", "last_name": "Lima", "username": "ana_l",
           "language_code": "pt"})
}

fn chat() -> Value {
    json!({"id": CHAT_ID, "type": "private", "first_name": "Ana", "last_name": "Lima", "username": "ana_l"})
}

/// A message from the customer with these fields (`text`, `photo`, …).
pub fn message(message_id: i64, fields: Value) -> Value {
    let mut m = json!({"message_id": message_id, "date": 1_730_000_000, "from": from(), "chat": chat()});
    if let Value::Object(fields) = fields {
        for (k, v) in fields {
            m[k] = v;
        }
    }
    m
}

/// An update carrying a new message.
pub fn message_update(update_id: i64, message_id: i64, fields: Value) -> Value {
    json!({"update_id": update_id, "message": message(message_id, fields)})
}

/// An update carrying a text.
pub fn text_update(update_id: i64, message_id: i64, text: &str) -> Value {
    message_update(update_id, message_id, json!({"text": text}))
}

/// An update saying the customer changed a message's text.
pub fn edit_update(update_id: i64, message_id: i64, text: &str, edit_date: i64) -> Value {
    let mut m = message(message_id, json!({"text": text}));
    m["edit_date"] = edit_date.into();
    json!({"update_id": update_id, "edited_message": m})
}

/// A photo in the sizes Telegram sends (the largest last), with a caption.
pub fn photo_update(update_id: i64, message_id: i64, large_file_id: &str, large_size: usize, caption: &str) -> Value {
    message_update(
        update_id,
        message_id,
        json!({"caption": caption, "photo": [
            {"file_id": "small-thumb", "file_unique_id": "AQADs", "width": 90, "height": 67, "file_size": 1200},
            {"file_id": large_file_id, "file_unique_id": "AQADl", "width": 1280, "height": 960, "file_size": large_size}]}),
    )
}

/// A tap on an inline button of the bot's message `message_id`, whose
/// keyboard is `keyboard` (as we sent it: `reply_markup`).
pub fn tap_update(update_id: i64, query_id: &str, message_id: i64, keyboard: &Value, data: &str) -> Value {
    let bot_message = json!({"message_id": message_id, "date": 1_730_000_000,
                             "from": {"id": 1, "is_bot": true, "first_name": "Support", "username": "switchboard_test_bot"},
                             "chat": chat(), "text": "Please choose:", "reply_markup": keyboard});
    json!({"update_id": update_id, "callback_query": {"id": query_id, "from": from(), "message": bot_message,
                                                      "chat_instance": "-4829471", "data": data}})
}

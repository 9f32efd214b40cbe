//! A Twilio REST test server that answers like Twilio for the calls
//! Switchboard makes: Basic auth (`AccountSid:AuthToken`, Twilio's 20003
//! when wrong), `POST /2010-04-01/Accounts/{sid}/Messages.json` (form,
//! recorded, answered with an `SM…` sid, or refused with Twilio's error
//! JSON, e.g. 21610 for a number that texted STOP), the account resource
//! and MMS media behind the same auth. It also builds and signs webhook
//! requests as Twilio does (`X-Twilio-Signature`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use switchboard_channels::twilio::TwilioApi;

#[derive(Default)]
struct TwilioState {
    account_sid: String,
    auth_token: String,
    sent: Mutex<Vec<Vec<(String, String)>>>,
    failures: Mutex<VecDeque<(u16, Value)>>,
    opted_out: Mutex<HashSet<String>>,
    media: Mutex<HashMap<String, (String, Vec<u8>)>>,
    ids: AtomicUsize,
}

fn twilio_error(status: u16, code: i64, message: &str) -> Value {
    json!({"code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
           "status": status})
}

fn authorized(state: &TwilioState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", state.account_sid, state.auth_token))
    );
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(expected.as_str()) {
        return Ok(());
    }
    Err(Box::new(
        (StatusCode::UNAUTHORIZED, Json(twilio_error(401, 20003, "Authenticate"))).into_response(),
    ))
}

async fn create_message(
    State(state): State<Arc<TwilioState>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(denied) = authorized(&state, &headers) {
        return *denied;
    }
    if sid.trim_end_matches(".json") != state.account_sid {
        return (
            StatusCode::NOT_FOUND,
            Json(twilio_error(404, 20404, "The requested resource was not found")),
        )
            .into_response();
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    state.sent.lock().unwrap().push(form.clone());
    let to = form
        .iter()
        .find(|(k, _)| k == "To")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if state.opted_out.lock().unwrap().contains(&to) {
        return (
            StatusCode::BAD_REQUEST,
            Json(twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")),
        )
            .into_response();
    }
    if let Some((status, error)) = state.failures.lock().unwrap().pop_front() {
        return (StatusCode::from_u16(status).unwrap(), Json(error)).into_response();
    }
    let n = state.ids.fetch_add(1, Ordering::SeqCst);
    let sid = format!("SM{n:032x}");
    (
        StatusCode::CREATED,
        Json(
            json!({"sid": sid, "account_sid": state.account_sid, "to": to, "status": "queued",
                    "num_segments": "1", "error_code": null, "error_message": null}),
        ),
    )
        .into_response()
}

async fn account(State(state): State<Arc<TwilioState>>, Path(sid): Path<String>, headers: HeaderMap) -> Response {
    if let Err(denied) = authorized(&state, &headers) {
        return *denied;
    }
    Json(json!({"sid": sid.trim_end_matches(".json"), "friendly_name": "Acme Support", "status": "active"}))
        .into_response()
}

async fn media(
    State(state): State<Arc<TwilioState>>,
    Path((_, _, media_sid)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(denied) = authorized(&state, &headers) {
        return *denied;
    }
    match state.media.lock().unwrap().get(&media_sid) {
        Some((mime, bytes)) => ([(header::CONTENT_TYPE, mime.clone())], bytes.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Clone)]
pub struct TwilioServer {
    pub url: String,
    state: Arc<TwilioState>,
}

impl TwilioServer {
    pub async fn start(account_sid: &str, auth_token: &str) -> TwilioServer {
        let state = Arc::new(TwilioState {
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            ..TwilioState::default()
        });
        let app = axum::Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(create_message))
            .route("/2010-04-01/Accounts/{sid}", get(account))
            .route(
                "/2010-04-01/Accounts/{sid}/Messages/{message}/Media/{media}",
                get(media),
            )
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        TwilioServer { url, state }
    }

    /// Where the adapter calls Twilio, Twilio reaching us at `public_url`.
    pub fn api(&self, public_url: &str) -> TwilioApi {
        TwilioApi {
            base_url: self.url.clone(),
            public_url: public_url.to_owned(),
        }
    }

    /// The forms of the messages created, in order.
    pub fn sent(&self) -> Vec<Vec<(String, String)>> {
        self.state.sent.lock().unwrap().clone()
    }

    /// The next message creation fails with Twilio's error.
    pub fn fail_next(&self, status: u16, code: i64, message: &str) {
        self.state
            .failures
            .lock()
            .unwrap()
            .push_back((status, twilio_error(status, code, message)));
    }

    /// Twilio refuses sends to this number (21610), as after STOP.
    pub fn opt_out(&self, number: &str) {
        self.state.opted_out.lock().unwrap().insert(number.to_owned());
    }

    /// An MMS file; its media URL.
    pub fn add_media(&self, message_sid: &str, media_sid: &str, mime: &str, bytes: Vec<u8>) -> String {
        self.state
            .media
            .lock()
            .unwrap()
            .insert(media_sid.to_owned(), (mime.to_owned(), bytes));
        format!(
            "{}/2010-04-01/Accounts/{}/Messages/{message_sid}/Media/{media_sid}",
            self.url, self.state.account_sid
        )
    }
}

/// The value of a form field.
pub fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A webhook's form and its `X-Twilio-Signature` for `signed_url` (the
/// URL as Twilio called it).
pub fn signed_form(auth_token: &str, signed_url: &str, params: &[(&str, &str)]) -> (String, String) {
    let pairs: Vec<(String, String)> = params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish();
    (body, switchboard_channels::twilio::sign(auth_token, signed_url, &pairs))
}

//! An API client signed in the way a browser or a program would be.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::TestApp;

#[derive(Clone)]
pub struct ApiClient {
    pub http: reqwest::Client,
    pub base: String,
    /// Sent as `X-CSRF-Token` on writes (cookie sessions).
    pub csrf: Option<String>,
    /// Sent as `Authorization: Bearer` (API tokens).
    pub bearer: Option<String>,
    pub user_id: Option<String>,
    /// The session cookie (`name=value`), for WebSocket handshakes.
    pub session_cookie: Option<String>,
}

/// A response: status, JSON body (or `Null`), headers.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// The stable error code of an error response.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl Reply {
    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Read a response into a [`Reply`].
pub async fn reply_of(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, body, headers }
}

impl std::ops::Index<&str> for Reply {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        &self.body[key]
    }
}

impl ApiClient {
    pub fn anonymous(app: &TestApp) -> ApiClient {
        ApiClient {
            http: reqwest::Client::builder().cookie_store(true).build().expect("client"),
            base: format!("http://{}", app.addr),
            csrf: None,
            bearer: None,
            user_id: None,
            session_cookie: None,
        }
    }

    /// Sign in through `POST /api/v1/auth/login` (session cookie + CSRF token).
    pub async fn login(app: &TestApp, email: &str, password: &str) -> ApiClient {
        let mut client = Self::anonymous(app);
        let reply = client
            .send(
                Method::POST,
                "/api/v1/auth/login",
                Some(serde_json::json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "login of {email} failed: {:?}",
            reply.body
        );
        client.csrf = reply.body["csrf_token"].as_str().map(str::to_owned);
        client.user_id = reply.body["user_id"].as_str().map(str::to_owned);
        client.session_cookie = reply
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("sb_session="))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        client
    }

    /// A client that authenticates with an API token only.
    pub fn with_token(app: &TestApp, token: &str) -> ApiClient {
        ApiClient {
            http: reqwest::Client::new(),
            base: format!("http://{}", app.addr),
            csrf: None,
            bearer: Some(token.to_owned()),
            user_id: None,
            session_cookie: None,
        }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut req = self.http.request(method.clone(), format!("{}{}", self.base, path));
        if let Some(csrf) = &self.csrf
            && method != Method::GET
        {
            req = req.header("x-csrf-token", csrf);
        }
        if let Some(token) = &self.bearer {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let response = req.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, body, headers }
    }

    /// POST JSON to a server-sent-events endpoint and read the stream to
    /// its end: the status and each event's `data` parsed as JSON.
    pub async fn post_events(&self, path: &str, body: Value) -> (reqwest::StatusCode, Vec<Value>) {
        let mut req = self.http.post(format!("{}{}", self.base, path)).json(&body);
        if let Some(csrf) = &self.csrf {
            req = req.header("x-csrf-token", csrf);
        }
        if let Some(token) = &self.bearer {
            req = req.bearer_auth(token);
        }
        let response = req.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let events = text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str(d.trim()).ok())
            .collect();
        (status, events)
    }

    /// Send raw bytes with the given content type (none: no header), signed
    /// in like [`send`](Self::send): for bodies `send` cannot produce
    /// (malformed JSON, invalid UTF-8, another media type, …).
    pub async fn send_raw(&self, method: Method, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Reply {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{}", self.base, path))
            .body(body);
        if let Some(content_type) = content_type {
            req = req.header("content-type", content_type);
        }
        if let Some(csrf) = &self.csrf
            && method != Method::GET
        {
            req = req.header("x-csrf-token", csrf);
        }
        if let Some(token) = &self.bearer {
            req = req.bearer_auth(token);
        }
        reply_of(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    /// A GET whose answer is not JSON (a file): status, content type, text.
    /// The body of a GET as bytes (a PDF, a ZIP); panics unless 200.
    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let mut req = self.http.get(format!("{}{}", self.base, path));
        if let Some(token) = &self.bearer {
            req = req.bearer_auth(token);
        }
        let response = req.send().await.expect("request");
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
        response.bytes().await.expect("body").to_vec()
    }

    pub async fn get_text(&self, path: &str) -> (u16, String, String) {
        let mut req = self.http.get(format!("{}{}", self.base, path));
        if let Some(token) = &self.bearer {
            req = req.bearer_auth(token);
        }
        let response = req.send().await.expect("request");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, content_type, response.text().await.expect("text"))
    }
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }
}

/// `POST` a signed message to an API channel's hook.
pub async fn post_hook(app: &TestApp, channel_id: &str, secret: &str, body: &Value) -> Reply {
    let raw = serde_json::to_vec(body).expect("json");
    post_hook_raw(
        app,
        channel_id,
        Some(&switchboard_channels::api::sign(secret, &raw)),
        "application/json",
        raw,
    )
    .await
}

/// `POST` raw bytes to an API channel's hook with the given signature header.
pub async fn post_hook_raw(
    app: &TestApp,
    channel_id: &str,
    signature: Option<&str>,
    content_type: &str,
    raw: Vec<u8>,
) -> Reply {
    let mut req = reqwest::Client::new()
        .post(app.url(&format!("/hooks/api/{channel_id}")))
        .header("content-type", content_type)
        .body(raw);
    if let Some(sig) = signature {
        req = req.header(switchboard_channels::api::SIGNATURE_HEADER, sig);
    }
    let response = req.send().await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    let body = serde_json::from_slice(&response.bytes().await.expect("body")).unwrap_or(Value::Null);
    Reply { status, body, headers }
}

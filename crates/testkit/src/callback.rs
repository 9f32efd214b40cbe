//! A receiver for API-channel callbacks: records every request (headers and
//! raw body) and answers as scripted, e.g. "fail the first three".

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct Script {
    received: Vec<Received>,
    /// Answer 500 to this many requests before succeeding.
    fail_first: usize,
    /// Answer this status to every request (a permanent failure).
    always: Option<StatusCode>,
}

#[derive(Clone)]
pub struct CallbackServer {
    pub addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

async fn receive(State(script): State<Arc<Mutex<Script>>>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let mut s = script.lock().unwrap_or_else(|e| e.into_inner());
    s.received.push(Received { headers, body });
    if let Some(status) = s.always {
        return (status, "no".into());
    }
    if s.fail_first > 0 {
        s.fail_first -= 1;
        return (StatusCode::INTERNAL_SERVER_ERROR, "try later".into());
    }
    let n = s.received.len();
    (StatusCode::OK, format!("{{\"message_id\":\"remote-{n}\"}}"))
}

impl CallbackServer {
    pub async fn start() -> CallbackServer {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = axum::Router::new()
            .route("/callback", post(receive))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        CallbackServer { addr, script }
    }

    pub fn url(&self) -> String {
        format!("http://{}/callback", self.addr)
    }

    pub fn fail_first(&self, n: usize) {
        self.script.lock().unwrap_or_else(|e| e.into_inner()).fail_first = n;
    }

    pub fn always(&self, status: StatusCode) {
        self.script.lock().unwrap_or_else(|e| e.into_inner()).always = Some(status);
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap_or_else(|e| e.into_inner()).received.clone()
    }
}

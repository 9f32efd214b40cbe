//! A receiver for outgoing webhooks: records every request (headers and raw
//! body) and answers as scripted: fail the first N with 500, or always
//! answer a given status.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;

pub use crate::callback::Received;

#[derive(Default)]
struct Script {
    received: Vec<(Received, StatusCode)>,
    fail_first: usize,
    always: Option<StatusCode>,
}

#[derive(Clone)]
pub struct WebhookReceiver {
    pub addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

async fn receive(State(script): State<Arc<Mutex<Script>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut s = script.lock().unwrap_or_else(|e| e.into_inner());
    let status = if let Some(status) = s.always {
        status
    } else if s.fail_first > 0 {
        s.fail_first -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    };
    s.received.push((Received { headers, body }, status));
    status
}

impl WebhookReceiver {
    pub async fn start() -> WebhookReceiver {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebhookReceiver { addr, script }
    }

    /// `http://127.0.0.1:<port>/hook`
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Answer 500 to the next `n` requests.
    pub fn fail_first(&self, n: usize) {
        self.script.lock().unwrap_or_else(|e| e.into_inner()).fail_first = n;
    }

    /// Answer `status` to every request.
    pub fn always(&self, status: StatusCode) {
        self.script.lock().unwrap_or_else(|e| e.into_inner()).always = Some(status);
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.iter().map(|(r, _)| r.clone()).collect()
    }

    /// The requests that were answered 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.lock()
            .received
            .iter()
            .filter(|(_, s)| s.is_success())
            .map(|(r, _)| r.clone())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(|e| e.into_inner())
    }
}

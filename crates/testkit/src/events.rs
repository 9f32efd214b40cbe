//! A WebSocket client of `/api/v1/ws`, signed in with a session cookie and
//! sending the page's origin, as a browser tab would.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error, Message};

use crate::TestApp;
use crate::client::ApiClient;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct EventStream {
    socket: Socket,
    /// The last `seq` received.
    pub last_seq: Option<i64>,
    /// Close code, once the server closed the stream.
    pub closed_with: Option<u16>,
    /// The server ended the stream (close frame, or the connection dropped).
    pub ended: bool,
}

impl EventStream {
    /// Connect as `client` (session cookie) to a workspace's stream.
    pub async fn connect(
        app: &TestApp,
        client: &ApiClient,
        workspace: &str,
        since: Option<i64>,
    ) -> Result<EventStream, Error> {
        Self::connect_from(app, client, workspace, since, &format!("http://{}", app.addr)).await
    }

    /// Connect with a given `Origin` header.
    pub async fn connect_from(
        app: &TestApp,
        client: &ApiClient,
        workspace: &str,
        since: Option<i64>,
        origin: &str,
    ) -> Result<EventStream, Error> {
        let mut url = format!("ws://{}/api/v1/ws?workspace_id={workspace}", app.addr);
        if let Some(since) = since {
            url.push_str(&format!("&since={since}"));
        }
        let mut request = url.into_client_request()?;
        if let Some(cookie) = &client.session_cookie {
            request
                .headers_mut()
                .insert("cookie", HeaderValue::from_str(cookie).expect("cookie"));
        }
        if let Some(token) = &client.bearer {
            request.headers_mut().insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {token}")).expect("token"),
            );
        }
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_str(origin).expect("origin"));
        let (socket, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(EventStream {
            socket,
            last_seq: None,
            closed_with: None,
            ended: false,
        })
    }

    /// The next event within `timeout`, if any (pings are answered).
    pub async fn next(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let Some(message) = tokio::time::timeout_at(deadline, self.socket.next()).await.ok()? else {
                self.ended = true;
                return None;
            };
            match message {
                Ok(Message::Text(text)) => {
                    let value: Value = serde_json::from_str(&text).expect("events are JSON");
                    if let Some(seq) = value["seq"].as_i64() {
                        self.last_seq = Some(seq);
                    }
                    return Some(value);
                }
                Ok(Message::Ping(p)) => {
                    let _ = self.socket.send(Message::Pong(p)).await;
                }
                Ok(Message::Close(frame)) => {
                    self.closed_with = frame.map(|f| u16::from(f.code));
                    self.ended = true;
                    return None;
                }
                Ok(_) => {}
                Err(_) => {
                    self.ended = true;
                    return None;
                }
            }
        }
    }

    /// The next event of `kind` (skipping others) within `timeout`.
    pub async fn next_of(&mut self, kind: &str, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next(left).await?;
            if event["type"] == kind {
                return Some(event);
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

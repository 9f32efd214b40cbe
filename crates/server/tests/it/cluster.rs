//! Two real `switchboard serve` processes on one PostgreSQL database with
//! Debian's nginx in front as a round-robin balancer (the deployment
//! README describes): a widget visitor and an agent talk through the proxy
//! whichever node each request lands on; then one node is killed with
//! SIGKILL and the visitor's and the agent's clients, reconnecting to the
//! other with `since`, receive exactly what they missed.
//!
//! PostgreSQL only (SQLite serves one node). Needs `nginx` on the PATH or
//! in /usr/sbin (`.ci/run` installs it); without it the test says so and
//! passes only outside CI.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use switchboard_testkit::Backend;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::node::{ADMIN_EMAIL, ADMIN_PASSWORD, Server, Target, create_admin, free_port};

const WAIT: Duration = Duration::from_secs(10);

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn nginx_binary() -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|p| p.is_file())
}

/// nginx in the foreground, one process, proxying HTTP and WebSocket
/// upgrades round-robin to `upstreams`; stopped when dropped.
struct Balancer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Balancer {
    fn start(nginx: &Path, upstreams: &[&Server]) -> Balancer {
        let dir = tempfile::tempdir().expect("nginx dir");
        let port = free_port();
        let servers: String = upstreams
            .iter()
            .map(|s| format!("        server {};\n", s.addr))
            .collect();
        let root = dir.path().display();
        let conf = format!(
            "daemon off;
master_process off;
worker_processes 1;
error_log {root}/error.log warn;
pid {root}/nginx.pid;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    upstream switchboard {{
{servers}    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://switchboard;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 1h;
            proxy_next_upstream error timeout;
        }}
    }}
}}
"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("nginx.conf");
        let child = Command::new(nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nginx");
        Balancer { child, port, dir }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    async fn wait_ready(&mut self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!("nginx exited ({status}): {}", self.log());
            }
            if let Ok(r) = reqwest::get(self.url("/readyz")).await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nginx not ready: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A signed-in browser-like client: cookie jar and CSRF token.
struct Agent {
    http: reqwest::Client,
    csrf: String,
    cookie: String,
    user_id: String,
}

impl Agent {
    async fn login(base: &str) -> Agent {
        let http = reqwest::Client::builder().cookie_store(true).build().expect("client");
        let r = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), 200);
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
            .join("; ");
        let body: Value = r.json().await.expect("login body");
        Agent {
            http,
            csrf: body["csrf_token"].as_str().expect("csrf").to_owned(),
            cookie,
            user_id: body["user_id"].as_str().unwrap_or_default().to_owned(),
        }
    }

    async fn post(&self, url: String, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, url, body).await
    }

    async fn send(&self, method: reqwest::Method, url: String, body: Value) -> (u16, Value) {
        let r = self
            .http
            .request(method, url)
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The workspace's event stream on `host` (a node or the proxy).
    async fn events(&self, host: &str, ws: &str, since: Option<i64>) -> Socket {
        let mut url = format!("ws://{host}/api/v1/ws?workspace_id={ws}");
        if let Some(since) = since {
            url.push_str(&format!("&since={since}"));
        }
        let mut request = url.into_client_request().expect("request");
        let headers = request.headers_mut();
        headers.insert("cookie", HeaderValue::from_str(&self.cookie).expect("cookie"));
        headers.insert(
            "origin",
            HeaderValue::from_str(&format!("http://{host}")).expect("origin"),
        );
        tokio_tungstenite::connect_async(request).await.expect("event stream").0
    }
}

/// The next text frame within `wait` as JSON (pings are answered).
async fn next_json(socket: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Frame::Text(text)))) => return serde_json::from_str(&text).ok(),
            Ok(Some(Ok(Frame::Ping(p)))) => {
                let _ = socket.send(Frame::Pong(p)).await;
            }
            Ok(Some(Ok(_))) => {}
            _ => return None,
        }
    }
}

/// Wait for the first event that `pick` accepts.
async fn wait_for(socket: &mut Socket, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
    loop {
        let e = next_json(socket, WAIT)
            .await
            .unwrap_or_else(|| panic!("no {what} arrived"));
        if pick(&e) {
            return e;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_behind_nginx_serve_one_story_and_survive_a_sigkill() {
    if Backend::selected() != Backend::Postgres {
        return;
    }
    let Some(nginx) = nginx_binary() else {
        assert!(std::env::var_os("CI").is_none(), "nginx is missing in CI");
        eprintln!("nginx not installed: skipping the balancer test");
        return;
    };
    let target = Target::new().await;
    let ws = create_admin(&target);
    let mut a = Server::start(&target, "node-a").await;
    let b = Server::start(&target, "node-b").await;
    let mut proxy = Balancer::start(&nginx, &[&a, &b]);
    proxy.wait_ready().await;
    let proxy_host = format!("127.0.0.1:{}", proxy.port);

    // Through the proxy: the admin signs in, makes a web channel.
    let agent = Agent::login(&proxy.url("")).await;
    let (status, channel) = agent
        .post(
            proxy.url(&format!("/api/v1/workspaces/{ws}/channels")),
            json!({"kind": "web", "name": "Site chat", "widget": {}}),
        )
        .await;
    assert_eq!(status, 201, "{channel}");
    let channel = channel["id"].as_str().expect("channel id").to_owned();
    let mut agent_socket = agent.events(&proxy_host, &ws, None).await;

    // A visitor: session, socket and messages through the proxy.
    let http = reqwest::Client::new();
    let session: Value = http
        .post(proxy.url("/widget/v1/session"))
        .json(&json!({"channel_id": channel}))
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("session body");
    let token = session["token"].as_str().expect("visitor token").to_owned();
    let mut visitor = tokio_tungstenite::connect_async(format!("ws://{proxy_host}/widget/v1/ws?token={token}"))
        .await
        .expect("visitor socket through the proxy")
        .0;
    let sent: Value = http
        .post(proxy.url("/widget/v1/messages"))
        .bearer_auth(&token)
        .json(&json!({"text": "Where is my parcel?", "client_id": "c-1"}))
        .send()
        .await
        .expect("visitor message")
        .json()
        .await
        .expect("message body");
    let conversation = sent["conversation_id"].as_str().expect("conversation").to_owned();
    wait_for(&mut agent_socket, "the visitor's message", |e| {
        e["type"] == "message.created" && e["data"]["body"] == "Where is my parcel?"
    })
    .await;

    // The agent comes online, takes the chat and replies; the visitor sees the reply.
    let (status, body) = agent
        .send(
            reqwest::Method::PATCH,
            proxy.url(&format!("/api/v1/workspaces/{ws}/users/{}", agent.user_id)),
            json!({"availability": "online"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let conv_url = |rest: &str| proxy.url(&format!("/api/v1/workspaces/{ws}/conversations/{conversation}{rest}"));
    let (status, body) = agent.post(conv_url("/assign"), json!({"user_id": agent.user_id})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = agent
        .post(
            conv_url("/messages"),
            json!({"kind": "text", "body": "It ships today."}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    wait_for(&mut visitor, "the reply on the visitor's socket", |e| {
        e["type"] == "message" && e["data"]["body"] == "It ships today."
    })
    .await;
    // The visitor's and the agent's clients are on node A when it is killed.
    let a_host = a.addr.to_string();
    let mut visitor_on_a = tokio_tungstenite::connect_async(format!("ws://{a_host}/widget/v1/ws?token={token}"))
        .await
        .expect("visitor socket on A")
        .0;
    let mut agent_on_a = agent.events(&a_host, &ws, None).await;
    let reply = |text: String| agent.post(conv_url("/messages"), json!({"kind": "text", "body": text}));
    let (status, body) = reply("before the kill".into()).await;
    assert_eq!(status, 201, "{body}");
    let visitor_since = wait_for(&mut visitor_on_a, "the reply on A", |e| {
        e["type"] == "message" && e["data"]["body"] == "before the kill"
    })
    .await["seq"]
        .as_i64()
        .expect("the widget's frames carry seq");
    let since = wait_for(&mut agent_on_a, "the reply on A", |e| {
        e["data"]["body"] == "before the kill"
    })
    .await["seq"]
        .as_i64()
        .expect("seq");
    a.kill();
    // Writes go on through the proxy (nginx passes over the dead node).
    for i in 1..=3 {
        let (status, body) = reply(format!("missed {i}")).await;
        assert_eq!(status, 201, "{body}\n{}", proxy.log());
    }

    // The visitor reconnects, to B, with `since`.
    let b_host = b.addr.to_string();
    let mut visitor_on_b = tokio_tungstenite::connect_async(format!(
        "ws://{b_host}/widget/v1/ws?token={token}&since={visitor_since}"
    ))
    .await
    .expect("visitor socket on B")
    .0;
    let mut frames = Vec::new();
    while let Some(e) = next_json(&mut visitor_on_b, Duration::from_millis(1500)).await {
        frames.push(e);
    }
    let seqs: Vec<i64> = frames.iter().filter_map(|e| e["seq"].as_i64()).collect();
    assert!(
        seqs.first().is_some_and(|s| *s > visitor_since) && seqs.windows(2).all(|w| w[0] < w[1]),
        "after since, in order, none twice: {seqs:?}"
    );
    let replies: Vec<&str> = frames
        .iter()
        .filter(|e| e["type"] == "message")
        .filter_map(|e| e["data"]["body"].as_str())
        .collect();
    assert_eq!(replies, ["missed 1", "missed 2", "missed 3"]);

    // So does the agent's client.
    let mut agent_on_b = agent.events(&b_host, &ws, Some(since)).await;
    let mut replayed = Vec::new();
    while let Some(e) = next_json(&mut agent_on_b, Duration::from_millis(1500)).await {
        replayed.push(e);
    }
    let seqs: Vec<i64> = replayed.iter().filter_map(|e| e["seq"].as_i64()).collect();
    let expected: Vec<i64> = (since + 1..=since + seqs.len() as i64).collect();
    assert_eq!(seqs, expected, "exactly what was missed, in order, none twice");
    let bodies: Vec<&str> = replayed
        .iter()
        .filter(|e| e["type"] == "message.created")
        .filter_map(|e| e["data"]["body"].as_str())
        .collect();
    assert_eq!(bodies, ["missed 1", "missed 2", "missed 3"]);

    // And the chat is resolved through the proxy, seen live on B.
    let (status, body) = agent.post(conv_url("/status"), json!({"status": "resolved"})).await;
    assert_eq!(status, 200, "{body}");
    wait_for(&mut agent_on_b, "the resolve", |e| {
        e["type"] == "conversation.updated" && e["data"]["status"] == "resolved"
    })
    .await;
    drop(proxy);
    drop(b);
    drop(a);
    drop(target);
}

//! Cluster benchmark (issue "Cluster mode that really works"): two nodes on
//! one PostgreSQL database behind Debian's nginx, against one node, in one
//! run and on the same machine.
//!
//! 1. Ingest: signed API-channel hook messages from `--senders` concurrent
//!    senders (reqwest, keep-alive), to one node directly and to two nodes
//!    through nginx (round robin): messages per second.
//! 2. Event latency: `--agents` WebSocket clients (API token) listen on one
//!    node; messages go in through a node's hook at `--rate` per second.
//!    For each message, the time from its acknowledgement (the hook's 200)
//!    to its `message.created` event on each socket: p50/p99 with sockets
//!    and hook on the same node, and with the hook on the other node.
//!
//! Nodes run in this process (each its own store, hub and listener), so
//! they share the two cores with the load; nginx runs as a child process.
//!
//! ```text
//! cargo run --release -p switchboard-testkit --bin cluster_bench -- --senders 64 --messages 4000 --agents 1000 --events 200 --rate 20
//! ```
//!
//! Needs PostgreSQL (`SWITCHBOARD_TEST_PG_URL`) and nginx. Prints figures;
//! asserts nothing about speed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::{Backend, TestApp, TestDb, TestOptions};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// nginx in the foreground, round robin over `upstreams`.
struct Nginx {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(upstreams: &[std::net::SocketAddr]) -> anyhow::Result<Nginx> {
        let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| std::path::Path::new(p).is_file())
            .context("nginx is not installed (apt-get install nginx-light)")?;
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let root = dir.path().display();
        let servers: String = upstreams.iter().map(|a| format!("server {a}; ")).collect();
        let conf = format!(
            "daemon off; master_process off; worker_processes 1; error_log {root}/error.log warn; pid {root}/nginx.pid;
events {{ worker_connections 4096; }}
http {{ access_log off; client_body_temp_path {root}/body; proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi; uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
  upstream switchboard {{ {servers} keepalive 128; }}
  server {{ listen 127.0.0.1:{port};
    location / {{ proxy_pass http://switchboard; proxy_http_version 1.1; proxy_set_header Connection \"\";
      proxy_set_header Host $http_host; }} }} }}"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf)?;
        let child = std::process::Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .stdin(std::process::Stdio::null())
            .spawn()?;
        Ok(Nginx { child, port, _dir: dir })
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// What a sender needs to call the API channel's hook.
struct Hook {
    channel: String,
    secret: String,
}

fn hook_request(hook: &Hook, id: &str, text: &str) -> (Vec<u8>, String) {
    let body = serde_json::to_vec(&serde_json::json!({
        "message_id": id,
        "contact": {"id": format!("c-{}", id.len() % 97), "name": "Bea Bench"},
        "text": text,
    }))
    .expect("json");
    let signature = switchboard_channels::api::sign(&hook.secret, &body);
    (body, signature)
}

async fn post(http: &reqwest::Client, base: &str, hook: &Hook, id: &str, text: &str) -> anyhow::Result<()> {
    let (body, signature) = hook_request(hook, id, text);
    let r = http
        .post(format!("{base}/hooks/api/{}", hook.channel))
        .header("content-type", "application/json")
        .header(switchboard_channels::api::SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await?;
    if r.status() != 200 {
        bail!("hook answered {}", r.status());
    }
    Ok(())
}

/// Messages per second from `senders` concurrent senders to `base`.
async fn ingest(base: &str, hook: &Arc<Hook>, prefix: &str, messages: usize, senders: usize) -> anyhow::Result<f64> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(senders).build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..senders)
        .map(|_| {
            let (http, next, base, prefix) = (http.clone(), next.clone(), base.to_owned(), prefix.to_owned());
            let hook = hook.clone();
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= messages {
                        return Ok::<_, anyhow::Error>(());
                    }
                    post(&http, &base, &hook, &format!("{prefix}-{i}"), "ingest").await?;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok(messages as f64 / start.elapsed().as_secs_f64())
}

/// Receipt times per event tag, from every socket.
type Receipts = Arc<Mutex<Vec<(String, Instant)>>>;

async fn listen(addr: std::net::SocketAddr, ws: &str, token: &str, receipts: Receipts) -> anyhow::Result<()> {
    let mut request = format!("ws://{addr}/api/v1/ws?workspace_id={ws}").into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", HeaderValue::from_str(&format!("Bearer {token}"))?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    tokio::spawn(async move {
        while let Some(Ok(frame)) = socket.next().await {
            match frame {
                Frame::Text(text) => {
                    let at = Instant::now();
                    if let Some(start) = text.find("\"body\":\"lat-") {
                        let tag: String = text[start + 8..].chars().take_while(|c| *c != '"').collect();
                        receipts.lock().await.push((tag, at));
                    }
                }
                Frame::Ping(p) => {
                    let _ = socket.send(Frame::Pong(p)).await;
                }
                Frame::Close(_) => return,
                _ => {}
            }
        }
    });
    Ok(())
}

/// Send `events` messages at `rate`/s through `base`; the latency from each
/// acknowledgement to each socket's receipt.
async fn latency(
    base: &str,
    hook: &Hook,
    label: &str,
    events: usize,
    rate: u64,
    agents: usize,
    receipts: &Receipts,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    receipts.lock().await.clear();
    let http = reqwest::Client::new();
    let mut acks = std::collections::HashMap::new();
    let mut every = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate.max(1)));
    for i in 0..events {
        every.tick().await;
        let tag = format!("lat-{label}-{i}");
        post(&http, base, hook, &format!("{label}-{i}"), &tag).await?;
        acks.insert(tag, Instant::now());
    }
    // Let the last events arrive.
    let deadline = Instant::now() + Duration::from_secs(30);
    while receipts.lock().await.len() < events * agents && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let receipts = receipts.lock().await;
    let mut latencies: Vec<Duration> = receipts
        .iter()
        .filter_map(|(tag, at)| acks.get(tag).map(|ack| at.saturating_duration_since(*ack)))
        .collect();
    latencies.sort_unstable();
    Ok((latencies, receipts.len()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = switchboard_testkit::bench::numeric_args(&[
        ("senders", 64),
        ("messages", 4000),
        ("agents", 1000),
        ("events", 200),
        ("rate", 20),
    ])?;
    let (senders, messages, agents, events, rate) = (
        args["senders"],
        args["messages"],
        args["agents"],
        args["events"],
        args["rate"] as u64,
    );
    let db = TestDb::for_backend(Backend::Postgres).await;
    let mut options = TestOptions::default();
    options.service.job_poll_interval = Duration::from_secs(1);
    let a = TestApp::spawn_on(db, options.clone()).await;
    let b = a.another_node(options).await;
    let org = Org::create(&a).await;
    let hook = Arc::new(Hook {
        channel: org.channel.clone(),
        secret: org.secret.clone(),
    });
    let nginx = Nginx::start(&[a.addr, b.addr])?;
    let proxy = format!("http://127.0.0.1:{}", nginx.port);
    for _ in 0..100 {
        if reqwest::get(format!("{proxy}/readyz"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "cluster benchmark: PostgreSQL, nodes in this process, {} cores; nginx round robin",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // 1. Ingest.
    ingest(&a.url(""), &hook, "warm", 500, senders).await?;
    let one = ingest(&a.url(""), &hook, "one", messages, senders).await?;
    let two = ingest(&proxy, &hook, "two", messages, senders).await?;
    println!("ingest, {senders} senders, {messages} messages:");
    println!("  one node, direct:        {one:.0} msgs/s");
    println!(
        "  two nodes behind nginx:  {two:.0} msgs/s   (two / one = {:.2})",
        two / one
    );

    // 2. Event latency to `agents` sockets on node B.
    let token = org
        .admin
        .post(&org.path("/api-tokens"), serde_json::json!({"name": "bench"}))
        .await;
    let token = token["secret"].as_str().context("api token")?.to_owned();
    let receipts: Receipts = Arc::default();
    for _ in 0..agents {
        listen(b.addr, &org.ws, &token, receipts.clone()).await?;
    }
    let (same, same_n) = latency(&b.url(""), &hook, "same", events, rate, agents, &receipts).await?;
    let (cross, cross_n) = latency(&a.url(""), &hook, "cross", events, rate, agents, &receipts).await?;
    println!("event latency, ack → {agents} sockets on node B, {events} messages at {rate}/s:");
    println!(
        "  same node (hook on B):   p50 {}  p99 {}  ({same_n} receipts)",
        ms(percentile(&same, 50.0)),
        ms(percentile(&same, 99.0))
    );
    println!(
        "  cross node (hook on A):  p50 {}  p99 {}  ({cross_n} receipts)",
        ms(percentile(&cross, 50.0)),
        ms(percentile(&cross, 99.0))
    );
    println!(
        "  cross p99 / same p99 = {:.2}   (target <= 2)",
        percentile(&cross, 99.0).as_secs_f64() / percentile(&same, 99.0).as_secs_f64().max(1e-9)
    );
    drop(nginx);
    Ok(())
}

//! Fan-out benchmark (DESIGN.md §13 "agent fan-out" and "idle connections").
//!
//! Connects N WebSocket clients over loopback to (a) a Switchboard server's
//! `/api/v1/ws` and (b) a bare axum WebSocket broadcast server, measured in
//! the same run; injects the same events at a fixed rate into each, and
//! reports p50/p99 delivery latency per event and receiver, plus the
//! server's resident memory per connection. Each server runs in a child
//! process (this same binary) so its memory is its own.
//!
//!     cargo run --release -p switchboard-testkit --bin fanout_bench -- --clients 1000,10000
//!
//! Nothing is asserted; the figures go in the notes.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use tokio::sync::Mutex;

/// The server binary's allocator, so figures match what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PAD: usize = 200;

fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn tick_payload() -> serde_json::Value {
    serde_json::json!({"t": unix_nanos().to_string(), "pad": "x".repeat(PAD)})
}

/// Read commands `go <events> <per_second>` from stdin; run `inject` for each.
async fn command_loop<F, Fut>(inject: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(4);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = rx.recv().await {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            ["go", count, rate] => {
                let count: u64 = count.parse().unwrap_or(0);
                let rate: u64 = rate.parse().unwrap_or(10).max(1);
                let mut every = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate));
                for _ in 0..count {
                    every.tick().await;
                    inject().await;
                }
                println!("done");
                let _ = std::io::stdout().flush();
            }
            ["quit"] => return,
            _ => {}
        }
    }
}

/// Child: a Switchboard server with one workspace and an API token.
async fn serve_switchboard() {
    let app = switchboard_testkit::TestApp::spawn().await;
    let (admin, ws) = app.admin().await;
    let token = admin
        .post(
            &format!("/api/v1/workspaces/{ws}/api-tokens"),
            serde_json::json!({"name": "bench"}),
        )
        .await;
    let secret = token["secret"].as_str().expect("token").to_owned();
    println!("ready {} /api/v1/ws?workspace_id={ws} {secret}", app.addr);
    let _ = std::io::stdout().flush();
    let services = app.services.clone();
    command_loop(|| {
        let services = services.clone();
        async move {
            let published = services
                .publish_now(
                    ws,
                    "bench.tick",
                    switchboard_service::events::EventScope::Workspace,
                    tick_payload(),
                )
                .await;
            if let Err(e) = published {
                eprintln!("could not publish: {e}");
            }
        }
    })
    .await;
}

/// Child: the baseline, a bare axum WebSocket broadcast of the same payload
/// (serialised once, shared bytes, small buffers like ours).
async fn serve_bare() {
    use axum::extract::ws::{Message, Utf8Bytes, WebSocketUpgrade};
    let (tx, _) = tokio::sync::broadcast::channel::<Utf8Bytes>(256);
    let sender = tx.clone();
    let app = axum::Router::new().route(
        "/ws",
        axum::routing::get(move |upgrade: WebSocketUpgrade| {
            let mut rx = sender.subscribe();
            async move {
                upgrade
                    .read_buffer_size(4 * 1024)
                    .write_buffer_size(0)
                    .on_upgrade(move |mut socket| async move {
                        while let Ok(text) = rx.recv().await {
                            if socket.send(Message::Text(text)).await.is_err() {
                                return;
                            }
                        }
                    })
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    println!("ready {} /ws -", listener.local_addr().expect("addr"));
    let _ = std::io::stdout().flush();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    command_loop(|| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(Utf8Bytes::from(tick_payload().to_string()));
        }
    })
    .await;
}

struct Child {
    process: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Child {
    fn start(mode: &str) -> (Child, String, String, String) {
        let mut process = std::process::Command::new(std::env::current_exe().expect("exe"))
            .arg(mode)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start child");
        let stdin = process.stdin.take().expect("stdin");
        let mut stdout = std::io::BufReader::new(process.stdout.take().expect("stdout"));
        let mut line = String::new();
        loop {
            line.clear();
            stdout.read_line(&mut line).expect("read");
            if line.starts_with("ready") || line.is_empty() {
                break;
            }
        }
        let parts: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        assert!(parts.len() == 4, "child did not start: {line:?}");
        (
            Child { process, stdin, stdout },
            parts[1].clone(),
            parts[2].clone(),
            parts[3].clone(),
        )
    }

    fn go(&mut self, events: u64, rate: u64) {
        writeln!(self.stdin, "go {events} {rate}").expect("write");
        self.stdin.flush().expect("flush");
        let mut line = String::new();
        while !line.starts_with("done") {
            line.clear();
            if self.stdout.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

struct Figures {
    p50_ms: f64,
    p99_ms: f64,
    received: usize,
    expected: usize,
    rss_per_conn_kib: f64,
}

async fn measure(mode: &str, clients: usize, events: u64, rate: u64) -> Figures {
    let (mut child, addr, path, token) = Child::start(mode);
    let pid = child.process.id();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_rss = rss_kib(pid);
    let latencies = Arc::new(Mutex::new(Vec::<u64>::with_capacity(clients * events as usize)));
    let connected = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let url = format!("ws://{addr}{path}");
        let token = token.clone();
        let latencies = latencies.clone();
        let connected = connected.clone();
        tasks.push(tokio::spawn(async move {
            use tokio_tungstenite::tungstenite::client::IntoClientRequest;
            let mut request = url.into_client_request().expect("url");
            if token != "-" {
                request
                    .headers_mut()
                    .insert("authorization", format!("Bearer {token}").parse().expect("header"));
            }
            let socket = loop {
                match tokio_tungstenite::connect_async(request.clone()).await {
                    Ok((s, _)) => break s,
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            };
            connected.fetch_add(1, Ordering::SeqCst);
            let (_write, mut read) = socket.split();
            let mut mine = Vec::with_capacity(events as usize);
            while let Ok(Some(Ok(message))) = tokio::time::timeout(Duration::from_secs(5), read.next()).await {
                if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
                    let now = unix_nanos();
                    if let Some(start) = text.find("\"t\":\"") {
                        let rest = &text[start + 5..];
                        if let Some(end) = rest.find('"')
                            && let Ok(sent) = rest[..end].parse::<u128>()
                        {
                            mine.push(((now.saturating_sub(sent)) / 1000) as u64);
                        }
                    }
                    if mine.len() as u64 == events {
                        break;
                    }
                }
            }
            latencies.lock().await.extend(mine);
        }));
        // Do not stampede the accept queue.
        if tasks.len() % 200 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    while connected.load(Ordering::SeqCst) < clients {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let busy_rss = rss_kib(pid);
    let started = Instant::now();
    tokio::task::spawn_blocking(move || {
        child.go(events, rate);
        child
    })
    .await
    .map(drop)
    .expect("inject");
    for t in tasks {
        let _ = t.await;
    }
    let _ = started;
    let mut all = std::mem::take(&mut *latencies.lock().await);
    all.sort_unstable();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    Figures {
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
        received: all.len(),
        expected: clients * events as usize,
        rss_per_conn_kib: busy_rss.saturating_sub(idle_rss) as f64 / clients as f64,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match args.get(1).map(String::as_str) {
        Some("serve-switchboard") => return runtime.block_on(serve_switchboard()),
        Some("serve-bare") => return runtime.block_on(serve_bare()),
        _ => {}
    }
    let mut clients = vec![1000usize, 10_000];
    let mut events = 50u64;
    let mut rate = 20u64;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--clients" => clients = args[i + 1].split(',').filter_map(|c| c.parse().ok()).collect(),
            "--events" => events = args[i + 1].parse().unwrap_or(events),
            "--rate" => rate = args[i + 1].parse().unwrap_or(rate),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    println!("fan-out: {events} events at {rate}/s, {PAD}-byte payload; latency = publish → client receipt");
    println!(
        "{:>8} {:>12} {:>10} {:>10} {:>12} {:>14}",
        "clients", "server", "p50 ms", "p99 ms", "received", "RSS/conn KiB"
    );
    runtime.block_on(async {
        for n in clients {
            let bare = measure("serve-bare", n, events, rate).await;
            let ours = measure("serve-switchboard", n, events, rate).await;
            for (name, f) in [("bare axum", &bare), ("switchboard", &ours)] {
                println!(
                    "{:>8} {:>12} {:>10.2} {:>10.2} {:>5}/{:<6} {:>14.1}",
                    n, name, f.p50_ms, f.p99_ms, f.received, f.expected, f.rss_per_conn_kib
                );
            }
            println!(
                "{:>8} {:>12} p99 ratio {:.2}, memory ratio {:.2}",
                n,
                "",
                ours.p99_ms / bare.p99_ms.max(0.001),
                ours.rss_per_conn_kib / bare.rss_per_conn_kib.max(0.001)
            );
        }
    });
}

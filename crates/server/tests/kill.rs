//! Crash safety of ingest: the real `switchboard` binary takes signed hook
//! messages from many concurrent senders and is killed with SIGKILL while
//! requests are in flight. After a restart on the same database every
//! message that was acknowledged (2xx) is stored exactly once, no message is
//! stored twice, and a re-delivery of an acknowledged request is answered as
//! a duplicate.
//!
//! Runs on SQLite by default and on PostgreSQL with
//! `SWITCHBOARD_TEST_DB=postgres`.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_store::{Store, StoreOptions};
use switchboard_testkit::{Backend, TestDb};

const SENDERS: usize = 16;
/// Acknowledgements to collect before the kill.
const ACKS_BEFORE_KILL: usize = 300;
/// Bounds of the load loop: it never runs longer or sends more than this.
const MAX_PER_SENDER: usize = 5_000;
const LOAD_DEADLINE: Duration = Duration::from_secs(120);
const ADMIN_EMAIL: &str = "kill@acme.test";
const ADMIN_PASSWORD: &str = "kill test password 1";

/// Where the server keeps its state: the data folder (SQLite file and
/// attachments) and, on PostgreSQL, a schema of its own.
struct Target {
    db: TestDb,
    data_dir: PathBuf,
    logs: tempfile::TempDir,
    _data: Option<tempfile::TempDir>,
}

impl Target {
    async fn new() -> Target {
        let db = TestDb::for_backend(Backend::selected()).await;
        let (data_dir, data) = match db.sqlite_dir() {
            Some(dir) => (dir.to_path_buf(), None),
            None => {
                let dir = tempfile::tempdir().expect("data dir");
                (dir.path().to_path_buf(), Some(dir))
            }
        };
        Target {
            db,
            data_dir,
            logs: tempfile::tempdir().expect("log dir"),
            _data: data,
        }
    }

    /// `switchboard <args…> --data-dir … [--database-url …]`.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        cmd.args(args).arg("--data-dir").arg(&self.data_dir);
        if self.db.backend() == Backend::Postgres {
            cmd.arg("--database-url").arg(self.db.url());
        }
        for var in [
            "SWITCHBOARD_CONFIG",
            "SWITCHBOARD_DATABASE_URL",
            "SWITCHBOARD_PUBLIC_URL",
            "SWITCHBOARD_LISTEN",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("SWITCHBOARD_ALLOW_PRIVATE_TARGETS", "true")
            .env("SWITCHBOARD_LOG", "warn");
        cmd
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.logs.path().join(name)
    }
}

/// A running server process; killed (SIGKILL) when dropped, so a failing
/// test leaves nothing behind.
struct Server {
    child: Child,
    addr: SocketAddr,
    stderr: PathBuf,
}

impl Server {
    async fn start(target: &Target, name: &str) -> Server {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let stdout = target.log_path(&format!("{name}.out"));
        let stderr = target.log_path(&format!("{name}.err"));
        let child = target
            .command(&["serve", "--listen", &addr.to_string()])
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).expect("stdout file"))
            .stderr(File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("start switchboard serve");
        let mut server = Server { child, addr, stderr };
        server.wait_ready().await;
        server
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Poll `/readyz` until it answers 200; fail if the process exits.
    async fn wait_ready(&mut self) {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!("switchboard exited before it was ready ({status}):\n{}", self.log());
            }
            if let Ok(r) = http.get(self.url("/readyz")).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "switchboard not ready within 60 s:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL, then reap the process.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// `switchboard admin create`: the workspace's id.
fn create_admin(target: &Target) -> String {
    let out = target
        .command(&[
            "admin",
            "create",
            "--workspace",
            "Kill Test",
            "--email",
            ADMIN_EMAIL,
            "--name",
            "Kim Kill",
        ])
        .env("SWITCHBOARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdin(Stdio::null())
        .output()
        .expect("run switchboard admin create");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "admin create failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "created workspace <id> with admin <id> (<email>); …"
    stdout
        .split_whitespace()
        .skip_while(|w| *w != "workspace")
        .nth(1)
        .unwrap_or_else(|| panic!("no workspace id in {stdout:?}"))
        .to_owned()
}

/// Sign in and create an API channel: its id and secret.
async fn create_channel(server: &Server, ws: &str) -> (String, String) {
    let http = reqwest::Client::builder().cookie_store(true).build().expect("client");
    let login = http
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login request");
    assert_eq!(login.status(), 200, "login failed");
    let login: Value = login.json().await.expect("login body");
    let csrf = login["csrf_token"].as_str().expect("csrf_token").to_owned();
    let created = http
        .post(server.url(&format!("/api/v1/workspaces/{ws}/channels")))
        .header("x-csrf-token", csrf)
        .json(&json!({"kind": "api", "name": "Kill test"}))
        .send()
        .await
        .expect("create channel request");
    assert_eq!(created.status(), 201, "channel not created");
    let created: Value = created.json().await.expect("channel body");
    (
        created["id"].as_str().expect("channel id").to_owned(),
        created["secret"].as_str().expect("secret").to_owned(),
    )
}

/// The hook request of message `id`: the same bytes on every delivery.
fn hook_body(id: &str, n: usize) -> Vec<u8> {
    // A few hundred customers, so both new and returning ones are ingested.
    let customer = format!("cust-{}", n % 250);
    serde_json::to_vec(&json!({"message_id": id, "contact": {"id": customer, "name": "Kai Customer"}, "text": format!("message {id}")}))
        .expect("json")
}

#[derive(Debug)]
enum Sent {
    /// 2xx: the server's message id and whether it said duplicate.
    Ack { message_id: String, duplicate: bool },
    /// Any other answer.
    Status(u16, String),
    /// No answer (connection refused, reset, cut short).
    Failed(String),
}

async fn post_hook(http: &reqwest::Client, url: &str, secret: &str, body: Vec<u8>) -> Sent {
    let signature = switchboard_channels::api::sign(secret, &body);
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .header(switchboard_channels::api::SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => return Sent::Failed(e.to_string()),
    };
    let status = response.status();
    let bytes = match response.bytes().await {
        Ok(b) => b,
        Err(e) => return Sent::Failed(e.to_string()),
    };
    if !status.is_success() {
        return Sent::Status(status.as_u16(), String::from_utf8_lossy(&bytes).into_owned());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) if v["message_id"].is_string() => Sent::Ack {
            message_id: v["message_id"].as_str().unwrap_or_default().to_owned(),
            duplicate: v["duplicate"].as_bool().unwrap_or(false),
        },
        _ => Sent::Status(status.as_u16(), String::from_utf8_lossy(&bytes).into_owned()),
    }
}

/// What the senders saw.
#[derive(Default)]
struct Ledger {
    /// Provider id → the server's message id, for every 2xx.
    acked: HashMap<String, String>,
    /// Every provider id a request was started for.
    attempted: HashSet<String>,
    /// Requests started before the kill that got no answer: in flight at the kill.
    in_flight_at_kill: usize,
    /// Anything that should not happen (non-2xx, failures before the kill, duplicates).
    unexpected: Vec<String>,
}

async fn sender(
    task: usize,
    http: reqwest::Client,
    url: String,
    secret: String,
    killed: Arc<AtomicBool>,
    acks: Arc<AtomicUsize>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let started = Instant::now();
    for seq in 0..MAX_PER_SENDER {
        if started.elapsed() > LOAD_DEADLINE {
            ledger
                .lock()
                .unwrap()
                .unexpected
                .push(format!("sender {task}: load deadline passed without a kill"));
            return;
        }
        let id = format!("kill-{task:02}-{seq:05}");
        ledger.lock().unwrap().attempted.insert(id.clone());
        let before_kill = !killed.load(Ordering::SeqCst);
        let sent = post_hook(&http, &url, &secret, hook_body(&id, task * MAX_PER_SENDER + seq)).await;
        let mut ledger = ledger.lock().unwrap();
        match sent {
            Sent::Ack { message_id, duplicate } => {
                if duplicate {
                    ledger
                        .unexpected
                        .push(format!("{id}: first delivery answered duplicate"));
                }
                ledger.acked.insert(id, message_id);
                acks.fetch_add(1, Ordering::SeqCst);
            }
            Sent::Failed(e) => {
                if !killed.load(Ordering::SeqCst) {
                    ledger.unexpected.push(format!("{id}: failed before the kill: {e}"));
                } else if before_kill {
                    ledger.in_flight_at_kill += 1;
                }
                // The server is gone (or broken): this sender is done.
                return;
            }
            Sent::Status(status, body) => {
                ledger.unexpected.push(format!("{id}: answered {status}: {body}"));
                return;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_sigkill() {
    let target = Target::new().await;
    let ws = create_admin(&target);
    let mut server = Server::start(&target, "first").await;
    let (channel_id, secret) = create_channel(&server, &ws).await;
    let hook_url = server.url(&format!("/hooks/api/{channel_id}"));

    // Load from concurrent senders, then SIGKILL while they are in flight.
    let killed = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(AtomicUsize::new(0));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let senders: Vec<_> = (0..SENDERS)
        .map(|task| {
            tokio::spawn(sender(
                task,
                http.clone(),
                hook_url.clone(),
                secret.clone(),
                killed.clone(),
                acks.clone(),
                ledger.clone(),
            ))
        })
        .collect();
    let deadline = Instant::now() + LOAD_DEADLINE;
    while acks.load(Ordering::SeqCst) < ACKS_BEFORE_KILL {
        let problems = ledger.lock().unwrap().unexpected.clone();
        assert!(problems.is_empty(), "before the kill: {problems:#?}\n{}", server.log());
        assert!(
            Instant::now() < deadline,
            "only {} acknowledgements in {LOAD_DEADLINE:?}",
            acks.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    killed.store(true, Ordering::SeqCst);
    server.kill();
    for s in senders {
        tokio::time::timeout(Duration::from_secs(60), s)
            .await
            .expect("a sender did not stop after the kill")
            .expect("sender panicked");
    }
    let first_log = server.log();
    drop(server);
    let ledger = std::mem::take(&mut *ledger.lock().unwrap());
    assert!(ledger.unexpected.is_empty(), "{:#?}\n{first_log}", ledger.unexpected);
    assert!(ledger.acked.len() >= ACKS_BEFORE_KILL);
    assert!(
        ledger.in_flight_at_kill > 0,
        "no request was in flight at the kill ({} acknowledged), so the test proved nothing",
        ledger.acked.len()
    );
    eprintln!(
        "killed after {} acknowledgements, {} requests attempted, {} in flight at the kill",
        ledger.acked.len(),
        ledger.attempted.len(),
        ledger.in_flight_at_kill
    );

    // Restart on the same database.
    let server = Server::start(&target, "second").await;
    let store = Store::connect(&StoreOptions::new(target.db.url()))
        .await
        .expect("open the database");
    let channel: switchboard_core::ChannelId = channel_id.parse().expect("channel id");
    let stored = store
        .reader()
        .inbound_provider_ids(channel)
        .await
        .expect("read stored ids");
    let stored_set: HashSet<&str> = stored.iter().map(String::as_str).collect();
    assert_eq!(
        stored_set.len(),
        stored.len(),
        "a provider message id is stored more than once"
    );
    let lost: Vec<&String> = ledger
        .acked
        .keys()
        .filter(|id| !stored_set.contains(id.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged messages are missing after the restart: {lost:?}",
        lost.len()
    );
    let strangers: Vec<&&str> = stored_set
        .iter()
        .filter(|id| !ledger.attempted.contains(**id))
        .collect();
    assert!(strangers.is_empty(), "stored ids nobody sent: {strangers:?}");
    eprintln!(
        "after the restart: {} stored ({} acknowledged, {} committed but not acknowledged)",
        stored.len(),
        ledger.acked.len(),
        stored.len() - ledger.acked.len()
    );

    // Re-deliveries of acknowledged requests (the first and the last ones)
    // are duplicates of the very same stored message.
    let mut acked: Vec<(&String, &String)> = ledger.acked.iter().collect();
    acked.sort();
    let redeliver: Vec<_> = acked.iter().take(5).chain(acked.iter().rev().take(5)).collect();
    let hook_url = server.url(&format!("/hooks/api/{channel_id}"));
    for (id, message_id) in redeliver {
        let (task, seq) = parse_id(id);
        match post_hook(&http, &hook_url, &secret, hook_body(id, task * MAX_PER_SENDER + seq)).await {
            Sent::Ack {
                message_id: again,
                duplicate,
            } => {
                assert!(
                    duplicate,
                    "{id}: re-delivery after the restart not answered as duplicate"
                );
                assert_eq!(&&again, message_id, "{id}: re-delivery names another message");
            }
            other => panic!("{id}: re-delivery answered {other:?}\n{}", server.log()),
        }
    }

    // Ingest goes on after the restart.
    match post_hook(&http, &hook_url, &secret, hook_body("after-restart", 1)).await {
        Sent::Ack { duplicate, .. } => assert!(!duplicate),
        other => panic!("new message after the restart answered {other:?}\n{}", server.log()),
    }
    let after = store
        .reader()
        .inbound_provider_ids(channel)
        .await
        .expect("read stored ids");
    assert_eq!(
        after.len(),
        stored.len() + 1,
        "re-deliveries stored nothing, the new message one row"
    );
    store.close().await;
    drop(server);
    drop(target);
}

/// `kill-TT-SSSSS` → (task, seq).
fn parse_id(id: &str) -> (usize, usize) {
    let mut parts = id.trim_start_matches("kill-").split('-');
    let task = parts.next().and_then(|p| p.parse().ok()).expect("task");
    let seq = parts.next().and_then(|p| p.parse().ok()).expect("seq");
    (task, seq)
}

/// `switchboard export`: the archive from the shell, one CSV row per
/// conversation, formulas neutralised, filters applied, and the member it
/// runs as must belong to the workspace.
#[tokio::test]
async fn the_shell_exports_the_archive() {
    let target = Target::new().await;
    let ws = create_admin(&target);
    let server = Server::start(&target, "export").await;
    let (channel_id, secret) = create_channel(&server, &ws).await;
    let hook_url = server.url(&format!("/hooks/api/{channel_id}"));
    let http = reqwest::Client::new();
    for (i, (name, text)) in [
        ("=HYPERLINK(\"http://evil\")", "hello"),
        ("Plain Customer", "refund please"),
        ("+Another", "refund again"),
    ]
    .iter()
    .enumerate()
    {
        let body = serde_json::to_vec(
            &json!({"message_id": format!("x-{i}"), "contact": {"id": format!("c{i}"), "name": name}, "text": text}),
        )
        .unwrap();
        assert!(matches!(
            post_hook(&http, &hook_url, &secret, body).await,
            Sent::Ack { .. }
        ));
    }
    drop(server);
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("all.csv");
    let run = |args: &[&str]| {
        let mut all = vec!["export", "--workspace", &ws, "--as", ADMIN_EMAIL];
        all.extend_from_slice(args);
        target
            .command(&all)
            .stdin(Stdio::null())
            .output()
            .expect("run switchboard export")
    };
    let out = run(&["--output", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[0].starts_with("id,customer,identifier,agent,team,channel_kind"),
        "{csv}"
    );
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""), "{csv}");
    assert!(csv.contains(",'+Another,"), "{csv}");
    // A filter, to standard output, as JSON Lines.
    let out = run(&["--format", "jsonl", "--query", "q=refund"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r["messages_from_customer"] == 1 && r["sent_by"] == "customer")
    );
    // Someone outside the workspace gets nothing.
    let out = target
        .command(&["export", "--workspace", &ws, "--as", "nobody@acme.test"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let out = run(&["--query", "period=yesterday-ish"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--query"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

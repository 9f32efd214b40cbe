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
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_store::{Store, StoreOptions};

use crate::node::{ADMIN_EMAIL, Sent, Server, Target, create_admin, create_channel, post_hook};

const SENDERS: usize = 16;
/// Acknowledgements to collect before the kill.
const ACKS_BEFORE_KILL: usize = 300;
/// Bounds of the load loop: it never runs longer or sends more than this.
const MAX_PER_SENDER: usize = 5_000;
const LOAD_DEADLINE: Duration = Duration::from_secs(120);

/// The hook request of message `id`: the same bytes on every delivery.
fn hook_body(id: &str, n: usize) -> Vec<u8> {
    // A few hundred customers, so both new and returning ones are ingested.
    let customer = format!("cust-{}", n % 250);
    serde_json::to_vec(&json!({"message_id": id, "contact": {"id": customer, "name": "Kai Customer"}, "text": format!("message {id}")}))
        .expect("json")
}

/// Where the load stands, shared by the senders and the killer.
#[derive(Default)]
struct Progress {
    killed: AtomicBool,
    acks: AtomicUsize,
    /// Requests sent and not yet answered, so the kill lands on some.
    pending: AtomicUsize,
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
    progress: Arc<Progress>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let Progress { killed, acks, pending } = &*progress;
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
        // Read before counting it pending: a request the kill waited for
        // was started before it.
        let before_kill = !killed.load(Ordering::SeqCst);
        pending.fetch_add(1, Ordering::SeqCst);
        let sent = post_hook(&http, &url, &secret, hook_body(&id, task * MAX_PER_SENDER + seq)).await;
        pending.fetch_sub(1, Ordering::SeqCst);
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

/// Kills to try at most: a kill whose every in-flight request had already
/// been answered (the answers waiting in socket buffers on a loaded machine)
/// proves nothing, so the load is started again on the same database.
const KILL_ROUNDS: usize = 4;

impl Ledger {
    fn absorb(&mut self, round: Ledger) {
        self.acked.extend(round.acked);
        self.attempted.extend(round.attempted);
        self.in_flight_at_kill += round.in_flight_at_kill;
        self.unexpected.extend(round.unexpected);
    }
}

/// Loads `server` from concurrent senders and SIGKILLs it while requests
/// are in flight; returns what the senders saw.
async fn load_and_kill(
    round: usize,
    server: &mut Server,
    http: &reqwest::Client,
    hook_url: &str,
    secret: &str,
) -> Ledger {
    let progress = Arc::new(Progress::default());
    let Progress { killed, acks, pending } = &*progress;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let senders: Vec<_> = (0..SENDERS)
        .map(|task| {
            tokio::spawn(sender(
                round * SENDERS + task,
                http.clone(),
                hook_url.to_owned(),
                secret.to_owned(),
                progress.clone(),
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
    // On a loaded machine every sender may be between requests for a
    // moment: kill when at least one is waiting for its answer.
    while pending.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
    killed.store(true, Ordering::SeqCst);
    server.kill();
    for s in senders {
        tokio::time::timeout(Duration::from_secs(60), s)
            .await
            .expect("a sender did not stop after the kill")
            .expect("sender panicked");
    }
    std::mem::take(&mut *ledger.lock().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_sigkill() {
    let target = Target::new().await;
    let ws = create_admin(&target);
    let mut server = Server::start(&target, "round-0").await;
    let (channel_id, secret) = create_channel(&server, &ws).await;
    let hook_url = format!("/hooks/api/{channel_id}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");

    let mut ledger = Ledger::default();
    for round in 0..KILL_ROUNDS {
        if round > 0 {
            server = Server::start(&target, &format!("round-{round}")).await;
        }
        let url = server.url(&hook_url);
        let seen = load_and_kill(round, &mut server, &http, &url, &secret).await;
        assert!(seen.unexpected.is_empty(), "{:#?}\n{}", seen.unexpected, server.log());
        assert!(seen.acked.len() >= ACKS_BEFORE_KILL);
        eprintln!(
            "kill {round}: after {} acknowledgements, {} requests attempted, {} in flight",
            seen.acked.len(),
            seen.attempted.len(),
            seen.in_flight_at_kill
        );
        ledger.absorb(seen);
        if ledger.in_flight_at_kill > 0 {
            break;
        }
    }
    drop(server);
    assert!(
        ledger.in_flight_at_kill > 0,
        "no request was in flight at any of {KILL_ROUNDS} kills ({} acknowledged), so the test proved nothing",
        ledger.acked.len()
    );

    // Restart on the same database.
    let server = Server::start(&target, "after-kills").await;
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
    let hook_url = server.url(&hook_url);
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

/// `kill-TT-SSSSS` → (task, seq); a round's tasks are numbered on from the last round's.
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

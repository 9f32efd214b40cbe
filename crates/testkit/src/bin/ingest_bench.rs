//! Durable inbound ingest against its baselines, measured in one run
//! (DESIGN.md §13): a Switchboard server in this process on a SQLite file
//! (WAL, `synchronous=FULL`, the default store options) receives signed
//! API-channel hook messages over loopback HTTP from concurrent senders;
//! then the same machine, in the same run, inserts the same rows ingest
//! wrote for the timed messages (its contacts, identities, conversations
//! and messages, read back from its database) into a copy of that database
//! as it was before the timed run, with the same pragmas: one row per
//! commit, and in batches, one `INSERT` per row. That batched rate is the
//! target's baseline. Informative lines: the same rows in 100-row `INSERT`s
//! (multi-row statements, as ingest writes), and message rows only into a
//! messages-like table (one `INSERT` per row, and 100-row `INSERT`s).
//!
//! ```text
//! cargo run --release -p switchboard-testkit --bin ingest_bench -- --messages 20000
//! ```
//!
//! Options: `--messages N` (20000), `--senders N` (64), `--batch N` (rows
//! per commit of the batched baselines, 500), `--single-max N` (most rows of
//! the one-row-per-commit baseline, 5000; it also stops after 10 s),
//! `--customers mixed|distinct` (mixed: every other message from a new
//! customer, the rest from 200 returning customers; distinct: a new
//! customer per message), `--client raw|reqwest` (raw: a keep-alive HTTP/1.1
//! connection per sender writing prepared bytes, like wrk, so the load
//! generator takes little of the two cores it shares with the server;
//! reqwest: a full HTTP client), `--runs N` (1: timed ingest runs, each on a
//! fresh database; the median one is compared with the baselines),
//! `--event-log-cost` (also time runs with the event log off, alternating
//! with the normal ones, and print what the log costs). It prints a table
//! and asserts nothing about speed.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use switchboard_store::{Store, StoreOptions};
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::{Backend, TestApp, TestDb, TestOptions};

/// The server binary's allocator, so figures match what it runs (the raw
/// baselines run in this process with it too).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RETURNING_CUSTOMERS: usize = 200;
const SINGLE_TIME_CAP: Duration = Duration::from_secs(10);
/// Rows per statement of the informational multi-row baseline.
const MULTI_ROW: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Customers {
    Mixed,
    Distinct,
}

#[derive(Debug, Clone)]
struct Args {
    messages: usize,
    senders: usize,
    batch: usize,
    single_max: usize,
    customers: Customers,
    /// Send with reqwest instead of the raw keep-alive client.
    reqwest: bool,
    /// Timed ingest runs; the median one is reported against the baselines.
    runs: usize,
    /// Also time as many runs without the event log.
    event_log_cost: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        messages: 20_000,
        senders: 64,
        batch: 500,
        single_max: 5_000,
        customers: Customers::Mixed,
        reqwest: false,
        runs: 1,
        event_log_cost: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--messages" => args.messages = value()?.parse().context("--messages")?,
            "--senders" => args.senders = value()?.parse().context("--senders")?,
            "--batch" => args.batch = value()?.parse().context("--batch")?,
            "--single-max" => args.single_max = value()?.parse().context("--single-max")?,
            "--customers" => {
                args.customers = match value()?.as_str() {
                    "mixed" => Customers::Mixed,
                    "distinct" => Customers::Distinct,
                    other => bail!("--customers mixed|distinct, not {other:?}"),
                }
            }
            "--runs" => args.runs = value()?.parse().context("--runs")?,
            "--event-log-cost" => args.event_log_cost = true,
            "--client" => {
                args.reqwest = match value()?.as_str() {
                    "raw" => false,
                    "reqwest" => true,
                    other => bail!("--client raw|reqwest, not {other:?}"),
                }
            }
            "-h" | "--help" => {
                println!(
                    "ingest_bench [--messages N] [--senders N] [--batch N] [--single-max N] [--customers mixed|distinct] [--client raw|reqwest] [--runs N] [--event-log-cost]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    if args.messages == 0 || args.senders == 0 || args.batch == 0 || args.single_max == 0 || args.runs == 0 {
        bail!("counts must be at least 1");
    }
    Ok(args)
}

/// The customer who sends message `i`.
fn customer_of(customers: Customers, prefix: &str, i: usize) -> String {
    match customers {
        Customers::Distinct => format!("{prefix}new-{i}"),
        Customers::Mixed if i.is_multiple_of(2) => format!("{prefix}new-{i}"),
        Customers::Mixed => format!("{prefix}ret-{}", (i / 2) % RETURNING_CUSTOMERS),
    }
}

fn text_of(i: usize) -> String {
    format!("Hello, this is message {i}: my order has not arrived yet, can you check?")
}

// ---------------------------------------------------------------- baselines

/// The `messages` table of the schema, without the foreign key (there are
/// no conversations here), with the same indexes.
const RAW_DDL: &str = "
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    sender_kind TEXT NOT NULL,
    sender_id TEXT,
    kind TEXT NOT NULL,
    body TEXT,
    activity TEXT,
    in_reply_to TEXT,
    provider_message_id TEXT,
    delivery_status TEXT,
    delivery_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE UNIQUE INDEX messages_provider_id ON messages (channel_id, direction, provider_message_id);
";

const RAW_INSERT: &str = "INSERT INTO messages (id, workspace_id, conversation_id, channel_id, direction, sender_kind, \
                          sender_id, kind, body, activity, in_reply_to, provider_message_id, delivery_status, \
                          delivery_error, created_at) VALUES (?, ?, ?, ?, 'in', 'contact', ?, 'text', ?, NULL, NULL, ?, \
                          NULL, NULL, ?)";
/// Another row of a multi-row `VALUES`.
const RAW_ROW: &str = "(?, ?, ?, ?, 'in', 'contact', ?, 'text', ?, NULL, NULL, ?, NULL, NULL, ?)";

/// The store's durability settings, for a baseline's own file.
async fn raw_pool(file: &std::path::Path) -> anyhow::Result<sqlx::SqlitePool> {
    let options = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?)
}

struct RawResult {
    rows: usize,
    elapsed: Duration,
}

impl RawResult {
    fn rate(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64()
    }
}

/// Insert up to `rows` rows, `per_commit` per transaction, into a fresh
/// SQLite file with the store's pragmas; stop early after `cap`.
async fn raw_inserts(
    rows: usize,
    per_commit: usize,
    per_statement: usize,
    cap: Duration,
    customers: Customers,
) -> anyhow::Result<RawResult> {
    let dir = tempfile::tempdir()?;
    let pool = raw_pool(&dir.path().join("raw.db")).await?;
    sqlx::raw_sql(RAW_DDL).execute(&pool).await?;
    let ws = uuid::Uuid::now_v7().to_string();
    let channel = uuid::Uuid::now_v7().to_string();
    // One conversation per customer, as ingest keeps them.
    let conversations: Vec<String> = (0..RETURNING_CUSTOMERS)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let now = switchboard_store::now_ms();
    let start = Instant::now();
    let mut done = 0;
    while done < rows && start.elapsed() < cap {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let end = (done + per_commit).min(rows);
        let mut i = done;
        while i < end {
            let n = per_statement.min(end - i);
            let sql = format!("{RAW_INSERT}{}", format!(", {RAW_ROW}").repeat(n - 1));
            let mut q = sqlx::query(&sql);
            for i in i..i + n {
                q = q
                    .bind(uuid::Uuid::now_v7().to_string())
                    .bind(&ws)
                    .bind(&conversations[i % conversations.len()])
                    .bind(&channel)
                    .bind(customer_of(customers, "", i))
                    .bind(text_of(i))
                    .bind(format!("raw-{i}"))
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
            i += n;
        }
        tx.commit().await?;
        done = (done + per_commit).min(rows);
    }
    let elapsed = start.elapsed();
    pool.close().await;
    Ok(RawResult { rows: done, elapsed })
}

// ------------------------------------------------- the same rows, raw

/// The tables ingest writes a message's rows to, in an order that keeps
/// their foreign keys satisfied.
const INGEST_TABLES: [&str; 4] = ["contacts", "contact_identities", "conversations", "messages"];

/// One stored value, as SQLite holds it.
enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// The rows one table gained, with the `INSERT` that puts rows back.
struct TableRows {
    table: &'static str,
    columns: Vec<String>,
    rows: Vec<StoredRow>,
}

impl TableRows {
    /// An `INSERT` of `n` rows.
    fn insert(&self, n: usize) -> String {
        let row = format!("({})", vec!["?"; self.columns.len()].join(", "));
        format!(
            "INSERT INTO {} ({}) VALUES {}",
            self.table,
            self.columns.join(", "),
            vec![row; n].join(", ")
        )
    }
}

struct StoredRow {
    created_at: i64,
    values: Vec<Value>,
}

/// Every row of the ingest tables created at or after `since`, in the order
/// they were stored, read from the database at `url`.
async fn rows_since(url: &str, since: i64) -> anyhow::Result<Vec<TableRows>> {
    use sqlx::{Column, Connection, Row, TypeInfo, ValueRef};
    let mut conn = sqlx::SqliteConnection::connect(url).await?;
    let mut tables = Vec::new();
    for table in INGEST_TABLES {
        let found = sqlx::query(&format!("SELECT * FROM {table} WHERE created_at >= ? ORDER BY rowid"))
            .bind(since)
            .fetch_all(&mut conn)
            .await?;
        let Some(first) = found.first() else { continue };
        let columns: Vec<String> = first.columns().iter().map(|c| c.name().to_owned()).collect();
        let mut rows = Vec::with_capacity(found.len());
        for row in &found {
            let created_at: i64 = row.try_get("created_at")?;
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                let raw = row.try_get_raw(i)?;
                let value = if raw.is_null() {
                    Value::Null
                } else {
                    match raw.type_info().name() {
                        "INTEGER" => Value::Int(row.try_get_unchecked(i)?),
                        "REAL" => Value::Real(row.try_get_unchecked(i)?),
                        "BLOB" => Value::Blob(row.try_get_unchecked(i)?),
                        _ => Value::Text(row.try_get_unchecked(i)?),
                    }
                };
                values.push(value);
            }
            rows.push(StoredRow { created_at, values });
        }
        tables.push(TableRows { table, columns, rows });
    }
    conn.close().await?;
    Ok(tables)
}

/// Insert `tables`' rows (the first `max_rows`), `per_commit` per
/// transaction, into a fresh copy of the database file `base` opened with
/// the store's durability settings; stop early after `cap`. Consecutive
/// rows of one table share an `INSERT`, up to `per_statement` of them.
async fn raw_same_rows(
    base: &std::path::Path,
    tables: &[TableRows],
    max_rows: usize,
    per_commit: usize,
    per_statement: usize,
    cap: Duration,
) -> anyhow::Result<RawResult> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("same-rows.db");
    std::fs::copy(base, &file).context("copy the snapshot")?;
    let pool = raw_pool(&file).await?;
    // In the order ingest stored them: by time, and within one commit
    // (one time) table by table, as foreign keys need.
    let mut rows: Vec<(i64, usize, &[Value])> = tables
        .iter()
        .enumerate()
        .flat_map(|(table, t)| t.rows.iter().map(move |r| (r.created_at, table, r.values.as_slice())))
        .collect();
    rows.sort_by_key(|&(at, table, _)| (at, table));
    rows.truncate(max_rows);
    // Statements prepared once per shape, as a tuned loader would.
    let mut inserts: HashMap<(usize, usize), String> = HashMap::new();
    let start = Instant::now();
    let mut done = 0;
    while done < rows.len() && start.elapsed() < cap {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let end = (done + per_commit).min(rows.len());
        let mut i = done;
        while i < end {
            let table = rows[i].1;
            let n = rows[i..end]
                .iter()
                .take(per_statement)
                .take_while(|r| r.1 == table)
                .count();
            let sql = inserts.entry((table, n)).or_insert_with(|| tables[table].insert(n));
            let mut q = sqlx::query(sql);
            for (_, _, values) in &rows[i..i + n] {
                for value in *values {
                    q = match value {
                        Value::Null => q.bind(None::<i64>),
                        Value::Int(v) => q.bind(*v),
                        Value::Real(v) => q.bind(*v),
                        Value::Text(v) => q.bind(v.as_str()),
                        Value::Blob(v) => q.bind(v.as_slice()),
                    };
                }
            }
            q.execute(&mut *tx).await?;
            i += n;
        }
        tx.commit().await?;
        done = end;
    }
    let elapsed = start.elapsed();
    pool.close().await;
    Ok(RawResult { rows: done, elapsed })
}

// ------------------------------------------------------------------- ingest

struct IngestResult {
    messages: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    stored: usize,
    /// Size of the WAL file when the timed run ended: whether checkpoints
    /// kept up (a WAL that only grows means they did not).
    wal_bytes: u64,
    /// The database as it was before the timed run (`snapshot.db`).
    snapshot: tempfile::TempDir,
    /// The rows the timed run wrote.
    written: Vec<TableRows>,
}

impl IngestResult {
    fn rate(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }
}

/// A signed hook request, built before the clock starts.
struct Request {
    body: Bytes,
    signature: String,
}

fn requests(org: &Org, prefix: &str, customers: Customers, n: usize) -> Vec<Request> {
    (0..n)
        .map(|i| {
            let body = serde_json::to_vec(&serde_json::json!({
                "message_id": format!("{prefix}msg-{i}"),
                "contact": {"id": customer_of(customers, prefix, i), "name": "Bea Bench"},
                "text": text_of(i),
            }))
            .expect("json");
            let signature = switchboard_channels::api::sign(&org.secret, &body);
            Request {
                body: Bytes::from(body),
                signature,
            }
        })
        .collect()
}

/// Send every request from `senders` concurrent tasks; each answer must be
/// a 200 for a new message. Returns the elapsed time and every latency.
async fn send_all(
    client: &Client,
    requests: Vec<Request>,
    senders: usize,
) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..senders)
        .map(|_| {
            let (client, requests, next) = (client.clone(), requests.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut connection = None;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(request) = requests.get(i) else { break };
                    let sent = Instant::now();
                    let (status, answer) = client.post(&mut connection, request).await?;
                    latencies.push(sent.elapsed());
                    let text = String::from_utf8_lossy(&answer);
                    if status != 200 || !text.contains("\"duplicate\":false") {
                        bail!("message {i}: answered {status}: {text}");
                    }
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(requests.len());
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok((start.elapsed(), latencies))
}

/// How the senders speak HTTP.
#[derive(Clone)]
enum Client {
    /// A keep-alive HTTP/1.1 connection per sender writing prepared bytes,
    /// as wrk does: the load generator shares the machine's two cores with
    /// the server, so it should cost as little as possible.
    Raw {
        addr: std::net::SocketAddr,
        head: Arc<String>,
    },
    /// reqwest, a full HTTP client (`--client reqwest`).
    Reqwest { http: reqwest::Client, url: String },
}

impl Client {
    /// POST one request; returns the status and the body.
    async fn post(&self, connection: &mut Option<RawConnection>, request: &Request) -> anyhow::Result<(u16, Bytes)> {
        match self {
            Client::Reqwest { http, url } => {
                let response = http
                    .post(url)
                    .header("content-type", "application/json")
                    .header(switchboard_channels::api::SIGNATURE_HEADER, &request.signature)
                    .body(request.body.clone())
                    .send()
                    .await
                    .context("hook request")?;
                let status = response.status().as_u16();
                Ok((status, response.bytes().await.context("hook answer")?))
            }
            Client::Raw { addr, head } => {
                let conn = match connection {
                    Some(c) => c,
                    None => connection.insert(RawConnection::open(*addr).await?),
                };
                conn.post(head, request).await
            }
        }
    }
}

/// One keep-alive connection of the raw client.
struct RawConnection {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
    out: Vec<u8>,
}

impl RawConnection {
    async fn open(addr: std::net::SocketAddr) -> anyhow::Result<RawConnection> {
        let stream = tokio::net::TcpStream::connect(addr).await.context("connect")?;
        stream.set_nodelay(true)?;
        Ok(RawConnection {
            stream: tokio::io::BufReader::new(stream),
            out: Vec::with_capacity(1024),
        })
    }

    async fn post(&mut self, head: &str, request: &Request) -> anyhow::Result<(u16, Bytes)> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        self.out.clear();
        self.out.extend_from_slice(head.as_bytes());
        self.out.extend_from_slice(
            format!(
                "{}: {}\r\ncontent-length: {}\r\n\r\n",
                switchboard_channels::api::SIGNATURE_HEADER,
                request.signature,
                request.body.len()
            )
            .as_bytes(),
        );
        self.out.extend_from_slice(&request.body);
        self.stream.get_mut().write_all(&self.out).await.context("send")?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await.context("status line")?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("status line {line:?}"))?;
        let mut length = None;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await.context("header")? == 0 {
                bail!("connection closed mid-answer");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = Some(value.trim().parse::<usize>().context("content-length")?);
            }
        }
        let mut body = vec![0; length.context("an answer without content-length")?];
        self.stream.read_exact(&mut body).await.context("body")?;
        Ok((status, Bytes::from(body)))
    }
}

async fn ingest(args: &Args, event_log: bool) -> anyhow::Result<IngestResult> {
    let db = TestDb::for_backend(Backend::Sqlite).await;
    let url = db.url();
    let mut options = TestOptions::default();
    options.service.event_log = event_log;
    // The production poll interval: the job worker should not compete more
    // than it would in a real deployment.
    options.service.job_poll_interval = Duration::from_secs(1);
    let app = TestApp::spawn_on(db, options).await;
    let org = Org::create(&app).await;
    let hook = app.url(&format!("/hooks/api/{}", org.channel));
    let client = if args.reqwest {
        Client::Reqwest {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(args.senders)
                .timeout(Duration::from_secs(60))
                .build()?,
            url: hook,
        }
    } else {
        Client::Raw {
            addr: app.addr,
            head: Arc::new(format!(
                "POST /hooks/api/{} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n",
                org.channel, app.addr
            )),
        }
    };

    // Warm up: connections, statement caches, the first pages of the file.
    let warmup = (args.messages / 20).clamp(100, 1_000);
    send_all(&client, requests(&org, "warm-", args.customers, warmup), args.senders).await?;

    // The baselines start from the database as the timed run found it.
    let snapshot = tempfile::tempdir()?;
    let snapshot_file = snapshot.path().join("snapshot.db");
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&url).await?;
        sqlx::query("VACUUM INTO ?")
            .bind(snapshot_file.to_str().context("a UTF-8 temp path")?)
            .execute(&mut conn)
            .await
            .context("snapshot the database")?;
        conn.close().await?;
    }
    // Rows stamped from now on are the timed run's: every warm-up batch
    // was committed (and stamped) before its messages were answered.
    let timed_from = switchboard_store::now_ms();
    tokio::time::sleep(Duration::from_millis(2)).await;

    let timed = requests(&org, "", args.customers, args.messages);
    let (elapsed, mut latencies) = send_all(&client, timed, args.senders).await?;
    latencies.sort_unstable();
    let wal_path = format!("{}-wal", url.trim_start_matches("sqlite://"));
    let wal_bytes = std::fs::metadata(&wal_path).map_or(0, |m| m.len());

    // Every acknowledged message is in the database.
    let store = Store::connect(&StoreOptions::new(url.clone())).await?;
    let channel = org.channel.parse().context("channel id")?;
    let stored = store.reader().inbound_provider_ids(channel).await?.len();
    store.close().await;
    if stored != warmup + args.messages {
        bail!("{stored} messages stored, {} acknowledged", warmup + args.messages);
    }
    let db = app.stop().await;
    let written = rows_since(&url, timed_from).await?;
    drop(db);
    // The baselines insert exactly the timed run's rows: each timed
    // message is there once, and no warm-up message is.
    let customer_messages = written
        .iter()
        .filter(|t| t.table == "messages")
        .flat_map(|t| {
            let direction = t.columns.iter().position(|c| c == "direction");
            t.rows
                .iter()
                .filter(move |r| direction.is_some_and(|i| matches!(&r.values[i], Value::Text(d) if d == "in")))
        })
        .count();
    if customer_messages != args.messages {
        bail!(
            "the rows read back hold {customer_messages} customer messages, the timed run sent {}",
            args.messages
        );
    }
    Ok(IngestResult {
        messages: args.messages,
        elapsed,
        latencies,
        stored,
        wal_bytes,
        snapshot,
        written,
    })
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!(
        "ingest benchmark: SQLite, WAL, synchronous=FULL; {cores} cores; one process, loopback HTTP ({} client)",
        if args.reqwest { "reqwest" } else { "raw keep-alive" }
    );
    println!(
        "customers: {}",
        match args.customers {
            Customers::Mixed => format!(
                "mixed: every other message from a new customer (new contact + conversation), the rest from {RETURNING_CUSTOMERS} returning customers"
            ),
            Customers::Distinct => "distinct: a new customer (new contact + conversation) per message".to_owned(),
        }
    );
    println!("channel: API channel routed to a round-robin team with no agent online (new chats queue as tickets)\n");

    // This machine's speed varies from run to run: with `--runs N` the
    // median run (by msgs/s) stands for ingest, and every run is listed.
    let mut runs = Vec::with_capacity(args.runs);
    let mut without_log = Vec::new();
    for _ in 0..args.runs {
        runs.push(ingest(&args, true).await?);
        if args.event_log_cost {
            without_log.push(ingest(&args, false).await?.rate());
        }
    }
    if args.event_log_cost {
        let median = |mut rates: Vec<f64>| {
            rates.sort_by(f64::total_cmp);
            rates[rates.len() / 2]
        };
        let with = median(runs.iter().map(IngestResult::rate).collect());
        let without = median(without_log);
        println!(
            "event log: ingest {with:.0} msgs/s with it, {without:.0} without (median of {} each, alternating): \
             with / without = {:.3} (target >= 0.90)\n",
            args.runs,
            with / without
        );
    }
    runs.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
    if runs.len() > 1 {
        let each: Vec<String> = runs
            .iter()
            .map(|r| format!("{:.0} msgs/s (p99 {})", r.rate(), ms(r.percentile(99.0))))
            .collect();
        println!("{} ingest runs, slowest first: {}", runs.len(), each.join(", "));
    }
    let ingest = runs.swap_remove(runs.len() / 2);
    drop(runs);
    let snapshot = ingest.snapshot.path().join("snapshot.db");
    let same_single = raw_same_rows(&snapshot, &ingest.written, args.single_max, 1, 1, SINGLE_TIME_CAP).await?;
    let same_batched = raw_same_rows(&snapshot, &ingest.written, usize::MAX, args.batch, 1, Duration::MAX).await?;
    // Not the target's baseline: the same rows with multi-row INSERTs, as
    // ingest writes them, so with fewer driver round trips.
    let same_multi_row = raw_same_rows(
        &snapshot,
        &ingest.written,
        usize::MAX,
        args.batch,
        MULTI_ROW,
        Duration::MAX,
    )
    .await?;
    let message_rows = raw_inserts(args.messages, args.batch, 1, Duration::MAX, args.customers).await?;
    // How much of that rate is the cost of one driver round trip per statement.
    let multi_row = raw_inserts(args.messages, args.batch, MULTI_ROW, Duration::MAX, args.customers).await?;

    let same_rows: usize = ingest.written.iter().map(|t| t.rows.len()).sum();
    let per_table: Vec<String> = ingest
        .written
        .iter()
        .map(|t| format!("{} {}", t.rows.len(), t.table))
        .collect();
    println!(
        "the timed run wrote {same_rows} rows ({}): {:.2} rows per message\n",
        per_table.join(", "),
        same_rows as f64 / args.messages as f64
    );
    // A baseline's rate in messages: the messages whose rows it inserted.
    let as_messages = |raw: &RawResult, rows_per_message: f64| raw.rate() / rows_per_message;
    let same_per_message = same_rows as f64 / args.messages as f64;
    println!(
        "| {:<44} | {:>8} | {:>8} | {:>10} | {:>10} | {:>9} | {:>9} |",
        "run", "rows", "seconds", "rows/s", "msgs/s", "p50 ack", "p99 ack"
    );
    println!(
        "|{:-<46}|{:->10}|{:->10}|{:->12}|{:->12}|{:->11}|{:->11}|",
        "", "", "", "", "", "", ""
    );
    let rows = [
        (
            "raw, same rows, 1 row per commit".to_owned(),
            &same_single,
            same_per_message,
        ),
        (
            format!("raw, same rows, {} rows per commit", args.batch),
            &same_batched,
            same_per_message,
        ),
        (
            format!("raw, same rows, {MULTI_ROW}-row INSERTs"),
            &same_multi_row,
            same_per_message,
        ),
        (
            format!("raw, message rows only, {} per commit", args.batch),
            &message_rows,
            1.0,
        ),
        (
            format!("raw, message rows only, {MULTI_ROW}-row INSERTs"),
            &multi_row,
            1.0,
        ),
    ];
    for (label, raw, per_message) in &rows {
        println!(
            "| {label:<44} | {:>8} | {:>8.2} | {:>10.0} | {:>10.0} | {:>9} | {:>9} |",
            raw.rows,
            raw.elapsed.as_secs_f64(),
            raw.rate(),
            as_messages(raw, *per_message),
            "",
            ""
        );
    }
    println!(
        "| {:<44} | {:>8} | {:>8.2} | {:>10.0} | {:>10.0} | {:>9} | {:>9} |",
        format!("ingest, {} HTTP senders", args.senders),
        same_rows,
        ingest.elapsed.as_secs_f64(),
        same_rows as f64 / ingest.elapsed.as_secs_f64(),
        ingest.rate(),
        ms(ingest.percentile(50.0)),
        ms(ingest.percentile(99.0)),
    );
    println!();
    let baseline = as_messages(&same_batched, same_per_message);
    println!(
        "ingest / raw batched (same rows): {:.3}   (target >= 0.5)",
        ingest.rate() / baseline
    );
    println!(
        "ingest / raw single (same rows):  {:.2}",
        ingest.rate() / as_messages(&same_single, same_per_message)
    );
    println!(
        "ingest / raw same rows with {MULTI_ROW}-row INSERTs: {:.3}",
        ingest.rate() / as_messages(&same_multi_row, same_per_message)
    );
    println!(
        "ingest msgs/s / raw message rows/s: {:.3} (one INSERT per row), {:.3} ({MULTI_ROW}-row INSERTs)",
        ingest.rate() / message_rows.rate(),
        ingest.rate() / multi_row.rate()
    );
    println!(
        "ingest: {:.0} msgs/s (target >= 15000), p99 ack {} (target <= 20 ms); {} messages stored incl. warm-up; \
         WAL at the end {:.1} MB",
        ingest.rate(),
        ms(ingest.percentile(99.0)),
        ingest.stored,
        ingest.wal_bytes as f64 / 1e6
    );
    Ok(())
}

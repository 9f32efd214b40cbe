//! The archive against hand-written SQL on the same SQLite file, in one
//! run (issue 20's benchmark): a generated archive of `--conversations`
//! conversations with `--messages` messages each, then
//!
//! - (a) the archive's first page with a 30-day filter,
//! - (b) newest-first search for a rare and for a common word with a
//!   channel filter, rotating terms,
//! - (c) the first page of the Assigned inbox with its rows, beside the bare
//!   list query,
//! - (d) a CSV export of every conversation in rows/s, beside the
//!   `sqlite3 -csv` shell on the same rows with what their columns show
//!   (customers, first identities, tags, agent, team and channel names)
//!   and on the bare conversations table, and how much the resident memory
//!   grew while exporting.
//!
//! ```text
//! cargo run --release -p switchboard-testkit --bin archive_bench -- --conversations 100000 --messages 10
//! ```
//!
//! With `--postgres 1` it measures (b) alone on PostgreSQL (the test
//! database at 127.0.0.1:5432, a schema of its own) beside the same
//! search written by hand with `tsvector`s, and prints the schema's size.
//!
//! It prints a table and asserts nothing about speed.

use std::time::Instant;

use futures::StreamExt;
use sqlx::Connection;
use switchboard_core::permissions::Actor;
use switchboard_core::{ChannelId, Section};
use switchboard_service::{ConversationQuery, ExportFormat, Period, Services};
use switchboard_testkit::Backend;
use switchboard_testkit::archive::ArchiveSpec;
use switchboard_testkit::bench::{
    Direct, generated_archive, generated_archive_on, measure_pair, numeric_args, table_rows_sql,
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    conversations: usize,
    messages: usize,
    runs: usize,
    postgres: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let v = numeric_args(&[
        ("conversations", 100_000),
        ("messages", 10),
        ("runs", 50),
        ("postgres", 0),
    ])?;
    Ok(Args {
        conversations: v["conversations"],
        messages: v["messages"].max(1),
        runs: v["runs"].max(1),
        postgres: v["postgres"] != 0,
    })
}

/// (b): newest-first search (one channel, a page of 50) for rotating rare
/// terms (order numbers the generator writes into messages) and common
/// words, each beside `base_sql` of the same term run by `direct`.
/// p50/p95 of rare, rare's baseline, common and common's baseline.
async fn measure_search<D, Fut>(
    runs: usize,
    svc: &Services,
    admin: &Actor,
    channel: ChannelId,
    direct: D,
    base_sql: impl Fn(&str) -> String,
) -> anyhow::Result<[(f64, f64); 4]>
where
    D: Fn(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let rare: Vec<String> = (0..runs + 1)
        .map(|i| format!("{}", 10_000 + (i * 7919) % 90_000))
        .collect();
    let common = ["order", "parcel", "refund", "bestellung", "pedido", "commande"];
    let search = |term: String| async move {
        let q = ConversationQuery {
            q: Some(term),
            channel: Some(channel),
            limit: Some(50),
            ..Default::default()
        };
        svc.search(admin, q).await.map(drop).map_err(anyhow::Error::from)
    };
    let (rare_ours, rare_base) =
        measure_pair(runs, |i| search(rare[i].clone()), |i| direct(base_sql(&rare[i]))).await?;
    let (common_ours, common_base) = measure_pair(
        runs,
        |i| search(common[i % common.len()].to_owned()),
        |i| direct(base_sql(common[i % common.len()])),
    )
    .await?;
    Ok([rare_ours, rare_base, common_ours, common_base])
}

fn print_rows(rows: &[(&str, (f64, f64), f64)]) {
    println!("{:<52} {:>9} {:>9} {:>8}", "what", "p50 ms", "p95 ms", "p95 ×");
    for (what, (p50, p95), base) in rows {
        println!("{what:<52} {p50:>9.2} {p95:>9.2} {:>8.2}", p95 / base);
    }
}

/// (b) on PostgreSQL.
async fn postgres_search(args: &Args, spec: &ArchiveSpec) -> anyhow::Result<()> {
    let (app, archive) = generated_archive_on(Backend::Postgres, spec).await?;
    let mut conn = sqlx::PgConnection::connect(&app.db.url()).await?;
    // Planner statistics, as autovacuum would have gathered them on a
    // database that grew over months.
    let tables: Vec<(String,)> =
        sqlx::query_as("SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()")
            .fetch_all(&mut conn)
            .await?;
    for (table,) in tables {
        sqlx::query(&format!("ANALYZE \"{table}\"")).execute(&mut conn).await?;
    }
    let (bytes,): (i64,) = sqlx::query_as(
        "SELECT COALESCE(sum(pg_total_relation_size(format('%I.%I', schemaname, tablename)::regclass)), 0)::bigint \
         FROM pg_tables WHERE schemaname = current_schema()",
    )
    .fetch_one(&mut conn)
    .await?;
    let raw = Direct::<sqlx::Postgres>::new(conn);
    let direct = |sql: String| {
        let raw = &raw;
        async move { raw.run(&[sql]).await }
    };
    let svc = &app.services;
    let admin = svc.actor(archive.workspace, archive.admin).await?;
    let ws = archive.workspace.to_string();
    let channel = archive.channels[0];
    // The same result set as the search, written with the stored tsvectors.
    let b_sql = |term: &str| {
        format!(
            "SELECT c.* FROM conversations c WHERE c.workspace_id = '{ws}' AND c.channel_id = '{channel}' \
             AND c.id IN (SELECT m.conversation_id FROM messages m WHERE m.search @@ to_tsquery('simple', '{term}') \
             UNION SELECT x.id FROM conversations x WHERE x.contact_id IN (SELECT k.id FROM contacts k \
             WHERE k.search @@ to_tsquery('simple', '{term}:*')) \
             UNION SELECT y.id FROM conversations y WHERE y.contact_id IN (SELECT i.contact_id FROM contact_identities i \
             WHERE i.search @@ to_tsquery('simple', '{term}:*'))) \
             ORDER BY c.id DESC LIMIT 51"
        )
    };
    let [b_rare, b_rare_base, b_common, b_common_base] =
        measure_search(args.runs, svc, &admin, channel, direct, b_sql).await?;
    println!(
        "PostgreSQL: archive of {} conversations / {} messages, {:.0} MB with indexes, {} runs each",
        archive.conversations,
        archive.messages,
        bytes as f64 / 1e6,
        args.runs
    );
    print_rows(&[
        ("(b) rare word + channel: hand-written SQL", b_rare_base, b_rare_base.1),
        ("(b) rare word + channel: Switchboard search", b_rare, b_rare_base.1),
        (
            "(b) common word + channel: hand-written SQL",
            b_common_base,
            b_common_base.1,
        ),
        (
            "(b) common word + channel: Switchboard search",
            b_common,
            b_common_base.1,
        ),
    ]);
    Ok(())
}

/// Rows `sql` gives through `sqlite3 -csv` on `file`, and rows per second.
fn shell_csv_rate(file: &str, sql: &str) -> (usize, f64) {
    let start = Instant::now();
    let out = std::process::Command::new("sqlite3").args(["-csv", file, sql]).output();
    let secs = start.elapsed().as_secs_f64();
    let rows = out
        .map(|o| o.stdout.iter().filter(|b| **b == b'\n').count())
        .unwrap_or(0);
    (rows, if secs > 0.0 { rows as f64 / secs } else { 0.0 })
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

const CLOSED: &str = "('resolved','abandoned','expired')";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let spec = ArchiveSpec {
        conversations: args.conversations,
        messages_per_conversation: args.messages,
        ..ArchiveSpec::default()
    };
    if args.postgres {
        return postgres_search(&args, &spec).await;
    }
    let (app, archive) = generated_archive(&spec).await?;
    let url = app.db.url();
    let file = url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let size_mb = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    let raw = Direct::<sqlx::Sqlite>::new(sqlx::SqliteConnection::connect(&url).await?);
    let direct = |sql: String| {
        let raw = &raw;
        async move { raw.run(&[sql]).await }
    };
    let svc = &app.services;
    let admin = svc.actor(archive.workspace, archive.admin).await?;
    let ws = archive.workspace.to_string();
    let channel = archive.channels[0];
    let runs = args.runs;

    // (a) The archive's first page, last 30 days.
    let from = svc.now().0 - 30 * 86_400_000;
    let a_sql = format!(
        "SELECT * FROM conversations WHERE workspace_id = '{ws}' AND status IN {CLOSED} \
         AND created_at >= {from} ORDER BY id DESC LIMIT 51"
    );
    let (a, a_base) = measure_pair(
        runs,
        |_| async {
            let q = ConversationQuery {
                section: Some(Section::Archived),
                period: Some(Period::Last30Days),
                limit: Some(50),
                ..Default::default()
            };
            svc.conversations(&admin, q).await.map(drop).map_err(Into::into)
        },
        |_| direct(a_sql.clone()),
    )
    .await?;

    // (b) Search, newest first, with a channel filter.
    // The same result set: a message matching the word, or a customer
    // whose name, phone, e-mail or identity starts with it.
    let b_sql = |term: &str| {
        format!(
            "SELECT c.* FROM conversations c WHERE c.workspace_id = '{ws}' AND c.channel_id = '{channel}' \
             AND c.id IN (SELECT m.conversation_id FROM messages m WHERE m.rowid IN \
             (SELECT rowid FROM message_search WHERE message_search MATCH '\"{term}\"') \
             UNION SELECT x.id FROM conversations x WHERE x.contact_id IN (SELECT k.id FROM contacts k WHERE k.rowid IN \
             (SELECT rowid FROM contact_search WHERE contact_search MATCH '\"{term}\"*')) \
             UNION SELECT y.id FROM conversations y WHERE y.contact_id IN (SELECT i.contact_id FROM contact_identities i \
             WHERE i.rowid IN (SELECT rowid FROM identity_search WHERE identity_search MATCH '\"{term}\"*'))) \
             ORDER BY c.id DESC LIMIT 51"
        )
    };
    let [b_rare, b_rare_base, b_common, b_common_base] =
        measure_search(runs, svc, &admin, channel, &direct, b_sql).await?;

    // (c) The Assigned inbox of the busiest agent, with its rows.
    let agent = svc.actor(archive.workspace, archive.agents[0]).await?;
    let assigned = || ConversationQuery {
        section: Some(Section::Assigned),
        assignee: Some(archive.agents[0].to_string()),
        limit: Some(50),
        ..Default::default()
    };
    let (c_rows, c_list) = measure_pair(
        runs,
        |_| async { svc.inbox(&agent, assigned()).await.map(drop).map_err(Into::into) },
        |_| async {
            svc.conversations(&agent, assigned())
                .await
                .map(drop)
                .map_err(Into::into)
        },
    )
    .await?;

    // (d) Export every conversation as CSV.
    let rss_before = rss_kb();
    let mut rss_peak = rss_before;
    let export_start = Instant::now();
    let mut stream = svc
        .export_conversations(&admin, ConversationQuery::default(), ExportFormat::Csv)
        .await?;
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        rss_peak = rss_peak.max(rss_kb());
    }
    let export_secs = export_start.elapsed().as_secs_f64();
    let rows = lines.saturating_sub(1);
    // The shell on the same rows with the data behind every column (the
    // customer, first identity, tags, agent, team and channel names), and
    // on the bare table.
    let same_rows = table_rows_sql(&ws, None);
    let bare_table = format!("SELECT * FROM conversations WHERE workspace_id = '{ws}' ORDER BY id DESC");
    let [same_rows_rate, bare_rate] = [same_rows, bare_table].map(|sql| shell_csv_rate(&file, &sql));
    println!(
        "archive of {} conversations / {} messages, SQLite file {:.0} MB, {} runs each",
        archive.conversations, archive.messages, size_mb, runs
    );
    print_rows(&[
        ("(a) archive, last 30 days: hand-written SQL", a_base, a_base.1),
        ("(a) archive, last 30 days: Switchboard", a, a_base.1),
        ("(b) rare word + channel: hand-written SQL", b_rare_base, b_rare_base.1),
        ("(b) rare word + channel: Switchboard search", b_rare, b_rare_base.1),
        (
            "(b) common word + channel: hand-written SQL",
            b_common_base,
            b_common_base.1,
        ),
        (
            "(b) common word + channel: Switchboard search",
            b_common,
            b_common_base.1,
        ),
        ("(c) assigned: list query (baseline)", c_list, c_list.1),
        ("(c) assigned: inbox rows", c_rows, c_list.1),
    ]);
    let ours = rows as f64 / export_secs;
    let ratio = |theirs: (usize, f64)| if theirs.1 > 0.0 { ours / theirs.1 } else { 0.0 };
    println!(
        "(d) CSV export: {rows} rows, {:.1} MB in {export_secs:.2} s = {ours:.0} rows/s; \
         RSS {} MB before, peak +{} MB",
        bytes as f64 / 1e6,
        rss_before / 1024,
        (rss_peak.saturating_sub(rss_before)) / 1024
    );
    println!(
        "(d) sqlite3 -csv, the same rows with their customers, tags and names: {} rows at {:.0} rows/s; ratio {:.2}",
        same_rows_rate.0,
        same_rows_rate.1,
        ratio(same_rows_rate)
    );
    println!(
        "(d) sqlite3 -csv, the bare conversations table: {} rows at {:.0} rows/s; ratio {:.2}",
        bare_rate.0,
        bare_rate.1,
        ratio(bare_rate)
    );
    Ok(())
}

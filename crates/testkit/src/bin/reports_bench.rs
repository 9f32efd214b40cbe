//! The console and analytics against hand-written SQL on the same SQLite
//! file, in one run (issue 21's benchmark): a generated archive of
//! `--conversations` conversations (each with its assignment leg), then
//!
//! - the console's tiles, beside the same five figures as direct queries,
//! - the first page (50 rows) of the conversations table, beside one
//!   hand-written query of the same rows with the data behind every column
//!   (customers, first identities, tags, agent, team and channel names),
//! - a 30-day analytics page (every figure, by agent), beside reading the
//!   same columns of the same conversations and legs.
//!
//! ```text
//! cargo run --release -p switchboard-testkit --bin reports_bench -- --conversations 100000
//! ```
//!
//! It prints a table and asserts nothing about speed.

use sqlx::Connection;
use switchboard_service::{AnalyticsQuery, ConversationQuery};
use switchboard_testkit::archive::ArchiveSpec;
use switchboard_testkit::bench::{Direct, generated_archive, measure_pair, numeric_args, table_rows_sql};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = numeric_args(&[("conversations", 100_000), ("messages", 4), ("runs", 50)])?;
    let runs = args["runs"].max(1);
    let spec = ArchiveSpec {
        conversations: args["conversations"],
        messages_per_conversation: args["messages"].max(1),
        ..ArchiveSpec::default()
    };
    let (app, archive) = generated_archive(&spec).await?;
    let url = app.db.url();
    let raw = Direct::<sqlx::Sqlite>::new(sqlx::SqliteConnection::connect(&url).await?);
    let svc = &app.services;
    let admin = svc.actor(archive.workspace, archive.admin).await?;
    let ws = archive.workspace.to_string();
    let now = svc.now().0;
    let midnight = now - now.rem_euclid(86_400_000);

    // The tiles.
    let tiles_sql = vec![
        format!("SELECT count(*) FROM conversations WHERE workspace_id = '{ws}' AND status = 'queued'"),
        format!("SELECT count(*) FROM conversations WHERE workspace_id = '{ws}' AND status = 'assigned'"),
        format!(
            "SELECT count(*) FROM conversations WHERE workspace_id = '{ws}' AND closed_at >= {midnight} \
             AND status IN ('resolved','abandoned','expired')"
        ),
        format!(
            "SELECT team_id, count(DISTINCT conversation_id) n FROM assignment_legs WHERE workspace_id = '{ws}' \
             AND assigned_at >= {midnight} AND team_id IS NOT NULL GROUP BY team_id ORDER BY n DESC LIMIT 1"
        ),
        format!(
            "SELECT * FROM conversations WHERE workspace_id = '{ws}' AND status = 'queued' \
             ORDER BY COALESCE(queued_at, created_at), id LIMIT 1"
        ),
    ];
    let (tiles, tiles_base) = measure_pair(
        runs,
        |_| async { svc.console_tiles(&admin).await.map(drop).map_err(Into::into) },
        |_| raw.run(&tiles_sql),
    )
    .await?;

    // The table's first page.
    let table_sql = vec![table_rows_sql(&ws, Some(51))];
    let (table, table_base) = measure_pair(
        runs,
        |_| async {
            let q = ConversationQuery {
                limit: Some(50),
                ..Default::default()
            };
            svc.console_rows(&admin, q).await.map(drop).map_err(Into::into)
        },
        |_| raw.run(&table_sql),
    )
    .await?;

    // 30 days of analytics, by agent.
    let from = midnight - 29 * 86_400_000;
    let analytics_sql = vec![
        format!(
            "SELECT id, status, assignee_id, team_id, channel_id, created_at, handed_off_at, first_reply_at, \
             closed_at, rating, feedback_requested_at, messages_in, messages_out FROM conversations \
             WHERE workspace_id = '{ws}' AND created_at >= {from}"
        ),
        format!(
            "SELECT l.* FROM assignment_legs l WHERE l.workspace_id = '{ws}' AND l.conversation_id IN \
             (SELECT id FROM conversations WHERE workspace_id = '{ws}' AND created_at >= {from})"
        ),
    ];
    let (analytics, analytics_base) = measure_pair(
        runs,
        |_| async {
            svc.analytics(&admin, AnalyticsQuery::default())
                .await
                .map(drop)
                .map_err(Into::into)
        },
        |_| raw.run(&analytics_sql),
    )
    .await?;
    let in_range = svc
        .analytics(&admin, AnalyticsQuery::default())
        .await?
        .totals
        .conversations;

    println!(
        "{} conversations ({in_range} in the 30 days), {runs} runs each",
        archive.conversations
    );
    println!("{:<46} {:>9} {:>9} {:>8}", "what", "p50 ms", "p95 ms", "p95 ×");
    for (what, (p50, p95), base) in [
        ("tiles: direct SQL", tiles_base, tiles_base.1),
        ("tiles: Switchboard", tiles, tiles_base.1),
        ("table first page: direct SQL", table_base, table_base.1),
        ("table first page: Switchboard", table, table_base.1),
        (
            "30-day analytics: direct SQL (same rows)",
            analytics_base,
            analytics_base.1,
        ),
        ("30-day analytics: Switchboard", analytics, analytics_base.1),
    ] {
        println!("{what:<46} {p50:>9.2} {p95:>9.2} {:>8.2}", p95 / base);
    }
    Ok(())
}

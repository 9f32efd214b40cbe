//! The inbox list against its baseline, measured in one run (DESIGN.md §13,
//! "inbox list … p95 ≤ 15 ms"): a Switchboard server in this process on a
//! SQLite file holds `--conversations` closed conversations (two messages
//! each) and `--open` assigned to one agent. Measured, each `--runs` times:
//! the bare conversation list query (the baseline), the inbox rows the page
//! shows (contact, last message, unanswered count), and the list fragment
//! over loopback HTTP as the page fetches it.
//!
//! ```text
//! cargo run --release -p switchboard-testkit --bin inbox_bench -- --conversations 100000
//! ```
//!
//! It prints a table and asserts nothing about speed.

use std::time::Instant;

use anyhow::{Context, bail};
use switchboard_core::{
    ContactId, ConversationId, ConversationStatus, Message, MessageId, Millis, Section, UserId, WorkspaceId,
};
use switchboard_service::ConversationQuery;
use switchboard_testkit::bench::measure;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::{Backend, TestApp, TestDb, TestOptions};

/// The server binary's allocator, so figures match what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    conversations: usize,
    open: usize,
    runs: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        conversations: 100_000,
        open: 50,
        runs: 200,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value: usize = it
            .next()
            .with_context(|| format!("{flag} needs a value"))?
            .parse()
            .with_context(|| format!("{flag} needs a number"))?;
        match flag.as_str() {
            "--conversations" => args.conversations = value,
            "--open" => args.open = value,
            "--runs" => args.runs = value.max(1),
            other => bail!("unknown option {other}; use --conversations, --open, --runs"),
        }
    }
    Ok(args)
}

/// Copies of one real conversation (and its two messages) under new ids:
/// `closed` archived ones spread over the past year, then `open` assigned
/// to `agent`.
async fn seed(
    app: &TestApp,
    ws: WorkspaceId,
    agent: UserId,
    template: ConversationId,
    args: &Args,
) -> anyhow::Result<()> {
    let mut db = app.services.store().reader();
    let conversation = db.conversation(ws, template).await?.context("template conversation")?;
    let contact = db
        .contact(ws, conversation.contact_id)
        .await?
        .context("template contact")?;
    let messages: Vec<Message> = db.messages(template, None, 10, false).await?.items;
    let total = args.conversations + args.open;
    let now = conversation.updated_at;
    let year_ms = 365 * 24 * 3_600_000_i64;
    let mut made = 0;
    while made < total {
        let mut tx = app.services.store().begin().await?;
        for i in made..(made + 1000).min(total) {
            let mut p = contact.clone();
            p.id = ContactId::new();
            p.name = Some(format!("Customer {i}"));
            p.identities.clear();
            tx.exec().insert_contact(&p).await?;
            let mut c = conversation.clone();
            c.id = ConversationId::new();
            c.contact_id = p.id;
            let at = Millis(now.0 - year_ms + (i as i64 * year_ms) / total as i64);
            c.times.created_at = at;
            c.times.last_message_at = Some(at);
            c.times.last_customer_message_at = Some(at);
            c.updated_at = at;
            if i < args.conversations {
                c.status = ConversationStatus::Resolved;
                c.times.closed_at = Some(at);
            } else {
                c.status = ConversationStatus::Assigned;
                c.assignee_id = Some(agent);
            }
            tx.exec().insert_conversation(&c).await?;
            for m in &messages {
                let mut m = m.clone();
                m.id = MessageId::new();
                m.conversation_id = c.id;
                // Provider ids are unique per channel.
                m.provider_message_id = m.provider_message_id.map(|p| format!("{p}-{i}"));
                tx.exec().insert_message(&m, c.channel_id).await?;
            }
        }
        tx.commit().await?;
        made = (made + 1000).min(total);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let app = TestApp::spawn_on(TestDb::for_backend(Backend::Sqlite).await, TestOptions::default()).await;
    let org = Org::create(&app).await;
    let ws: WorkspaceId = org.ws.parse()?;
    let agent: UserId = org.agent_id.parse()?;
    let hook = org
        .customer_says(&app, "seed-1", "seed", "Hello, my order is late")
        .await;
    let template: ConversationId = hook["conversation_id"].as_str().context("conversation")?.parse()?;
    let reply = org
        .agent
        .post(
            &org.path(&format!("/conversations/{template}/messages")),
            serde_json::json!({"kind": "note", "body": "checking the courier"}),
        )
        .await;
    anyhow::ensure!(reply.status.is_success(), "note: {:?}", reply.body);
    let started = Instant::now();
    seed(&app, ws, agent, template, &args).await?;
    eprintln!(
        "seeded {} closed + {} open conversations in {:.1} s",
        args.conversations,
        args.open,
        started.elapsed().as_secs_f64()
    );

    let actor = app.services.actor(ws, agent).await?;
    let query = || ConversationQuery {
        section: Some(Section::Assigned),
        limit: Some(50),
        ..Default::default()
    };
    let archive = || ConversationQuery {
        section: Some(Section::Archived),
        limit: Some(50),
        ..Default::default()
    };
    let svc = &app.services;
    let list = measure(args.runs, |_| async {
        svc.conversations(&actor, query()).await.map(drop).map_err(Into::into)
    })
    .await?;
    let rows = measure(args.runs, |_| async {
        svc.inbox(&actor, query()).await.map(drop).map_err(Into::into)
    })
    .await?;
    let admin = app
        .services
        .actor(ws, app.services.store().reader().members(ws).await?[0].id)
        .await?;
    let archive_list = measure(args.runs, |_| async {
        svc.conversations(&admin, archive()).await.map(drop).map_err(Into::into)
    })
    .await?;
    let archive_rows = measure(args.runs, |_| async {
        svc.inbox(&admin, archive()).await.map(drop).map_err(Into::into)
    })
    .await?;
    let page = format!("{}/w/{}/inbox/list?section=assigned", org.agent.base, org.ws);
    let http = measure(args.runs, |_| async {
        let r = org.agent.http.get(&page).send().await?;
        anyhow::ensure!(r.status().is_success(), "{}", r.status());
        r.bytes().await?;
        Ok(())
    })
    .await?;

    println!(
        "inbox list, {} conversations, page of 50, {} runs",
        args.conversations + args.open,
        args.runs
    );
    println!("{:<44} {:>9} {:>9} {:>8}", "what", "p50 ms", "p95 ms", "p95 ×");
    for (what, (p50, p95), base) in [
        ("assigned: list query (baseline)", list, list.1),
        ("assigned: inbox rows", rows, list.1),
        ("assigned: list fragment over HTTP", http, list.1),
        ("archived (admin): list query (baseline)", archive_list, archive_list.1),
        ("archived (admin): inbox rows", archive_rows, archive_list.1),
    ] {
        println!("{what:<44} {p50:>9.2} {p95:>9.2} {:>8.1}", p95 / base);
    }
    Ok(())
}

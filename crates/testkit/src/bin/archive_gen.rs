//! Build a realistic archive in a database of your choice, to try the
//! product or measure it: a workspace with an admin, agents, teams,
//! channels and tags, and conversations over months (see
//! `switchboard_testkit::archive`).
//!
//! ```text
//! cargo run --release -p switchboard-testkit --bin archive_gen -- \
//!     --database-url sqlite://data/switchboard.db --conversations 100000 --messages 10
//! switchboard serve --data-dir data    # sign in as admin@generated.test / generated password 1
//! ```
//!
//! The database must have no workspace called "Generated Support" yet
//! (a fresh one is simplest); PostgreSQL URLs work too.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use switchboard_service::{ServiceConfig, Services, SystemClock};
use switchboard_store::{Store, StoreOptions};
use switchboard_testkit::archive::{ArchiveSpec, generate};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut url = None;
    let mut spec = ArchiveSpec::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<usize>().with_context(|| format!("{flag} needs a number"));
        match flag.as_str() {
            "--database-url" => url = Some(value.clone()),
            "--conversations" => spec.conversations = number()?,
            "--messages" => spec.messages_per_conversation = number()?.max(1),
            "--months" => spec.months = number()? as i64,
            "--agents" => spec.agents = number()?.max(1),
            "--seed" => spec.seed = number()? as u64,
            other => bail!(
                "unknown option {other}; use --database-url, --conversations, --messages, --months, --agents, --seed"
            ),
        }
    }
    let url = url.context("--database-url is required (sqlite://path/to/file.db or postgres://…)")?;
    if let Some(path) = url.strip_prefix("sqlite://")
        && let Some(dir) = std::path::Path::new(path.split('?').next().unwrap_or(path)).parent()
    {
        std::fs::create_dir_all(dir).ok();
    }
    let store = Store::connect(&StoreOptions::new(url.clone())).await?;
    store.migrate().await?;
    let config = ServiceConfig {
        run_jobs: false,
        ..ServiceConfig::default()
    };
    let services = Services::start(store.clone(), config, Arc::new(SystemClock))?;
    let started = Instant::now();
    let archive = generate(&services, &spec).await?;
    println!(
        "{} conversations and {} messages in {:.1} s; workspace {}; sign in as {} / {}",
        archive.conversations,
        archive.messages,
        started.elapsed().as_secs_f64(),
        archive.workspace,
        archive.admin_email,
        archive.admin_password
    );
    store.close().await;
    Ok(())
}

//! Timing for bench binaries: run a step many times, report p50 and p95.

use std::time::{Duration, Instant};

/// p50 and p95 of the timings, in milliseconds.
pub fn percentiles(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    (at(0.50).as_secs_f64() * 1e3, at(0.95).as_secs_f64() * 1e3)
}

/// Run `f` once to warm up, then `runs` times (given the run's number,
/// from 1), timing each: p50 and p95 in milliseconds.
pub async fn measure<F, Fut>(runs: usize, mut f: F) -> anyhow::Result<(f64, f64)>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    f(0).await?;
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        let start = Instant::now();
        f(i + 1).await?;
        times.push(start.elapsed());
    }
    Ok(percentiles(times))
}

/// Like [`measure`] for two steps at once, `ours` and `base` taking turns
/// (warmed up once each, given the same run numbers): both see the
/// machine in the same state, so a slow spell of a shared machine does
/// not land on one side only.
/// p50 and p95 in milliseconds of each, `ours` first.
pub async fn measure_pair<F, Fut, G, Gut>(
    runs: usize,
    mut ours: F,
    mut base: G,
) -> anyhow::Result<((f64, f64), (f64, f64))>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
    G: FnMut(usize) -> Gut,
    Gut: std::future::Future<Output = anyhow::Result<()>>,
{
    ours(0).await?;
    base(0).await?;
    let (mut ours_times, mut base_times) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for i in 1..=runs {
        // Who goes first alternates too: the second may find the first's
        // pages in the cache.
        for ours_now in [i % 2 == 0, i % 2 == 1] {
            let start = Instant::now();
            if ours_now {
                ours(i).await?;
                ours_times.push(start.elapsed());
            } else {
                base(i).await?;
                base_times.push(start.elapsed());
            }
        }
    }
    Ok((percentiles(ours_times), percentiles(base_times)))
}

/// Numeric `--name value` options of a bench binary over `defaults`
/// (`(name, default)`); an unknown name or a value that is not a number
/// is an error that lists the known ones.
pub fn numeric_args(defaults: &[(&str, usize)]) -> anyhow::Result<std::collections::HashMap<String, usize>> {
    let mut values: std::collections::HashMap<String, usize> =
        defaults.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
    let known = || {
        defaults
            .iter()
            .map(|(k, _)| format!("--{k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let name = flag.trim_start_matches("--").to_owned();
        if !values.contains_key(&name) {
            anyhow::bail!("unknown option {flag}; use {}", known());
        }
        let value = it
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a number"))?;
        values.insert(name, value);
    }
    Ok(values)
}

/// A server on a fresh SQLite file (jobs off) holding an archive generated
/// by `spec`; how long generating took goes to stderr.
pub async fn generated_archive(
    spec: &crate::archive::ArchiveSpec,
) -> anyhow::Result<(crate::TestApp, crate::archive::GeneratedArchive)> {
    generated_archive_on(crate::Backend::Sqlite, spec).await
}

/// [`generated_archive`] on `backend` (PostgreSQL: a schema of its own in
/// the test database).
pub async fn generated_archive_on(
    backend: crate::Backend,
    spec: &crate::archive::ArchiveSpec,
) -> anyhow::Result<(crate::TestApp, crate::archive::GeneratedArchive)> {
    let mut options = crate::TestOptions::default();
    options.service.run_jobs = false;
    let app = crate::TestApp::spawn_on(crate::TestDb::for_backend(backend).await, options).await;
    let started = Instant::now();
    let archive = crate::archive::generate(&app.services, spec).await?;
    eprintln!(
        "generated {} conversations, {} messages in {:.1} s",
        archive.conversations,
        archive.messages,
        started.elapsed().as_secs_f64()
    );
    Ok((app, archive))
}

/// A connection of its own for the hand-written queries a bench measures
/// beside ours.
pub struct Direct<DB: sqlx::Database>(tokio::sync::Mutex<DB::Connection>);

impl<DB: sqlx::Database> Direct<DB>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    pub fn new(connection: DB::Connection) -> Self {
        Self(tokio::sync::Mutex::new(connection))
    }

    /// Runs each of `sqls` in turn, reading every row.
    pub async fn run(&self, sqls: &[String]) -> anyhow::Result<()> {
        let mut connection = self.0.lock().await;
        for sql in sqls {
            sqlx::query::<DB>(sql).fetch_all(&mut *connection).await?;
        }
        Ok(())
    }
}

/// Hand-written SQL for the conversations table's rows of workspace `ws`,
/// newest first: each conversation with the data behind every column the
/// table and its exports show (customer, first identity, tags by name,
/// agent, team and channel names). SQLite's dialect.
pub fn table_rows_sql(ws: &str, limit: Option<usize>) -> String {
    let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
    format!(
        "SELECT c.*, k.name, k.phone, k.email, k.country, \
         (SELECT i.external_id FROM contact_identities i WHERE i.contact_id = c.contact_id ORDER BY i.created_at LIMIT 1), \
         (SELECT group_concat(n, ', ') FROM (SELECT t.name AS n FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id \
          WHERE ct.conversation_id = c.id ORDER BY t.name)), \
         coalesce(m.display_name, u.name), tm.name, ch.kind, ch.name \
         FROM conversations c LEFT JOIN contacts k ON k.id = c.contact_id \
         LEFT JOIN memberships m ON m.workspace_id = c.workspace_id AND m.user_id = c.assignee_id \
         LEFT JOIN users u ON u.id = c.assignee_id LEFT JOIN teams tm ON tm.id = c.team_id \
         LEFT JOIN channels ch ON ch.id = c.channel_id \
         WHERE c.workspace_id = '{ws}' ORDER BY c.id DESC{limit}"
    )
}

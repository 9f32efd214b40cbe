//! Storage for Switchboard: SQLite (embedded default) and PostgreSQL behind
//! one query path. Every query is written once with sea-query and built for
//! the backend in use; rows decode through sqlx's `FromRow` for both.

mod durable;
mod exec;
mod migrate;
pub mod repo;
pub mod schema;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sea_query::{Cond, Expr, IntoColumnRef};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use switchboard_core::ChannelId;

pub use durable::Durability;
pub use exec::{EventHook, Exec, RowSet, Rows, Tx, TxConn};
pub use migrate::{MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE, Migration};
pub use repo::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a record with the same {0} already exists")]
    Conflict(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("unsupported database URL {0:?}: use sqlite://… or postgres://…")]
    UnsupportedUrl(String),
    #[error("migration {version} failed: {source}")]
    Migration { version: i64, source: sqlx::Error },
    #[error("the commit may not be on disk: {0}")]
    Durability(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return StoreError::Conflict(db.constraint().unwrap_or("key").to_owned());
        }
        StoreError::Database(e)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How to open the database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub url: String,
    /// Connections for readers (SQLite) or for everything (PostgreSQL).
    pub max_connections: u32,
    /// SQLite: `true` (default) makes a commit durable before it returns, so
    /// an acknowledged message survives power loss, as `synchronous=FULL`
    /// does; the WAL is fsynced after the commit instead of inside it, so
    /// the write lock is not held through the fsync (see `durable`). `false`
    /// (`synchronous=NORMAL` alone) trades that for speed.
    pub sqlite_synchronous_full: bool,
    pub busy_timeout: Duration,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 8,
            sqlite_synchronous_full: true,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone)]
enum Pools {
    /// One writer connection: SQLite allows one writer at a time, so writers
    /// queue in the pool instead of failing with SQLITE_BUSY. Readers run
    /// beside it in WAL mode.
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
        /// Syncs the WAL after commits when they must be durable.
        wal: Option<std::sync::Arc<durable::WalSync>>,
    },
    Postgres(PgPool),
}

#[derive(Clone)]
pub struct Store {
    pools: Pools,
    /// Told when committed transactions appended events (see [`EventHook`]).
    event_hook: Arc<RwLock<Option<EventHook>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?})", self.backend())
    }
}

impl Store {
    pub async fn connect(options: &StoreOptions) -> Result<Store> {
        let url = options.url.as_str();
        if url.starts_with("sqlite:") {
            let base = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(options.busy_timeout)
                .foreign_keys(true)
                // Statement journals (multi-row statements inside a
                // transaction) stay in memory instead of spilling to a
                // temporary file on the writer's path.
                .pragma("temp_store", "memory");
            // Durable commits: the WAL is fsynced after each commit, outside
            // the write lock (see `durable`). An in-memory database has no
            // file to sync; it syncs in COMMIT like any FULL database would.
            let in_memory = base.get_filename() == std::path::Path::new(":memory:");
            let (writer_options, wal) = match (options.sqlite_synchronous_full, in_memory) {
                (false, _) => (base.clone(), None),
                (true, true) => (base.clone().synchronous(SqliteSynchronous::Full), None),
                // A connection of its own copies WAL pages into the
                // database file (a checkpoint fsyncs that file, and would
                // hold up every writer queued behind it). It cannot restart
                // the WAL while commits keep coming, though: the writer
                // checkpoints too, once the WAL passes a bound, finding
                // most pages copied already; the next commit then writes
                // the WAL from its start again instead of growing it.
                (true, false) => (
                    base.clone()
                        .pragma("wal_autocheckpoint", durable::WRITER_CHECKPOINT_PAGES.to_string()),
                    Some(std::sync::Arc::new(durable::WalSync::new(base.get_filename()))),
                ),
            };
            if let Some(wal) = &wal {
                durable::spawn_checkpointer(base.clone(), wal);
            }
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                // A local file does not drop connections: no ping before each use.
                .test_before_acquire(false)
                .connect_with(writer_options)
                .await?;
            let reader = SqlitePoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .test_before_acquire(false)
                .connect_with(base.read_only(true))
                .await?;
            Ok(Store {
                pools: Pools::Sqlite { writer, reader, wal },
                event_hook: Arc::default(),
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections.max(2))
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts)
                .await?;
            Ok(Store {
                pools: Pools::Postgres(pool),
                event_hook: Arc::default(),
            })
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Run the migrations this build knows and the database lacks.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        let applied = migrate::run(self).await?;
        if applied.contains(&migrate::SEARCH_VERSION) {
            // Text written before search existed is folded once, in Rust,
            // so old and new messages are indexed alike.
            let mut tx = self.begin().await?;
            tx.exec().fold_unindexed_messages().await?;
            tx.commit().await?;
        }
        if applied.contains(&migrate::CONTACT_SEARCH_VERSION) {
            let mut tx = self.begin().await?;
            tx.exec().fold_unindexed_contacts().await?;
            tx.commit().await?;
        }
        Ok(applied)
    }

    /// Reads outside a transaction.
    pub fn reader(&self) -> Exec<'_> {
        match &self.pools {
            Pools::Sqlite { reader, .. } => Exec::SqlitePool(reader),
            Pools::Postgres(pool) => Exec::PgPool(pool),
        }
    }

    /// A write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so
    /// it holds the write lock from the start and never fails half-way on a
    /// lock upgrade.
    pub async fn begin(&self) -> Result<Tx<'static>> {
        let conn = match &self.pools {
            Pools::Sqlite { writer, wal, .. } => {
                TxConn::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?, wal.clone())
            }
            Pools::Postgres(pool) => TxConn::Postgres(pool.begin().await?),
        };
        let hook = self.event_hook.read().unwrap_or_else(|e| e.into_inner()).clone();
        Ok(Tx::new(conn, hook))
    }

    /// Who is told when committed transactions appended events; replaces
    /// the previous one.
    pub fn set_event_hook(&self, hook: EventHook) {
        *self.event_hook.write().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    }

    /// The PostgreSQL pool (for `LISTEN`), or `None` on SQLite.
    pub fn pg_pool(&self) -> Option<&PgPool> {
        match &self.pools {
            Pools::Postgres(pool) => Some(pool),
            Pools::Sqlite { .. } => None,
        }
    }

    /// Copy a SQLite database into a new file at `path`, consistent as of
    /// one moment, while it stays in use (`VACUUM INTO`).
    pub async fn backup_to(&self, path: &std::path::Path) -> Result<()> {
        let Pools::Sqlite { reader, .. } = &self.pools else {
            return Err(StoreError::UnsupportedUrl("backup is for SQLite; use pg_dump".into()));
        };
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Corrupt("a backup path that is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO ?").bind(target).execute(reader).await?;
        Ok(())
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        let _: Option<(i64,)> = self
            .reader()
            .fetch_optional(sea_query::Query::select().expr(sea_query::Expr::val(1i64)))
            .await?;
        Ok(())
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { writer, reader, wal } => {
                if let Some(wal) = wal {
                    wal.stop_checkpointer();
                }
                writer.close().await;
                reader.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}

/// Parse a stored id or enum, reporting corrupt data instead of panicking.
pub(crate) fn parse<T: FromStr>(what: &str, raw: &str) -> Result<T> {
    raw.parse().map_err(|_| StoreError::Corrupt(format!("{what}: {raw:?}")))
}

pub(crate) fn parse_opt<T: FromStr>(what: &str, raw: Option<&str>) -> Result<Option<T>> {
    raw.map(|r| parse(what, r)).transpose()
}

/// Most values one `IN (…)` list carries; longer lists are split across
/// statements.
pub(crate) const IN_LIST_MAX: usize = 500;

/// Rows per multi-row `INSERT` for a table of `columns` columns: at most
/// 500 rows and 30,000 bound values, under SQLite's limit of 32,766
/// parameters per statement.
pub(crate) fn rows_per_statement(columns: usize) -> usize {
    (30_000 / columns.max(1)).clamp(1, 500)
}

/// `(channel = ? AND key IN (…)) OR (channel = ? AND key IN (…)) …` for
/// `(channel, key)` pairs, split so no condition holds more than
/// [`IN_LIST_MAX`] keys: one statement per condition serves a batch that
/// spans channels. Each disjunct can use an index on `(channel, key)`.
pub(crate) fn channel_key_conds<C, K>(channel_col: C, key_col: K, pairs: &[(ChannelId, &str)]) -> Vec<Cond>
where
    C: IntoColumnRef + Copy,
    K: IntoColumnRef + Copy,
{
    let mut by_channel: BTreeMap<ChannelId, BTreeSet<&str>> = BTreeMap::new();
    for (channel, key) in pairs {
        by_channel.entry(*channel).or_default().insert(key);
    }
    let mut conds = Vec::new();
    let (mut cond, mut size) = (Cond::any(), 0);
    for (channel, keys) in by_channel {
        let keys: Vec<&str> = keys.into_iter().collect();
        for chunk in keys.chunks(IN_LIST_MAX) {
            if size > 0 && size + chunk.len() > IN_LIST_MAX {
                conds.push(std::mem::replace(&mut cond, Cond::any()));
                size = 0;
            }
            cond = cond.add(
                Cond::all()
                    .add(Expr::col(channel_col).eq(channel.to_string()))
                    .add(Expr::col(key_col).is_in(chunk.iter().copied())),
            );
            size += chunk.len();
        }
    }
    if size > 0 {
        conds.push(cond);
    }
    conds
}

#[cfg(test)]
mod tests {
    use sea_query::{Query, SqliteQueryBuilder};

    use super::*;
    use crate::schema::Messages;

    #[test]
    fn channel_key_conditions_share_statements_and_stay_under_the_list_limit() {
        let (a, b) = (ChannelId::new(), ChannelId::new());
        let keys: Vec<String> = (0..700).map(|i| format!("k{i}")).collect();
        let mut pairs: Vec<(ChannelId, &str)> = keys.iter().map(|k| (a, k.as_str())).collect();
        pairs.extend(keys[..300].iter().map(|k| (b, k.as_str())));
        pairs.push((a, "k1")); // asked twice, bound once
        let values: Vec<usize> = channel_key_conds(Messages::ChannelId, Messages::ProviderMessageId, &pairs)
            .into_iter()
            .map(|cond| {
                let (_, values) = Query::select()
                    .column(Messages::Id)
                    .from(Messages::Table)
                    .cond_where(cond)
                    .build(SqliteQueryBuilder);
                values.0.len()
            })
            .collect();
        // 500 keys of `a`; then the other 200 of `a` and the 300 of `b`
        // together, each with its channel id.
        assert_eq!(values, [501, 502]);
    }

    #[test]
    fn rows_per_statement_respects_the_parameter_limit() {
        assert_eq!(rows_per_statement(15), 500);
        assert_eq!(rows_per_statement(100), 300);
        assert!(rows_per_statement(20) * 20 <= 32_766);
    }
}

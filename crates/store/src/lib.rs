//! Storage for Switchboard: SQLite (embedded default) and PostgreSQL behind
//! one query path. Every query is written once with sea-query and built for
//! the backend in use; rows decode through sqlx's `FromRow` for both.

mod exec;
mod migrate;
pub mod repo;
pub mod schema;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use exec::{Exec, Rows, Tx};
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
    /// SQLite: `FULL` (default) makes a commit durable before it returns, so
    /// an acknowledged message survives power loss. `NORMAL` trades that
    /// for speed.
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
    },
    Postgres(PgPool),
}

#[derive(Clone)]
pub struct Store {
    pools: Pools,
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
                .synchronous(if options.sqlite_synchronous_full {
                    SqliteSynchronous::Full
                } else {
                    SqliteSynchronous::Normal
                })
                .busy_timeout(options.busy_timeout)
                .foreign_keys(true);
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(base.clone())
                .await?;
            let reader = SqlitePoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .connect_with(base.read_only(true))
                .await?;
            Ok(Store {
                pools: Pools::Sqlite { writer, reader },
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
        migrate::run(self).await
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
        Ok(match &self.pools {
            Pools::Sqlite { writer, .. } => Tx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
            Pools::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
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
            Pools::Sqlite { writer, reader } => {
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

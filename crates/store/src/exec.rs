//! One query path for both backends: a statement is built for the backend
//! of the connection at hand and run through sqlx with the same row types.

use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
use sea_query_binder::SqlxBinder;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, FromRow, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

use std::sync::{Arc, Mutex};

use switchboard_core::WorkspaceId;

use crate::Result;
use crate::durable::{Durability, WalSync};

/// Row types that decode from both backends.
pub trait Rows: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Rows for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// Somewhere to run a statement: a pool (autocommit) or an open transaction.
pub enum Exec<'a> {
    SqlitePool(&'a SqlitePool),
    PgPool(&'a PgPool),
    SqliteConn(&'a mut SqliteConnection),
    PgConn(&'a mut PgConnection),
}

macro_rules! run {
    ($self:expr, $stmt:expr, |$sql:ident, $values:ident, $exec:ident| $body:expr) => {
        match $self {
            Exec::SqlitePool(pool) => {
                let ($sql, $values) = $stmt.build_sqlx(SqliteQueryBuilder);
                let $exec = *pool;
                $body
            }
            Exec::PgPool(pool) => {
                let ($sql, $values) = $stmt.build_sqlx(PostgresQueryBuilder);
                let $exec = *pool;
                $body
            }
            Exec::SqliteConn(conn) => {
                let ($sql, $values) = $stmt.build_sqlx(SqliteQueryBuilder);
                let $exec = &mut **conn;
                $body
            }
            Exec::PgConn(conn) => {
                let ($sql, $values) = $stmt.build_sqlx(PostgresQueryBuilder);
                let $exec = &mut **conn;
                $body
            }
        }
    };
}

impl Exec<'_> {
    pub async fn fetch_all<T: Rows>(&mut self, stmt: &impl SqlxBinder) -> Result<Vec<T>> {
        Ok(run!(self, stmt, |sql, values, exec| sqlx::query_as_with(&sql, values)
            .fetch_all(exec)
            .await?))
    }

    pub async fn fetch_optional<T: Rows>(&mut self, stmt: &impl SqlxBinder) -> Result<Option<T>> {
        Ok(run!(self, stmt, |sql, values, exec| sqlx::query_as_with(&sql, values)
            .fetch_optional(exec)
            .await?))
    }

    pub async fn fetch_one<T: Rows>(&mut self, stmt: &impl SqlxBinder) -> Result<T> {
        Ok(run!(self, stmt, |sql, values, exec| sqlx::query_as_with(&sql, values)
            .fetch_one(exec)
            .await?))
    }

    /// Run a write; returns the number of rows it touched.
    pub async fn execute(&mut self, stmt: &impl SqlxBinder) -> Result<u64> {
        Ok(run!(self, stmt, |sql, values, exec| sqlx::query_with(&sql, values)
            .execute(exec)
            .await?
            .rows_affected()))
    }

    /// Several reads in one round trip where the backend allows it (see
    /// [`Exec::execute_all`]): the rows of each statement, in order, to
    /// decode with [`RowSet::decode`].
    pub async fn fetch_sets<S: SqlxBinder>(&mut self, stmts: &[S]) -> Result<Vec<RowSet>> {
        if stmts.is_empty() {
            return Ok(Vec::new());
        }
        let sets = match self {
            Exec::SqlitePool(pool) => {
                let (sql, values) = joined(stmts);
                sqlite_sets(sqlx::Executor::fetch_many(*pool, sqlx::query_with(&sql, values))).await?
            }
            Exec::SqliteConn(conn) => {
                let (sql, values) = joined(stmts);
                sqlite_sets(sqlx::Executor::fetch_many(&mut **conn, sqlx::query_with(&sql, values))).await?
            }
            Exec::PgPool(pool) => {
                let mut sets = Vec::with_capacity(stmts.len());
                for stmt in stmts {
                    let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
                    sets.push(RowSet::Postgres(sqlx::query_with(&sql, values).fetch_all(*pool).await?));
                }
                sets
            }
            Exec::PgConn(conn) => {
                let mut sets = Vec::with_capacity(stmts.len());
                for stmt in stmts {
                    let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
                    sets.push(RowSet::Postgres(
                        sqlx::query_with(&sql, values).fetch_all(&mut **conn).await?,
                    ));
                }
                sets
            }
        };
        if sets.len() != stmts.len() {
            return Err(crate::StoreError::Corrupt(format!(
                "{} statements gave {} results",
                stmts.len(),
                sets.len()
            )));
        }
        Ok(sets)
    }

    /// Run several writes in one round trip where the backend allows it:
    /// SQLite runs them from one text, in order (each hop to its worker
    /// thread costs more than a small statement); PostgreSQL runs them one
    /// by one. Stops at the first failure, like separate calls would.
    pub async fn execute_all<S: SqlxBinder>(&mut self, stmts: &[S]) -> Result<()> {
        match self {
            Exec::SqlitePool(pool) if stmts.len() > 1 => {
                let (sql, values) = joined(stmts);
                sqlx::query_with(&sql, values).execute(*pool).await?;
            }
            Exec::SqliteConn(conn) if stmts.len() > 1 => {
                let (sql, values) = joined(stmts);
                sqlx::query_with(&sql, values).execute(&mut **conn).await?;
            }
            _ => {
                for stmt in stmts {
                    self.execute(stmt).await?;
                }
            }
        }
        Ok(())
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Exec::PgPool(_) | Exec::PgConn(_))
    }
}

/// The rows one statement of [`Exec::fetch_sets`] returned.
pub enum RowSet {
    Sqlite(Vec<SqliteRow>),
    Postgres(Vec<PgRow>),
}

impl RowSet {
    pub fn decode<T: Rows>(&self) -> Result<Vec<T>> {
        Ok(match self {
            RowSet::Sqlite(rows) => rows.iter().map(T::from_row).collect::<sqlx::Result<_>>()?,
            RowSet::Postgres(rows) => rows.iter().map(T::from_row).collect::<sqlx::Result<_>>()?,
        })
    }
}

/// Split what a multi-statement SQLite query returned by statement: each
/// statement's rows end with its result.
async fn sqlite_sets(
    mut results: futures::stream::BoxStream<'_, sqlx::Result<sqlx::Either<sqlx::sqlite::SqliteQueryResult, SqliteRow>>>,
) -> Result<Vec<RowSet>> {
    use futures::TryStreamExt;
    let mut sets = Vec::new();
    let mut rows = Vec::new();
    while let Some(item) = results.try_next().await? {
        match item {
            sqlx::Either::Right(row) => rows.push(row),
            sqlx::Either::Left(_) => sets.push(RowSet::Sqlite(std::mem::take(&mut rows))),
        }
    }
    Ok(sets)
}

/// SQLite statements as one text and their values in order: `?`
/// placeholders bind in sequence across statements (sqlx's SQLite driver
/// runs every statement of a text and binds arguments in order).
fn joined<S: SqlxBinder>(stmts: &[S]) -> (String, sea_query_binder::SqlxValues) {
    let mut sql = String::new();
    let mut values = Vec::new();
    for stmt in stmts {
        let (text, bound) = stmt.build_sqlx(SqliteQueryBuilder);
        sql.push_str(&text);
        sql.push_str(";\n");
        values.extend(bound.0.0);
    }
    (sql, sea_query_binder::SqlxValues(sea_query::Values(values)))
}

/// The connection of an open write transaction (or of a savepoint inside one).
pub enum TxConn<'c> {
    /// With the WAL to sync once it commits (top-level transactions of a
    /// durable store; `None` for savepoints).
    Sqlite(Transaction<'c, Sqlite>, Option<Arc<WalSync>>),
    Postgres(Transaction<'c, Postgres>),
}

/// Told, once a transaction that appended events is durable, which
/// workspaces' logs grew (the service's event hub reads them then).
pub type EventHook = Arc<dyn Fn(&[WorkspaceId]) + Send + Sync>;

/// The workspaces a transaction appended events for, shared with its
/// savepoints (whose appends commit with it).
#[derive(Clone, Default)]
pub(crate) struct Appended(Arc<Mutex<Vec<WorkspaceId>>>);

impl Appended {
    pub(crate) fn add(&self, ws: WorkspaceId) {
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !list.contains(&ws) {
            list.push(ws);
        }
    }

    fn take(&self) -> Vec<WorkspaceId> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// An open write transaction (or a savepoint inside one).
pub struct Tx<'c> {
    pub conn: TxConn<'c>,
    pub(crate) appended: Appended,
    /// `None` for savepoints: their appends are announced by the
    /// transaction they belong to.
    hook: Option<EventHook>,
}

impl<'c> Tx<'c> {
    pub(crate) fn new(conn: TxConn<'c>, hook: Option<EventHook>) -> Self {
        Tx {
            conn,
            appended: Appended::default(),
            hook,
        }
    }

    pub fn exec(&mut self) -> Exec<'_> {
        match &mut self.conn {
            TxConn::Sqlite(tx, _) => Exec::SqliteConn(tx),
            TxConn::Postgres(tx) => Exec::PgConn(tx),
        }
    }

    /// A savepoint: rolling it back undoes only what ran inside it.
    pub async fn savepoint(&mut self) -> Result<Tx<'_>> {
        let conn = match &mut self.conn {
            TxConn::Sqlite(tx, _) => TxConn::Sqlite(tx.begin().await?, None),
            TxConn::Postgres(tx) => TxConn::Postgres(tx.begin().await?),
        };
        Ok(Tx {
            conn,
            appended: self.appended.clone(),
            hook: None,
        })
    }

    /// Commit and return once it is durable.
    pub async fn commit(self) -> Result<()> {
        self.commit_unsynced().await?.wait().await
    }

    /// Commit, releasing the write lock, and return what makes it durable:
    /// the caller may start its next transaction before awaiting that, but
    /// must not report this one as stored until it has. Appended events are
    /// announced once it is.
    pub async fn commit_unsynced(self) -> Result<Durability> {
        let announce = match self.hook {
            Some(hook) => {
                let appended = self.appended.take();
                (!appended.is_empty()).then_some((hook, appended))
            }
            None => None,
        };
        let durability = match self.conn {
            TxConn::Sqlite(tx, wal) => {
                tx.commit().await?;
                match wal {
                    Some(wal) => {
                        let number = wal.committed();
                        Durability::after(wal, number)
                    }
                    None => Durability::done(),
                }
            }
            TxConn::Postgres(tx) => {
                tx.commit().await?;
                Durability::done()
            }
        };
        Ok(durability.announcing(announce))
    }

    pub async fn rollback(self) -> Result<()> {
        match self.conn {
            TxConn::Sqlite(tx, _) => tx.rollback().await?,
            TxConn::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

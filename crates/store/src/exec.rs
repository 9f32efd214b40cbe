//! One query path for both backends: a statement is built for the backend
//! of the connection at hand and run through sqlx with the same row types.

use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
use sea_query_binder::SqlxBinder;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, FromRow, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

use std::sync::Arc;

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

    pub fn is_postgres(&self) -> bool {
        matches!(self, Exec::PgPool(_) | Exec::PgConn(_))
    }
}

/// An open write transaction (or a savepoint inside one).
pub enum Tx<'c> {
    /// With the WAL to sync once it commits (top-level transactions of a
    /// durable store; `None` for savepoints).
    Sqlite(Transaction<'c, Sqlite>, Option<Arc<WalSync>>),
    Postgres(Transaction<'c, Postgres>),
}

impl Tx<'_> {
    pub fn exec(&mut self) -> Exec<'_> {
        match self {
            Tx::Sqlite(tx, _) => Exec::SqliteConn(tx),
            Tx::Postgres(tx) => Exec::PgConn(tx),
        }
    }

    /// A savepoint: rolling it back undoes only what ran inside it.
    pub async fn savepoint(&mut self) -> Result<Tx<'_>> {
        Ok(match self {
            Tx::Sqlite(tx, _) => Tx::Sqlite(tx.begin().await?, None),
            Tx::Postgres(tx) => Tx::Postgres(tx.begin().await?),
        })
    }

    /// Commit and return once it is durable.
    pub async fn commit(self) -> Result<()> {
        self.commit_unsynced().await?.wait().await
    }

    /// Commit, releasing the write lock, and return what makes it durable:
    /// the caller may start its next transaction before awaiting that, but
    /// must not report this one as stored until it has.
    pub async fn commit_unsynced(self) -> Result<Durability> {
        Ok(match self {
            Tx::Sqlite(tx, wal) => {
                tx.commit().await?;
                match wal {
                    Some(wal) => {
                        let number = wal.committed();
                        Durability::after(wal, number)
                    }
                    None => Durability::done(),
                }
            }
            Tx::Postgres(tx) => {
                tx.commit().await?;
                Durability::done()
            }
        })
    }

    pub async fn rollback(self) -> Result<()> {
        match self {
            Tx::Sqlite(tx, _) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

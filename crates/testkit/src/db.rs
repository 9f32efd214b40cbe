//! A fresh database per test: a SQLite file in a temporary folder, or a
//! PostgreSQL schema of its own (dropped afterwards).

use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend this test run targets (`SWITCHBOARD_TEST_DB`).
    pub fn selected() -> Backend {
        match std::env::var("SWITCHBOARD_TEST_DB").as_deref() {
            Ok("postgres") | Ok("pg") => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

pub fn pg_base_url() -> String {
    std::env::var("SWITCHBOARD_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub enum TestDb {
    Sqlite {
        dir: tempfile::TempDir,
    },
    Postgres {
        schema: String,
    },
    /// Handed over to another owner.
    Detached,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestDb({})", self.url())
    }
}

impl TestDb {
    pub async fn new() -> TestDb {
        Self::for_backend(Backend::selected()).await
    }

    pub async fn for_backend(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb::Sqlite {
                dir: tempfile::tempdir().expect("temp dir"),
            },
            Backend::Postgres => {
                let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
                let mut conn = sqlx::PgConnection::connect(&pg_base_url()).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is required for this run ({}) but not reachable: {e}",
                        pg_base_url()
                    )
                });
                sqlx::raw_sql(&format!("CREATE SCHEMA \"{schema}\""))
                    .execute(&mut conn)
                    .await
                    .expect("create schema");
                sweep_stale_schemas(&mut conn).await;
                let _ = conn.close().await;
                TestDb::Postgres { schema }
            }
        }
    }

    /// Whether PostgreSQL answers; under `CI=true` a missing server is a failure.
    pub async fn postgres_available() -> bool {
        let ok = sqlx::PgConnection::connect(&pg_base_url()).await.is_ok();
        if !ok && std::env::var("CI").as_deref() == Ok("true") {
            panic!("PostgreSQL at {} is required under CI=true", pg_base_url());
        }
        ok
    }

    pub fn backend(&self) -> Backend {
        match self {
            TestDb::Postgres { .. } => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }

    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite { dir } => format!("sqlite://{}", dir.path().join("switchboard.db").display()),
            TestDb::Postgres { schema } => {
                let base = pg_base_url();
                let sep = if base.contains('?') { '&' } else { '?' };
                format!("{base}{sep}options=-c%20search_path%3D{schema}")
            }
            TestDb::Detached => String::new(),
        }
    }

    /// The folder of a SQLite database (for tests that start the binary).
    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        match self {
            TestDb::Sqlite { dir } => Some(dir.path()),
            _ => None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { schema } = self {
            let schema = schema.clone();
            // Drop the schema from a thread of its own, without waiting for
            // it: Drop cannot await, and blocking here could stall the very
            // runtime whose tasks still hold locks in the schema. Schemas
            // left behind when the process exits first are swept by age.
            std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                    return;
                };
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_base_url()).await {
                        let sql = format!("SET lock_timeout = '60s'; DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                        let _ = sqlx::raw_sql(&sql).execute(&mut conn).await;
                        let _ = conn.close().await;
                    }
                });
            });
        }
    }
}

/// Drop test schemas older than an hour (their names carry a UUIDv7, whose
/// first 48 bits are the creation time in milliseconds).
async fn sweep_stale_schemas(conn: &mut sqlx::PgConnection) {
    let Ok(names) =
        sqlx::query_scalar::<_, String>("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 't\\_%'")
            .fetch_all(&mut *conn)
            .await
    else {
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    for name in names {
        let created = name.get(2..14).and_then(|hex| u64::from_str_radix(hex, 16).ok());
        if created.is_some_and(|ms| ms + 3_600_000 < now) {
            let sql = format!("SET lock_timeout = '2s'; DROP SCHEMA IF EXISTS \"{name}\" CASCADE");
            let _ = sqlx::raw_sql(&sql).execute(&mut *conn).await;
        }
    }
}

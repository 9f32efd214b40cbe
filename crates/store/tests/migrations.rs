//! The two migration folders stay in step: same versions, same file names,
//! every file embedded, and the schemas they build have the same tables and
//! columns.

use std::collections::BTreeSet;
use std::path::Path;

use sqlx::Connection;
use switchboard_store::{MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE, Store, StoreOptions};

fn files_in(dir: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
    std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn folders_have_the_same_versions_and_every_file_is_embedded() {
    let sqlite: Vec<(i64, &str)> = MIGRATIONS_SQLITE.iter().map(|m| (m.version, m.name)).collect();
    let postgres: Vec<(i64, &str)> = MIGRATIONS_POSTGRES.iter().map(|m| (m.version, m.name)).collect();
    assert_eq!(sqlite, postgres, "both backends list the same migrations");
    for (i, (version, name)) in sqlite.iter().enumerate() {
        assert_eq!(*version, i as i64 + 1, "versions are 1, 2, 3, … without gaps");
        assert!(
            name.starts_with(&format!("{version:04}_")),
            "{name} is named after its version"
        );
    }
    let embedded: BTreeSet<String> = sqlite.iter().map(|(_, n)| (*n).to_owned()).collect();
    assert_eq!(files_in("sqlite"), embedded, "every SQLite migration file is embedded");
    assert_eq!(
        files_in("postgres"),
        embedded,
        "every PostgreSQL migration file is embedded"
    );
}

async fn sqlite_columns(url: &str) -> BTreeSet<(String, String)> {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    rows.into_iter().collect()
}

#[tokio::test]
async fn both_backends_build_the_same_tables_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", dir.path().join("m.db").display());
    let store = Store::connect(&StoreOptions::new(sqlite_url.clone())).await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), (1..=10).collect::<Vec<i64>>());
    assert!(
        store.migrate().await.unwrap().is_empty(),
        "a second run applies nothing"
    );
    store.close().await;
    let sqlite = sqlite_columns(&sqlite_url).await;
    assert!(sqlite.contains(&("conversations".into(), "first_reply_after_assignment_at".into())));

    let base =
        std::env::var("SWITCHBOARD_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let Ok(mut admin) = sqlx::PgConnection::connect(&base).await else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "PostgreSQL is required under CI=true"
        );
        eprintln!("PostgreSQL not reachable at {base}; skipping the PostgreSQL half");
        return;
    };
    let schema = format!("m_{}", uuid::Uuid::now_v7().simple());
    sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let pg_url = format!("{base}?options=-c%20search_path%3D{schema}");
    let store = Store::connect(&StoreOptions::new(pg_url)).await.unwrap();
    let applied = store.migrate().await;
    store.close().await;
    let postgres: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = $1",
    )
    .bind(&schema)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut admin)
        .await
        .unwrap();
    assert_eq!(applied.unwrap(), (1..=10).collect::<Vec<i64>>());
    let postgres: BTreeSet<(String, String)> = postgres.into_iter().collect();
    assert_eq!(sqlite, postgres, "the same tables and columns on both backends");
}

//! The two migration folders stay in step: same versions, same file names,
//! every file embedded, and the schemas they build have the same tables and
//! columns.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common;

use sqlx::Connection;
use switchboard_store::{MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE, Store, StoreOptions};

/// The newest migration's version (each test applies up to it).
const LATEST: i64 = 29;

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
    assert_eq!(store.migrate().await.unwrap(), (1..=LATEST).collect::<Vec<i64>>());
    assert!(
        store.migrate().await.unwrap().is_empty(),
        "a second run applies nothing"
    );
    store.close().await;
    let sqlite = sqlite_columns(&sqlite_url).await;
    assert!(sqlite.contains(&("conversations".into(), "first_reply_after_assignment_at".into())));

    let Some((base, mut admin)) = common::pg_admin().await else {
        return;
    };
    let (schema, pg_url) = common::fresh_schema(&base, &mut admin, "m").await;
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
    common::drop_schema(&mut admin, &schema).await;
    assert_eq!(applied.unwrap(), (1..=LATEST).collect::<Vec<i64>>());
    // The full-text index differs by design: FTS5 tables (and their shadow
    // tables) on SQLite, a stored `search` tsvector column on PostgreSQL.
    let sqlite: BTreeSet<(String, String)> = sqlite
        .into_iter()
        .filter(|(table, _)| !table.contains("_search"))
        .collect();
    assert!(sqlite.contains(&("messages".into(), "search_text".into())));
    let postgres: BTreeSet<(String, String)> = postgres.into_iter().filter(|(_, column)| column != "search").collect();
    assert_eq!(sqlite, postgres, "the same tables and columns on both backends");
}

/// 0011 rebuilds SQLite's `attachments` (to drop a NOT NULL) inside the
/// migration transaction, with foreign keys on: the rows, their indexes
/// and the quick replies that point at them (`ON DELETE SET NULL`, which
/// the rebuild's DROP TABLE would fire) all come through.
#[tokio::test]
async fn sqlite_rebuild_of_attachments_keeps_rows_indexes_and_quick_reply_links() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("PRAGMA foreign_keys = ON")
            .execute(&mut conn)
            .await
            .unwrap();
        let mut tx = conn.begin().await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        for m in MIGRATIONS_SQLITE.iter().filter(|m| m.version <= 10) {
            sqlx::raw_sql(m.sql).execute(&mut *tx).await.unwrap();
            sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)")
                .bind(m.version)
                .bind(m.name)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        sqlx::raw_sql(
            "INSERT INTO workspaces (id, name, created_at) VALUES ('w', 'Acme', 0);
             INSERT INTO channels (id, workspace_id, kind, name, created_at) VALUES ('ch', 'w', 'webchat', 'Site', 0);
             INSERT INTO contacts (id, workspace_id, created_at, updated_at) VALUES ('ct', 'w', 0, 0);
             INSERT INTO conversations (id, workspace_id, channel_id, contact_id, status, created_at, updated_at)
                 VALUES ('cv', 'w', 'ch', 'ct', 'open', 0, 0);
             INSERT INTO attachments (id, workspace_id, conversation_id, uploader_kind, kind, mime, filename, size, sha256, storage_key, created_at)
                 VALUES ('a1', 'w', 'cv', 'user', 'image', 'image/png', 'p.png', 3, 'abc', 'ab/c/abc', 0);
             INSERT INTO quick_replies (id, workspace_id, scope, shortcut, text, attachment_id, created_by, created_at, updated_at)
                 VALUES ('q1', 'w', 'workspace', 'prices', 'Prices', 'a1', 'u', 0, 0);",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        conn.close().await.unwrap();
    }

    let store = Store::connect(&StoreOptions::new(url.clone())).await.unwrap();
    let applied = store.migrate().await.unwrap();
    assert_eq!(applied.first(), Some(&11), "{applied:?}: only what follows 0010");
    store.close().await;

    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let link: (Option<String>,) = sqlx::query_as("SELECT attachment_id FROM quick_replies WHERE id = 'q1'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(link.0.as_deref(), Some("a1"), "the quick reply keeps its file");
    let row: (String, Option<String>) =
        sqlx::query_as("SELECT filename, conversation_id FROM attachments WHERE id = 'a1'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(row, ("p.png".to_owned(), Some("cv".to_owned())));
    let mut indexes: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'attachments' AND sql IS NOT NULL",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    indexes.sort();
    assert_eq!(
        indexes.into_iter().map(|(n,)| n).collect::<Vec<_>>(),
        [
            "attachments_conversation",
            "attachments_message",
            "attachments_preview_key",
            "attachments_storage_key",
            "attachments_workspace"
        ]
    );
    // A file in no conversation is allowed now; the other checks still hold.
    sqlx::raw_sql("PRAGMA foreign_keys = ON")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO attachments (id, workspace_id, uploader_kind, kind, mime, filename, size, sha256, storage_key, created_at) VALUES ('a2', 'w', 'user', 'image', 'image/png', 'l.png', 3, 'abc', 'ab/c/abc', 0)")
        .execute(&mut conn)
        .await
        .unwrap();
    let bad_kind = sqlx::query("INSERT INTO attachments (id, workspace_id, uploader_kind, kind, mime, filename, size, sha256, storage_key, created_at) VALUES ('a3', 'w', 'user', 'program', 'x', 'x', 1, 'x', 'x', 0)")
        .execute(&mut conn)
        .await;
    assert!(bad_kind.is_err(), "the kind check survives the rebuild");
    let orphan = sqlx::query("INSERT INTO attachments (id, workspace_id, conversation_id, uploader_kind, kind, mime, filename, size, sha256, storage_key, created_at) VALUES ('a4', 'w', 'nope', 'user', 'image', 'x', 'x', 1, 'x', 'x', 0)")
        .execute(&mut conn)
        .await;
    assert!(orphan.is_err(), "the conversation reference survives the rebuild");
    let fk_errors: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert!(fk_errors.is_empty(), "{fk_errors:?}");
}

/// Messages and contacts written before search existed are folded once
/// when the store opens after 0019 and 0021, so old text is found like new.
#[tokio::test]
async fn text_written_before_search_is_indexed_by_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        for m in MIGRATIONS_SQLITE.iter().filter(|m| m.version <= 18) {
            sqlx::raw_sql(m.sql).execute(&mut *tx).await.unwrap();
            sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)")
                .bind(m.version)
                .bind(m.name)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        sqlx::raw_sql(
            "INSERT INTO workspaces (id, name, created_at) VALUES ('w', 'Acme', 0);
             INSERT INTO channels (id, workspace_id, kind, name, created_at) VALUES ('ch', 'w', 'api', 'Shop', 0);
             INSERT INTO contacts (id, workspace_id, name, created_at, updated_at) VALUES ('ct', 'w', 'Renée Dupont', 0, 0);
             INSERT INTO conversations (id, workspace_id, channel_id, contact_id, status, created_at, updated_at)
                 VALUES ('cv', 'w', 'ch', 'ct', 'queued', 0, 0);
             INSERT INTO messages (id, workspace_id, conversation_id, channel_id, direction, sender_kind, kind, body, created_at)
                 VALUES ('m1', 'w', 'cv', 'ch', 'in', 'contact', 'text', 'Ma CRÈME brûlée', 0);",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        conn.close().await.unwrap();
    }
    let store = Store::connect(&StoreOptions::new(url.clone())).await.unwrap();
    let applied = store.migrate().await.unwrap();
    assert_eq!(applied, (19..=LATEST).collect::<Vec<i64>>());
    store.close().await;
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let hit: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM messages WHERE rowid IN (SELECT rowid FROM message_search WHERE message_search MATCH '\"creme brulee\"')",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(hit, [("m1".to_owned(),)]);
    let contact: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM contacts WHERE rowid IN (SELECT rowid FROM contact_search WHERE contact_search MATCH 'renee')",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(contact, [("ct".to_owned(),)]);
}

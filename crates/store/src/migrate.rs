//! Migrations: two folders (SQLite and PostgreSQL dialects) with the same
//! versions, embedded in the binary and applied in order at start.

use sqlx::Executor;

use crate::{Result, Store, StoreError};

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migrations {
    ($dir:literal: $($version:literal => $name:literal),* $(,)?) => {
        &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../migrations/", $dir, "/", $name)),
        }),*]
    };
}

pub static MIGRATIONS_SQLITE: &[Migration] = migrations!("sqlite": 1 => "0001_init.sql", 2 => "0002_webhooks.sql", 3 => "0003_attachments.sql", 4 => "0004_channel_settings.sql", 5 => "0005_routing.sql", 6 => "0006_bots.sql", 7 => "0007_quick_replies.sql", 8 => "0008_notifications.sql", 9 => "0009_templates.sql", 10 => "0010_contact_tags.sql", 11 => "0011_library_attachments.sql", 12 => "0012_retention.sql", 13 => "0013_conversations_newest.sql", 14 => "0014_attachment_previews.sql", 15 => "0015_template_parts.sql", 16 => "0016_campaigns.sql", 17 => "0017_invitations.sql", 18 => "0018_template_quality.sql", 19 => "0019_archive.sql", 20 => "0020_saved_filters.sql", 21 => "0021_contact_search.sql", 22 => "0022_monthly_archives.sql", 23 => "0023_reports.sql", 24 => "0024_assist.sql", 25 => "0025_event_log.sql", 26 => "0026_message_edits.sql", 27 => "0027_channel_hook_status.sql", 28 => "0028_message_subjects.sql", 29 => "0029_started_by.sql");
pub static MIGRATIONS_POSTGRES: &[Migration] = migrations!("postgres": 1 => "0001_init.sql", 2 => "0002_webhooks.sql", 3 => "0003_attachments.sql", 4 => "0004_channel_settings.sql", 5 => "0005_routing.sql", 6 => "0006_bots.sql", 7 => "0007_quick_replies.sql", 8 => "0008_notifications.sql", 9 => "0009_templates.sql", 10 => "0010_contact_tags.sql", 11 => "0011_library_attachments.sql", 12 => "0012_retention.sql", 13 => "0013_conversations_newest.sql", 14 => "0014_attachment_previews.sql", 15 => "0015_template_parts.sql", 16 => "0016_campaigns.sql", 17 => "0017_invitations.sql", 18 => "0018_template_quality.sql", 19 => "0019_archive.sql", 20 => "0020_saved_filters.sql", 21 => "0021_contact_search.sql", 22 => "0022_monthly_archives.sql", 23 => "0023_reports.sql", 24 => "0024_assist.sql", 25 => "0025_event_log.sql", 26 => "0026_message_edits.sql", 27 => "0027_channel_hook_status.sql", 28 => "0028_message_subjects.sql", 29 => "0029_started_by.sql");

/// The migration that added full-text search (and legal hold).
pub(crate) const SEARCH_VERSION: i64 = 19;
/// The migration that added contact search.
pub(crate) const CONTACT_SEARCH_VERSION: i64 = 21;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

pub(crate) async fn run(store: &Store) -> Result<Vec<i64>> {
    let mut applied_now = Vec::new();
    let migrations = match store.backend() {
        crate::Backend::Sqlite => MIGRATIONS_SQLITE,
        crate::Backend::Postgres => MIGRATIONS_POSTGRES,
    };
    let mut tx = store.begin().await?;
    if let crate::TxConn::Postgres(t) = &mut tx.conn {
        // Several nodes may start at once: one migrates, the others wait.
        t.execute("SELECT pg_advisory_xact_lock(727274)").await?;
    }
    run_raw(&mut tx, CREATE_TABLE).await?;
    let done: Vec<(i64,)> = tx
        .exec()
        .fetch_all(
            sea_query::Query::select()
                .column(sea_query::Alias::new("version"))
                .from(sea_query::Alias::new("schema_migrations")),
        )
        .await?;
    for m in migrations {
        if done.iter().any(|(v,)| *v == m.version) {
            continue;
        }
        run_raw(&mut tx, m.sql).await.map_err(|e| match e {
            StoreError::Database(source) => StoreError::Migration {
                version: m.version,
                source,
            },
            other => other,
        })?;
        tx.exec()
            .execute(
                sea_query::Query::insert()
                    .into_table(sea_query::Alias::new("schema_migrations"))
                    .columns(["version", "name", "applied_at"].map(sea_query::Alias::new))
                    .values_panic([m.version.into(), m.name.into(), crate::repo::now_ms().into()]),
            )
            .await?;
        applied_now.push(m.version);
    }
    tx.commit().await?;
    Ok(applied_now)
}

async fn run_raw(tx: &mut crate::Tx<'_>, sql: &str) -> Result<()> {
    match &mut tx.conn {
        crate::TxConn::Sqlite(t, _) => {
            t.execute(sql).await?;
        }
        crate::TxConn::Postgres(t) => {
            t.execute(sql).await?;
        }
    }
    Ok(())
}

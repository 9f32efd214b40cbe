//! Durable SQLite commits without holding the write lock through the fsync.
//!
//! With `synchronous=FULL` SQLite fsyncs the WAL inside `COMMIT`, while the
//! one writer connection is held: every writer waits for every fsync. With
//! `synchronous=NORMAL` a commit only writes its WAL frames; this module
//! then fsyncs the WAL file itself before the commit counts as durable. The
//! connection is free again as soon as the frames are written, so the next
//! transaction runs while the disk works, and one fsync covers every
//! commit written before it started (WAL frames are appended in order and
//! recovery keeps the longest valid prefix). The guarantee is the one FULL
//! gives: nothing is reported durable before an fsync that covers it.
//!
//! When SQLite resets or removes the WAL it has checkpointed its frames
//! into the database file and synced that first (NORMAL syncs around every
//! checkpoint), so a missing WAL file means there is nothing left to sync.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::{Result, StoreError};

/// The WAL file of one SQLite database and how far it is known durable.
#[derive(Debug)]
pub struct WalSync {
    path: PathBuf,
    /// Commits written so far (numbered from 1).
    written: AtomicU64,
    /// The highest commit number an fsync has covered. Held across the
    /// fsync, so concurrent waiters share one instead of queueing theirs.
    synced: tokio::sync::Mutex<u64>,
    /// Set when the store closes: the checkpointer ends.
    stopped: AtomicBool,
    stop: tokio::sync::Notify,
    /// Signalled by every commit: the checkpointer has work.
    commits: tokio::sync::Notify,
}

impl WalSync {
    /// The WAL beside the database file at `database`.
    pub(crate) fn new(database: &std::path::Path) -> WalSync {
        let mut path = database.as_os_str().to_owned();
        path.push("-wal");
        WalSync {
            path: PathBuf::from(path),
            written: AtomicU64::new(0),
            synced: tokio::sync::Mutex::new(0),
            stopped: AtomicBool::new(false),
            stop: tokio::sync::Notify::new(),
            commits: tokio::sync::Notify::new(),
        }
    }

    /// End the checkpointer (the store is closing).
    pub(crate) fn stop_checkpointer(&self) {
        self.stopped.store(true, Ordering::Release);
        self.stop.notify_one();
    }

    /// Count a commit whose frames are written; returns its number.
    pub(crate) fn committed(&self) -> u64 {
        let number = self.written.fetch_add(1, Ordering::AcqRel) + 1;
        self.commits.notify_one();
        number
    }

    /// Return once commit `number` is on disk.
    pub(crate) async fn sync_through(&self, number: u64) -> Result<()> {
        let mut synced = self.synced.lock().await;
        if *synced >= number {
            return Ok(());
        }
        // Every commit counted by now wrote its frames before this fsync.
        let covers = self.written.load(Ordering::Acquire);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || match std::fs::OpenOptions::new().write(true).open(&path) {
            Ok(file) => file.sync_data(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        })
        .await
        .map_err(|e| StoreError::Durability(format!("the WAL sync stopped: {e}")))?
        .map_err(|e| StoreError::Durability(format!("syncing {}: {e}", self.path.display())))?;
        *synced = covers.max(*synced);
        Ok(())
    }
}

/// The least time between two checkpoints while commits keep coming. Short,
/// so that little is left to copy when the writer checkpoints itself at
/// [`WRITER_CHECKPOINT_PAGES`]: that copy and its fsyncs happen inside a
/// commit, and with 50 ms between checkpoints they made 8–16 ms commits,
/// the tail of ingest's acknowledgement times (ingest_bench). The price is
/// some throughput (hot pages are copied more often): about 7% on a 2-core
/// machine, for a p99 about 25% lower. Spacing by the WAL's size instead
/// (50 ms, 5 ms only past half the bound) kept the price and lost most of
/// the gain.
const CHECKPOINT_SPACING: Duration = Duration::from_millis(5);

/// How often an idle checkpointer looks whether its store is gone.
const CHECKPOINT_IDLE_CHECK: Duration = Duration::from_secs(1);

/// WAL pages after which the writer checkpoints itself (`wal_autocheckpoint`;
/// 16 MB at 4 KB pages): the bound on the WAL's size under steady writes.
pub(crate) const WRITER_CHECKPOINT_PAGES: u32 = 4096;

/// Copy committed WAL frames into the database file from a connection of
/// its own, so the writer seldom does that work while holding the write
/// lock (it still checkpoints past [`WRITER_CHECKPOINT_PAGES`], to restart
/// the WAL). A passive checkpoint runs beside writers and readers without
/// waiting for them; SQLite syncs the WAL before and the database file
/// after it (`synchronous=NORMAL`). Runs when there are new commits, at
/// most once per [`CHECKPOINT_SPACING`]; ends when the store closes or is
/// dropped.
pub(crate) fn spawn_checkpointer(options: SqliteConnectOptions, wal: &Arc<WalSync>) {
    let wal: Weak<WalSync> = Arc::downgrade(wal);
    tokio::spawn(async move {
        let mut connection: Option<SqliteConnection> = None;
        let mut checkpointed = 0;
        while let Some(sync) = wal.upgrade() {
            if sync.stopped.load(Ordering::Acquire) {
                break;
            }
            let written = sync.written.load(Ordering::Acquire);
            let idle = written <= checkpointed;
            if !idle {
                match checkpoint(&mut connection, &options).await {
                    Ok(()) => checkpointed = written,
                    Err(e) => {
                        tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
                        connection = None;
                    }
                }
            }
            // After a checkpoint, let commits gather; when idle, wait for a
            // commit (a commit made since `written` was read left a permit),
            // waking now and then to notice a dropped store: this task holds
            // only a weak link to it.
            tokio::select! {
                () = sync.stop.notified() => {}
                () = sync.commits.notified(), if idle => {}
                () = tokio::time::sleep(if idle { CHECKPOINT_IDLE_CHECK } else { CHECKPOINT_SPACING }) => {}
            }
        }
        if let Some(connection) = connection {
            let _ = connection.close().await;
        }
    });
}

async fn checkpoint(connection: &mut Option<SqliteConnection>, options: &SqliteConnectOptions) -> sqlx::Result<()> {
    let connection = match connection {
        Some(c) => c,
        None => connection.insert(SqliteConnection::connect_with(options).await?),
    };
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .execute(connection)
        .await?;
    Ok(())
}

/// A committed transaction that may not be on disk yet. [`wait`](Self::wait)
/// returns once it is; until then, do not report it as stored.
#[must_use = "a commit is durable only once `wait` returns"]
pub struct Durability {
    pending: Option<(Arc<WalSync>, u64)>,
    /// Workspaces whose event logs grew, to announce once durable.
    announce: Option<(crate::EventHook, Vec<switchboard_core::WorkspaceId>)>,
}

impl std::fmt::Debug for Durability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durability")
            .field("pending", &self.pending.as_ref().map(|(_, n)| n))
            .finish_non_exhaustive()
    }
}

impl Durability {
    /// Already durable (PostgreSQL, or SQLite that synced in `COMMIT`).
    pub(crate) fn done() -> Durability {
        Durability {
            pending: None,
            announce: None,
        }
    }

    pub(crate) fn after(wal: Arc<WalSync>, number: u64) -> Durability {
        Durability {
            pending: Some((wal, number)),
            announce: None,
        }
    }

    pub(crate) fn announcing(
        mut self,
        announce: Option<(crate::EventHook, Vec<switchboard_core::WorkspaceId>)>,
    ) -> Self {
        self.announce = announce;
        self
    }

    pub async fn wait(self) -> Result<()> {
        if let Some((wal, number)) = self.pending {
            wal.sync_through(number).await?;
        }
        if let Some((hook, workspaces)) = self.announce {
            hook(&workspaces);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_fsync_covers_every_commit_written_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(dir.path().join("x.db-wal"), b"frames").unwrap();
        let wal = WalSync::new(&db);
        let (a, b) = (wal.committed(), wal.committed());
        wal.sync_through(a).await.unwrap();
        // The first sync started after both commits: the second is covered.
        assert_eq!(*wal.synced.lock().await, b);
        let c = wal.committed();
        wal.sync_through(c).await.unwrap();
        assert_eq!(*wal.synced.lock().await, c);
    }

    #[tokio::test]
    async fn a_removed_wal_has_nothing_to_sync() {
        let dir = tempfile::tempdir().unwrap();
        let wal = WalSync::new(&dir.path().join("gone.db"));
        let n = wal.committed();
        wal.sync_through(n).await.unwrap();
    }
}

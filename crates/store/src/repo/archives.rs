//! Monthly archives: which workspaces write them, which closed months are
//! not archived yet, and the archives written.

use sea_query::{Cond, Expr, Func, Order, Query, SimpleExpr};
use switchboard_core::{ConversationStatus, Millis, WorkspaceId};

use crate::schema::*;
use crate::{Exec, Result, parse};

/// A month written to storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyArchive {
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub from: Millis,
    pub before: Millis,
    pub storage_key: String,
    pub conversations: u64,
    pub bytes: u64,
    pub created_at: Millis,
}

type ArchiveRow = (String, i64, i64, String, i64, i64, i64);

fn closed_statuses() -> Vec<&'static str> {
    ConversationStatus::ALL
        .iter()
        .filter(|s| s.is_closed())
        .map(|s| s.as_str())
        .collect()
}

/// Conversations of `ws` whose closing time a written archive covers.
pub(crate) fn archived(ws: WorkspaceId) -> SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(MonthlyArchives::Table)
            .and_where(Expr::col((MonthlyArchives::Table, MonthlyArchives::WorkspaceId)).eq(ws.to_string()))
            .and_where(
                Expr::col((MonthlyArchives::Table, MonthlyArchives::FromMs))
                    .lte(Expr::col((Conversations::Table, Conversations::ClosedAt))),
            )
            .and_where(
                Expr::col((MonthlyArchives::Table, MonthlyArchives::BeforeMs))
                    .gt(Expr::col((Conversations::Table, Conversations::ClosedAt))),
            )
            .to_owned(),
    )
}

/// Retention may purge a conversation of `ws` only when the workspace
/// writes no monthly archives, or one covers it.
pub(crate) fn purge_allowed_by_archives(ws: WorkspaceId) -> Cond {
    let writes_archives = Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(Workspaces::Table)
            .and_where(Expr::col((Workspaces::Table, Workspaces::Id)).eq(ws.to_string()))
            .and_where(Expr::col((Workspaces::Table, Workspaces::MonthlyArchive)).eq(true))
            .to_owned(),
    );
    Cond::any().add(writes_archives.not()).add(archived(ws))
}

impl Exec<'_> {
    pub async fn workspace_monthly_archive(&mut self, ws: WorkspaceId) -> Result<bool> {
        let row: Option<(bool,)> = self
            .fetch_optional(
                Query::select()
                    .column(Workspaces::MonthlyArchive)
                    .from(Workspaces::Table)
                    .and_where(Expr::col(Workspaces::Id).eq(ws.to_string())),
            )
            .await?;
        Ok(row.is_some_and(|(on,)| on))
    }

    pub async fn set_workspace_monthly_archive(&mut self, ws: WorkspaceId, on: bool) -> Result<u64> {
        self.execute(
            Query::update()
                .table(Workspaces::Table)
                .value(Workspaces::MonthlyArchive, on)
                .and_where(Expr::col(Workspaces::Id).eq(ws.to_string())),
        )
        .await
    }

    pub async fn workspaces_writing_archives(&mut self) -> Result<Vec<WorkspaceId>> {
        let rows: Vec<(String,)> = self
            .fetch_all(
                Query::select()
                    .column(Workspaces::Id)
                    .from(Workspaces::Table)
                    .and_where(Expr::col(Workspaces::MonthlyArchive).eq(true)),
            )
            .await?;
        rows.iter().map(|(id,)| parse("workspace id", id)).collect()
    }

    /// The earliest closing time, before `before`, that no archive covers.
    pub async fn oldest_unarchived_close(&mut self, ws: WorkspaceId, before: Millis) -> Result<Option<Millis>> {
        let (at,): (Option<i64>,) = self
            .fetch_one(
                Query::select()
                    .expr(Func::min(Expr::col((Conversations::Table, Conversations::ClosedAt))))
                    .from(Conversations::Table)
                    .and_where(Expr::col((Conversations::Table, Conversations::WorkspaceId)).eq(ws.to_string()))
                    .and_where(Expr::col((Conversations::Table, Conversations::Status)).is_in(closed_statuses()))
                    .and_where(Expr::col((Conversations::Table, Conversations::ClosedAt)).lt(before.0))
                    .and_where(archived(ws).not()),
            )
            .await?;
        Ok(at.map(Millis))
    }

    /// The closed conversations of `ws` closed in [from, before), oldest first.
    pub async fn closed_between(&mut self, ws: WorkspaceId, from: Millis, before: Millis) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = self
            .fetch_all(
                Query::select()
                    .column(Conversations::Id)
                    .from(Conversations::Table)
                    .and_where(Expr::col(Conversations::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Conversations::Status).is_in(closed_statuses()))
                    .and_where(Expr::col(Conversations::ClosedAt).gte(from.0))
                    .and_where(Expr::col(Conversations::ClosedAt).lt(before.0))
                    .order_by(Conversations::Id, Order::Asc),
            )
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    pub async fn insert_monthly_archive(&mut self, ws: WorkspaceId, a: &MonthlyArchive) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(MonthlyArchives::Table)
                .columns([
                    MonthlyArchives::WorkspaceId,
                    MonthlyArchives::Month,
                    MonthlyArchives::FromMs,
                    MonthlyArchives::BeforeMs,
                    MonthlyArchives::StorageKey,
                    MonthlyArchives::Conversations,
                    MonthlyArchives::Bytes,
                    MonthlyArchives::CreatedAt,
                ])
                .values_panic([
                    ws.to_string().into(),
                    a.month.clone().into(),
                    a.from.0.into(),
                    a.before.0.into(),
                    a.storage_key.clone().into(),
                    (a.conversations as i64).into(),
                    (a.bytes as i64).into(),
                    a.created_at.0.into(),
                ]),
        )
        .await?;
        Ok(())
    }

    /// The workspace's archives, newest month first.
    pub async fn monthly_archives(&mut self, ws: WorkspaceId) -> Result<Vec<MonthlyArchive>> {
        let rows: Vec<ArchiveRow> = self
            .fetch_all(
                Query::select()
                    .columns([
                        MonthlyArchives::Month,
                        MonthlyArchives::FromMs,
                        MonthlyArchives::BeforeMs,
                        MonthlyArchives::StorageKey,
                        MonthlyArchives::Conversations,
                        MonthlyArchives::Bytes,
                        MonthlyArchives::CreatedAt,
                    ])
                    .from(MonthlyArchives::Table)
                    .and_where(Expr::col(MonthlyArchives::WorkspaceId).eq(ws.to_string()))
                    .order_by(MonthlyArchives::Month, Order::Desc),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(month, from, before, key, conversations, bytes, created)| MonthlyArchive {
                    month,
                    from: Millis(from),
                    before: Millis(before),
                    storage_key: key,
                    conversations: conversations.max(0) as u64,
                    bytes: bytes.max(0) as u64,
                    created_at: Millis(created),
                },
            )
            .collect())
    }
}

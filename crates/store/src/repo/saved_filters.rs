//! A member's saved archive filters.

use sea_query::{Expr, Order, Query};
use switchboard_core::{Millis, SavedFilterId, UserId, WorkspaceId};

use crate::schema::SavedFilters;
use crate::{Exec, Result, parse};

/// A named filter: the list's query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedFilter {
    pub id: SavedFilterId,
    pub name: String,
    pub query: String,
    pub created_at: Millis,
}

impl Exec<'_> {
    pub async fn saved_filters(&mut self, ws: WorkspaceId, user: UserId) -> Result<Vec<SavedFilter>> {
        let rows: Vec<(String, String, String, i64)> = self
            .fetch_all(
                Query::select()
                    .columns([
                        SavedFilters::Id,
                        SavedFilters::Name,
                        SavedFilters::Query,
                        SavedFilters::CreatedAt,
                    ])
                    .from(SavedFilters::Table)
                    .and_where(Expr::col(SavedFilters::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(SavedFilters::UserId).eq(user.to_string()))
                    .order_by(SavedFilters::Name, Order::Asc),
            )
            .await?;
        rows.into_iter()
            .map(|(id, name, query, created_at)| {
                Ok(SavedFilter {
                    id: parse("saved filter id", &id)?,
                    name,
                    query,
                    created_at: Millis(created_at),
                })
            })
            .collect()
    }

    /// Fails with a conflict when the member has a filter of that name.
    pub async fn insert_saved_filter(&mut self, ws: WorkspaceId, user: UserId, f: &SavedFilter) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(SavedFilters::Table)
                .columns([
                    SavedFilters::Id,
                    SavedFilters::WorkspaceId,
                    SavedFilters::UserId,
                    SavedFilters::Name,
                    SavedFilters::Query,
                    SavedFilters::CreatedAt,
                ])
                .values_panic([
                    f.id.to_string().into(),
                    ws.to_string().into(),
                    user.to_string().into(),
                    f.name.clone().into(),
                    f.query.clone().into(),
                    f.created_at.0.into(),
                ]),
        )
        .await?;
        Ok(())
    }

    /// `false` when the member has no such filter.
    pub async fn delete_saved_filter(&mut self, ws: WorkspaceId, user: UserId, id: SavedFilterId) -> Result<bool> {
        let n = self
            .execute(
                Query::delete()
                    .from_table(SavedFilters::Table)
                    .and_where(Expr::col(SavedFilters::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(SavedFilters::UserId).eq(user.to_string()))
                    .and_where(Expr::col(SavedFilters::Id).eq(id.to_string())),
            )
            .await?;
        Ok(n > 0)
    }
}

//! Invitations to a workspace, and the per-workspace display name of a
//! member.

use sea_query::{Expr, Order, Query};
use switchboard_core::{Millis, Role, TeamId, UserId, WorkspaceId};

use crate::schema::{Invitations as I, Memberships};
use crate::{Exec, Result, StoreError, parse};

/// An invitation as stored (the token only as its hash).
#[derive(Debug, Clone)]
pub struct InvitationRecord {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub capacity: i64,
    pub team_ids: Vec<TeamId>,
    pub token_hash: String,
    pub invited_by: UserId,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub accepted_at: Option<Millis>,
}

#[derive(Debug, sqlx::FromRow)]
struct InvitationRow {
    id: String,
    workspace_id: String,
    email: String,
    display_name: String,
    role: String,
    capacity: i64,
    team_ids: String,
    token_hash: String,
    invited_by: String,
    created_at: i64,
    expires_at: i64,
    accepted_at: Option<i64>,
}

impl InvitationRow {
    fn into_record(self) -> Result<InvitationRecord> {
        Ok(InvitationRecord {
            id: self.id,
            workspace_id: parse("workspace id", &self.workspace_id)?,
            email: self.email,
            display_name: self.display_name,
            role: parse("role", &self.role)?,
            capacity: self.capacity,
            team_ids: serde_json::from_str(&self.team_ids)
                .map_err(|e| StoreError::Corrupt(format!("invitation teams: {e}")))?,
            token_hash: self.token_hash,
            invited_by: parse("user id", &self.invited_by)?,
            created_at: Millis(self.created_at),
            expires_at: Millis(self.expires_at),
            accepted_at: self.accepted_at.map(Millis),
        })
    }
}

const COLUMNS: [I; 12] = [
    I::Id,
    I::WorkspaceId,
    I::Email,
    I::DisplayName,
    I::Role,
    I::Capacity,
    I::TeamIds,
    I::TokenHash,
    I::InvitedBy,
    I::CreatedAt,
    I::ExpiresAt,
    I::AcceptedAt,
];

impl Exec<'_> {
    pub async fn insert_invitation(&mut self, i: &InvitationRecord) -> Result<()> {
        self.execute(Query::insert().into_table(I::Table).columns(COLUMNS).values_panic([
            i.id.clone().into(),
            i.workspace_id.to_string().into(),
            i.email.clone().into(),
            i.display_name.clone().into(),
            i.role.as_str().into(),
            i.capacity.into(),
            serde_json::to_string(&i.team_ids).unwrap_or_default().into(),
            i.token_hash.clone().into(),
            i.invited_by.to_string().into(),
            i.created_at.0.into(),
            i.expires_at.0.into(),
            i.accepted_at.map(|t| t.0).into(),
        ]))
        .await?;
        Ok(())
    }

    pub async fn invitation_by_token_hash(&mut self, hash: &str) -> Result<Option<InvitationRecord>> {
        let row: Option<InvitationRow> = self
            .fetch_optional(
                Query::select()
                    .columns(COLUMNS)
                    .from(I::Table)
                    .and_where(Expr::col(I::TokenHash).eq(hash)),
            )
            .await?;
        row.map(InvitationRow::into_record).transpose()
    }

    /// A workspace's invitations not accepted yet, newest first.
    pub async fn open_invitations(&mut self, ws: WorkspaceId) -> Result<Vec<InvitationRecord>> {
        let rows: Vec<InvitationRow> = self
            .fetch_all(
                Query::select()
                    .columns(COLUMNS)
                    .from(I::Table)
                    .and_where(Expr::col(I::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(I::AcceptedAt).is_null())
                    .order_by(I::Id, Order::Desc),
            )
            .await?;
        rows.into_iter().map(InvitationRow::into_record).collect()
    }

    /// Mark an open invitation accepted; false when it was not open.
    pub async fn accept_invitation(&mut self, id: &str, now: Millis) -> Result<bool> {
        let n = self
            .execute(
                Query::update()
                    .table(I::Table)
                    .value(I::AcceptedAt, now.0)
                    .and_where(Expr::col(I::Id).eq(id))
                    .and_where(Expr::col(I::AcceptedAt).is_null()),
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn delete_invitation(&mut self, ws: WorkspaceId, id: &str) -> Result<u64> {
        self.execute(
            Query::delete()
                .from_table(I::Table)
                .and_where(Expr::col(I::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(I::Id).eq(id))
                .and_where(Expr::col(I::AcceptedAt).is_null()),
        )
        .await
    }

    /// The workspace's name for a member (`None`: their own).
    pub async fn set_display_name(&mut self, ws: WorkspaceId, user: UserId, name: Option<&str>) -> Result<u64> {
        self.execute(
            Query::update()
                .table(Memberships::Table)
                .value(Memberships::DisplayName, name)
                .and_where(Expr::col(Memberships::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(Memberships::UserId).eq(user.to_string())),
        )
        .await
    }
}

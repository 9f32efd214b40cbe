//! Workspaces, users, memberships, sessions, API tokens, instance settings
//! and the audit log.

use sea_query::{Expr, Order, Query};
use switchboard_core::{
    ApiToken, ApiTokenId, Availability, Member, Millis, Role, TeamId, UserId, Workspace, WorkspaceId,
};

use crate::schema::*;
use crate::{Exec, Page, Result, page_of, parse};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkspaceRow {
    pub id: String,
    pub name: String,
    pub time_zone: String,
    pub created_at: i64,
}

impl WorkspaceRow {
    pub fn into_domain(self) -> Result<Workspace> {
        Ok(Workspace {
            id: parse("workspace id", &self.id)?,
            name: self.name,
            time_zone: self.time_zone,
            created_at: Millis(self.created_at),
        })
    }
}

/// A user with the secret parts, for authentication only.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub availability: String,
    pub capacity: i64,
    pub created_at: i64,
}

impl MemberRow {
    pub fn into_domain(self, team_ids: Vec<TeamId>) -> Result<Member> {
        Ok(Member {
            id: parse("user id", &self.id)?,
            email: self.email,
            name: self.name,
            role: parse("role", &self.role)?,
            availability: parse("availability", &self.availability)?,
            capacity: self.capacity,
            team_ids,
            created_at: Millis(self.created_at),
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub token_hash: String,
    pub user_id: String,
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiTokenRow {
    pub id: String,
    pub workspace_id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ApiTokenRow {
    pub fn into_domain(self) -> Result<ApiToken> {
        Ok(ApiToken {
            id: parse("token id", &self.id)?,
            workspace_id: parse("workspace id", &self.workspace_id)?,
            user_id: parse("user id", &self.user_id)?,
            name: self.name,
            prefix: self.prefix,
            created_at: Millis(self.created_at),
            last_used_at: self.last_used_at.map(Millis),
            revoked_at: self.revoked_at.map(Millis),
        })
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub workspace_id: Option<WorkspaceId>,
    pub actor_id: Option<UserId>,
    pub action: &'a str,
    pub target_kind: Option<&'a str>,
    pub target_id: Option<String>,
    pub details: serde_json::Value,
}

/// An entry of the audit log as listed, with the actor's name and e-mail.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub actor_email: Option<String>,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub details: String,
    pub created_at: i64,
}

/// Which audit entries a page holds.
#[derive(Debug, Clone)]
pub struct AuditFilter {
    /// Only this action, e.g. `member.role_changed`.
    pub action: Option<String>,
    /// The last id of the previous page.
    pub cursor: Option<switchboard_core::AuditId>,
    pub limit: u64,
}

fn member_select() -> sea_query::SelectStatement {
    Query::select()
        .expr_as(Expr::col((Users::Table, Users::Id)), sea_query::Alias::new("id"))
        .column((Users::Table, Users::Email))
        // The workspace's name for them, else their own.
        .expr_as(
            sea_query::Func::coalesce([
                Expr::col((Memberships::Table, Memberships::DisplayName)).into(),
                Expr::col((Users::Table, Users::Name)).into(),
            ]),
            sea_query::Alias::new("name"),
        )
        .column((Memberships::Table, Memberships::Role))
        .column((Memberships::Table, Memberships::Availability))
        .column((Memberships::Table, Memberships::Capacity))
        .expr_as(
            Expr::col((Memberships::Table, Memberships::CreatedAt)),
            sea_query::Alias::new("created_at"),
        )
        .from(Memberships::Table)
        .inner_join(
            Users::Table,
            Expr::col((Users::Table, Users::Id)).equals((Memberships::Table, Memberships::UserId)),
        )
        .to_owned()
}

impl Exec<'_> {
    pub async fn setting(&mut self, key: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = self
            .fetch_optional(
                Query::select()
                    .column(InstanceSettings::Value)
                    .from(InstanceSettings::Table)
                    .and_where(Expr::col(InstanceSettings::Key).eq(key)),
            )
            .await?;
        Ok(row.map(|r| r.0))
    }

    pub async fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(InstanceSettings::Table)
                .columns([InstanceSettings::Key, InstanceSettings::Value])
                .values_panic([key.into(), value.into()])
                .on_conflict(
                    sea_query::OnConflict::column(InstanceSettings::Key)
                        .update_column(InstanceSettings::Value)
                        .to_owned(),
                ),
        )
        .await?;
        Ok(())
    }

    /// Store `value` under `key` unless one is there; return what is stored.
    pub async fn init_setting(&mut self, key: &str, value: &str) -> Result<String> {
        self.execute(
            Query::insert()
                .into_table(InstanceSettings::Table)
                .columns([InstanceSettings::Key, InstanceSettings::Value])
                .values_panic([key.into(), value.into()])
                .on_conflict(
                    sea_query::OnConflict::column(InstanceSettings::Key)
                        .do_nothing()
                        .to_owned(),
                ),
        )
        .await?;
        Ok(self.setting(key).await?.unwrap_or_else(|| value.to_owned()))
    }

    pub async fn delete_setting(&mut self, key: &str) -> Result<u64> {
        self.execute(
            Query::delete()
                .from_table(InstanceSettings::Table)
                .and_where(Expr::col(InstanceSettings::Key).eq(key)),
        )
        .await
    }

    pub async fn count_users(&mut self) -> Result<i64> {
        let (n,): (i64,) = self
            .fetch_one(Query::select().expr(Expr::col(Users::Id).count()).from(Users::Table))
            .await?;
        Ok(n)
    }

    pub async fn insert_workspace(&mut self, w: &Workspace) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(Workspaces::Table)
                .columns([
                    Workspaces::Id,
                    Workspaces::Name,
                    Workspaces::TimeZone,
                    Workspaces::CreatedAt,
                ])
                .values_panic([
                    w.id.to_string().into(),
                    w.name.clone().into(),
                    w.time_zone.clone().into(),
                    w.created_at.0.into(),
                ]),
        )
        .await?;
        Ok(())
    }

    pub async fn workspace(&mut self, id: WorkspaceId) -> Result<Option<Workspace>> {
        let row: Option<WorkspaceRow> = self
            .fetch_optional(
                Query::select()
                    .columns([
                        Workspaces::Id,
                        Workspaces::Name,
                        Workspaces::TimeZone,
                        Workspaces::CreatedAt,
                    ])
                    .from(Workspaces::Table)
                    .and_where(Expr::col(Workspaces::Id).eq(id.to_string())),
            )
            .await?;
        row.map(WorkspaceRow::into_domain).transpose()
    }

    /// The workspaces a user belongs to, with the user's role in each.
    pub async fn workspaces_of(&mut self, user: UserId) -> Result<Vec<(Workspace, Role)>> {
        let rows: Vec<(String, String, String, i64, String)> = self
            .fetch_all(
                Query::select()
                    .column((Workspaces::Table, Workspaces::Id))
                    .column((Workspaces::Table, Workspaces::Name))
                    .column((Workspaces::Table, Workspaces::TimeZone))
                    .column((Workspaces::Table, Workspaces::CreatedAt))
                    .column((Memberships::Table, Memberships::Role))
                    .from(Workspaces::Table)
                    .inner_join(
                        Memberships::Table,
                        Expr::col((Memberships::Table, Memberships::WorkspaceId))
                            .equals((Workspaces::Table, Workspaces::Id)),
                    )
                    .and_where(Expr::col((Memberships::Table, Memberships::UserId)).eq(user.to_string()))
                    .order_by((Workspaces::Table, Workspaces::Id), Order::Asc),
            )
            .await?;
        rows.into_iter()
            .map(|(id, name, time_zone, created_at, role)| {
                Ok((
                    WorkspaceRow {
                        id,
                        name,
                        time_zone,
                        created_at,
                    }
                    .into_domain()?,
                    parse("role", &role)?,
                ))
            })
            .collect()
    }

    pub async fn insert_user(
        &mut self,
        id: UserId,
        email: &str,
        name: &str,
        password_hash: &str,
        now: Millis,
    ) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(Users::Table)
                .columns([
                    Users::Id,
                    Users::Email,
                    Users::Name,
                    Users::PasswordHash,
                    Users::CreatedAt,
                    Users::UpdatedAt,
                ])
                .values_panic([
                    id.to_string().into(),
                    email.into(),
                    name.into(),
                    password_hash.into(),
                    now.0.into(),
                    now.0.into(),
                ]),
        )
        .await?;
        Ok(())
    }

    fn user_select() -> sea_query::SelectStatement {
        Query::select()
            .columns([
                Users::Id,
                Users::Email,
                Users::Name,
                Users::PasswordHash,
                Users::CreatedAt,
            ])
            .from(Users::Table)
            .to_owned()
    }

    pub async fn user_by_email(&mut self, email: &str) -> Result<Option<UserRow>> {
        self.fetch_optional(Self::user_select().and_where(Expr::col(Users::Email).eq(email)))
            .await
    }

    pub async fn user(&mut self, id: UserId) -> Result<Option<UserRow>> {
        self.fetch_optional(Self::user_select().and_where(Expr::col(Users::Id).eq(id.to_string())))
            .await
    }

    pub async fn update_user(
        &mut self,
        id: UserId,
        name: Option<&str>,
        password_hash: Option<&str>,
        now: Millis,
    ) -> Result<u64> {
        let mut q = Query::update();
        q.table(Users::Table)
            .value(Users::UpdatedAt, now.0)
            .and_where(Expr::col(Users::Id).eq(id.to_string()));
        if let Some(name) = name {
            q.value(Users::Name, name);
        }
        if let Some(hash) = password_hash {
            q.value(Users::PasswordHash, hash);
        }
        self.execute(&q).await
    }

    pub async fn insert_membership(
        &mut self,
        ws: WorkspaceId,
        user: UserId,
        role: Role,
        capacity: i64,
        now: Millis,
    ) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(Memberships::Table)
                .columns([
                    Memberships::WorkspaceId,
                    Memberships::UserId,
                    Memberships::Role,
                    Memberships::Availability,
                    Memberships::Capacity,
                    Memberships::CreatedAt,
                ])
                .values_panic([
                    ws.to_string().into(),
                    user.to_string().into(),
                    role.as_str().into(),
                    Availability::Offline.as_str().into(),
                    capacity.into(),
                    now.0.into(),
                ]),
        )
        .await?;
        Ok(())
    }

    pub async fn member(&mut self, ws: WorkspaceId, user: UserId) -> Result<Option<Member>> {
        let row: Option<MemberRow> = self
            .fetch_optional(
                member_select()
                    .and_where(Expr::col((Memberships::Table, Memberships::WorkspaceId)).eq(ws.to_string()))
                    .and_where(Expr::col((Memberships::Table, Memberships::UserId)).eq(user.to_string())),
            )
            .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let teams = self.team_ids_of(ws, user).await?;
                row.into_domain(teams).map(Some)
            }
        }
    }

    pub async fn members(&mut self, ws: WorkspaceId) -> Result<Vec<Member>> {
        let rows: Vec<MemberRow> = self
            .fetch_all(
                member_select()
                    .and_where(Expr::col((Memberships::Table, Memberships::WorkspaceId)).eq(ws.to_string()))
                    .order_by((Users::Table, Users::Id), Order::Asc),
            )
            .await?;
        let links: Vec<(String, String)> = self
            .fetch_all(
                Query::select()
                    .columns([TeamMembers::UserId, TeamMembers::TeamId])
                    .from(TeamMembers::Table)
                    .and_where(Expr::col(TeamMembers::WorkspaceId).eq(ws.to_string()))
                    .order_by(TeamMembers::TeamId, Order::Asc),
            )
            .await?;
        rows.into_iter()
            .map(|row| {
                let teams = links
                    .iter()
                    .filter(|(u, _)| *u == row.id)
                    .map(|(_, t)| parse("team id", t))
                    .collect::<Result<Vec<TeamId>>>()?;
                row.into_domain(teams)
            })
            .collect()
    }

    pub async fn update_membership(
        &mut self,
        ws: WorkspaceId,
        user: UserId,
        role: Option<Role>,
        capacity: Option<i64>,
        availability: Option<(Availability, Millis)>,
    ) -> Result<u64> {
        let mut q = Query::update();
        q.table(Memberships::Table)
            .and_where(Expr::col(Memberships::WorkspaceId).eq(ws.to_string()))
            .and_where(Expr::col(Memberships::UserId).eq(user.to_string()));
        if let Some(role) = role {
            q.value(Memberships::Role, role.as_str());
        }
        if let Some(capacity) = capacity {
            q.value(Memberships::Capacity, capacity);
        }
        if let Some((a, at)) = availability {
            q.value(Memberships::Availability, a.as_str())
                .value(Memberships::AvailabilityChangedAt, at.0);
        }
        if role.is_none() && capacity.is_none() && availability.is_none() {
            return Ok(1);
        }
        self.execute(&q).await
    }

    pub async fn delete_membership(&mut self, ws: WorkspaceId, user: UserId) -> Result<u64> {
        self.execute(
            Query::delete()
                .from_table(TeamMembers::Table)
                .and_where(Expr::col(TeamMembers::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(TeamMembers::UserId).eq(user.to_string())),
        )
        .await?;
        self.execute(
            Query::delete()
                .from_table(Memberships::Table)
                .and_where(Expr::col(Memberships::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(Memberships::UserId).eq(user.to_string())),
        )
        .await
    }

    pub async fn count_admins(&mut self, ws: WorkspaceId) -> Result<i64> {
        let (n,): (i64,) = self
            .fetch_one(
                Query::select()
                    .expr(Expr::col(Memberships::UserId).count())
                    .from(Memberships::Table)
                    .and_where(Expr::col(Memberships::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Memberships::Role).eq(Role::Admin.as_str())),
            )
            .await?;
        Ok(n)
    }

    pub async fn insert_session(&mut self, s: &SessionRow) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(Sessions::Table)
                .columns([
                    Sessions::TokenHash,
                    Sessions::UserId,
                    Sessions::CsrfToken,
                    Sessions::CreatedAt,
                    Sessions::ExpiresAt,
                ])
                .values_panic([
                    s.token_hash.clone().into(),
                    s.user_id.clone().into(),
                    s.csrf_token.clone().into(),
                    s.created_at.into(),
                    s.expires_at.into(),
                ]),
        )
        .await?;
        Ok(())
    }

    pub async fn session(&mut self, token_hash: &str) -> Result<Option<SessionRow>> {
        self.fetch_optional(
            Query::select()
                .columns([
                    Sessions::TokenHash,
                    Sessions::UserId,
                    Sessions::CsrfToken,
                    Sessions::CreatedAt,
                    Sessions::ExpiresAt,
                ])
                .from(Sessions::Table)
                .and_where(Expr::col(Sessions::TokenHash).eq(token_hash)),
        )
        .await
    }

    pub async fn delete_session(&mut self, token_hash: &str) -> Result<u64> {
        self.execute(
            Query::delete()
                .from_table(Sessions::Table)
                .and_where(Expr::col(Sessions::TokenHash).eq(token_hash)),
        )
        .await
    }

    /// End every session of a user except `keep` (a password change).
    pub async fn delete_sessions_of(&mut self, user: UserId, keep: Option<&str>) -> Result<u64> {
        let mut q = Query::delete();
        q.from_table(Sessions::Table)
            .and_where(Expr::col(Sessions::UserId).eq(user.to_string()));
        if let Some(keep) = keep {
            q.and_where(Expr::col(Sessions::TokenHash).ne(keep));
        }
        self.execute(&q).await
    }

    pub async fn insert_api_token(&mut self, t: &ApiToken, token_hash: &str) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(ApiTokens::Table)
                .columns([
                    ApiTokens::Id,
                    ApiTokens::WorkspaceId,
                    ApiTokens::UserId,
                    ApiTokens::Name,
                    ApiTokens::Prefix,
                    ApiTokens::TokenHash,
                    ApiTokens::CreatedAt,
                ])
                .values_panic([
                    t.id.to_string().into(),
                    t.workspace_id.to_string().into(),
                    t.user_id.to_string().into(),
                    t.name.clone().into(),
                    t.prefix.clone().into(),
                    token_hash.into(),
                    t.created_at.0.into(),
                ]),
        )
        .await?;
        Ok(())
    }

    fn token_select() -> sea_query::SelectStatement {
        Query::select()
            .columns([
                ApiTokens::Id,
                ApiTokens::WorkspaceId,
                ApiTokens::UserId,
                ApiTokens::Name,
                ApiTokens::Prefix,
                ApiTokens::CreatedAt,
                ApiTokens::LastUsedAt,
                ApiTokens::RevokedAt,
            ])
            .from(ApiTokens::Table)
            .to_owned()
    }

    pub async fn api_tokens_of(&mut self, ws: WorkspaceId, user: UserId) -> Result<Vec<ApiToken>> {
        let rows: Vec<ApiTokenRow> = self
            .fetch_all(
                Self::token_select()
                    .and_where(Expr::col(ApiTokens::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(ApiTokens::UserId).eq(user.to_string()))
                    .order_by(ApiTokens::Id, Order::Asc),
            )
            .await?;
        rows.into_iter().map(ApiTokenRow::into_domain).collect()
    }

    pub async fn api_token(&mut self, ws: WorkspaceId, id: ApiTokenId) -> Result<Option<ApiToken>> {
        let row: Option<ApiTokenRow> = self
            .fetch_optional(
                Self::token_select()
                    .and_where(Expr::col(ApiTokens::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(ApiTokens::Id).eq(id.to_string())),
            )
            .await?;
        row.map(ApiTokenRow::into_domain).transpose()
    }

    /// An active (not revoked) token by the hash of its secret.
    pub async fn active_api_token(&mut self, token_hash: &str) -> Result<Option<ApiToken>> {
        let row: Option<ApiTokenRow> = self
            .fetch_optional(
                Self::token_select()
                    .and_where(Expr::col(ApiTokens::TokenHash).eq(token_hash))
                    .and_where(Expr::col(ApiTokens::RevokedAt).is_null()),
            )
            .await?;
        row.map(ApiTokenRow::into_domain).transpose()
    }

    pub async fn revoke_api_token(&mut self, ws: WorkspaceId, id: ApiTokenId, now: Millis) -> Result<u64> {
        self.execute(
            Query::update()
                .table(ApiTokens::Table)
                .value(ApiTokens::RevokedAt, now.0)
                .and_where(Expr::col(ApiTokens::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(ApiTokens::Id).eq(id.to_string()))
                .and_where(Expr::col(ApiTokens::RevokedAt).is_null()),
        )
        .await
    }

    pub async fn touch_api_token(&mut self, id: ApiTokenId, now: Millis) -> Result<u64> {
        self.execute(
            Query::update()
                .table(ApiTokens::Table)
                .value(ApiTokens::LastUsedAt, now.0)
                .and_where(Expr::col(ApiTokens::Id).eq(id.to_string())),
        )
        .await
    }

    /// Append an entry to the audit log; its id.
    pub async fn insert_audit(&mut self, e: &AuditEntry<'_>, now: Millis) -> Result<String> {
        let id = switchboard_core::AuditId::new().to_string();
        self.execute(
            Query::insert()
                .into_table(AuditLog::Table)
                .columns([
                    AuditLog::Id,
                    AuditLog::WorkspaceId,
                    AuditLog::ActorId,
                    AuditLog::Action,
                    AuditLog::TargetKind,
                    AuditLog::TargetId,
                    AuditLog::Details,
                    AuditLog::CreatedAt,
                ])
                .values_panic([
                    id.clone().into(),
                    e.workspace_id.map(|w| w.to_string()).into(),
                    e.actor_id.map(|u| u.to_string()).into(),
                    e.action.into(),
                    e.target_kind.map(str::to_owned).into(),
                    e.target_id.clone().into(),
                    e.details.to_string().into(),
                    now.0.into(),
                ]),
        )
        .await?;
        Ok(id)
    }

    /// Audit actions recorded for a workspace, newest first.
    pub async fn audit_actions(
        &mut self,
        ws: WorkspaceId,
        limit: u64,
    ) -> Result<Vec<(String, Option<String>, Option<String>)>> {
        self.fetch_all(
            Query::select()
                .columns([AuditLog::Action, AuditLog::ActorId, AuditLog::TargetId])
                .from(AuditLog::Table)
                .and_where(Expr::col(AuditLog::WorkspaceId).eq(ws.to_string()))
                .order_by(AuditLog::Id, Order::Desc)
                .limit(limit),
        )
        .await
    }

    /// A page of a workspace's audit log, newest first, with the actor's
    /// name and e-mail (absent when the actor's account is gone).
    pub async fn audit_log(&mut self, ws: WorkspaceId, filter: &AuditFilter) -> Result<Page<AuditRow>> {
        let mut q = Query::select()
            .expr_as(Expr::col((AuditLog::Table, AuditLog::Id)), sea_query::Alias::new("id"))
            .column((AuditLog::Table, AuditLog::ActorId))
            .expr_as(
                Expr::col((Users::Table, Users::Name)),
                sea_query::Alias::new("actor_name"),
            )
            .expr_as(
                Expr::col((Users::Table, Users::Email)),
                sea_query::Alias::new("actor_email"),
            )
            .column((AuditLog::Table, AuditLog::Action))
            .column((AuditLog::Table, AuditLog::TargetKind))
            .column((AuditLog::Table, AuditLog::TargetId))
            .column((AuditLog::Table, AuditLog::Details))
            .expr_as(
                Expr::col((AuditLog::Table, AuditLog::CreatedAt)),
                sea_query::Alias::new("created_at"),
            )
            .from(AuditLog::Table)
            .left_join(
                Users::Table,
                Expr::col((Users::Table, Users::Id)).equals((AuditLog::Table, AuditLog::ActorId)),
            )
            .and_where(Expr::col((AuditLog::Table, AuditLog::WorkspaceId)).eq(ws.to_string()))
            .order_by((AuditLog::Table, AuditLog::Id), Order::Desc)
            .limit(filter.limit + 1)
            .to_owned();
        if let Some(action) = &filter.action {
            q.and_where(Expr::col((AuditLog::Table, AuditLog::Action)).eq(action.as_str()));
        }
        if let Some(cursor) = filter.cursor {
            q.and_where(Expr::col((AuditLog::Table, AuditLog::Id)).lt(cursor.to_string()));
        }
        let rows: Vec<AuditRow> = self.fetch_all(&q).await?;
        Ok(page_of(rows, filter.limit, |r| r.id.clone()))
    }
}

pub(crate) fn user_id_of(row: &UserRow) -> Result<UserId> {
    parse("user id", &row.id)
}

impl UserRow {
    pub fn user_id(&self) -> Result<UserId> {
        user_id_of(self)
    }
}

impl SessionRow {
    pub fn user(&self) -> Result<UserId> {
        parse("user id", &self.user_id)
    }
}

//! Teams, channels and tags.

use sea_query::{Cond, Expr, Order, Query, SelectStatement};
use switchboard_core::bot::ChannelBot;
use switchboard_core::routing::{TeamRouting, WorkspaceRouting};
use switchboard_core::{
    AssignmentRule, Channel, ChannelId, ChannelKind, Millis, Tag, TagId, Team, TeamId, UserId, WorkspaceId,
};

use crate::schema::*;
use crate::{Exec, Result, parse, parse_opt};

#[derive(Debug, Clone, sqlx::FromRow)]
struct TeamRow {
    id: String,
    workspace_id: String,
    name: String,
    assignment_rule: String,
    routing: String,
    created_at: i64,
}

/// A channel with its credentials, for the service layer only.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelRow {
    pub id: String,
    pub workspace_id: String,
    pub kind: String,
    pub name: String,
    pub secret: Option<String>,
    pub callback_url: Option<String>,
    pub default_team_id: Option<String>,
    pub reopen_minutes: i64,
    pub settings: String,
    pub created_at: i64,
}

impl ChannelRow {
    /// The settings column as JSON (an object; empty if unreadable).
    pub fn settings_json(&self) -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(&self.settings)
            .ok()
            .filter(|s| s.is_object())
            .unwrap_or_else(|| serde_json::json!({}))
    }

    /// The channel's bot with its secret, for the service layer.
    pub fn bot(&self) -> Option<ChannelBot> {
        ChannelBot::from_settings(&self.settings_json())
    }

    pub fn to_domain(&self) -> Result<Channel> {
        let settings = self.settings_json();
        Ok(Channel {
            id: parse("channel id", &self.id)?,
            workspace_id: parse("workspace id", &self.workspace_id)?,
            kind: parse("channel kind", &self.kind)?,
            name: self.name.clone(),
            default_team_id: parse_opt("team id", self.default_team_id.as_deref())?,
            callback_url: self.callback_url.clone(),
            has_secret: self.secret.is_some(),
            reopen_minutes: self.reopen_minutes,
            widget: settings
                .get("widget")
                .and_then(|w| serde_json::from_value(w.clone()).ok()),
            bot: ChannelBot::from_settings(&settings).map(|b| b.view()),
            config: None,
            feedback_template_id: settings
                .get("feedback_template_id")
                .and_then(|t| t.as_str())
                .and_then(|t| t.parse().ok()),
            created_at: Millis(self.created_at),
        })
    }
}

/// The writable fields of a channel.
#[derive(Debug, Clone)]
pub struct ChannelRecord {
    pub id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub kind: ChannelKind,
    pub name: String,
    pub secret: Option<String>,
    pub callback_url: Option<String>,
    pub default_team_id: Option<TeamId>,
    pub reopen_minutes: i64,
    pub settings: serde_json::Value,
    pub created_at: Millis,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CandidateRow {
    user_id: String,
    availability: String,
    capacity: i64,
    last_assigned_at: Option<i64>,
    open_count: i64,
}

/// A team member as routing sees them.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub user_id: UserId,
    pub availability: switchboard_core::Availability,
    pub capacity: i64,
    pub last_assigned_at: Option<Millis>,
    pub open_count: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct TagRow {
    id: String,
    workspace_id: String,
    name: String,
    color: Option<String>,
    created_at: i64,
}

impl TagRow {
    fn into_domain(self) -> Result<Tag> {
        Ok(Tag {
            id: parse("tag id", &self.id)?,
            workspace_id: parse("workspace id", &self.workspace_id)?,
            name: self.name,
            color: self.color,
            created_at: Millis(self.created_at),
        })
    }
}

fn team_select() -> sea_query::SelectStatement {
    Query::select()
        .columns([
            Teams::Id,
            Teams::WorkspaceId,
            Teams::Name,
            Teams::AssignmentRule,
            Teams::Routing,
            Teams::CreatedAt,
        ])
        .from(Teams::Table)
        .to_owned()
}

fn channel_select() -> sea_query::SelectStatement {
    Query::select()
        .columns([
            Channels::Id,
            Channels::WorkspaceId,
            Channels::Kind,
            Channels::Name,
            Channels::Secret,
            Channels::CallbackUrl,
            Channels::DefaultTeamId,
            Channels::ReopenMinutes,
            Channels::Settings,
            Channels::CreatedAt,
        ])
        .from(Channels::Table)
        .to_owned()
}

fn tag_select() -> sea_query::SelectStatement {
    Query::select()
        .columns([Tags::Id, Tags::WorkspaceId, Tags::Name, Tags::Color, Tags::CreatedAt])
        .from(Tags::Table)
        .to_owned()
}

/// See [`Exec::display_names`].
#[derive(Debug, Clone, Default)]
pub struct DisplayNames {
    pub users: Vec<(UserId, String)>,
    pub teams: Vec<(TeamId, String)>,
    pub channels: Vec<(ChannelId, ChannelKind, String)>,
}

impl Exec<'_> {
    pub async fn insert_team(&mut self, t: &Team) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(Teams::Table)
                .columns([
                    Teams::Id,
                    Teams::WorkspaceId,
                    Teams::Name,
                    Teams::AssignmentRule,
                    Teams::Routing,
                    Teams::CreatedAt,
                ])
                .values_panic([
                    t.id.to_string().into(),
                    t.workspace_id.to_string().into(),
                    t.name.clone().into(),
                    t.assignment_rule.as_str().into(),
                    routing_json(&t.routing)?.into(),
                    t.created_at.0.into(),
                ]),
        )
        .await?;
        Ok(())
    }

    async fn team_members_of(&mut self, team: &str) -> Result<Vec<UserId>> {
        let rows: Vec<(String,)> = self
            .fetch_all(
                Query::select()
                    .column(TeamMembers::UserId)
                    .from(TeamMembers::Table)
                    .and_where(Expr::col(TeamMembers::TeamId).eq(team))
                    .order_by(TeamMembers::UserId, Order::Asc),
            )
            .await?;
        rows.iter().map(|(u,)| parse("user id", u)).collect()
    }

    async fn team_from_row(&mut self, row: TeamRow) -> Result<Team> {
        let member_ids = self.team_members_of(&row.id).await?;
        Ok(Team {
            id: parse("team id", &row.id)?,
            workspace_id: parse("workspace id", &row.workspace_id)?,
            name: row.name,
            assignment_rule: parse::<AssignmentRule>("assignment rule", &row.assignment_rule)?,
            routing: stored_json("team routing", &row.routing)?,
            member_ids,
            created_at: Millis(row.created_at),
        })
    }

    pub async fn team(&mut self, ws: WorkspaceId, id: TeamId) -> Result<Option<Team>> {
        let row: Option<TeamRow> = self
            .fetch_optional(
                team_select()
                    .and_where(Expr::col(Teams::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Teams::Id).eq(id.to_string())),
            )
            .await?;
        match row {
            None => Ok(None),
            Some(row) => self.team_from_row(row).await.map(Some),
        }
    }

    /// A team's assignment rule and routing settings (routing needs no more).
    pub async fn team_routing(&mut self, ws: WorkspaceId, id: TeamId) -> Result<Option<(AssignmentRule, TeamRouting)>> {
        let row: Option<TeamRoutingRow> = self.fetch_optional(&team_routing_select(ws, id)).await?;
        row.map(team_routing_of).transpose()
    }

    /// The workspace's routing settings (defaults when it has none).
    pub async fn workspace_routing(&mut self, ws: WorkspaceId) -> Result<WorkspaceRouting> {
        let row: Option<(String,)> = self.fetch_optional(&workspace_routing_select(ws)).await?;
        workspace_routing_of(row)
    }

    pub async fn set_workspace_routing(&mut self, ws: WorkspaceId, routing: &WorkspaceRouting) -> Result<u64> {
        self.execute(
            Query::update()
                .table(Workspaces::Table)
                .value(Workspaces::Routing, routing_json(routing)?)
                .and_where(Expr::col(Workspaces::Id).eq(ws.to_string())),
        )
        .await
    }

    /// Every workspace id (the timers sweep them one by one).
    pub async fn workspace_ids(&mut self) -> Result<Vec<WorkspaceId>> {
        let rows: Vec<(String,)> = self
            .fetch_all(
                Query::select()
                    .column(Workspaces::Id)
                    .from(Workspaces::Table)
                    .order_by(Workspaces::Id, Order::Asc),
            )
            .await?;
        rows.iter().map(|(id,)| parse("workspace id", id)).collect()
    }

    /// Serialise routing decisions of one workspace until the transaction
    /// ends: two nodes (or two transactions) must not both give an agent
    /// their last free slot. SQLite's single writer already serialises them.
    /// Take it before any row lock, so it cannot take part in a deadlock.
    pub async fn lock_routing(&mut self, ws: WorkspaceId) -> Result<()> {
        if self.is_postgres() {
            let key = sea_query::Func::cust(sea_query::Alias::new("hashtextextended"))
                .arg(format!("routing:{ws}"))
                .arg(0);
            self.execute(
                Query::select().expr(sea_query::Func::cust(sea_query::Alias::new("pg_advisory_xact_lock")).arg(key)),
            )
            .await?;
        }
        Ok(())
    }

    pub async fn teams(&mut self, ws: WorkspaceId) -> Result<Vec<Team>> {
        let rows: Vec<TeamRow> = self
            .fetch_all(
                team_select()
                    .and_where(Expr::col(Teams::WorkspaceId).eq(ws.to_string()))
                    .order_by(Teams::Name, Order::Asc),
            )
            .await?;
        let mut teams = Vec::with_capacity(rows.len());
        for row in rows {
            teams.push(self.team_from_row(row).await?);
        }
        Ok(teams)
    }

    pub async fn update_team(
        &mut self,
        ws: WorkspaceId,
        id: TeamId,
        name: Option<&str>,
        rule: Option<AssignmentRule>,
        routing: Option<&TeamRouting>,
    ) -> Result<u64> {
        let mut q = Query::update();
        q.table(Teams::Table)
            .and_where(Expr::col(Teams::WorkspaceId).eq(ws.to_string()))
            .and_where(Expr::col(Teams::Id).eq(id.to_string()));
        if let Some(name) = name {
            q.value(Teams::Name, name);
        }
        if let Some(rule) = rule {
            q.value(Teams::AssignmentRule, rule.as_str());
        }
        if let Some(routing) = routing {
            q.value(Teams::Routing, routing_json(routing)?);
        }
        if name.is_none() && rule.is_none() && routing.is_none() {
            return Ok(1);
        }
        self.execute(&q).await
    }

    pub async fn delete_team(&mut self, ws: WorkspaceId, id: TeamId) -> Result<u64> {
        self.execute(
            Query::delete()
                .from_table(Teams::Table)
                .and_where(Expr::col(Teams::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(Teams::Id).eq(id.to_string())),
        )
        .await
    }

    pub async fn add_team_member(&mut self, ws: WorkspaceId, team: TeamId, user: UserId, now: Millis) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(TeamMembers::Table)
                .columns([
                    TeamMembers::TeamId,
                    TeamMembers::UserId,
                    TeamMembers::WorkspaceId,
                    TeamMembers::CreatedAt,
                ])
                .values_panic([
                    team.to_string().into(),
                    user.to_string().into(),
                    ws.to_string().into(),
                    now.0.into(),
                ])
                .on_conflict(
                    sea_query::OnConflict::columns([TeamMembers::TeamId, TeamMembers::UserId])
                        .do_nothing()
                        .to_owned(),
                ),
        )
        .await?;
        Ok(())
    }

    pub async fn remove_team_member(&mut self, ws: WorkspaceId, team: TeamId, user: UserId) -> Result<u64> {
        self.execute(
            Query::delete()
                .from_table(TeamMembers::Table)
                .and_where(Expr::col(TeamMembers::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(TeamMembers::TeamId).eq(team.to_string()))
                .and_where(Expr::col(TeamMembers::UserId).eq(user.to_string())),
        )
        .await
    }

    pub async fn team_ids_of(&mut self, ws: WorkspaceId, user: UserId) -> Result<Vec<TeamId>> {
        let rows: Vec<(String,)> = self
            .fetch_all(
                Query::select()
                    .column(TeamMembers::TeamId)
                    .from(TeamMembers::Table)
                    .and_where(Expr::col(TeamMembers::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(TeamMembers::UserId).eq(user.to_string()))
                    .order_by(TeamMembers::TeamId, Order::Asc),
            )
            .await?;
        rows.iter().map(|(t,)| parse("team id", t)).collect()
    }

    /// Members of a team with what routing needs to pick one.
    pub async fn team_candidates(&mut self, ws: WorkspaceId, team: TeamId) -> Result<Vec<Candidate>> {
        candidates_of(self.fetch_all(&team_candidates_select(ws, team)).await?)
    }

    /// Round-robin bookkeeping: when each member last got a chat.
    pub async fn mark_assigned(&mut self, ws: WorkspaceId, user: UserId, now: Millis) -> Result<u64> {
        self.execute(
            Query::update()
                .table(Memberships::Table)
                .value(Memberships::LastAssignedAt, now.0)
                .and_where(Expr::col(Memberships::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(Memberships::UserId).eq(user.to_string())),
        )
        .await
    }

    pub async fn insert_channel(&mut self, c: &ChannelRecord) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(Channels::Table)
                .columns([
                    Channels::Id,
                    Channels::WorkspaceId,
                    Channels::Kind,
                    Channels::Name,
                    Channels::Secret,
                    Channels::CallbackUrl,
                    Channels::DefaultTeamId,
                    Channels::ReopenMinutes,
                    Channels::Settings,
                    Channels::CreatedAt,
                ])
                .values_panic([
                    c.id.to_string().into(),
                    c.workspace_id.to_string().into(),
                    c.kind.as_str().into(),
                    c.name.clone().into(),
                    c.secret.clone().into(),
                    c.callback_url.clone().into(),
                    c.default_team_id.map(|t| t.to_string()).into(),
                    c.reopen_minutes.into(),
                    c.settings.to_string().into(),
                    c.created_at.0.into(),
                ]),
        )
        .await?;
        Ok(())
    }

    pub async fn update_channel(&mut self, c: &ChannelRecord) -> Result<u64> {
        self.execute(
            Query::update()
                .table(Channels::Table)
                .value(Channels::Name, c.name.clone())
                .value(Channels::Secret, c.secret.clone())
                .value(Channels::CallbackUrl, c.callback_url.clone())
                .value(Channels::DefaultTeamId, c.default_team_id.map(|t| t.to_string()))
                .value(Channels::ReopenMinutes, c.reopen_minutes)
                .value(Channels::Settings, c.settings.to_string())
                .and_where(Expr::col(Channels::WorkspaceId).eq(c.workspace_id.to_string()))
                .and_where(Expr::col(Channels::Id).eq(c.id.to_string())),
        )
        .await
    }

    /// A channel by id alone: provider webhooks name only the channel.
    pub async fn channel_by_id(&mut self, id: ChannelId) -> Result<Option<ChannelRow>> {
        self.fetch_optional(channel_select().and_where(Expr::col(Channels::Id).eq(id.to_string())))
            .await
    }

    pub async fn channel(&mut self, ws: WorkspaceId, id: ChannelId) -> Result<Option<ChannelRow>> {
        self.fetch_optional(
            channel_select()
                .and_where(Expr::col(Channels::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(Channels::Id).eq(id.to_string())),
        )
        .await
    }

    /// What the workspace calls its members (its display name for them,
    /// else their own), teams and channels (with each channel's kind), in
    /// one statement: what lists and exports print for ids.
    pub async fn display_names(&mut self, ws: WorkspaceId) -> Result<DisplayNames> {
        let ws = ws.to_string();
        let part = |what: &str| Expr::val(what.to_owned());
        let mut q = Query::select()
            .expr_as(part("user"), sea_query::Alias::new("what"))
            .column((Users::Table, Users::Id))
            .expr(sea_query::Func::coalesce([
                Expr::col((Memberships::Table, Memberships::DisplayName)).into(),
                Expr::col((Users::Table, Users::Name)).into(),
            ]))
            .expr(Expr::val(Option::<String>::None))
            .from(Memberships::Table)
            .inner_join(
                Users::Table,
                Expr::col((Users::Table, Users::Id)).equals((Memberships::Table, Memberships::UserId)),
            )
            .and_where(Expr::col((Memberships::Table, Memberships::WorkspaceId)).eq(ws.clone()))
            .to_owned();
        q.union(
            sea_query::UnionType::All,
            Query::select()
                .expr(part("team"))
                .columns([Teams::Id, Teams::Name])
                .expr(Expr::val(Option::<String>::None))
                .from(Teams::Table)
                .and_where(Expr::col(Teams::WorkspaceId).eq(ws.clone()))
                .to_owned(),
        )
        .union(
            sea_query::UnionType::All,
            Query::select()
                .expr(part("channel"))
                .columns([Channels::Id, Channels::Name, Channels::Kind])
                .from(Channels::Table)
                .and_where(Expr::col(Channels::WorkspaceId).eq(ws))
                .to_owned(),
        );
        let rows: Vec<(String, String, String, Option<String>)> = self.fetch_all(&q).await?;
        let mut names = DisplayNames::default();
        for (what, id, name, kind) in rows {
            match (what.as_str(), kind) {
                ("user", _) => names.users.push((parse("user id", &id)?, name)),
                ("team", _) => names.teams.push((parse("team id", &id)?, name)),
                // A kind this build does not know names nothing.
                ("channel", Some(kind)) => {
                    if let Ok(kind) = kind.parse() {
                        names.channels.push((parse("channel id", &id)?, kind, name));
                    }
                }
                _ => {}
            }
        }
        Ok(names)
    }

    pub async fn channels(&mut self, ws: WorkspaceId) -> Result<Vec<ChannelRow>> {
        self.fetch_all(
            channel_select()
                .and_where(Expr::col(Channels::WorkspaceId).eq(ws.to_string()))
                .order_by(Channels::Id, Order::Asc),
        )
        .await
    }

    pub async fn delete_channel(&mut self, ws: WorkspaceId, id: ChannelId) -> Result<u64> {
        self.execute(
            Query::delete()
                .from_table(Channels::Table)
                .and_where(Expr::col(Channels::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(Channels::Id).eq(id.to_string())),
        )
        .await
    }

    pub async fn insert_tag(&mut self, t: &Tag) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(Tags::Table)
                .columns([Tags::Id, Tags::WorkspaceId, Tags::Name, Tags::Color, Tags::CreatedAt])
                .values_panic([
                    t.id.to_string().into(),
                    t.workspace_id.to_string().into(),
                    t.name.clone().into(),
                    t.color.clone().into(),
                    t.created_at.0.into(),
                ]),
        )
        .await?;
        Ok(())
    }

    pub async fn tags(&mut self, ws: WorkspaceId) -> Result<Vec<Tag>> {
        let rows: Vec<TagRow> = self
            .fetch_all(
                tag_select()
                    .and_where(Expr::col(Tags::WorkspaceId).eq(ws.to_string()))
                    .order_by(Tags::Name, Order::Asc),
            )
            .await?;
        rows.into_iter().map(TagRow::into_domain).collect()
    }

    pub async fn tag(&mut self, ws: WorkspaceId, id: TagId) -> Result<Option<Tag>> {
        let row: Option<TagRow> = self
            .fetch_optional(
                tag_select()
                    .and_where(Expr::col(Tags::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Tags::Id).eq(id.to_string())),
            )
            .await?;
        row.map(TagRow::into_domain).transpose()
    }

    pub async fn tags_named(&mut self, ws: WorkspaceId, names: &[String]) -> Result<Vec<Tag>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<TagRow> = self
            .fetch_all(
                tag_select()
                    .and_where(Expr::col(Tags::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Tags::Name).is_in(names.iter().cloned())),
            )
            .await?;
        rows.into_iter().map(TagRow::into_domain).collect()
    }

    pub async fn delete_tag(&mut self, ws: WorkspaceId, id: TagId) -> Result<u64> {
        self.execute(
            Query::delete()
                .from_table(Tags::Table)
                .and_where(Expr::col(Tags::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(Tags::Id).eq(id.to_string())),
        )
        .await
    }
}

fn routing_json(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| crate::StoreError::Corrupt(format!("routing settings: {e}")))
}

fn stored_json<T: serde::de::DeserializeOwned>(what: &str, raw: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| crate::StoreError::Corrupt(format!("{what}: {e}")))
}

/// The rows of [`team_routing_select`]: assignment rule, routing JSON.
pub(crate) type TeamRoutingRow = (String, String);

/// A team's assignment rule and routing settings.
pub(crate) fn team_routing_select(ws: WorkspaceId, id: TeamId) -> SelectStatement {
    Query::select()
        .columns([Teams::AssignmentRule, Teams::Routing])
        .from(Teams::Table)
        .and_where(Expr::col(Teams::WorkspaceId).eq(ws.to_string()))
        .and_where(Expr::col(Teams::Id).eq(id.to_string()))
        .to_owned()
}

pub(crate) fn team_routing_of((rule, routing): TeamRoutingRow) -> Result<(AssignmentRule, TeamRouting)> {
    Ok((parse("assignment rule", &rule)?, stored_json("team routing", &routing)?))
}

/// A workspace's routing JSON (no row: no such workspace).
pub(crate) fn workspace_routing_select(ws: WorkspaceId) -> SelectStatement {
    Query::select()
        .column(Workspaces::Routing)
        .from(Workspaces::Table)
        .and_where(Expr::col(Workspaces::Id).eq(ws.to_string()))
        .to_owned()
}

pub(crate) fn workspace_routing_of(row: Option<(String,)>) -> Result<WorkspaceRouting> {
    match row {
        Some((raw,)) => stored_json("workspace routing", &raw),
        None => Ok(WorkspaceRouting::default()),
    }
}

/// Members of a team with what routing needs to pick one; rows decode as
/// [`CandidateRow`].
pub(crate) fn team_candidates_select(ws: WorkspaceId, team: TeamId) -> SelectStatement {
    let open = Query::select()
        .expr(Expr::col((Conversations::Table, Conversations::Id)).count())
        .from(Conversations::Table)
        .and_where(Expr::col((Conversations::Table, Conversations::WorkspaceId)).eq(ws.to_string()))
        .and_where(
            Expr::col((Conversations::Table, Conversations::AssigneeId))
                .equals((Memberships::Table, Memberships::UserId)),
        )
        .and_where(
            Expr::col((Conversations::Table, Conversations::Status))
                .eq(switchboard_core::ConversationStatus::Assigned.as_str()),
        )
        .to_owned();
    Query::select()
        .column((Memberships::Table, Memberships::UserId))
        .column((Memberships::Table, Memberships::Availability))
        .column((Memberships::Table, Memberships::Capacity))
        .column((Memberships::Table, Memberships::LastAssignedAt))
        .expr_as(
            sea_query::SimpleExpr::SubQuery(None, Box::new(open.into_sub_query_statement())),
            sea_query::Alias::new("open_count"),
        )
        .from(TeamMembers::Table)
        .inner_join(
            Memberships::Table,
            Cond::all()
                .add(
                    Expr::col((Memberships::Table, Memberships::UserId))
                        .equals((TeamMembers::Table, TeamMembers::UserId)),
                )
                .add(
                    Expr::col((Memberships::Table, Memberships::WorkspaceId))
                        .equals((TeamMembers::Table, TeamMembers::WorkspaceId)),
                ),
        )
        .and_where(Expr::col((TeamMembers::Table, TeamMembers::WorkspaceId)).eq(ws.to_string()))
        .and_where(Expr::col((TeamMembers::Table, TeamMembers::TeamId)).eq(team.to_string()))
        .order_by((Memberships::Table, Memberships::UserId), Order::Asc)
        .to_owned()
}

pub(crate) fn candidates_of(rows: Vec<CandidateRow>) -> Result<Vec<Candidate>> {
    rows.into_iter()
        .map(|r| {
            Ok(Candidate {
                user_id: parse("user id", &r.user_id)?,
                availability: parse("availability", &r.availability)?,
                capacity: r.capacity,
                last_assigned_at: r.last_assigned_at.map(Millis),
                open_count: r.open_count,
            })
        })
        .collect()
}

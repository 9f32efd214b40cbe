//! Quick replies: personal, team and workspace-wide canned answers.

use sea_query::{Cond, Expr, Order, Query};
use switchboard_core::{AttachmentId, Millis, QuickReply, QuickReplyId, QuickReplyScope, TeamId, UserId, WorkspaceId};

use crate::schema::QuickReplies;
use crate::{Exec, Result, parse, parse_opt};

#[derive(Debug, Clone, sqlx::FromRow)]
struct QuickReplyRow {
    id: String,
    workspace_id: String,
    scope: String,
    owner_user_id: Option<String>,
    team_id: Option<String>,
    shortcut: String,
    text: String,
    attachment_id: Option<String>,
    created_by: String,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: [QuickReplies; 11] = [
    QuickReplies::Id,
    QuickReplies::WorkspaceId,
    QuickReplies::Scope,
    QuickReplies::OwnerUserId,
    QuickReplies::TeamId,
    QuickReplies::Shortcut,
    QuickReplies::Text,
    QuickReplies::AttachmentId,
    QuickReplies::CreatedBy,
    QuickReplies::CreatedAt,
    QuickReplies::UpdatedAt,
];

impl QuickReplyRow {
    fn into_domain(self) -> Result<QuickReply> {
        Ok(QuickReply {
            id: parse("quick reply id", &self.id)?,
            workspace_id: parse("workspace id", &self.workspace_id)?,
            scope: parse("quick reply scope", &self.scope)?,
            owner_user_id: parse_opt("user id", self.owner_user_id.as_deref())?,
            team_id: parse_opt("team id", self.team_id.as_deref())?,
            shortcut: self.shortcut,
            text: self.text,
            attachment_id: parse_opt("attachment id", self.attachment_id.as_deref())?,
            created_by: parse("user id", &self.created_by)?,
            created_at: Millis(self.created_at),
            updated_at: Millis(self.updated_at),
        })
    }
}

fn select(ws: WorkspaceId) -> sea_query::SelectStatement {
    Query::select()
        .columns(COLUMNS)
        .from(QuickReplies::Table)
        .and_where(Expr::col(QuickReplies::WorkspaceId).eq(ws.to_string()))
        .to_owned()
}

async fn fetch(exec: &mut Exec<'_>, q: &sea_query::SelectStatement) -> Result<Vec<QuickReply>> {
    let rows: Vec<QuickReplyRow> = exec.fetch_all(q).await?;
    rows.into_iter().map(QuickReplyRow::into_domain).collect()
}

impl Exec<'_> {
    /// A duplicate shortcut within its owner is a `Conflict`.
    pub async fn insert_quick_reply(&mut self, q: &QuickReply) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(QuickReplies::Table)
                .columns(COLUMNS)
                .values_panic([
                    q.id.to_string().into(),
                    q.workspace_id.to_string().into(),
                    q.scope.as_str().into(),
                    q.owner_user_id.map(|u| u.to_string()).into(),
                    q.team_id.map(|t| t.to_string()).into(),
                    q.shortcut.clone().into(),
                    q.text.clone().into(),
                    q.attachment_id.map(|a| a.to_string()).into(),
                    q.created_by.to_string().into(),
                    q.created_at.0.into(),
                    q.updated_at.0.into(),
                ]),
        )
        .await?;
        Ok(())
    }

    pub async fn quick_reply(&mut self, ws: WorkspaceId, id: QuickReplyId) -> Result<Option<QuickReply>> {
        let q = select(ws)
            .and_where(Expr::col(QuickReplies::Id).eq(id.to_string()))
            .to_owned();
        Ok(fetch(self, &q).await?.pop())
    }

    /// The quick replies a user may use, by shortcut: their personal ones,
    /// those of `teams` (`None`: of every team) and the workspace's.
    pub async fn quick_replies(
        &mut self,
        ws: WorkspaceId,
        user: UserId,
        teams: Option<&[TeamId]>,
    ) -> Result<Vec<QuickReply>> {
        let team = Expr::col(QuickReplies::Scope).eq(QuickReplyScope::Team.as_str());
        let team = match teams {
            None => Cond::all().add(team),
            Some(teams) => Cond::all()
                .add(team)
                .add(Expr::col(QuickReplies::TeamId).is_in(teams.iter().map(|t| t.to_string()))),
        };
        let q = select(ws)
            .cond_where(
                Cond::any()
                    .add(
                        Cond::all()
                            .add(Expr::col(QuickReplies::Scope).eq(QuickReplyScope::Personal.as_str()))
                            .add(Expr::col(QuickReplies::OwnerUserId).eq(user.to_string())),
                    )
                    .add(team)
                    .add(Expr::col(QuickReplies::Scope).eq(QuickReplyScope::Workspace.as_str())),
            )
            .order_by(QuickReplies::Shortcut, Order::Asc)
            .order_by(QuickReplies::Id, Order::Asc)
            .to_owned();
        fetch(self, &q).await
    }

    /// Every quick reply that carries this attachment.
    pub async fn quick_replies_with_attachment(
        &mut self,
        ws: WorkspaceId,
        attachment: AttachmentId,
    ) -> Result<Vec<QuickReply>> {
        let q = select(ws)
            .and_where(Expr::col(QuickReplies::AttachmentId).eq(attachment.to_string()))
            .to_owned();
        fetch(self, &q).await
    }

    /// Write the changeable fields: shortcut, text, attachment (a duplicate
    /// shortcut is a `Conflict`).
    pub async fn update_quick_reply(&mut self, q: &QuickReply) -> Result<u64> {
        self.execute(
            Query::update()
                .table(QuickReplies::Table)
                .value(QuickReplies::Shortcut, q.shortcut.clone())
                .value(QuickReplies::Text, q.text.clone())
                .value(QuickReplies::AttachmentId, q.attachment_id.map(|a| a.to_string()))
                .value(QuickReplies::UpdatedAt, q.updated_at.0)
                .and_where(Expr::col(QuickReplies::WorkspaceId).eq(q.workspace_id.to_string()))
                .and_where(Expr::col(QuickReplies::Id).eq(q.id.to_string())),
        )
        .await
    }

    pub async fn delete_quick_reply(&mut self, ws: WorkspaceId, id: QuickReplyId) -> Result<u64> {
        self.execute(
            Query::delete()
                .from_table(QuickReplies::Table)
                .and_where(Expr::col(QuickReplies::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(QuickReplies::Id).eq(id.to_string())),
        )
        .await
    }
}

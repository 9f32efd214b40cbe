//! What the reports read and the settings they depend on.

use sea_query::{Cond, Expr, Order, Query};
use switchboard_core::legs::Leg;
use switchboard_core::permissions::Visibility;
use switchboard_core::report::ReportConversation;
use switchboard_core::{ConversationId, Millis, TeamId, WorkspaceId};

use crate::repo::conversations::filtered;
use crate::repo::legs::leg_select;
use crate::repo::search::TextIndex;
use crate::schema::{AssignmentLegs, Conversations, Teams, Workspaces};
use crate::{ConversationFilter, Exec, Result, StoreError, parse, parse_opt};

type ReportTuple = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
);

impl Exec<'_> {
    /// The workspace's own close reasons; `None` while it keeps the defaults.
    pub async fn workspace_close_reasons(&mut self, ws: WorkspaceId) -> Result<Option<Vec<String>>> {
        let row: Option<(Option<String>,)> = self
            .fetch_optional(
                Query::select()
                    .column(Workspaces::CloseReasons)
                    .from(Workspaces::Table)
                    .and_where(Expr::col(Workspaces::Id).eq(ws.to_string())),
            )
            .await?;
        row.and_then(|(raw,)| raw)
            .map(|raw| serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(format!("close reasons: {e}"))))
            .transpose()
    }

    pub async fn set_workspace_close_reasons(&mut self, ws: WorkspaceId, reasons: &[String]) -> Result<u64> {
        let raw = serde_json::to_string(reasons).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.execute(
            Query::update()
                .table(Workspaces::Table)
                .value(Workspaces::CloseReasons, raw)
                .and_where(Expr::col(Workspaces::Id).eq(ws.to_string())),
        )
        .await
    }

    /// What the analytics read of every conversation `f` matches (its
    /// cursor, limit and sort ignored), tags left empty.
    pub async fn report_rows(&mut self, ws: WorkspaceId, f: &ConversationFilter) -> Result<Vec<ReportConversation>> {
        let mut q = filtered(TextIndex::of(self), ws, f);
        q.columns([
            Conversations::Id,
            Conversations::Status,
            Conversations::AssigneeId,
            Conversations::TeamId,
            Conversations::ChannelId,
            Conversations::CreatedAt,
            Conversations::HandedOffAt,
            Conversations::FirstReplyAt,
            Conversations::ClosedAt,
            Conversations::Rating,
            Conversations::FeedbackRequestedAt,
            Conversations::MessagesIn,
            Conversations::MessagesOut,
        ]);
        let rows: Vec<ReportTuple> = self.fetch_all(&q).await?;
        rows.into_iter()
            .map(|r| {
                Ok(ReportConversation {
                    id: parse("conversation id", &r.0)?,
                    status: parse("status", &r.1)?,
                    assignee: parse_opt("user id", r.2.as_deref())?,
                    team: parse_opt("team id", r.3.as_deref())?,
                    channel: parse("channel id", &r.4)?,
                    created_at: Millis(r.5),
                    handed_off_at: r.6.map(Millis),
                    first_reply_at: r.7.map(Millis),
                    closed_at: r.8.map(Millis),
                    rating: r.9,
                    feedback_requested_at: r.10.map(Millis),
                    messages_in: u32::try_from(r.11).unwrap_or(0),
                    messages_out: u32::try_from(r.12).unwrap_or(0),
                    tags: Vec::new(),
                })
            })
            .collect()
    }

    /// The legs of every conversation `f` matches, oldest first.
    pub async fn report_legs(&mut self, ws: WorkspaceId, f: &ConversationFilter) -> Result<Vec<(ConversationId, Leg)>> {
        let mut ids = filtered(TextIndex::of(self), ws, f);
        ids.column(Conversations::Id);
        let rows: Vec<crate::repo::legs::LegRow> = self
            .fetch_all(
                leg_select()
                    .and_where(Expr::col(AssignmentLegs::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(AssignmentLegs::ConversationId).in_subquery(ids))
                    .order_by(AssignmentLegs::AssignedAt, Order::Asc),
            )
            .await?;
        rows.into_iter().map(crate::repo::legs::LegRow::into_leg).collect()
    }

    /// The team given the most chats since `since` (legs started, one per
    /// chat), among the teams `visibility` covers: the "highest load" tile,
    /// with its name (`None` once deleted) and that count.
    pub async fn busiest_team_since(
        &mut self,
        ws: WorkspaceId,
        visibility: &Visibility,
        since: Millis,
    ) -> Result<Option<(TeamId, Option<String>, u64)>> {
        let mut q = Query::select();
        q.column((AssignmentLegs::Table, AssignmentLegs::TeamId))
            .column((Teams::Table, Teams::Name))
            .expr(Expr::cust("COUNT(DISTINCT assignment_legs.conversation_id)"))
            .from(AssignmentLegs::Table)
            .left_join(
                Teams::Table,
                Expr::col((Teams::Table, Teams::Id)).equals((AssignmentLegs::Table, AssignmentLegs::TeamId)),
            )
            .and_where(Expr::col((AssignmentLegs::Table, AssignmentLegs::WorkspaceId)).eq(ws.to_string()))
            .and_where(Expr::col((AssignmentLegs::Table, AssignmentLegs::AssignedAt)).gte(since.0))
            .and_where(Expr::col((AssignmentLegs::Table, AssignmentLegs::TeamId)).is_not_null())
            .group_by_col((AssignmentLegs::Table, AssignmentLegs::TeamId))
            .group_by_col((Teams::Table, Teams::Name))
            .order_by_expr(
                Expr::cust("COUNT(DISTINCT assignment_legs.conversation_id)"),
                Order::Desc,
            )
            .order_by((AssignmentLegs::Table, AssignmentLegs::TeamId), Order::Asc)
            .limit(1);
        if let Visibility::Teams { team_ids, .. } = visibility {
            q.cond_where(
                Cond::all().add(
                    Expr::col((AssignmentLegs::Table, AssignmentLegs::TeamId))
                        .is_in(team_ids.iter().map(ToString::to_string)),
                ),
            );
        }
        let row: Option<(String, Option<String>, i64)> = self.fetch_optional(&q).await?;
        row.map(|(team, name, n)| Ok((parse("team id", &team)?, name, n.max(0) as u64)))
            .transpose()
    }

    /// The conversation `f` matches that entered its queue first: its id,
    /// since when it waits, and who the customer is.
    pub async fn longest_queued(
        &mut self,
        ws: WorkspaceId,
        f: &ConversationFilter,
    ) -> Result<Option<(ConversationId, Millis, crate::CustomerBrief)>> {
        let mut q = filtered(TextIndex::of(self), ws, f);
        q.columns(crate::repo::conversations::CONVERSATION_COLUMNS)
            .order_by_expr(Expr::cust("COALESCE(queued_at, created_at)"), Order::Asc)
            .order_by(Conversations::Id, Order::Asc)
            .limit(1);
        let Some((c, customer)) = self.with_customers(q).await?.pop() else {
            return Ok(None);
        };
        let c = c.into_domain(Vec::new())?;
        Ok(Some((c.id, c.times.queued_at.unwrap_or(c.times.created_at), customer)))
    }

    /// The tag names on each of `conversations`.
    pub async fn conversation_tag_pairs(
        &mut self,
        conversations: &[ConversationId],
    ) -> Result<Vec<(ConversationId, String)>> {
        let mut out = Vec::new();
        for chunk in conversations.chunks(crate::IN_LIST_MAX) {
            let ids: Vec<String> = chunk.iter().map(ToString::to_string).collect();
            for (c, tag) in self.tags_of(&ids).await? {
                out.push((parse("conversation id", &c)?, tag));
            }
        }
        Ok(out)
    }
}

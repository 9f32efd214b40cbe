//! Assignment legs: one row per time a chat was given to a person
//! (`switchboard_core::legs`).

use std::collections::HashMap;

use sea_query::{Expr, InsertStatement, Order, Query, SelectStatement};
use switchboard_core::legs::{Leg, LegChanges};
use switchboard_core::{ConversationId, Millis, WorkspaceId};

use crate::schema::AssignmentLegs;
use crate::{Exec, IN_LIST_MAX, Result, parse, parse_opt, rows_per_statement};

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LegRow {
    conversation_id: String,
    agent_id: String,
    team_id: Option<String>,
    from_agent_id: Option<String>,
    start_reason: String,
    assigned_at: i64,
    first_reply_at: Option<i64>,
    ended_at: Option<i64>,
    end_reason: Option<String>,
}

impl LegRow {
    pub(crate) fn into_leg(self) -> Result<(ConversationId, Leg)> {
        Ok((
            parse("conversation id", &self.conversation_id)?,
            Leg {
                agent: parse("user id", &self.agent_id)?,
                team: parse_opt("team id", self.team_id.as_deref())?,
                from_agent: parse_opt("user id", self.from_agent_id.as_deref())?,
                start: parse("leg start", &self.start_reason)?,
                assigned_at: Millis(self.assigned_at),
                first_reply_at: self.first_reply_at.map(Millis),
                ended_at: self.ended_at.map(Millis),
                end: parse_opt("leg end", self.end_reason.as_deref())?,
            },
        ))
    }
}

/// A leg's columns but its workspace, in [`LegRow`]'s order.
const LEG_COLUMNS: [AssignmentLegs; 9] = [
    AssignmentLegs::ConversationId,
    AssignmentLegs::AgentId,
    AssignmentLegs::TeamId,
    AssignmentLegs::FromAgentId,
    AssignmentLegs::StartReason,
    AssignmentLegs::AssignedAt,
    AssignmentLegs::FirstReplyAt,
    AssignmentLegs::EndedAt,
    AssignmentLegs::EndReason,
];

/// The columns of [`LegRow`].
pub(crate) fn leg_select() -> SelectStatement {
    Query::select()
        .columns(LEG_COLUMNS)
        .from(AssignmentLegs::Table)
        .to_owned()
}

impl Exec<'_> {
    /// The latest leg of each of `conversations` that has one.
    pub async fn latest_legs(&mut self, conversations: &[ConversationId]) -> Result<HashMap<ConversationId, Leg>> {
        let mut latest = HashMap::new();
        for chunk in conversations.chunks(IN_LIST_MAX) {
            let rows: Vec<LegRow> = self
                .fetch_all(
                    leg_select()
                        .and_where(
                            Expr::col(AssignmentLegs::ConversationId).is_in(chunk.iter().map(ToString::to_string)),
                        )
                        .order_by(AssignmentLegs::AssignedAt, Order::Asc),
                )
                .await?;
            for row in rows {
                let (id, leg) = row.into_leg()?;
                latest.insert(id, leg);
            }
        }
        Ok(latest)
    }

    /// Write what [`switchboard_core::legs::plan`] decided for one conversation.
    pub async fn write_leg_changes(
        &mut self,
        ws: WorkspaceId,
        conversation: ConversationId,
        changes: &LegChanges,
        now: Millis,
    ) -> Result<()> {
        let this_leg = |assigned_at: Millis| {
            Expr::col(AssignmentLegs::ConversationId)
                .eq(conversation.to_string())
                .and(Expr::col(AssignmentLegs::AssignedAt).eq(assigned_at.0))
        };
        if let Some((assigned_at, why)) = changes.end {
            self.execute(
                Query::update()
                    .table(AssignmentLegs::Table)
                    .value(AssignmentLegs::EndedAt, now.0)
                    .value(AssignmentLegs::EndReason, why.as_str())
                    .and_where(this_leg(assigned_at)),
            )
            .await?;
        }
        if let Some((assigned_at, reply)) = changes.first_reply {
            self.execute(
                Query::update()
                    .table(AssignmentLegs::Table)
                    .value(AssignmentLegs::FirstReplyAt, reply.0)
                    .and_where(this_leg(assigned_at))
                    .and_where(Expr::col(AssignmentLegs::FirstReplyAt).is_null()),
            )
            .await?;
        }
        if let Some(leg) = &changes.start {
            self.execute_all(&leg_inserts(&[(ws, conversation, leg)])).await?;
        }
        Ok(())
    }
}

/// The statements that insert `legs` (new legs, or a data set's).
pub fn leg_inserts(legs: &[(WorkspaceId, ConversationId, &Leg)]) -> Vec<InsertStatement> {
    legs.chunks(rows_per_statement(LEG_COLUMNS.len() + 1))
        .map(|chunk| {
            let mut q = Query::insert();
            q.into_table(AssignmentLegs::Table)
                .columns(std::iter::once(AssignmentLegs::WorkspaceId).chain(LEG_COLUMNS));
            for (ws, conversation, leg) in chunk {
                q.values_panic([
                    ws.to_string().into(),
                    conversation.to_string().into(),
                    leg.agent.to_string().into(),
                    leg.team.map(|t| t.to_string()).into(),
                    leg.from_agent.map(|t| t.to_string()).into(),
                    leg.start.as_str().into(),
                    leg.assigned_at.0.into(),
                    leg.first_reply_at.map(|m| m.0).into(),
                    leg.ended_at.map(|m| m.0).into(),
                    leg.end.map(|e| e.as_str()).into(),
                ]);
            }
            q
        })
        .collect()
}

//! What the routing timers look for: queues to drain, idle chats to
//! expire, chats of members who went offline. Rows read to be changed are
//! locked on PostgreSQL (SQLite's writer lock already serialises).

use sea_query::{Cond, Expr, LockType, Order, Query, SelectStatement};
use switchboard_core::routing::QueueOrder;
use switchboard_core::{Availability, Conversation, ConversationStatus, Millis, TeamId, WorkspaceId};

use crate::repo::conversations::{CONVERSATION_COLUMNS, ConversationRow};
use crate::schema::*;
use crate::{Exec, Result, parse};

fn conversations_of(ws: WorkspaceId) -> SelectStatement {
    Query::select()
        .columns(CONVERSATION_COLUMNS)
        .from(Conversations::Table)
        .and_where(Expr::col(Conversations::WorkspaceId).eq(ws.to_string()))
        .lock(LockType::Update)
        .to_owned()
}

impl Exec<'_> {
    async fn locked_conversations(&mut self, q: &SelectStatement) -> Result<Vec<Conversation>> {
        let rows: Vec<ConversationRow> = self.fetch_all(q).await?;
        self.with_tags(rows).await
    }

    /// A team's queue in the order its members take chats from it.
    pub async fn queued_conversations(
        &mut self,
        ws: WorkspaceId,
        team: TeamId,
        order: QueueOrder,
        limit: u64,
    ) -> Result<Vec<Conversation>> {
        let mut q = conversations_of(ws);
        q.and_where(Expr::col(Conversations::Status).eq(ConversationStatus::Queued.as_str()))
            .and_where(Expr::col(Conversations::TeamId).eq(team.to_string()))
            .limit(limit);
        match order {
            QueueOrder::OldestFirst => q.order_by(Conversations::CreatedAt, Order::Asc),
            QueueOrder::LongestWaiting => q.order_by(Conversations::QueuedAt, Order::Asc),
        };
        q.order_by(Conversations::Id, Order::Asc);
        self.locked_conversations(&q).await
    }

    /// Teams of the workspace with chats waiting in their queue.
    pub async fn teams_with_queue(&mut self, ws: WorkspaceId) -> Result<Vec<TeamId>> {
        let rows: Vec<(String,)> = self
            .fetch_all(
                Query::select()
                    .distinct()
                    .column(Conversations::TeamId)
                    .from(Conversations::Table)
                    .and_where(Expr::col(Conversations::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Conversations::Status).eq(ConversationStatus::Queued.as_str()))
                    .and_where(Expr::col(Conversations::TeamId).is_not_null())
                    .order_by(Conversations::TeamId, Order::Asc),
            )
            .await?;
        rows.iter().map(|(t,)| parse("team id", t)).collect()
    }

    /// Open chats nobody acted on since `idle_since` (inclusive). Snoozed chats wait for
    /// their wake-up, and queued tickets for business hours: neither is idle.
    pub async fn idle_conversations(
        &mut self,
        ws: WorkspaceId,
        idle_since: Millis,
        now: Millis,
        limit: u64,
    ) -> Result<Vec<Conversation>> {
        let mut q = conversations_of(ws);
        q.and_where(Expr::col(Conversations::Status).is_in([
            ConversationStatus::Bot.as_str(),
            ConversationStatus::Queued.as_str(),
            ConversationStatus::Assigned.as_str(),
        ]))
        .and_where(Expr::col(Conversations::UpdatedAt).lte(idle_since.0))
        .cond_where(
            Cond::any()
                .add(Expr::col(Conversations::SnoozedUntil).is_null())
                .add(Expr::col(Conversations::SnoozedUntil).lte(now.0)),
        )
        .cond_where(
            Cond::any()
                .add(Expr::col(Conversations::Ticket).eq(false))
                .add(Expr::col(Conversations::Status).ne(ConversationStatus::Queued.as_str())),
        )
        .order_by(Conversations::UpdatedAt, Order::Asc)
        .order_by(Conversations::Id, Order::Asc)
        .limit(limit);
        self.locked_conversations(&q).await
    }

    /// A team's assigned chats whose agent has been offline since before `offline_since`.
    pub async fn chats_of_offline_members(
        &mut self,
        ws: WorkspaceId,
        team: TeamId,
        offline_since: Millis,
        limit: u64,
    ) -> Result<Vec<Conversation>> {
        let offline = Query::select()
            .column(Memberships::UserId)
            .from(Memberships::Table)
            .and_where(Expr::col(Memberships::WorkspaceId).eq(ws.to_string()))
            .and_where(Expr::col(Memberships::Availability).eq(Availability::Offline.as_str()))
            .and_where(Expr::col(Memberships::AvailabilityChangedAt).lte(offline_since.0))
            .to_owned();
        let mut q = conversations_of(ws);
        q.and_where(Expr::col(Conversations::Status).eq(ConversationStatus::Assigned.as_str()))
            .and_where(Expr::col(Conversations::TeamId).eq(team.to_string()))
            .and_where(Expr::col(Conversations::AssigneeId).in_subquery(offline))
            .order_by(Conversations::Id, Order::Asc)
            .limit(limit);
        self.locked_conversations(&q).await
    }
}

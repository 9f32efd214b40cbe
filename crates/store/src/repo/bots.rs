//! Bot sessions: where a bot-owned chat stands in its channel's flow and
//! which customer messages the bot has handled.

use sea_query::{Expr, OnConflict, Order, Query};
use switchboard_core::{ConversationId, Direction, Message, MessageId, Millis, SenderKind, WorkspaceId};

use crate::repo::conversations::{MessageRow, message_select};
use crate::schema::*;
use crate::{Exec, Result, parse_opt};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotSession {
    /// The step waiting for the customer; `None` before the first turn.
    pub step: Option<String>,
    pub failures: i64,
    pub last_message_id: Option<MessageId>,
}

#[derive(sqlx::FromRow)]
struct BotSessionRow {
    step: Option<String>,
    failures: i64,
    last_message_id: Option<String>,
}

impl Exec<'_> {
    pub async fn bot_session(&mut self, conversation: ConversationId) -> Result<Option<BotSession>> {
        let row: Option<BotSessionRow> = self
            .fetch_optional(
                Query::select()
                    .columns([BotSessions::Step, BotSessions::Failures, BotSessions::LastMessageId])
                    .from(BotSessions::Table)
                    .and_where(Expr::col(BotSessions::ConversationId).eq(conversation.to_string())),
            )
            .await?;
        row.map(|r| {
            Ok(BotSession {
                step: r.step,
                failures: r.failures,
                last_message_id: parse_opt("message id", r.last_message_id.as_deref())?,
            })
        })
        .transpose()
    }

    pub async fn save_bot_session(
        &mut self,
        ws: WorkspaceId,
        conversation: ConversationId,
        s: &BotSession,
        now: Millis,
    ) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(BotSessions::Table)
                .columns([
                    BotSessions::ConversationId,
                    BotSessions::WorkspaceId,
                    BotSessions::Step,
                    BotSessions::Failures,
                    BotSessions::LastMessageId,
                    BotSessions::UpdatedAt,
                ])
                .values_panic([
                    conversation.to_string().into(),
                    ws.to_string().into(),
                    s.step.clone().into(),
                    s.failures.into(),
                    s.last_message_id.map(|m| m.to_string()).into(),
                    now.0.into(),
                ])
                .on_conflict(
                    OnConflict::column(BotSessions::ConversationId)
                        .update_columns([
                            BotSessions::Step,
                            BotSessions::Failures,
                            BotSessions::LastMessageId,
                            BotSessions::UpdatedAt,
                        ])
                        .to_owned(),
                ),
        )
        .await?;
        Ok(())
    }

    pub async fn delete_bot_session(&mut self, conversation: ConversationId) -> Result<()> {
        self.execute(
            Query::delete()
                .from_table(BotSessions::Table)
                .and_where(Expr::col(BotSessions::ConversationId).eq(conversation.to_string())),
        )
        .await?;
        Ok(())
    }

    /// The customer's messages in a conversation after `after`, oldest first.
    pub async fn customer_messages_after(
        &mut self,
        conversation: ConversationId,
        after: Option<MessageId>,
        limit: u64,
    ) -> Result<Vec<Message>> {
        let mut q = message_select();
        q.and_where(Expr::col(Messages::ConversationId).eq(conversation.to_string()))
            .and_where(Expr::col(Messages::Direction).eq(Direction::In.as_str()))
            .and_where(Expr::col(Messages::SenderKind).eq(SenderKind::Contact.as_str()))
            .order_by(Messages::Id, Order::Asc)
            .limit(limit);
        if let Some(after) = after {
            q.and_where(Expr::col(Messages::Id).gt(after.to_string()));
        }
        let rows: Vec<MessageRow> = self.fetch_all(&q).await?;
        rows.into_iter().map(MessageRow::into_domain).collect()
    }
}

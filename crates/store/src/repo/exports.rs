//! What an export row needs beyond the conversation: how many messages
//! each side wrote, and who wrote first (DESIGN.md §8 "sent by").

use std::collections::HashMap;

use sea_query::{Expr, Func, Query};
use switchboard_core::{ConversationId, Direction, MessageKind};

use crate::schema::*;
use crate::{Exec, Result};

/// Message counts of one conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageCounts {
    /// From the customer.
    pub inbound: u64,
    /// To the customer (people, bots, templates).
    pub outbound: u64,
    /// Who wrote first.
    pub first: Option<Direction>,
}

/// What people wrote (not notes or activity lines).
fn written() -> [&'static str; 3] {
    [
        MessageKind::Text.as_str(),
        MessageKind::Media.as_str(),
        MessageKind::Template.as_str(),
    ]
}

impl Exec<'_> {
    /// Counts for each of `conversations` (at most [`crate::IN_LIST_MAX`]).
    pub async fn message_counts(
        &mut self,
        conversations: &[ConversationId],
    ) -> Result<HashMap<ConversationId, MessageCounts>> {
        let ids: Vec<String> = conversations.iter().map(|c| c.to_string()).collect();
        let mut out: HashMap<ConversationId, MessageCounts> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let counts: Vec<(String, String, i64)> = self
            .fetch_all(
                Query::select()
                    .columns([Messages::ConversationId, Messages::Direction])
                    .expr(Expr::col(Messages::Id).count())
                    .from(Messages::Table)
                    .and_where(Expr::col(Messages::ConversationId).is_in(ids.iter().cloned()))
                    .and_where(Expr::col(Messages::Kind).is_in(written()))
                    .group_by_col(Messages::ConversationId)
                    .group_by_col(Messages::Direction),
            )
            .await?;
        for (conversation, direction, n) in counts {
            let Ok(id) = conversation.parse() else { continue };
            let entry = out.entry(id).or_default();
            match direction.parse::<Direction>() {
                Ok(Direction::In) => entry.inbound = n.max(0) as u64,
                Ok(Direction::Out) => entry.outbound = n.max(0) as u64,
                Err(_) => {}
            }
        }
        // The first written message of each: the smallest id (ids grow with
        // time), then its direction by those ids (an explicit list, so both
        // steps use an index on either backend).
        let firsts: Vec<(String, String)> = self
            .fetch_all(
                Query::select()
                    .column(Messages::ConversationId)
                    .expr(Func::min(Expr::col(Messages::Id)))
                    .from(Messages::Table)
                    .and_where(Expr::col(Messages::ConversationId).is_in(ids.iter().cloned()))
                    .and_where(Expr::col(Messages::Kind).is_in(written()))
                    .group_by_col(Messages::ConversationId),
            )
            .await?;
        let directions: Vec<(String, String)> = self
            .fetch_all(
                Query::select()
                    .columns([Messages::ConversationId, Messages::Direction])
                    .from(Messages::Table)
                    .and_where(Expr::col(Messages::Id).is_in(firsts.into_iter().map(|(_, id)| id))),
            )
            .await?;
        for (conversation, direction) in directions {
            let Ok(id) = conversation.parse() else { continue };
            out.entry(id).or_default().first = direction.parse().ok();
        }
        Ok(out)
    }
}

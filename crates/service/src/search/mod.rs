//! Whole-archive search: the conversations whose messages, notes, comments
//! or contact match what a person typed, within any conversation filter
//! and the caller's visibility (DESIGN.md §7), each with the matching
//! words of its newest hit in a snippet.

mod saved;

pub use saved::{SavedFilterInput, SavedFilterView};

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Serialize;
use switchboard_core::permissions::Actor;
use switchboard_core::search::{Piece, TextQuery};
use switchboard_core::{Conversation, ConversationId};
use switchboard_store::Page;

use crate::{ConversationQuery, ServiceResult, Services};

/// How much of a matching message a snippet shows (characters).
const SNIPPET_WIDTH: usize = 160;

/// A conversation a search found.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SearchHit {
    pub conversation: Conversation,
    /// Around the first matching word of the newest matching message;
    /// empty when only the contact matched.
    pub snippet: Vec<Piece>,
}

impl Services {
    /// One page of conversations matching `q` (its `q` the typed search).
    pub async fn search(&self, actor: &Actor, q: ConversationQuery) -> ServiceResult<Page<SearchHit>> {
        let text = q.q.as_deref().map(TextQuery::parse).unwrap_or_default();
        let page = self.conversations(actor, q).await?;
        let ids: Vec<ConversationId> = page.items.iter().map(|c| c.id).collect();
        let mut snippets = self.snippets(actor, &ids, &text).await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|conversation| SearchHit {
                    snippet: snippets.remove(&conversation.id).unwrap_or_default(),
                    conversation,
                })
                .collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// The snippet of each of `conversations` (already checked visible)
    /// that has a message matching `text`.
    pub(crate) async fn snippets(
        &self,
        actor: &Actor,
        conversations: &[ConversationId],
        text: &TextQuery,
    ) -> ServiceResult<HashMap<ConversationId, Vec<Piece>>> {
        if text.is_empty() {
            return Ok(HashMap::new());
        }
        let hits = self
            .store()
            .reader()
            .newest_hits(actor.workspace_id, conversations, text)
            .await?;
        Ok(hits
            .into_iter()
            .map(|(id, body)| (id, text.snippet(&body, SNIPPET_WIDTH)))
            .collect())
    }
}

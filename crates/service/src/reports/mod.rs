//! The admin and supervisor console and the analytics (DESIGN.md §8): the
//! live tiles, the conversations table, figures per day, hour, agent,
//! team, channel and tag. Every figure is counted by the database or
//! folded from the figures kept on conversations and their assignment
//! legs, through the same filter as the lists and the exports, so a tile,
//! its table, the API and the CSV agree.

mod analytics;
mod tiles;

pub use analytics::{Analytics, AnalyticsQuery, GroupFigures};
pub use tiles::{AgentsNow, ConsoleTiles, TeamLoad, Waiting};

use switchboard_core::permissions::Actor;

use crate::authz::require_reports;
use crate::{ConversationQuery, ExportRow, Page, ServiceResult, Services};

impl Services {
    /// One page of the console's conversations table: the rows every
    /// export writes, for the same query.
    pub async fn console_rows(&self, actor: &Actor, q: ConversationQuery) -> ServiceResult<Page<ExportRow>> {
        require_reports(actor)?;
        let filter = self.conversation_filter(actor, &q).await?;
        // The page, the names and the hours side by side on the pool.
        let page = async {
            Ok(self
                .store()
                .reader()
                .conversation_table(actor.workspace_id, &filter)
                .await?)
        };
        let (page, names, hours) = futures::try_join!(page, self.names(actor), self.business_hours(actor))?;
        Ok(Page {
            items: self.export_rows(&names, hours.as_ref(), page.items),
            next_cursor: page.next_cursor,
        })
    }
}

impl Services {
    /// The reasons a member may pick when closing a chat.
    pub async fn close_reasons(&self, actor: &Actor) -> ServiceResult<Vec<String>> {
        crate::kernel::close_reasons(&mut self.store().reader(), actor.workspace_id).await
    }
}

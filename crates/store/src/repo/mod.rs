//! Repositories: each function is one statement (or a few), written once
//! with sea-query and run on either backend through [`Exec`](crate::Exec).

mod accounts;
mod archives;
mod assist;
mod attachments;
mod bots;
mod campaigns;
mod cluster;
mod contacts;
mod conversations;
mod events;
mod hook_status;
mod ingest;
mod invitations;
mod jobs;
mod legs;
mod notifications;
mod org;
mod quick_replies;
mod reports;
mod retention;
mod saved_filters;
mod search;
mod table;
mod templates;
mod timers;
mod webhooks;

pub use accounts::*;
pub use archives::*;
pub use assist::*;
pub use attachments::*;
pub use bots::*;
pub use campaigns::*;
pub use contacts::*;
pub use conversations::*;
pub use events::*;
pub use hook_status::*;
pub use ingest::*;
pub use invitations::*;
pub use jobs::*;
pub use legs::leg_inserts;
pub use notifications::*;
pub use org::*;
pub use retention::*;
pub use saved_filters::*;
pub use table::CustomerBrief;
pub use templates::*;
pub use webhooks::*;

/// Wall-clock now in milliseconds, for bookkeeping columns the rules do not
/// read (rule-relevant times come from the service's clock).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A page of results and the cursor to pass for the next one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Trim a result fetched with `limit + 1` rows to `limit`, and derive the
/// next cursor from the last row kept.
pub fn page_of<T>(mut rows: Vec<T>, limit: u64, cursor_of: impl Fn(&T) -> String) -> Page<T> {
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(&cursor_of) } else { None };
    Page {
        items: rows,
        next_cursor,
    }
}

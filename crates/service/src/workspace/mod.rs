//! The workspace as a whole: its audit log and what retention keeps.

mod audit;
mod retention;

pub use audit::AuditLogEntry;
pub use retention::{PreviewConversation, RetentionPreview};
pub(crate) use retention::{Purge, retention_days};

//! The workspace as a whole: its audit log and what retention keeps.

mod archives;
mod audit;
mod retention;

pub use archives::MonthlyArchiveView;
pub(crate) use archives::WriteArchives;
pub use audit::AuditLogEntry;
pub use retention::{PreviewConversation, RetentionPreview};
pub(crate) use retention::{Purge, retention_days};

//! What a workspace keeps to write with: quick replies, templates and the
//! files of conversations and of the library.

mod attachments;
mod quick_replies;
mod templates;
mod thumbnails;

pub(crate) use attachments::Storage;
pub use attachments::{
    AttachmentLimitsInput, ByteStream, StorageConfig, Upload, Uploader, human_size, sha256_of_key, storage_key,
};
pub use quick_replies::{QuickReplyInput, QuickReplyUpdate, SendQuickReply};
pub use templates::{
    SkippedTemplate, TemplateInput, TemplatePreview, TemplatePreviewRequest, TemplateQuery, TemplateSync,
    TemplateUpdate,
};

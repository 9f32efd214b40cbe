//! What a kind of channel can do, as data. Each channel adapter declares
//! its capabilities; everything outside the adapters asks them instead of
//! matching on the kind (DESIGN.md §12).

use crate::model::AttachmentKind;
pub use crate::windows::{WindowExtension, WindowRule};

/// A kind of file the provider carries to the customer, and its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct MediaLimit {
    pub kind: AttachmentKind,
    pub max_bytes: i64,
}

/// How files from the business reach the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FilesOut {
    /// The channel carries no files to the customer.
    None,
    /// The customer's client (our widget) fetches them itself.
    Live,
    /// Through the outbox, each file as a time-limited signed link.
    SignedLink,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Capabilities {
    /// The provider's name, as people know it ("WhatsApp").
    pub label: &'static str,
    /// A short badge for lists ("WA").
    pub badge: &'static str,
    /// Whether the business can write to the customer at all (a channel may
    /// still need configuration first; the adapter says).
    pub can_write: bool,
    pub window: WindowRule,
    /// Menus are shown as buttons (else as numbered lines).
    pub buttons: bool,
    /// Interactive lists (longer menus).
    pub lists: bool,
    /// Provider-approved message templates.
    pub templates: bool,
    pub files_out: FilesOut,
    /// Files the customer can receive, with the provider's limits.
    pub media: &'static [MediaLimit],
    /// A reply can quote an earlier message.
    pub quoting: bool,
    /// The provider reports when the customer read a message.
    pub read_receipts: bool,
    /// A typing indicator can be shown to the customer.
    pub typing: bool,
    /// Customers write through our embeddable widget (its settings apply).
    pub widget: bool,
    /// The provider calls our hook URL (`/hooks/{kind}/{channel_id}`).
    pub inbound_hook: bool,
    /// The provider can be asked whether the channel's account works
    /// ("check connection").
    pub checks_connection: bool,
    /// The customer can be shown that the business read their messages
    /// (sent when the assigned agent opens the chat).
    pub sends_read_receipts: bool,
    /// The provider keeps the channel's approved templates, which can be
    /// synced into the workspace's.
    pub syncs_templates: bool,
    /// Text travels in SMS segments (160 GSM-7 characters, or 70 of any
    /// other, each; 153 and 67 once split): the composer counts them.
    pub sms_segments: bool,
}

impl Capabilities {
    /// The size limit for a kind of file, if the customer can receive it.
    pub fn media_limit(&self, kind: AttachmentKind) -> Option<i64> {
        self.media.iter().find(|m| m.kind == kind).map(|m| m.max_bytes)
    }
}

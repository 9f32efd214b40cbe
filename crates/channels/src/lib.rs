//! Channel adapters. Each provider's module verifies and parses what the
//! provider sends us into the normalized types below, and turns an outbound
//! message into the provider's API call. Nothing outside this crate sees a
//! provider payload.

pub mod adapter;
pub mod api;
mod documented;
pub mod email;
pub mod messenger;
pub mod meta;
pub mod net;
pub mod registry;
pub mod signing;
pub mod telegram;
pub mod testing;
pub mod twilio;
pub mod vk;
pub mod web;
pub mod whatsapp;
pub mod x;

pub use adapter::{
    BoxFuture, ChannelAdapter, ChannelSetup, ConfigError, ConnectError, FetchedMedia, Hook, HookMethod, HookReply,
    HookRequest, InboundOutcome, MediaBody, Polled, ProviderTemplate, Secret, SendContext,
};
pub use registry::{ProviderApis, Registry};

use switchboard_core::Millis;

#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("the request signature is missing")]
    MissingSignature,
    #[error("the request signature does not match")]
    BadSignature,
    #[error("the payload is not valid: {0}")]
    BadPayload(String),
    /// The body is not of a type the provider sends (the message says which).
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("this hook does not take that method")]
    MethodNotAllowed,
    /// The channel does not take requests at its hook URL.
    #[error("channel not found")]
    NoHook,
}

/// The customer as the provider identifies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalContact {
    pub external_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A customer message, normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// The provider's id of the message: the deduplication key.
    pub external_id: String,
    pub contact: ExternalContact,
    pub text: String,
    /// The provider's id of a message this one quotes.
    pub in_reply_to: Option<String>,
    /// Earlier messages of the same thread, by the provider's ids, oldest
    /// first (e-mail's `References`): where [`ChannelAdapter::threads_replies`]
    /// says so, they decide the conversation.
    pub references: Vec<String>,
    /// The subject line, where the provider has one (e-mail).
    pub subject: Option<String>,
    /// The formatted version, sanitised ([`email::sanitize_html`]), where
    /// the provider sends one (e-mail).
    pub html: Option<String>,
    pub sent_at: Option<Millis>,
    /// Files the customer sent, fetched with the adapter's `fetch_media`.
    pub media: Vec<InboundMedia>,
}

/// A file the provider tells us about: how to fetch it, or the file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMedia {
    /// What the adapter's `fetch_media` needs (a URL, a provider's media id).
    pub reference: String,
    /// The name the customer gave, only shown.
    pub filename: Option<String>,
    /// The file, where the request itself carried it (an e-mail posted to
    /// the hook): stored as it is, `fetch_media` is not asked.
    pub content: Option<bytes::Bytes>,
}

/// The provider reports what happened to a message we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The provider's id of our message, or our own message id.
    pub message_id: String,
    pub status: switchboard_core::DeliveryStatus,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    Message(InboundMessage),
    Status(StatusUpdate),
    /// The provider reviewed or re-categorised one of the channel's
    /// templates.
    Template(TemplateUpdate),
    /// The customer changed the text of a message they sent.
    Edit(InboundEdit),
    /// Once the events before it are stored, tell the provider (the
    /// adapter's [`ChannelAdapter::acknowledge`] with this reference).
    Acknowledge(String),
    /// A message the business sent to the customer from elsewhere (the
    /// provider's own inbox): kept in the history as sent outside
    /// Switchboard. `contact` is the customer it went to.
    Echo(InboundMessage),
    /// Every message the business sent the customer before `up_to` was
    /// delivered or read (Messenger's watermarks).
    Watermark(Watermark),
}

/// A delivery or read report about every earlier message to a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watermark {
    /// The customer, as the provider identifies them.
    pub contact_external_id: String,
    pub status: switchboard_core::DeliveryStatus,
    pub up_to: Millis,
}

/// What a provider's profile API says about a customer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExternalProfile {
    pub name: Option<String>,
    /// Their picture, as the provider links it (may expire).
    pub picture_url: Option<String>,
}

/// A customer's message, changed: the earlier text is kept as its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEdit {
    /// The provider's id of the message (as in [`InboundMessage::external_id`]).
    pub external_id: String,
    pub text: String,
    pub edited_at: Option<Millis>,
}

/// What the provider changed about a template, by name and language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateUpdate {
    pub name: String,
    pub language: String,
    /// The new review status, lower case (`approved`, `rejected`, `paused`, …).
    pub status: Option<String>,
    /// The new category, lower case.
    pub category: Option<String>,
    /// The new quality rating, lower case (`green`, `yellow`, `red`).
    pub quality: Option<String>,
}

/// An agent's message on its way to the customer.
#[derive(Debug, Clone)]
pub struct OutboundMessage {
    pub message_id: String,
    pub conversation_id: String,
    pub recipient_external_id: String,
    pub text: String,
    pub sender_name: Option<String>,
    pub in_reply_to: Option<String>,
    pub created_at: Millis,
    /// Choices to offer as buttons, where the channel has them.
    pub buttons: Vec<String>,
    /// A template message: what the provider needs to send it (`text` is
    /// the template's text filled with the values).
    pub template: Option<OutboundTemplate>,
    /// Files of a media message, each with a link the receiver can fetch.
    pub attachments: Vec<OutboundFile>,
    /// The free-form window is over but the channel's extension is not:
    /// the message goes with this tag (Messenger's `HUMAN_AGENT`).
    pub tag: Option<String>,
    /// The conversation's subject (the latest one a message carried), for
    /// adapters that thread replies ([`ChannelAdapter::threads_replies`]).
    pub subject: Option<String>,
    /// The provider ids of the conversation's earlier messages, oldest
    /// first (the newest ones), for adapters that thread replies.
    pub thread: Vec<String>,
}

/// A file sent with a message: a time-limited, signed link to fetch it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutboundFile {
    pub url: String,
    pub filename: String,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
}

impl From<&switchboard_core::template::SentTemplate> for OutboundTemplate {
    fn from(t: &switchboard_core::template::SentTemplate) -> Self {
        OutboundTemplate {
            name: t.name.clone(),
            language: t.language.clone(),
            params: t.params.clone(),
            header: t.header.clone(),
            buttons: t.buttons.clone(),
        }
    }
}

/// A message template as providers name it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutboundTemplate {
    pub name: String,
    pub language: String,
    /// The values of `{{1}}`, `{{2}}`, … in order.
    pub params: Vec<String>,
    /// What the header holds, where it takes a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<switchboard_core::template::HeaderValue>,
    /// The buttons' values, by position.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<switchboard_core::template::ButtonValue>,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later (network trouble, 5xx, 429, 408).
    #[error("{0}")]
    Retryable(String),
    /// Will not succeed as sent (refused target, 4xx).
    #[error("{0}")]
    Permanent(String),
    /// The provider says the messaging window is closed (WhatsApp's
    /// re-engagement error): fails now, and our records close the window.
    #[error("{0}")]
    WindowClosed(String),
    /// The provider caps messages to this person for a while (WhatsApp's
    /// marketing limit): try again no sooner than `retry_in_ms`, a few
    /// times at most.
    #[error("{reason}")]
    Limited { reason: String, retry_in_ms: i64 },
}

/// What the provider told us about a sent message.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    pub provider_message_id: Option<String>,
}

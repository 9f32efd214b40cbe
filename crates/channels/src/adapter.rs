//! The channel port: what every provider adapter does for the rest of the
//! system. A provider's request comes in as a [`HookRequest`] and leaves as
//! a [`HookReply`] plus normalized [`Inbound`] events; an outbound message
//! goes out through [`ChannelAdapter::send`]. Handshakes, form bodies,
//! custom answer bodies and retry rules are each adapter's own business.

use std::future::Future;
use std::pin::Pin;

use switchboard_core::capabilities::Capabilities;
use switchboard_core::{ChannelId, ChannelKind, ConversationId, MessageId, Millis, WorkspaceId};

use crate::net::OutboundHttp;
use crate::{Inbound, InboundError, OutboundMessage, SendError, Sent};

/// A configuration value an admin gave that is not right: the field (as
/// `config.<name>`) and what is wrong, for the form to show beside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    pub field: &'static str,
    pub message: String,
    /// The kind takes no configuration at all (not a wrong value).
    pub not_taken: bool,
}

impl ConfigError {
    pub fn new(field: &'static str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            field,
            message: message.into(),
            not_taken: false,
        }
    }
}

/// Why a channel could not be registered with its provider.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// A configuration value the provider refuses (a wrong token), shown
    /// beside its field.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The provider failed or could not be reached.
    #[error(transparent)]
    Provider(#[from] SendError),
}

/// A boxed future, so adapters can sit behind `dyn ChannelAdapter`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A channel's secret: never printed, never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for signing and verifying.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// What an adapter sees of one configured channel.
#[derive(Debug, Clone)]
pub struct ChannelSetup {
    pub id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub kind: ChannelKind,
    /// Where the business's messages go (the API channel's receiver).
    pub callback_url: Option<String>,
    pub secret: Option<Secret>,
    /// The channel's stored settings (per-kind configuration).
    pub settings: serde_json::Value,
}

impl ChannelSetup {
    /// The channel's stored configuration (`settings.config`), as its
    /// adapter reads it; `None` when it has none or it is not of that shape.
    pub fn config<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        stored_config(self.settings.get("config"))
    }
}

/// A stored configuration (what [`ChannelAdapter::configure`] gets as
/// `current`), read as the adapter's own type.
pub fn stored_config<T: serde::de::DeserializeOwned>(stored: Option<&serde_json::Value>) -> Option<T> {
    stored.and_then(|value| T::deserialize(value).ok())
}

/// The configuration an admin gave: an object whose fields are all among
/// `known` (nothing given is an empty object).
pub fn given_config<'a>(
    given: Option<&'a serde_json::Value>,
    known: &[&str],
) -> Result<std::borrow::Cow<'a, serde_json::Map<String, serde_json::Value>>, ConfigError> {
    let fields = match given {
        None | Some(serde_json::Value::Null) => std::borrow::Cow::Owned(serde_json::Map::new()),
        Some(serde_json::Value::Object(map)) => std::borrow::Cow::Borrowed(map),
        Some(_) => return Err(ConfigError::new("config", "must be an object")),
    };
    if let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ConfigError::new("config", format!("has no field {unknown:?}")));
    }
    Ok(fields)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookMethod {
    Get,
    Post,
    Other,
}

/// A provider's request to `/hooks/{kind}/{channel_id}`, as received.
#[derive(Debug, Clone)]
pub struct HookRequest {
    pub method: HookMethod,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Header names in lower case, values as sent (non-UTF-8 values dropped).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HookRequest {
    /// The first value of a header (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The query's parameters, decoded, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// One query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Whether the body is declared as this media type (`application/json`,
    /// parameters such as `charset` aside).
    pub fn content_type_is(&self, mime: &str) -> bool {
        self.header("content-type")
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(mime))
    }

    /// The body's form parameters (`application/x-www-form-urlencoded`).
    pub fn form_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body).into_owned().collect()
    }
}

/// What we answer the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookReply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl HookReply {
    /// `200` with an empty body.
    pub fn ok() -> HookReply {
        HookReply {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: Vec::new(),
        }
    }

    pub fn text(status: u16, body: impl Into<String>) -> HookReply {
        HookReply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into().into_bytes(),
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> HookReply {
        HookReply {
            status,
            content_type: "application/json",
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }
}

/// What an adapter made of a hook request.
#[derive(Debug)]
pub enum Hook {
    /// Answer at once, nothing to store (a handshake, an event we ignore).
    Reply(HookReply),
    /// Store these events, then answer with [`ChannelAdapter::answer`].
    Events(Vec<Inbound>),
}

/// What became of one inbound event, for the adapter's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundOutcome {
    Message {
        message_id: MessageId,
        conversation_id: ConversationId,
        /// The provider's id was stored before; nothing new was written.
        duplicate: bool,
    },
    Status {
        message_id: MessageId,
        /// Whether the status moved forward.
        applied: bool,
    },
    /// A delivery report about a message we do not know, skipped.
    Skipped,
    /// Something other than a message or a report was recorded (a
    /// template's review).
    Recorded,
}

/// A file's bytes as they arrive.
pub type MediaBody = Pin<Box<dyn futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send>>;

/// A file on its way from a provider: streamed, so the caller can stop it
/// at its size limit.
pub struct FetchedMedia {
    /// The name the provider gave, if any.
    pub filename: Option<String>,
    /// The size the provider announced (`Content-Length`), if any.
    pub declared_size: Option<u64>,
    pub body: MediaBody,
}

impl std::fmt::Debug for FetchedMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchedMedia")
            .field("filename", &self.filename)
            .field("declared_size", &self.declared_size)
            .finish_non_exhaustive()
    }
}

/// What one poll of a provider brought.
#[derive(Debug, Default)]
pub struct Polled {
    pub events: Vec<Inbound>,
    /// Where the next poll starts (the provider's update offset, the last
    /// UID seen); `None` keeps the one before.
    pub cursor: Option<String>,
}

/// A message template as the provider keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderTemplate {
    pub name: String,
    pub language: String,
    /// The provider's category, lower case (`utility`, `marketing`, …).
    pub category: String,
    /// The provider's review status, lower case (`approved`, `rejected`, …).
    pub status: String,
    /// The body text with its `{{1}}` placeholders; `None` when it has none.
    pub body: Option<String>,
    /// Its header and buttons as the provider describes them (checked
    /// against our rules when synced).
    pub parts: switchboard_core::template::TemplateParts,
    /// The provider's quality rating, lower case.
    pub quality: Option<String>,
}

/// What a send needs besides the message.
#[derive(Debug)]
pub struct SendContext<'a> {
    pub http: &'a OutboundHttp,
    pub channel: &'a ChannelSetup,
    /// The same on every retry of one delivery, for the receiver's
    /// deduplication.
    pub delivery_id: &'a str,
    pub now: Millis,
}

/// The port every provider implements.
pub trait ChannelAdapter: Send + Sync + 'static {
    fn kind(&self) -> ChannelKind;

    fn capabilities(&self) -> &Capabilities;

    /// Whether this channel, as configured, can write to the customer now;
    /// the error says what is missing.
    fn ready_to_send(&self, channel: &ChannelSetup) -> Result<(), String> {
        let _ = channel;
        if self.capabilities().can_write {
            Ok(())
        } else {
            Err(format!(
                "{} channels cannot write to the customer",
                self.capabilities().label
            ))
        }
    }

    /// Check the configuration an admin gives (`config` when a channel is
    /// created or changed) and return what is stored, under the channel's
    /// settings as `config`. `current` is what is stored now: a change may
    /// leave secrets out to keep them.
    fn configure(
        &self,
        given: Option<&serde_json::Value>,
        current: Option<&serde_json::Value>,
    ) -> Result<Option<serde_json::Value>, ConfigError> {
        match given {
            None | Some(serde_json::Value::Null) => Ok(current.cloned()),
            Some(_) => Err(ConfigError {
                not_taken: true,
                ..ConfigError::new(
                    "config",
                    format!("{} channels take no configuration", self.capabilities().label),
                )
            }),
        }
    }

    /// What admins may see of the stored configuration: never a secret.
    fn public_config(&self, stored: &serde_json::Value) -> serde_json::Value {
        let _ = stored;
        serde_json::Value::Null
    }

    /// Verify and parse a provider's request. Called only for a channel of
    /// this adapter's kind.
    fn handle_hook<'a>(&'a self, channel: &'a ChannelSetup, request: &'a HookRequest) -> Result<Hook, InboundError>;

    /// Whether a delivery report about a message we do not know fails the
    /// request (the API channel answers 404) or is skipped (a provider that
    /// also reports on messages sent from elsewhere, and retries a failed
    /// webhook for days).
    fn unknown_status_fails(&self) -> bool {
        true
    }

    /// Whether a hook request made to `channel` may also carry events for
    /// `other` (several WhatsApp numbers of one Meta app: Meta calls one
    /// URL). Each such channel then reads the request as its own, checking
    /// the signature with its own secret and taking only its own events.
    fn shares_hooks(&self, channel: &ChannelSetup, other: &ChannelSetup) -> bool {
        let _ = (channel, other);
        false
    }

    /// Whether this kind of channel ever shares hooks ([`shares_hooks`](Self::shares_hooks)).
    fn may_share_hooks(&self) -> bool {
        false
    }

    /// Whether a reply carries its conversation's thread (the subject and
    /// the provider ids of earlier messages, [`OutboundMessage::thread`]):
    /// e-mail threads by headers.
    fn threads_replies(&self) -> bool {
        false
    }

    /// The largest request body the hook takes, when more than the
    /// server's general limit (a relay posts whole e-mails with their files).
    fn hook_body_limit(&self) -> Option<usize> {
        None
    }

    /// The answer once the events of [`Hook::Events`] are durably stored.
    fn answer(&self, outcomes: &[InboundOutcome]) -> HookReply {
        let _ = outcomes;
        HookReply::ok()
    }

    /// Deliver one message; the provider's id on success.
    fn send<'a>(&'a self, cx: SendContext<'a>, message: &'a OutboundMessage) -> BoxFuture<'a, Result<Sent, SendError>>;

    /// Download a file the customer sent, by the reference the provider gave
    /// with the inbound event.
    fn fetch_media<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<FetchedMedia, SendError>> {
        let _ = (http, channel, reference);
        let label = self.capabilities().label;
        Box::pin(async move {
            Err(SendError::Permanent(format!(
                "{label} channels bring no files to fetch"
            )))
        })
    }

    /// Whether this channel, as configured, gets its events by polling (a
    /// mailbox by IMAP, Telegram's `getUpdates`) instead of being called.
    fn polls(&self, channel: &ChannelSetup) -> bool {
        let _ = channel;
        false
    }

    /// Fetch what is new after `cursor` (the last poll's). It may wait for
    /// news (long polling) for less than the job lease.
    fn poll<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Polled, SendError>> {
        let _ = (http, channel, cursor);
        let label = self.capabilities().label;
        Box::pin(async move { Err(SendError::Permanent(format!("{label} channels do not poll"))) })
    }

    /// The templates the provider keeps for this channel's account, every
    /// page of them.
    fn provider_templates<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
    ) -> BoxFuture<'a, Result<Vec<ProviderTemplate>, SendError>> {
        let _ = (http, channel);
        let label = self.capabilities().label;
        Box::pin(async move {
            Err(SendError::Permanent(format!(
                "{label} channels keep no templates at a provider"
            )))
        })
    }

    /// Show the customer that the business read their messages up to this
    /// one (the provider's id), where the provider can.
    fn mark_read<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        provider_message_id: &'a str,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        let _ = (http, channel, provider_message_id);
        Box::pin(async { Ok(()) })
    }

    /// Ask the provider whether this channel's account works: `Ok` says
    /// what it is connected to, `Err` exactly what is wrong (a bad token,
    /// an unknown number, an unreachable API).
    fn check_connection<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
    ) -> BoxFuture<'a, Result<String, String>> {
        let _ = (http, channel);
        let label = self.capabilities().label;
        Box::pin(async move { Ok(format!("{label} channels have no provider account to check")) })
    }

    /// Register our hook with the provider, where it has such a call (or
    /// make sure none is set, for a channel that polls).
    fn connect<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
    ) -> BoxFuture<'a, Result<(), ConnectError>> {
        let _ = (http, channel);
        Box::pin(async { Ok(()) })
    }

    /// Tell the provider an event was received and stored, where it waits
    /// to hear (Telegram's `answerCallbackQuery` for a button tap): the
    /// reference of [`Inbound::Acknowledge`](crate::Inbound::Acknowledge).
    fn acknowledge<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        let _ = (http, channel, reference);
        Box::pin(async { Ok(()) })
    }

    /// Whether a customer's STOP on this channel stops every message to
    /// them, not only campaigns (carriers' rule for SMS), until START.
    fn opt_out_stops_all(&self) -> bool {
        false
    }

    /// Show the customer that the business is typing (capability
    /// `typing`), where the provider takes it from us.
    fn show_typing<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        recipient_external_id: &'a str,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        let _ = (http, channel, recipient_external_id);
        Box::pin(async { Ok(()) })
    }

    /// Whether the provider has a profile API for customers (asked once,
    /// for a customer we do not know yet).
    fn fetches_profiles(&self) -> bool {
        false
    }

    /// What the provider's profile API says about a customer.
    fn fetch_profile<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        external_id: &'a str,
    ) -> BoxFuture<'a, Result<crate::ExternalProfile, SendError>> {
        let _ = (http, channel, external_id);
        Box::pin(async { Ok(crate::ExternalProfile::default()) })
    }

    /// Remove our hook from the provider, where it has such a call.
    fn disconnect<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        let _ = (http, channel);
        Box::pin(async { Ok(()) })
    }
}

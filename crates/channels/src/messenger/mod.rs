//! Facebook Messenger and Instagram messaging (channels.md §3): one
//! adapter, two platforms. The configuration is the Page's id (Messenger)
//! or the Instagram professional account's id, the Page access token and
//! the Meta app's secret; the channel secret is the verify token an admin
//! pastes into Meta's dashboard with the hook URL. The handshake and the
//! signature are Meta's ([`crate::meta`]), as for WhatsApp.
//!
//! Inbound: messages with files (fetched from Meta's CDN link), quick
//! replies and postbacks as the customer's words, reactions, story replies
//! and mentions and shares as lines, echoes of messages sent from Meta's
//! own inbox, delivery and read watermarks. Outbound: text with quick
//! replies, files by link, the typing indicator; 24 hours of free-form replies, then the
//! `HUMAN_AGENT` tag for 7 days (DESIGN.md §6).

mod send_api;
mod webhook;

use serde::{Deserialize, Serialize};
use switchboard_core::capabilities::{Capabilities, FilesOut, MediaLimit, WindowRule};
use switchboard_core::windows::DAY_MS;
use switchboard_core::{AttachmentKind, ChannelKind};

use crate::adapter::{
    BoxFuture, ChannelAdapter, ChannelSetup, ConfigError, FetchedMedia, Hook, HookMethod, HookRequest, SendContext,
};
use crate::net::OutboundHttp;
use crate::whatsapp::GraphApi;
use crate::{ExternalProfile, InboundError, OutboundMessage, SendError, Sent};

const MB: i64 = 1024 * 1024;

const WINDOW: WindowRule = WindowRule::free_form(DAY_MS).with_extension("HUMAN_AGENT", 7 * DAY_MS);

const fn capabilities(label: &'static str, badge: &'static str, media: &'static [MediaLimit]) -> Capabilities {
    Capabilities {
        label,
        badge,
        can_write: true,
        window: WINDOW,
        // Quick replies, up to 13.
        buttons: true,
        lists: false,
        templates: false,
        // Meta fetches each file by its signed link.
        files_out: FilesOut::SignedLink,
        media,
        quoting: false,
        read_receipts: true,
        // `sender_action: typing_on`, within the 24 hours.
        typing: true,
        widget: false,
        inbound_hook: true,
        checks_connection: true,
        sends_read_receipts: false,
        syncs_templates: false,
        sms_segments: false,
    }
}

pub const MESSENGER_CAPABILITIES: Capabilities = capabilities(
    "Messenger",
    "FB",
    &[
        MediaLimit {
            kind: AttachmentKind::Image,
            max_bytes: 25 * MB,
        },
        MediaLimit {
            kind: AttachmentKind::Video,
            max_bytes: 25 * MB,
        },
        MediaLimit {
            kind: AttachmentKind::Audio,
            max_bytes: 25 * MB,
        },
        MediaLimit {
            kind: AttachmentKind::Document,
            max_bytes: 25 * MB,
        },
    ],
);

/// Instagram takes images up to 8 MB, audio and video up to 25 MB, and no
/// other files.
pub const INSTAGRAM_CAPABILITIES: Capabilities = capabilities(
    "Instagram",
    "IG",
    &[
        MediaLimit {
            kind: AttachmentKind::Image,
            max_bytes: 8 * MB,
        },
        MediaLimit {
            kind: AttachmentKind::Video,
            max_bytes: 25 * MB,
        },
        MediaLimit {
            kind: AttachmentKind::Audio,
            max_bytes: 25 * MB,
        },
    ],
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Messenger,
    Instagram,
}

impl Platform {
    fn label(self) -> &'static str {
        self.capabilities().label
    }

    fn capabilities(self) -> &'static Capabilities {
        match self {
            Platform::Messenger => &MESSENGER_CAPABILITIES,
            Platform::Instagram => &INSTAGRAM_CAPABILITIES,
        }
    }

    /// The webhook's `object`.
    fn object(self) -> &'static str {
        match self {
            Platform::Messenger => "page",
            Platform::Instagram => "instagram",
        }
    }
}

/// A channel's configuration as stored (secrets included: it never leaves
/// the server; admins see [`ChannelAdapter::public_config`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    page_id: String,
    access_token: String,
    app_secret: String,
}

impl Config {
    fn of(channel: &ChannelSetup) -> Option<Config> {
        channel.config()
    }

    fn required(channel: &ChannelSetup, platform: Platform) -> Result<Config, SendError> {
        Config::of(channel)
            .ok_or_else(|| SendError::Permanent(format!("this {} channel has no account configured", platform.label())))
    }
}

#[derive(Debug)]
pub struct MessengerAdapter {
    graph: GraphApi,
    platform: Platform,
}

impl MessengerAdapter {
    pub fn new(graph: GraphApi, platform: Platform) -> MessengerAdapter {
        MessengerAdapter { graph, platform }
    }
}

impl ChannelAdapter for MessengerAdapter {
    fn kind(&self) -> ChannelKind {
        match self.platform {
            Platform::Messenger => ChannelKind::Messenger,
            Platform::Instagram => ChannelKind::Instagram,
        }
    }

    fn capabilities(&self) -> &Capabilities {
        self.platform.capabilities()
    }

    fn ready_to_send(&self, channel: &ChannelSetup) -> Result<(), String> {
        Config::required(channel, self.platform)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn configure(
        &self,
        given: Option<&serde_json::Value>,
        current: Option<&serde_json::Value>,
    ) -> Result<Option<serde_json::Value>, ConfigError> {
        let given = crate::adapter::given_config(given, &["page_id", "access_token", "app_secret"])?;
        let given = &*given;
        let current: Option<Config> = crate::adapter::stored_config(current);
        let pick = |given: Option<String>, current: Option<String>, field: &'static str| {
            given.or(current).ok_or_else(|| ConfigError::new(field, "is required"))
        };
        let config = Config {
            page_id: pick(
                crate::meta::numeric_id("config.page_id", given.get("page_id"))?,
                current.as_ref().map(|c| c.page_id.clone()),
                "config.page_id",
            )?,
            access_token: pick(
                crate::meta::secret_text("config.access_token", given.get("access_token"))?,
                current.as_ref().map(|c| c.access_token.clone()),
                "config.access_token",
            )?,
            app_secret: pick(
                crate::meta::secret_text("config.app_secret", given.get("app_secret"))?,
                current.as_ref().map(|c| c.app_secret.clone()),
                "config.app_secret",
            )?,
        };
        serde_json::to_value(config)
            .map(Some)
            .map_err(|e| ConfigError::new("config", e.to_string()))
    }

    fn public_config(&self, stored: &serde_json::Value) -> serde_json::Value {
        match serde_json::from_value::<Config>(stored.clone()) {
            Ok(c) => serde_json::json!({
                "page_id": c.page_id,
                "access_token_set": true,
                "app_secret_set": true,
            }),
            Err(_) => serde_json::Value::Null,
        }
    }

    fn handle_hook<'a>(&'a self, channel: &'a ChannelSetup, request: &'a HookRequest) -> Result<Hook, InboundError> {
        let config = Config::of(channel).ok_or(InboundError::NoHook)?;
        match request.method {
            HookMethod::Get => crate::meta::handshake(channel, request),
            HookMethod::Post => {
                crate::meta::verify(
                    &config.app_secret,
                    &request.body,
                    request.header(crate::meta::SIGNATURE_HEADER),
                )?;
                Ok(Hook::Events(webhook::parse(
                    &request.body,
                    self.platform.object(),
                    &config.page_id,
                )?))
            }
            HookMethod::Other => Err(InboundError::MethodNotAllowed),
        }
    }

    /// Meta also reports on messages sent from elsewhere.
    fn unknown_status_fails(&self) -> bool {
        false
    }

    fn send<'a>(&'a self, cx: SendContext<'a>, message: &'a OutboundMessage) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let config = Config::required(cx.channel, self.platform)?;
            send_api::send(cx.http, &self.graph, self.platform, &config, message).await
        })
    }

    /// Meta's CDN links need no token.
    fn fetch_media<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<FetchedMedia, SendError>> {
        let _ = channel;
        Box::pin(async move { crate::net::fetch_url(http, reference).await })
    }

    fn show_typing<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        recipient_external_id: &'a str,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let config = Config::required(channel, self.platform)?;
            send_api::typing(http, &self.graph, self.platform, &config, recipient_external_id).await
        })
    }

    fn fetches_profiles(&self) -> bool {
        true
    }

    fn fetch_profile<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        external_id: &'a str,
    ) -> BoxFuture<'a, Result<ExternalProfile, SendError>> {
        Box::pin(async move {
            let config = Config::required(channel, self.platform)?;
            send_api::profile(http, &self.graph, self.platform, &config, external_id).await
        })
    }

    fn check_connection<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let config = Config::of(channel).ok_or_else(|| "no account is configured".to_owned())?;
            send_api::check(http, &self.graph, self.platform, &config).await
        })
    }
}

//! WhatsApp Business Platform, Cloud API (channels.md §1). The channel's
//! configuration is the phone number id, the business account id, the
//! access token and the app secret; the channel secret is the verify token
//! an admin pastes into Meta's dashboard with the hook URL.
//!
//! Inbound: the `GET` verification handshake, then signed `POST`s
//! (`X-Hub-Signature-256`, HMAC-SHA256 of the raw body with the app
//! secret) carrying messages and statuses for this number. Media is
//! fetched in two steps (its URL, then its bytes, both with the token).
//! Outbound: text (link previews off), replies, templates.

mod graph;
mod webhook;

use serde::{Deserialize, Serialize};
use switchboard_core::AttachmentKind;
use switchboard_core::ChannelKind;
use switchboard_core::capabilities::{Capabilities, FilesOut, MediaLimit, WindowRule};
use switchboard_core::windows::DAY_MS;

use crate::adapter::{
    BoxFuture, ChannelAdapter, ChannelSetup, ConfigError, FetchedMedia, Hook, HookMethod, HookRequest,
    ProviderTemplate, SendContext,
};
use crate::net::OutboundHttp;
use crate::{InboundError, OutboundMessage, SendError, Sent};

pub use graph::message_bodies as request_bodies;
pub use webhook::{SIGNATURE_HEADER, sign};

const MB: i64 = 1024 * 1024;

pub const CAPABILITIES: Capabilities = Capabilities {
    label: "WhatsApp",
    badge: "WA",
    can_write: true,
    window: WindowRule::free_form(DAY_MS),
    // Up to 3 choices as reply buttons, up to 10 as a list.
    buttons: true,
    lists: true,
    templates: true,
    // Meta fetches each file by its signed link.
    files_out: FilesOut::SignedLink,
    media: &[
        MediaLimit {
            kind: AttachmentKind::Image,
            max_bytes: 5 * MB,
        },
        MediaLimit {
            kind: AttachmentKind::Video,
            max_bytes: 16 * MB,
        },
        MediaLimit {
            kind: AttachmentKind::Audio,
            max_bytes: 16 * MB,
        },
        MediaLimit {
            kind: AttachmentKind::Document,
            max_bytes: 100 * MB,
        },
    ],
    quoting: true,
    read_receipts: true,
    typing: false,
    widget: false,
    inbound_hook: true,
    checks_connection: true,
    sends_read_receipts: true,
    syncs_templates: true,
    sms_segments: false,
};

/// Where the Graph API is (tests point it at a local fake) and which
/// version to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphApi {
    pub base_url: String,
    pub version: String,
}

impl Default for GraphApi {
    fn default() -> Self {
        GraphApi {
            base_url: "https://graph.facebook.com".into(),
            version: "v23.0".into(),
        }
    }
}

impl GraphApi {
    fn url(&self, path: &str) -> String {
        format!("{}/{}/{}", self.base_url.trim_end_matches('/'), self.version, path)
    }
}

/// A WhatsApp channel's configuration as stored (secrets included: it
/// never leaves the server; admins see [`ChannelAdapter::public_config`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    phone_number_id: String,
    business_account_id: String,
    access_token: String,
    app_secret: String,
}

impl Config {
    fn of(channel: &ChannelSetup) -> Option<Config> {
        channel.config()
    }
}

#[derive(Debug, Default)]
pub struct WhatsAppAdapter {
    graph: GraphApi,
}

impl WhatsAppAdapter {
    pub fn new(graph: GraphApi) -> WhatsAppAdapter {
        WhatsAppAdapter { graph }
    }
}

impl ChannelAdapter for WhatsAppAdapter {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Whatsapp
    }

    fn capabilities(&self) -> &Capabilities {
        &CAPABILITIES
    }

    fn ready_to_send(&self, channel: &ChannelSetup) -> Result<(), String> {
        match Config::of(channel) {
            Some(_) => Ok(()),
            None => Err("this WhatsApp channel has no phone number configured".into()),
        }
    }

    fn configure(
        &self,
        given: Option<&serde_json::Value>,
        current: Option<&serde_json::Value>,
    ) -> Result<Option<serde_json::Value>, ConfigError> {
        let given = crate::adapter::given_config(
            given,
            &["phone_number_id", "business_account_id", "access_token", "app_secret"],
        )?;
        let given = &*given;
        let current: Option<Config> = crate::adapter::stored_config(current);
        let pick = |given: Option<String>, current: Option<String>, field: &'static str| {
            given.or(current).ok_or_else(|| ConfigError::new(field, "is required"))
        };
        let config = Config {
            phone_number_id: pick(
                crate::meta::numeric_id("config.phone_number_id", given.get("phone_number_id"))?,
                current.as_ref().map(|c| c.phone_number_id.clone()),
                "config.phone_number_id",
            )?,
            business_account_id: pick(
                crate::meta::numeric_id("config.business_account_id", given.get("business_account_id"))?,
                current.as_ref().map(|c| c.business_account_id.clone()),
                "config.business_account_id",
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
                "phone_number_id": c.phone_number_id,
                "business_account_id": c.business_account_id,
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
                webhook::verify(&config.app_secret, &request.body, request.header(SIGNATURE_HEADER))?;
                let events = webhook::parse(&request.body, &config.phone_number_id)?;
                Ok(Hook::Events(events))
            }
            HookMethod::Other => Err(InboundError::MethodNotAllowed),
        }
    }

    fn may_share_hooks(&self) -> bool {
        true
    }

    /// Numbers of the same Meta app (the same app secret signs its calls).
    fn shares_hooks(&self, channel: &ChannelSetup, other: &ChannelSetup) -> bool {
        match (Config::of(channel), Config::of(other)) {
            (Some(a), Some(b)) => {
                a.phone_number_id != b.phone_number_id
                    && crate::signing::equal_in_constant_time(a.app_secret.as_bytes(), b.app_secret.as_bytes())
            }
            _ => false,
        }
    }

    /// Meta also reports on messages sent from elsewhere with this number.
    fn unknown_status_fails(&self) -> bool {
        false
    }

    fn provider_templates<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
    ) -> BoxFuture<'a, Result<Vec<ProviderTemplate>, SendError>> {
        Box::pin(async move {
            let config = Config::of(channel).ok_or_else(|| SendError::Permanent("no configuration".into()))?;
            graph::templates(http, &self.graph, &config).await
        })
    }

    fn mark_read<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        provider_message_id: &'a str,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let config = Config::of(channel).ok_or_else(|| SendError::Permanent("no configuration".into()))?;
            graph::mark_read(http, &self.graph, &config, provider_message_id).await
        })
    }

    fn check_connection<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let config = Config::of(channel).ok_or_else(|| "no phone number is configured".to_owned())?;
            graph::check(http, &self.graph, &config).await
        })
    }

    fn fetch_media<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<FetchedMedia, SendError>> {
        Box::pin(async move {
            let config = Config::of(channel).ok_or_else(|| SendError::Permanent("no configuration".into()))?;
            graph::fetch_media(http, &self.graph, &config, reference).await
        })
    }

    fn send<'a>(&'a self, cx: SendContext<'a>, message: &'a OutboundMessage) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let config = Config::of(cx.channel)
                .ok_or_else(|| SendError::Permanent("this WhatsApp channel has no phone number configured".into()))?;
            graph::send(cx.http, &self.graph, &config, message).await
        })
    }
}

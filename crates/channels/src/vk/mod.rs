//! VK (VKontakte) communities through the Callback API (channels.md §6).
//! The channel's configuration is the community's id, a community access
//! token (scope `messages`) and the confirmation string VK shows beside the
//! server; the channel's secret is the "secret key" an admin pastes into
//! VK, which VK sends inside every notification.
//!
//! Inbound: the confirmation handshake (the string as the answer),
//! `message_new` with its files (plain CDN links), `message_reply` from
//! VK's own inbox as echoes (ours recognised by their `random_id`); every
//! notification answered `ok`. Outbound: `messages.send` with a stable
//! `random_id` (VK drops a resend), quotes, menus as keyboards, files
//! uploaded to VK first (images as photos, the rest as documents).

mod api;
mod callback;
mod upload;

use serde::{Deserialize, Serialize};
use switchboard_core::capabilities::{Capabilities, FilesOut, MediaLimit, WindowRule};
use switchboard_core::{AttachmentKind, ChannelKind};

use crate::adapter::{
    BoxFuture, ChannelAdapter, ChannelSetup, ConfigError, FetchedMedia, Hook, HookMethod, HookReply, HookRequest,
    InboundOutcome, SendContext,
};
use crate::net::OutboundHttp;
use crate::{ExternalProfile, InboundError, OutboundMessage, SendError, Sent};

pub use callback::random_id;

pub const CAPABILITIES: Capabilities = Capabilities {
    label: "VK",
    badge: "VK",
    can_write: true,
    window: WindowRule::NONE,
    buttons: true,
    lists: false,
    templates: false,
    // Each file is uploaded to VK first, from its signed link.
    files_out: FilesOut::SignedLink,
    media: &[
        MediaLimit {
            kind: AttachmentKind::Image,
            max_bytes: upload::MAX_FILE_BYTES,
        },
        MediaLimit {
            kind: AttachmentKind::Document,
            max_bytes: upload::MAX_FILE_BYTES,
        },
        MediaLimit {
            kind: AttachmentKind::Audio,
            max_bytes: upload::MAX_FILE_BYTES,
        },
        MediaLimit {
            kind: AttachmentKind::Video,
            max_bytes: upload::MAX_FILE_BYTES,
        },
    ],
    quoting: true,
    read_receipts: false,
    typing: false,
    widget: false,
    inbound_hook: true,
    checks_connection: true,
    sends_read_receipts: false,
    syncs_templates: false,
    sms_segments: false,
};

/// Where VK's API is (tests point it at a local fake).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VkApi {
    pub base_url: String,
}

impl Default for VkApi {
    fn default() -> Self {
        VkApi {
            base_url: "https://api.vk.com".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    group_id: String,
    access_token: String,
    confirmation: String,
}

impl Config {
    fn of(channel: &ChannelSetup) -> Option<Config> {
        channel.config()
    }

    fn required(channel: &ChannelSetup) -> Result<Config, SendError> {
        Config::of(channel).ok_or_else(|| SendError::Permanent("this VK channel has no community configured".into()))
    }
}

fn field(
    name: &'static str,
    given: &serde_json::Map<String, serde_json::Value>,
    current: Option<String>,
    valid: impl Fn(&str) -> bool,
    rule: &str,
) -> Result<String, ConfigError> {
    let value = match given.get(name.trim_start_matches("config.")) {
        None | Some(serde_json::Value::Null) => current.ok_or_else(|| ConfigError::new(name, "is required"))?,
        Some(v) => v
            .as_str()
            .map(|s| s.trim().to_owned())
            .ok_or_else(|| ConfigError::new(name, "must be text"))?,
    };
    if valid(&value) {
        Ok(value)
    } else {
        Err(ConfigError::new(name, rule))
    }
}

#[derive(Debug, Default)]
pub struct VkAdapter {
    api: VkApi,
}

impl VkAdapter {
    pub fn new(api: VkApi) -> VkAdapter {
        VkAdapter { api }
    }
}

impl ChannelAdapter for VkAdapter {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Vk
    }

    fn capabilities(&self) -> &Capabilities {
        &CAPABILITIES
    }

    fn ready_to_send(&self, channel: &ChannelSetup) -> Result<(), String> {
        Config::required(channel).map(|_| ()).map_err(|e| e.to_string())
    }

    fn configure(
        &self,
        given: Option<&serde_json::Value>,
        current: Option<&serde_json::Value>,
    ) -> Result<Option<serde_json::Value>, ConfigError> {
        let given = crate::adapter::given_config(given, &["group_id", "access_token", "confirmation"])?;
        let given = &*given;
        let current: Option<Config> = crate::adapter::stored_config(current);
        let config = Config {
            group_id: field(
                "config.group_id",
                given,
                current.as_ref().map(|c| c.group_id.clone()),
                |s| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()),
                "must be the community's numeric id",
            )?,
            access_token: field(
                "config.access_token",
                given,
                current.as_ref().map(|c| c.access_token.clone()),
                |s| (16..=512).contains(&s.len()) && !s.chars().any(|c| c.is_whitespace() || c.is_control()),
                "must be the community's access token (16 to 512 characters, no spaces)",
            )?,
            confirmation: field(
                "config.confirmation",
                given,
                current.as_ref().map(|c| c.confirmation.clone()),
                |s| (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()),
                "must be the confirmation string VK shows for the server (letters and digits)",
            )?,
        };
        serde_json::to_value(config)
            .map(Some)
            .map_err(|e| ConfigError::new("config", e.to_string()))
    }

    fn public_config(&self, stored: &serde_json::Value) -> serde_json::Value {
        match serde_json::from_value::<Config>(stored.clone()) {
            Ok(c) => {
                serde_json::json!({"group_id": c.group_id, "confirmation": c.confirmation, "access_token_set": true})
            }
            Err(_) => serde_json::Value::Null,
        }
    }

    fn handle_hook<'a>(&'a self, channel: &'a ChannelSetup, request: &'a HookRequest) -> Result<Hook, InboundError> {
        let config = Config::of(channel).ok_or(InboundError::NoHook)?;
        if request.method != HookMethod::Post {
            return Err(InboundError::MethodNotAllowed);
        }
        let notification = callback::parse(&request.body)?;
        if notification.group_id.map(|g| g.to_string()).as_deref() != Some(config.group_id.as_str()) {
            return Err(InboundError::BadPayload(
                "the notification is for another community".into(),
            ));
        }
        let expected = channel.secret.as_ref().ok_or(InboundError::BadSignature)?;
        let given = notification.secret.as_deref().ok_or(InboundError::MissingSignature)?;
        if !crate::signing::equal_in_constant_time(given.as_bytes(), expected.expose().as_bytes()) {
            return Err(InboundError::BadSignature);
        }
        if notification.kind == "confirmation" {
            return Ok(Hook::Reply(HookReply::text(200, config.confirmation)));
        }
        Ok(Hook::Events(callback::events(&notification)?))
    }

    /// VK wants the literal `ok` for every notification.
    fn answer(&self, outcomes: &[InboundOutcome]) -> HookReply {
        let _ = outcomes;
        HookReply::text(200, "ok")
    }

    fn send<'a>(&'a self, cx: SendContext<'a>, message: &'a OutboundMessage) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move { api::send(cx.http, &self.api, &Config::required(cx.channel)?, message).await })
    }

    /// VK's CDN links need no token.
    fn fetch_media<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<FetchedMedia, SendError>> {
        let _ = channel;
        Box::pin(async move { crate::net::fetch_url(http, reference).await })
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
        Box::pin(async move { api::profile(http, &self.api, &Config::required(channel)?, external_id).await })
    }

    fn check_connection<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let config = Config::of(channel).ok_or_else(|| "no community is configured".to_owned())?;
            api::check(http, &self.api, &config).await
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use switchboard_core::Millis;

    #[test]
    fn a_send_has_a_stable_random_id_a_keyboard_and_the_quote() {
        let m = OutboundMessage {
            subject: None,
            thread: Vec::new(),
            message_id: "0190a5b2-0000-7000-8000-000000000001".into(),
            conversation_id: "c".into(),
            recipient_external_id: "55555".into(),
            text: "Choose".into(),
            sender_name: None,
            in_reply_to: Some("55555:2169".into()),
            created_at: Millis(0),
            buttons: vec!["Delivery".into(), "Returns".into()],
            template: None,
            attachments: Vec::new(),
            tag: None,
        };
        let params = api::send_params(&m);
        let get = |k: &str| params.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(get("random_id"), random_id(&m.message_id).to_string());
        let keyboard: serde_json::Value = serde_json::from_str(&get("keyboard")).unwrap();
        assert_eq!(
            keyboard["buttons"][1][0]["action"],
            json!({"type": "text", "label": "Returns"})
        );
        let forward: serde_json::Value = serde_json::from_str(&get("forward")).unwrap();
        assert_eq!(
            forward,
            json!({"peer_id": 55555, "conversation_message_ids": [2169], "is_reply": true})
        );
    }
}

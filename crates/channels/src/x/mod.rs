//! X (Twitter) direct messages (channels.md §7): the Account Activity
//! webhook in, API v2 out, both for one account through an app's OAuth 1.0a
//! credentials. The channel's configuration is the app's API key and
//! secret (the secret also signs X's webhook calls) and the account's
//! access token and secret (the token starts with the account's id).
//!
//! Inbound: the CRC `GET` answered with the HMAC of its token; event
//! `POST`s checked against `x-twitter-webhooks-signature`; the customer's
//! direct messages with their file (fetched from X's file host with a
//! signed request) and name, the account's own (X echoes every message it
//! sends) left out, read reports. Several accounts of one app share the
//! app's one webhook: each channel takes its own `for_user_id`. Outbound:
//! text (a menu's choices as numbered lines) and the agent's images, GIFs
//! and videos, each uploaded to X first and sent in a DM of its own (X
//! takes one attachment a message).

mod activity;
mod api;
mod oauth1;
mod upload;

use serde::{Deserialize, Serialize};
use switchboard_core::capabilities::{Capabilities, FilesOut, MediaLimit, WindowRule};
use switchboard_core::{AttachmentKind, ChannelKind};

use crate::adapter::{
    BoxFuture, ChannelAdapter, ChannelSetup, ConfigError, FetchedMedia, Hook, HookMethod, HookReply, HookRequest,
    SendContext,
};
use crate::net::OutboundHttp;
use crate::{InboundError, OutboundMessage, SendError, Sent};

pub use activity::{SIGNATURE_HEADER, sign};

pub const CAPABILITIES: Capabilities = Capabilities {
    label: "X",
    badge: "X",
    can_write: true,
    window: WindowRule::NONE,
    buttons: false,
    lists: false,
    templates: false,
    // Each file is uploaded to X first, from its signed link.
    files_out: FilesOut::SignedLink,
    // An image's limit is the still images' (a GIF may be up to
    // `upload::GIF_MAX_BYTES`; the adapter tells them apart by type).
    // No audio or documents: X's DM media categories are images, GIFs and
    // videos.
    media: &[
        MediaLimit {
            kind: AttachmentKind::Image,
            max_bytes: upload::IMAGE_MAX_BYTES,
        },
        MediaLimit {
            kind: AttachmentKind::Video,
            max_bytes: upload::VIDEO_MAX_BYTES,
        },
    ],
    quoting: false,
    read_receipts: true,
    typing: false,
    widget: false,
    inbound_hook: true,
    checks_connection: true,
    sends_read_receipts: false,
    syncs_templates: false,
    sms_segments: false,
};

/// Where X's API is (tests point it at a local fake).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XApi {
    pub base_url: String,
}

impl Default for XApi {
    fn default() -> Self {
        XApi {
            base_url: "https://api.x.com".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    api_key: String,
    api_secret: String,
    access_token: String,
    access_token_secret: String,
}

impl Config {
    fn of(channel: &ChannelSetup) -> Option<Config> {
        channel.config()
    }

    fn required(channel: &ChannelSetup) -> Result<Config, SendError> {
        Config::of(channel).ok_or_else(|| SendError::Permanent("this X channel has no account configured".into()))
    }

    /// The account's id: an OAuth 1.0a access token starts with it.
    fn user_id(&self) -> &str {
        self.access_token.split('-').next().unwrap_or_default()
    }

    fn credentials(&self) -> oauth1::Credentials<'_> {
        oauth1::Credentials {
            consumer_key: &self.api_key,
            consumer_secret: &self.api_secret,
            token: &self.access_token,
            token_secret: &self.access_token_secret,
        }
    }
}

fn token_like(s: &str) -> bool {
    (10..=200).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn configure(
    given: Option<&serde_json::Value>,
    current: Option<&serde_json::Value>,
) -> Result<Option<serde_json::Value>, ConfigError> {
    const FIELDS: [(&str, &str); 4] = [
        ("api_key", "config.api_key"),
        ("api_secret", "config.api_secret"),
        ("access_token", "config.access_token"),
        ("access_token_secret", "config.access_token_secret"),
    ];
    let given = crate::adapter::given_config(given, &FIELDS.map(|(name, _)| name))?;
    let mut values = Vec::with_capacity(FIELDS.len());
    for (name, field) in FIELDS {
        let value = match given.get(name) {
            None | Some(serde_json::Value::Null) => current
                .and_then(|c| c[name].as_str())
                .map(str::to_owned)
                .ok_or_else(|| ConfigError::new(field, "is required"))?,
            Some(v) => v
                .as_str()
                .map(|s| s.trim().to_owned())
                .ok_or_else(|| ConfigError::new(field, "must be text"))?,
        };
        if !token_like(&value) {
            return Err(ConfigError::new(
                field,
                "must be as X shows it in the app's Keys and tokens (letters, digits, - and _)",
            ));
        }
        values.push(value);
    }
    let config = Config {
        api_key: values[0].clone(),
        api_secret: values[1].clone(),
        access_token: values[2].clone(),
        access_token_secret: values[3].clone(),
    };
    let id = config.user_id();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || id.len() == config.access_token.len() {
        return Err(ConfigError::new(
            "config.access_token",
            "must be the account's OAuth 1.0a access token (it starts with the account's numeric id and -)",
        ));
    }
    serde_json::to_value(config)
        .map(Some)
        .map_err(|e| ConfigError::new("config", e.to_string()))
}

#[derive(Debug, Default)]
pub struct XAdapter {
    api: XApi,
}

impl XAdapter {
    pub fn new(api: XApi) -> XAdapter {
        XAdapter { api }
    }
}

impl ChannelAdapter for XAdapter {
    fn kind(&self) -> ChannelKind {
        ChannelKind::X
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
        configure(given, current)
    }

    fn public_config(&self, stored: &serde_json::Value) -> serde_json::Value {
        match serde_json::from_value::<Config>(stored.clone()) {
            Ok(c) => serde_json::json!({
                "api_key": c.api_key,
                "user_id": c.user_id(),
                "api_secret_set": true,
                "access_token_set": true,
            }),
            Err(_) => serde_json::Value::Null,
        }
    }

    fn handle_hook<'a>(&'a self, channel: &'a ChannelSetup, request: &'a HookRequest) -> Result<Hook, InboundError> {
        let config = Config::of(channel).ok_or(InboundError::NoHook)?;
        match request.method {
            HookMethod::Get => {
                let token = request
                    .query_param("crc_token")
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| InboundError::BadPayload("crc_token is missing".into()))?;
                Ok(Hook::Reply(HookReply::json(
                    200,
                    &serde_json::json!({"response_token": sign(&config.api_secret, token.as_bytes())}),
                )))
            }
            HookMethod::Post => {
                activity::verify(&config.api_secret, &request.body, request.header(SIGNATURE_HEADER))?;
                let activity = activity::parse(&request.body)?;
                if activity.for_user_id.as_deref() != Some(config.user_id()) {
                    // Another account of the same app: not this channel's.
                    return Ok(Hook::Events(Vec::new()));
                }
                Ok(Hook::Events(activity::events(&activity, config.user_id())))
            }
            HookMethod::Other => Err(InboundError::MethodNotAllowed),
        }
    }

    fn may_share_hooks(&self) -> bool {
        true
    }

    /// Accounts of the same X app: X calls the app's one webhook for all.
    fn shares_hooks(&self, channel: &ChannelSetup, other: &ChannelSetup) -> bool {
        match (Config::of(channel), Config::of(other)) {
            (Some(a), Some(b)) => {
                a.user_id() != b.user_id()
                    && crate::signing::equal_in_constant_time(a.api_secret.as_bytes(), b.api_secret.as_bytes())
            }
            _ => false,
        }
    }

    /// Read reports may name messages sent from X's own app.
    fn unknown_status_fails(&self) -> bool {
        false
    }

    fn send<'a>(&'a self, cx: SendContext<'a>, message: &'a OutboundMessage) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move { api::send(cx.http, &self.api, &Config::required(cx.channel)?, message).await })
    }

    fn fetch_media<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<FetchedMedia, SendError>> {
        Box::pin(async move { api::fetch(http, &self.api, &Config::required(channel)?, reference).await })
    }

    fn check_connection<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let config = Config::of(channel).ok_or_else(|| "no account is configured".to_owned())?;
            api::check(http, &self.api, &config).await
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn given() -> serde_json::Value {
        json!({"api_key": "xvz1evFS4wEEPTGEFPHBog", "api_secret": "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
               "access_token": "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
               "access_token_secret": "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"})
    }

    #[test]
    fn the_account_comes_from_the_token_and_secrets_stay_in() {
        let stored = configure(Some(&given()), None).unwrap().unwrap();
        let public = XAdapter::default().public_config(&stored);
        assert_eq!(public["user_id"], "370773112");
        assert!(!public.to_string().contains("kAcSOq") && !public.to_string().contains("Lsww"));
        let kept = configure(Some(&json!({"api_key": "another-key-123"})), Some(&stored))
            .unwrap()
            .unwrap();
        assert_eq!(kept["access_token_secret"], stored["access_token_secret"]);
    }

    #[test]
    fn each_wrong_field_is_named() {
        let mut bad = given();
        bad["access_token"] = json!("no-account-id-here");
        assert_eq!(configure(Some(&bad), None).unwrap_err().field, "config.access_token");
        let mut bad = given();
        bad["api_secret"] = json!("has spaces in it");
        assert_eq!(configure(Some(&bad), None).unwrap_err().field, "config.api_secret");
        assert_eq!(
            configure(Some(&json!({"api_key": "xvz1evFS4wEEPTGEFPHBog"})), None)
                .unwrap_err()
                .field,
            "config.api_secret"
        );
    }
}

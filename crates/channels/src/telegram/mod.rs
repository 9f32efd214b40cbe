//! Telegram Bot API (channels.md §2). The channel's configuration is the
//! bot token and how updates arrive: by webhook (we call `setWebhook` with
//! our hook URL, which names the channel, never the token, and the
//! channel's secret as `secret_token`) or by long polling (`getUpdates`,
//! for servers without public HTTPS; any webhook is removed first).
//!
//! Inbound: updates checked by `X-Telegram-Bot-Api-Secret-Token` in
//! constant time; messages with their files (fetched by `getFile`), edits,
//! and taps on our inline buttons (answered with `answerCallbackQuery`
//! once stored). Outbound: text split at Telegram's length, quotes, inline
//! keyboards, files uploaded. Bots get no delivery or read receipts.

mod bot_api;
mod update;

use serde::{Deserialize, Serialize};
use switchboard_core::capabilities::{Capabilities, FilesOut, MediaLimit, WindowRule};
use switchboard_core::{AttachmentKind, ChannelKind};

use crate::adapter::{
    BoxFuture, ChannelAdapter, ChannelSetup, ConfigError, ConnectError, FetchedMedia, Hook, HookMethod, HookRequest,
    Polled, SendContext,
};
use crate::net::OutboundHttp;
use crate::{Inbound, InboundError, OutboundMessage, SendError, Sent};

pub use bot_api::TEXT_MAX;

/// The header Telegram sends the webhook's `secret_token` in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

const MB: i64 = 1024 * 1024;

pub const CAPABILITIES: Capabilities = Capabilities {
    label: "Telegram",
    badge: "TG",
    can_write: true,
    window: WindowRule::NONE,
    buttons: true,
    lists: false,
    templates: false,
    files_out: FilesOut::SignedLink,
    // Uploads: 10 MB photos, 50 MB other files.
    media: &[
        MediaLimit {
            kind: AttachmentKind::Image,
            max_bytes: 10 * MB,
        },
        MediaLimit {
            kind: AttachmentKind::Video,
            max_bytes: 50 * MB,
        },
        MediaLimit {
            kind: AttachmentKind::Audio,
            max_bytes: 50 * MB,
        },
        MediaLimit {
            kind: AttachmentKind::Document,
            max_bytes: 50 * MB,
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

/// Where the Bot API is (tests point it at a local fake), where Telegram
/// reaches our hooks, and how long one `getUpdates` may wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotApi {
    pub base_url: String,
    /// Our public base URL: hooks are `{public_url}/hooks/telegram/{channel}`.
    pub public_url: String,
    pub poll_wait_secs: u64,
}

impl Default for BotApi {
    fn default() -> Self {
        BotApi {
            base_url: "https://api.telegram.org".into(),
            public_url: "http://127.0.0.1:8080".into(),
            // Well within the job lease.
            poll_wait_secs: 25,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Webhook,
    Polling,
}

/// A Telegram channel's configuration as stored (the token never leaves
/// the server; admins see [`ChannelAdapter::public_config`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    bot_token: String,
    mode: Mode,
}

impl Config {
    fn of(channel: &ChannelSetup) -> Option<Config> {
        channel.config()
    }

    fn required(channel: &ChannelSetup) -> Result<Config, SendError> {
        Config::of(channel)
            .ok_or_else(|| SendError::Permanent("this Telegram channel has no bot token configured".into()))
    }
}

/// A bot token as BotFather gives it: `<bot id>:<secret>`.
fn bot_token(value: Option<&serde_json::Value>) -> Result<Option<String>, ConfigError> {
    const FIELD: &str = "config.bot_token";
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => {
            let s = v.as_str().map(str::trim).unwrap_or_default();
            let shape = s.split_once(':').is_some_and(|(id, secret)| {
                !id.is_empty()
                    && id.len() <= 20
                    && id.bytes().all(|b| b.is_ascii_digit())
                    && (20..=128).contains(&secret.len())
                    && secret
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            });
            if !shape {
                return Err(ConfigError::new(
                    FIELD,
                    "must be the token BotFather gave, like 123456789:AA…",
                ));
            }
            Ok(Some(s.to_owned()))
        }
    }
}

fn mode(value: Option<&serde_json::Value>) -> Result<Option<Mode>, ConfigError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|_| ConfigError::new("config.mode", "must be webhook or polling")),
    }
}

#[derive(Debug, Default)]
pub struct TelegramAdapter {
    api: BotApi,
}

impl TelegramAdapter {
    pub fn new(api: BotApi) -> TelegramAdapter {
        TelegramAdapter { api }
    }

    fn hook_url(&self, channel: &ChannelSetup) -> String {
        format!(
            "{}/hooks/telegram/{}",
            self.api.public_url.trim_end_matches('/'),
            channel.id
        )
    }
}

/// A refused token as the field's error; anything else as the provider's.
fn token_refused(e: bot_api::CallError) -> ConnectError {
    match e {
        bot_api::CallError::Refused(r, _) if matches!(r.code, 401 | 404) => ConnectError::Config(ConfigError::new(
            "config.bot_token",
            format!("Telegram does not accept this token ({})", r.description),
        )),
        other => ConnectError::Provider(other.into()),
    }
}

impl ChannelAdapter for TelegramAdapter {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Telegram
    }

    fn capabilities(&self) -> &Capabilities {
        &CAPABILITIES
    }

    fn ready_to_send(&self, channel: &ChannelSetup) -> Result<(), String> {
        match Config::of(channel) {
            Some(_) => Ok(()),
            None => Err("this Telegram channel has no bot token configured".into()),
        }
    }

    fn configure(
        &self,
        given: Option<&serde_json::Value>,
        current: Option<&serde_json::Value>,
    ) -> Result<Option<serde_json::Value>, ConfigError> {
        let given = crate::adapter::given_config(given, &["bot_token", "mode"])?;
        let given = &*given;
        let current: Option<Config> = crate::adapter::stored_config(current);
        let config = Config {
            bot_token: bot_token(given.get("bot_token"))?
                .or_else(|| current.as_ref().map(|c| c.bot_token.clone()))
                .ok_or_else(|| ConfigError::new("config.bot_token", "is required"))?,
            mode: mode(given.get("mode"))?
                .or(current.as_ref().map(|c| c.mode))
                .unwrap_or(Mode::Webhook),
        };
        serde_json::to_value(config)
            .map(Some)
            .map_err(|e| ConfigError::new("config", e.to_string()))
    }

    fn public_config(&self, stored: &serde_json::Value) -> serde_json::Value {
        match serde_json::from_value::<Config>(stored.clone()) {
            Ok(c) => serde_json::json!({
                "mode": c.mode,
                // The bot's id is public (it is the token's first part).
                "bot_id": c.bot_token.split(':').next().unwrap_or_default(),
                "bot_token_set": true,
            }),
            Err(_) => serde_json::Value::Null,
        }
    }

    fn handle_hook<'a>(&'a self, channel: &'a ChannelSetup, request: &'a HookRequest) -> Result<Hook, InboundError> {
        let config = Config::of(channel).ok_or(InboundError::NoHook)?;
        if config.mode != Mode::Webhook {
            return Err(InboundError::NoHook);
        }
        if request.method != HookMethod::Post {
            return Err(InboundError::MethodNotAllowed);
        }
        let expected = channel.secret.as_ref().ok_or(InboundError::BadSignature)?;
        let given = request.header(SECRET_HEADER).ok_or(InboundError::MissingSignature)?;
        if !crate::signing::equal_in_constant_time(given.as_bytes(), expected.expose().as_bytes()) {
            return Err(InboundError::BadSignature);
        }
        let update = update::parse_one(&request.body)?;
        Ok(Hook::Events(update::events(&update)))
    }

    fn send<'a>(&'a self, cx: SendContext<'a>, message: &'a OutboundMessage) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move { bot_api::send(cx.http, &self.api, &Config::required(cx.channel)?, message).await })
    }

    fn fetch_media<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<FetchedMedia, SendError>> {
        Box::pin(async move { bot_api::fetch_file(http, &self.api, &Config::required(channel)?, reference).await })
    }

    fn acknowledge<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let config = Config::required(channel)?;
            bot_api::answer_callback(http, &self.api, &config.bot_token, reference).await?;
            Ok(())
        })
    }

    fn polls(&self, channel: &ChannelSetup) -> bool {
        Config::of(channel).is_some_and(|c| c.mode == Mode::Polling)
    }

    /// The cursor is the next `update_id` to ask for: an update is
    /// confirmed (never sent again) only once a poll asks past it, which
    /// happens after what it brought is stored.
    fn poll<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Polled, SendError>> {
        Box::pin(async move {
            let config = Config::required(channel)?;
            let offset = cursor.and_then(|c| c.parse::<i64>().ok());
            let raw = bot_api::get_updates(http, &self.api, &config.bot_token, offset, self.api.poll_wait_secs).await?;
            let mut polled = Polled::default();
            let mut next = offset;
            for value in raw {
                let Ok(update) = serde_json::from_value::<update::Update>(value) else {
                    continue;
                };
                next = Some(next.unwrap_or(0).max(update.update_id + 1));
                polled.events.extend(update::events(&update));
            }
            polled.cursor = next.filter(|n| Some(*n) != offset).map(|n| n.to_string());
            Ok(polled)
        })
    }

    fn check_connection<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let config = Config::of(channel).ok_or_else(|| "no bot token is configured".to_owned())?;
            let me = bot_api::get_me(http, &self.api, &config.bot_token)
                .await
                .map_err(|e| match token_refused(e) {
                    ConnectError::Config(c) => format!("The bot token is not valid: {}", c.message),
                    ConnectError::Provider(p) => p.to_string(),
                })?;
            let bot = me.username.map_or(me.first_name, |u| format!("@{u}"));
            if config.mode == Mode::Polling {
                return Ok(format!("Connected to {bot}; updates are fetched by polling"));
            }
            let info = bot_api::webhook_info(http, &self.api, &config.bot_token)
                .await
                .map_err(|e| SendError::from(e).to_string())?;
            let expected = self.hook_url(channel);
            if info.url != expected {
                return Err(format!(
                    "{bot} sends its updates to {:?}, not to this channel's hook: save the channel again to register it",
                    info.url
                ));
            }
            let mut report = format!(
                "Connected to {bot}; {} update(s) waiting at Telegram",
                info.pending_update_count
            );
            if let (Some(message), Some(at)) = (info.last_error_message, info.last_error_date) {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                let minutes = (now - at).max(0) / 60;
                report.push_str(&format!(
                    "; Telegram's last error reaching this server ({minutes} min ago): {message}"
                ));
            }
            Ok(report)
        })
    }

    /// Checks the token (a wrong one is the field's error), then registers
    /// our hook, or removes any so `getUpdates` works.
    fn connect<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
    ) -> BoxFuture<'a, Result<(), ConnectError>> {
        Box::pin(async move {
            let config = Config::required(channel)?;
            bot_api::get_me(http, &self.api, &config.bot_token)
                .await
                .map_err(token_refused)?;
            match config.mode {
                Mode::Polling => {
                    bot_api::delete_webhook(http, &self.api, &config.bot_token)
                        .await
                        .map_err(SendError::from)?;
                }
                Mode::Webhook => {
                    let secret = channel
                        .secret
                        .as_ref()
                        .ok_or_else(|| SendError::Permanent("the channel has no secret".into()))?;
                    bot_api::set_webhook(
                        http,
                        &self.api,
                        &config.bot_token,
                        &self.hook_url(channel),
                        secret.expose(),
                    )
                    .await
                    .map_err(|e| match e {
                        bot_api::CallError::Refused(r, _) if r.code == 400 => ConnectError::Config(ConfigError::new(
                            "config.mode",
                            format!(
                                "Telegram cannot call {} ({}): it needs a public HTTPS address; choose polling instead",
                                self.hook_url(channel),
                                r.description
                            ),
                        )),
                        other => ConnectError::Provider(other.into()),
                    })?;
                }
            }
            Ok(())
        })
    }

    fn disconnect<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let config = Config::required(channel)?;
            bot_api::delete_webhook(http, &self.api, &config.bot_token).await?;
            Ok(())
        })
    }
}

/// The events of one update as Telegram sends it (for tests and fuzzing).
pub fn parse_update(body: &[u8]) -> Result<Vec<Inbound>, InboundError> {
    Ok(update::events(&update::parse_one(body)?))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn configuration_checks_the_token_shape_and_keeps_it_on_change() {
        let adapter = TelegramAdapter::default();
        let token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
        let stored = adapter
            .configure(Some(&json!({"bot_token": token})), None)
            .unwrap()
            .unwrap();
        assert_eq!(stored["mode"], "webhook");
        let changed = adapter
            .configure(Some(&json!({"mode": "polling"})), Some(&stored))
            .unwrap()
            .unwrap();
        assert_eq!(changed["bot_token"], token);
        assert_eq!(changed["mode"], "polling");
        for bad in [
            json!("nocolon"),
            json!("abc:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
            json!("1:short"),
            json!(5),
        ] {
            let e = adapter.configure(Some(&json!({"bot_token": bad})), None).unwrap_err();
            assert_eq!(e.field, "config.bot_token");
        }
        assert_eq!(
            adapter
                .configure(Some(&json!({"bot_token": token, "mode": "push"})), None)
                .unwrap_err()
                .field,
            "config.mode"
        );
        let public = adapter.public_config(&stored);
        assert_eq!(
            public,
            json!({"mode": "webhook", "bot_id": "123456789", "bot_token_set": true})
        );
        assert!(!public.to_string().contains("AAHdq"));
    }
}

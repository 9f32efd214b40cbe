//! SMS and MMS through Twilio Programmable Messaging (channels.md §4). The
//! channel's configuration is the account SID, its auth token (the key of
//! Twilio's signatures) and the sender: a number in E.164 or a Messaging
//! Service SID. The hook URL goes into the number's (or the Messaging
//! Service's) "A message comes in" setting; our sends name it as their
//! status callback.
//!
//! Inbound: form `POST`s signed with `X-Twilio-Signature` over the public
//! URL Twilio called (our configured public address, never what a proxy
//! forwarded) and the sorted parameters; messages with their MMS files
//! (downloaded with Basic auth), and status callbacks. Answered with empty
//! TwiML so Twilio sends no reply of its own. Outbound: `Body` (a menu's
//! choices as numbered lines) and `MediaUrl`s, with a status callback.

mod rest;
mod signature;

use serde::{Deserialize, Serialize};
use switchboard_core::capabilities::{Capabilities, FilesOut, MediaLimit, WindowRule};
use switchboard_core::{AttachmentKind, ChannelKind, DeliveryStatus};

use crate::adapter::{
    BoxFuture, ChannelAdapter, ChannelSetup, ConfigError, FetchedMedia, Hook, HookMethod, HookReply, HookRequest,
    InboundOutcome, SendContext,
};
use crate::net::OutboundHttp;
use crate::{
    ExternalContact, Inbound, InboundError, InboundMedia, InboundMessage, OutboundMessage, SendError, Sent,
    StatusUpdate,
};

pub use signature::{SIGNATURE_HEADER, sign};

const MB: i64 = 1024 * 1024;

pub const CAPABILITIES: Capabilities = Capabilities {
    label: "SMS",
    badge: "SMS",
    can_write: true,
    window: WindowRule::NONE,
    buttons: false,
    lists: false,
    templates: false,
    // Twilio fetches each MMS file by its signed link.
    files_out: FilesOut::SignedLink,
    // MMS: at most 5 MB in all.
    media: &[
        MediaLimit {
            kind: AttachmentKind::Image,
            max_bytes: 5 * MB,
        },
        MediaLimit {
            kind: AttachmentKind::Video,
            max_bytes: 5 * MB,
        },
        MediaLimit {
            kind: AttachmentKind::Audio,
            max_bytes: 5 * MB,
        },
    ],
    quoting: false,
    read_receipts: false,
    typing: false,
    widget: false,
    inbound_hook: true,
    checks_connection: true,
    sends_read_receipts: false,
    syncs_templates: false,
    sms_segments: true,
};

/// Where Twilio's REST API is (tests point it at a local fake) and where
/// Twilio reaches our hooks (the URL it signs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioApi {
    pub base_url: String,
    pub public_url: String,
}

impl Default for TwilioApi {
    fn default() -> Self {
        TwilioApi {
            base_url: "https://api.twilio.com".into(),
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    account_sid: String,
    auth_token: String,
    /// A number in E.164 or a Messaging Service SID (`MG…`).
    from: String,
}

impl Config {
    fn of(channel: &ChannelSetup) -> Option<Config> {
        channel.config()
    }

    fn required(channel: &ChannelSetup) -> Result<Config, SendError> {
        Config::of(channel)
            .ok_or_else(|| SendError::Permanent("this SMS channel has no Twilio account configured".into()))
    }
}

/// `prefix` and 32 hexadecimal digits (Twilio's SIDs).
fn sid(value: &str, prefix: &str) -> bool {
    value.len() == 34 && value.starts_with(prefix) && value[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// `+` and 7 to 15 digits, not starting with 0.
fn e164(value: &str) -> bool {
    value
        .strip_prefix('+')
        .is_some_and(|d| (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0'))
}

fn text(field: &'static str, value: Option<&serde_json::Value>) -> Result<Option<String>, ConfigError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => v
            .as_str()
            .map(|s| Some(s.trim().to_owned()))
            .ok_or_else(|| ConfigError::new(field, "must be text")),
    }
}

#[derive(Debug, Default)]
pub struct TwilioAdapter {
    api: TwilioApi,
}

impl TwilioAdapter {
    pub fn new(api: TwilioApi) -> TwilioAdapter {
        TwilioAdapter { api }
    }

    /// The URL Twilio called, as it signed it: our public address, the
    /// request's path and query.
    fn called_url(&self, request: &HookRequest) -> String {
        let mut url = format!("{}{}", self.api.public_url.trim_end_matches('/'), request.path);
        if !request.query.is_empty() {
            url.push('?');
            url.push_str(&request.query);
        }
        url
    }

    fn hook_url(&self, channel: &ChannelSetup) -> String {
        format!("{}/hooks/sms/{}", self.api.public_url.trim_end_matches('/'), channel.id)
    }
}

fn status_of(twilio: &str) -> Option<DeliveryStatus> {
    match twilio {
        "sent" => Some(DeliveryStatus::Sent),
        "delivered" => Some(DeliveryStatus::Delivered),
        "read" => Some(DeliveryStatus::Read),
        "undelivered" | "failed" => Some(DeliveryStatus::Failed),
        _ => None,
    }
}

/// The events of a verified request's parameters.
fn events(params: &[(String, String)]) -> Result<Vec<Inbound>, InboundError> {
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let sid = get("MessageSid")
        .or_else(|| get("SmsMessageSid"))
        .ok_or_else(|| InboundError::BadPayload("no MessageSid".into()))?;
    if let Some(status) = get("MessageStatus").filter(|s| !matches!(*s, "received" | "receiving")) {
        return Ok(status_of(status)
            .map(|status| {
                Inbound::Status(StatusUpdate {
                    message_id: sid.to_owned(),
                    status,
                    error: get("ErrorCode")
                        .filter(|c| !c.is_empty())
                        .map(|c| format!("Twilio error {c}")),
                })
            })
            .into_iter()
            .collect());
    }
    let from = get("From").ok_or_else(|| InboundError::BadPayload("no From".into()))?;
    let media_count: usize = get("NumMedia").and_then(|n| n.parse().ok()).unwrap_or(0).min(10);
    let media = (0..media_count)
        .filter_map(|n| get(&format!("MediaUrl{n}")))
        .map(|url| InboundMedia {
            reference: url.to_owned(),
            filename: None,
            content: None,
        })
        .collect();
    Ok(vec![Inbound::Message(InboundMessage {
        html: None,
        subject: None,
        references: Vec::new(),
        external_id: sid.to_owned(),
        contact: ExternalContact {
            external_id: from.to_owned(),
            name: None,
            email: None,
            phone: e164(from).then(|| from.to_owned()),
        },
        text: get("Body").unwrap_or_default().to_owned(),
        in_reply_to: None,
        sent_at: None,
        media,
    })])
}

impl ChannelAdapter for TwilioAdapter {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Sms
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
        let given = crate::adapter::given_config(given, &["account_sid", "auth_token", "from"])?;
        let given = &*given;
        let current: Option<Config> = crate::adapter::stored_config(current);
        let account_sid = text("config.account_sid", given.get("account_sid"))?
            .or_else(|| current.as_ref().map(|c| c.account_sid.clone()))
            .ok_or_else(|| ConfigError::new("config.account_sid", "is required"))?;
        if !sid(&account_sid, "AC") {
            return Err(ConfigError::new(
                "config.account_sid",
                "must be the account SID Twilio shows (AC and 32 hexadecimal digits)",
            ));
        }
        let auth_token = text("config.auth_token", given.get("auth_token"))?
            .or_else(|| current.as_ref().map(|c| c.auth_token.clone()))
            .ok_or_else(|| ConfigError::new("config.auth_token", "is required"))?;
        if auth_token.len() != 32 || !auth_token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ConfigError::new(
                "config.auth_token",
                "must be the account's auth token (32 hexadecimal digits)",
            ));
        }
        let from = text("config.from", given.get("from"))?
            .or_else(|| current.as_ref().map(|c| c.from.clone()))
            .ok_or_else(|| ConfigError::new("config.from", "is required"))?;
        if !e164(&from) && !sid(&from, "MG") {
            return Err(ConfigError::new(
                "config.from",
                "must be a number in E.164 (+14155550100) or a Messaging Service SID (MG…)",
            ));
        }
        serde_json::to_value(Config {
            account_sid,
            auth_token,
            from,
        })
        .map(Some)
        .map_err(|e| ConfigError::new("config", e.to_string()))
    }

    fn public_config(&self, stored: &serde_json::Value) -> serde_json::Value {
        match serde_json::from_value::<Config>(stored.clone()) {
            Ok(c) => serde_json::json!({"account_sid": c.account_sid, "from": c.from, "auth_token_set": true}),
            Err(_) => serde_json::Value::Null,
        }
    }

    fn handle_hook<'a>(&'a self, channel: &'a ChannelSetup, request: &'a HookRequest) -> Result<Hook, InboundError> {
        let config = Config::of(channel).ok_or(InboundError::NoHook)?;
        // A POST signs the URL and its form; a GET (if so configured at
        // Twilio) the URL alone, its parameters being in it.
        let (params, signed) = match request.method {
            HookMethod::Post => {
                if !request.content_type_is("application/x-www-form-urlencoded") {
                    return Err(InboundError::UnsupportedMediaType(
                        "Twilio sends application/x-www-form-urlencoded".into(),
                    ));
                }
                let params = request.form_pairs();
                (params.clone(), params)
            }
            HookMethod::Get => (request.query_pairs(), Vec::new()),
            HookMethod::Other => return Err(InboundError::MethodNotAllowed),
        };
        let given = request.header(SIGNATURE_HEADER).ok_or(InboundError::MissingSignature)?;
        if !signature::verify(&config.auth_token, &self.called_url(request), &signed, given) {
            return Err(InboundError::BadSignature);
        }
        if params.iter().find(|(k, _)| k == "AccountSid").map(|(_, v)| v) != Some(&config.account_sid) {
            return Err(InboundError::BadPayload(
                "the request is for another Twilio account".into(),
            ));
        }
        Ok(Hook::Events(events(&params)?))
    }

    fn opt_out_stops_all(&self) -> bool {
        true
    }

    /// Twilio reports on every message of the number, ours or not.
    fn unknown_status_fails(&self) -> bool {
        false
    }

    /// Empty TwiML: Twilio sends nothing back on its own.
    fn answer(&self, outcomes: &[InboundOutcome]) -> HookReply {
        let _ = outcomes;
        HookReply {
            status: 200,
            content_type: "text/xml",
            body: b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>".to_vec(),
        }
    }

    fn send<'a>(&'a self, cx: SendContext<'a>, message: &'a OutboundMessage) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let config = Config::required(cx.channel)?;
            rest::send(cx.http, &self.api, &config, message, &self.hook_url(cx.channel)).await
        })
    }

    fn fetch_media<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<FetchedMedia, SendError>> {
        Box::pin(async move { rest::fetch_media(http, &self.api, &Config::required(channel)?, reference).await })
    }

    fn check_connection<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let config = Config::of(channel).ok_or_else(|| "no Twilio account is configured".to_owned())?;
            rest::check(http, &self.api, &config).await
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn an_sms_an_mms_and_a_status_callback() {
        let sms = events(&pairs(&[
            ("MessageSid", "SM1"),
            ("From", "+14155550100"),
            ("Body", "Hello"),
            ("NumMedia", "0"),
        ]))
        .unwrap();
        match sms.as_slice() {
            [Inbound::Message(m)] => {
                assert_eq!((m.external_id.as_str(), m.text.as_str()), ("SM1", "Hello"));
                assert_eq!(m.contact.phone.as_deref(), Some("+14155550100"));
            }
            other => panic!("{other:?}"),
        }
        let mms = events(&pairs(&[
            ("MessageSid", "MM1"),
            ("From", "+14155550100"),
            ("Body", ""),
            ("NumMedia", "2"),
            ("MediaUrl0", "https://api.twilio.com/a"),
            ("MediaUrl1", "https://api.twilio.com/b"),
        ]))
        .unwrap();
        assert!(matches!(mms.as_slice(), [Inbound::Message(m)] if m.media.len() == 2));
        let failed = events(&pairs(&[
            ("MessageSid", "SM2"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
        ]))
        .unwrap();
        assert_eq!(
            failed,
            vec![Inbound::Status(StatusUpdate {
                message_id: "SM2".into(),
                status: DeliveryStatus::Failed,
                error: Some("Twilio error 30003".into())
            })]
        );
        assert!(
            events(&pairs(&[("MessageSid", "SM3"), ("MessageStatus", "queued")]))
                .unwrap()
                .is_empty()
        );
        assert!(events(&pairs(&[("From", "+1")])).is_err());
    }

    #[test]
    fn the_answer_is_empty_twiml() {
        let reply = TwilioAdapter::default().answer(&[]);
        assert_eq!(reply.content_type, "text/xml");
        assert!(String::from_utf8(reply.body).unwrap().ends_with("<Response/>"));
    }

    #[test]
    fn configuration_names_the_wrong_field_and_never_shows_the_token() {
        let adapter = TwilioAdapter::default();
        let good = json!({"account_sid": format!("AC{}", "a".repeat(32)), "auth_token": "f".repeat(32), "from": "+14155550199"});
        let stored = adapter.configure(Some(&good), None).unwrap().unwrap();
        assert!(!adapter.public_config(&stored).to_string().contains(&"f".repeat(32)));
        for (field, value) in [
            ("account_sid", json!("AC123")),
            ("auth_token", json!("short")),
            ("from", json!("14155550199")),
        ] {
            let mut bad = good.clone();
            bad[field] = value;
            assert_eq!(
                adapter.configure(Some(&bad), None).unwrap_err().field,
                format!("config.{field}")
            );
        }
        let service = json!({"from": format!("MG{}", "0".repeat(32))});
        assert!(adapter.configure(Some(&service), Some(&stored)).is_ok());
    }
}

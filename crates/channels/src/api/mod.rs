//! The generic API channel: Switchboard's own protocol, so any program can
//! be a channel.
//!
//! Inbound: `POST /hooks/api/{channel_id}` with a JSON body and the header
//! `X-Switchboard-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed
//! with the channel secret>`. A message:
//! `{"type":"message","message_id":"…","contact":{"id":"…","name":…,"email":…,"phone":…},"text":"…","in_reply_to":…,"timestamp":<ms>}`
//! (`type` defaults to `message`). A delivery report for a message we sent:
//! `{"type":"status","message_id":"…","status":"delivered|read|failed","error":…}`.
//!
//! Outbound: agent replies are POSTed to the channel's callback URL with the
//! same signature header, plus `X-Switchboard-Delivery` (stable across
//! retries, for the receiver's deduplication) and `X-Switchboard-Timestamp`.
//! A bot menu adds `"buttons": ["label", …]`; the customer's choice comes
//! back as a message whose text is the label. A template message adds
//! `"template": {"name": "…", "language": "…", "params": ["…", …]}`, with
//! `header` and `buttons` where the template has values for them
//! (`text` is then the template's text with the params filled in). A file
//! adds `"attachments": [{"url","filename","mime","size","sha256"}]`: fetch
//! each `url` (`GET /hooks/api/{channel_id}/files/{id}?expires=<ms>&signature=<hex>`,
//! the signature being the HMAC-SHA256 of `<id>.<expires>` with the secret)
//! within seven days.
//! A 2xx answer means delivered to the receiver; it may return
//! `{"message_id":"…"}` to name the message on its side.

use serde::{Deserialize, Serialize};
use switchboard_core::capabilities::{Capabilities, FilesOut, WindowRule};
use switchboard_core::{DeliveryStatus, Millis};

use crate::adapter::{
    BoxFuture, ChannelAdapter, ChannelSetup, Hook, HookMethod, HookReply, HookRequest, InboundOutcome, SendContext,
};
use crate::net::OutboundHttp;
use crate::signing::{hmac_sha256_hex, verify_hex};
use crate::{
    ExternalContact, FetchedMedia, Inbound, InboundError, InboundMedia, InboundMessage, OutboundFile, OutboundMessage,
    OutboundTemplate, SendError, Sent, StatusUpdate,
};

pub const SIGNATURE_HEADER: &str = "x-switchboard-signature";
pub const DELIVERY_HEADER: &str = "x-switchboard-delivery";
pub const TIMESTAMP_HEADER: &str = "x-switchboard-timestamp";

/// Longest id we accept from a caller.
const MAX_ID: usize = 256;

/// The header value for a body: `sha256=<hex>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), body))
}

pub fn verify(secret: &str, body: &[u8], header: Option<&str>) -> Result<(), InboundError> {
    let header = header.ok_or(InboundError::MissingSignature)?;
    let hex = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(InboundError::BadSignature)?;
    if verify_hex(secret.as_bytes(), body, hex) {
        Ok(())
    } else {
        Err(InboundError::BadSignature)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireContact {
    id: String,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireInbound {
    Message {
        message_id: String,
        contact: WireContact,
        #[serde(default)]
        text: String,
        in_reply_to: Option<String>,
        timestamp: Option<i64>,
        #[serde(default)]
        attachments: Vec<WireFile>,
    },
    Status {
        message_id: String,
        status: DeliveryStatus,
        error: Option<String>,
    },
}

/// A file the customer sent: a URL the caller serves, fetched through our
/// private-address guard within the workspace's limits.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireFile {
    url: String,
    filename: Option<String>,
}

/// Most files in one message.
const MAX_FILES: usize = 10;
/// Longest file URL we accept.
const MAX_URL: usize = 2048;

fn media_of(files: Vec<WireFile>) -> Result<Vec<InboundMedia>, InboundError> {
    if files.len() > MAX_FILES {
        return Err(InboundError::BadPayload(format!(
            "attachments: at most {MAX_FILES} files"
        )));
    }
    files
        .into_iter()
        .enumerate()
        .map(|(n, f)| {
            let parsed = url::Url::parse(&f.url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"));
            if f.url.len() > MAX_URL || parsed.is_none() {
                return Err(InboundError::BadPayload(format!(
                    "attachments[{n}].url must be an http or https URL of at most {MAX_URL} characters"
                )));
            }
            let filename = f
                .filename
                .map(|name| name.trim().to_owned())
                .filter(|name| !name.is_empty());
            if filename
                .as_ref()
                .is_some_and(|name| name.len() > 255 || name.chars().any(char::is_control))
            {
                return Err(InboundError::BadPayload(format!(
                    "attachments[{n}].filename must be at most 255 printable characters"
                )));
            }
            Ok(InboundMedia {
                reference: f.url,
                filename,
                content: None,
            })
        })
        .collect()
}

fn bounded_id(field: &str, id: String) -> Result<String, InboundError> {
    let id = id.trim().to_owned();
    if id.is_empty() || id.len() > MAX_ID || id.chars().any(char::is_control) {
        return Err(InboundError::BadPayload(format!(
            "{field} must be 1 to {MAX_ID} printable characters"
        )));
    }
    Ok(id)
}

/// Parse a verified body.
pub fn parse(body: &[u8]) -> Result<Inbound, InboundError> {
    if std::str::from_utf8(body).is_err() {
        return Err(InboundError::BadPayload("the body is not valid UTF-8".into()));
    }
    let mut value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| InboundError::BadPayload(e.to_string()))?;
    if let Some(obj) = value.as_object_mut() {
        obj.entry("type").or_insert_with(|| "message".into());
    }
    let wire: WireInbound = serde_json::from_value(value).map_err(|e| InboundError::BadPayload(e.to_string()))?;
    Ok(match wire {
        WireInbound::Message {
            message_id,
            contact,
            text,
            in_reply_to,
            timestamp,
            attachments,
        } => {
            let media = media_of(attachments)?;
            // With files the text is their caption and may be left out.
            let text = if media.is_empty() || !text.trim().is_empty() {
                switchboard_core::validate::MessageText::parse("text", &text)
                    .map_err(|e| InboundError::BadPayload(e.to_string()))?
                    .into_string()
            } else {
                String::new()
            };
            Inbound::Message(InboundMessage {
                html: None,
                subject: None,
                references: Vec::new(),
                external_id: bounded_id("message_id", message_id)?,
                contact: ExternalContact {
                    external_id: bounded_id("contact.id", contact.id)?,
                    name: contact.name.filter(|n| !n.trim().is_empty()),
                    email: contact.email.filter(|n| !n.trim().is_empty()),
                    phone: contact.phone.filter(|n| !n.trim().is_empty()),
                },
                text,
                in_reply_to: in_reply_to.map(|r| bounded_id("in_reply_to", r)).transpose()?,
                sent_at: timestamp.map(Millis),
                media,
            })
        }
        WireInbound::Status {
            message_id,
            status,
            error,
        } => Inbound::Status(StatusUpdate {
            message_id: bounded_id("message_id", message_id)?,
            status,
            error,
        }),
    })
}

/// What the callback receives.
#[derive(Debug, Serialize, Deserialize)]
pub struct CallbackBody {
    pub event: String,
    pub message_id: String,
    pub conversation_id: String,
    pub contact_id: String,
    pub text: String,
    pub sender_name: Option<String>,
    pub in_reply_to: Option<String>,
    pub created_at: i64,
    /// Choices to show as buttons (a bot menu); a tap answers with the label.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<String>,
    /// A template message: its name, language and values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<OutboundTemplate>,
    /// Files (a media message): fetch each `url` before it expires.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<OutboundFile>,
}

/// What a file link signs: the attachment and when the link expires.
fn file_link_payload(attachment_id: &str, expires: Millis) -> String {
    format!("{attachment_id}.{}", expires.0)
}

/// The signature of a file link: hex HMAC-SHA256, keyed with the channel
/// secret, of `<attachment id>.<expiry in ms>`.
pub fn sign_file_link(secret: &str, attachment_id: &str, expires: Millis) -> String {
    hmac_sha256_hex(secret.as_bytes(), file_link_payload(attachment_id, expires).as_bytes())
}

/// Whether a file link's signature is right (its expiry is checked apart).
pub fn verify_file_link(secret: &str, attachment_id: &str, expires: Millis, signature: &str) -> bool {
    verify_hex(
        secret.as_bytes(),
        file_link_payload(attachment_id, expires).as_bytes(),
        signature,
    )
}

#[derive(Debug, Deserialize)]
struct CallbackAnswer {
    message_id: Option<String>,
}

/// Deliver one message to the channel's callback URL.
pub async fn send(
    http: &OutboundHttp,
    callback_url: &str,
    secret: &str,
    delivery_id: &str,
    now: Millis,
    m: &OutboundMessage,
) -> Result<Sent, SendError> {
    let url: url::Url = callback_url
        .parse()
        .map_err(|e| SendError::Permanent(format!("callback URL is not valid: {e}")))?;
    http.check(&url).map_err(|e| SendError::Permanent(e.to_string()))?;
    let body = serde_json::to_vec(&CallbackBody {
        event: "message.created".into(),
        message_id: m.message_id.clone(),
        conversation_id: m.conversation_id.clone(),
        contact_id: m.recipient_external_id.clone(),
        text: m.text.clone(),
        sender_name: m.sender_name.clone(),
        in_reply_to: m.in_reply_to.clone(),
        created_at: m.created_at.0,
        buttons: m.buttons.clone(),
        template: m.template.clone(),
        attachments: m.attachments.clone(),
    })
    .map_err(|e| SendError::Permanent(e.to_string()))?;
    let response = http
        .client
        .post(url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, sign(secret, &body))
        .header(DELIVERY_HEADER, delivery_id)
        .header(TIMESTAMP_HEADER, now.0.to_string())
        .body(body)
        .send()
        .await
        .map_err(|e| {
            if crate::net::refused_private(&e) {
                SendError::Permanent("refused: the callback URL resolves to a private address".into())
            } else {
                SendError::Retryable(format!("callback request failed: {e}"))
            }
        })?;
    let status = response.status();
    if status.is_success() {
        let bytes = response.bytes().await.unwrap_or_default();
        let answer: Option<CallbackAnswer> = serde_json::from_slice(&bytes).ok();
        return Ok(Sent {
            provider_message_id: answer
                .and_then(|a| a.message_id)
                .filter(|id| !id.is_empty() && id.len() <= MAX_ID),
        });
    }
    let reason = format!("callback answered {status}");
    if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
        Err(SendError::Retryable(reason))
    } else {
        Err(SendError::Permanent(reason))
    }
}

/// The API channel as a [`ChannelAdapter`].
#[derive(Debug, Default)]
pub struct ApiAdapter;

pub const CAPABILITIES: Capabilities = Capabilities {
    label: "API",
    badge: "API",
    can_write: true,
    window: WindowRule::NONE,
    buttons: true,
    lists: false,
    templates: true,
    files_out: FilesOut::SignedLink,
    media: &[],
    quoting: true,
    read_receipts: true,
    typing: false,
    widget: false,
    inbound_hook: true,
    checks_connection: false,
    sends_read_receipts: false,
    syncs_templates: false,
    sms_segments: false,
};

impl ChannelAdapter for ApiAdapter {
    fn kind(&self) -> switchboard_core::ChannelKind {
        switchboard_core::ChannelKind::Api
    }

    fn capabilities(&self) -> &Capabilities {
        &CAPABILITIES
    }

    fn ready_to_send(&self, channel: &ChannelSetup) -> Result<(), String> {
        match (&channel.callback_url, &channel.secret) {
            (Some(_), Some(_)) => Ok(()),
            _ => Err("this API channel has no callback URL to deliver messages to".into()),
        }
    }

    fn handle_hook<'a>(&'a self, channel: &'a ChannelSetup, request: &'a HookRequest) -> Result<Hook, InboundError> {
        if request.method != HookMethod::Post {
            return Err(InboundError::MethodNotAllowed);
        }
        if !request.content_type_is("application/json") {
            return Err(InboundError::UnsupportedMediaType(
                "send the body as application/json".into(),
            ));
        }
        let secret = channel.secret.as_ref().ok_or(InboundError::BadSignature)?;
        verify(secret.expose(), &request.body, request.header(SIGNATURE_HEADER))?;
        Ok(Hook::Events(vec![parse(&request.body)?]))
    }

    /// `{"message_id", "conversation_id", "duplicate", "applied"}` for the
    /// one event of the request.
    fn answer(&self, outcomes: &[InboundOutcome]) -> HookReply {
        let body = match outcomes.first() {
            Some(InboundOutcome::Message {
                message_id,
                conversation_id,
                duplicate,
            }) => serde_json::json!({
                "message_id": message_id, "conversation_id": conversation_id,
                "duplicate": duplicate, "applied": null,
            }),
            Some(InboundOutcome::Status { message_id, applied }) => serde_json::json!({
                "message_id": message_id, "conversation_id": null, "duplicate": false, "applied": applied,
            }),
            Some(InboundOutcome::Skipped | InboundOutcome::Recorded) | None => serde_json::json!({}),
        };
        HookReply::json(200, &body)
    }

    /// A customer's file is a URL the caller serves.
    fn fetch_media<'a>(
        &'a self,
        http: &'a OutboundHttp,
        _: &'a ChannelSetup,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<FetchedMedia, SendError>> {
        Box::pin(crate::net::fetch_url(http, reference))
    }

    fn send<'a>(&'a self, cx: SendContext<'a>, message: &'a OutboundMessage) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let (Some(url), Some(secret)) = (cx.channel.callback_url.as_deref(), cx.channel.secret.as_ref()) else {
                return Err(SendError::Permanent("the channel has no callback URL".into()));
            };
            send(cx.http, url, secret.expose(), cx.delivery_id, cx.now, message).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip() {
        let body = br#"{"message_id":"1"}"#;
        let header = sign("s3cret", body);
        assert!(verify("s3cret", body, Some(&header)).is_ok());
        assert!(matches!(
            verify("other", body, Some(&header)),
            Err(InboundError::BadSignature)
        ));
        assert!(matches!(
            verify("s3cret", body, None),
            Err(InboundError::MissingSignature)
        ));
        assert!(matches!(
            verify("s3cret", body, Some("sha256=zz")),
            Err(InboundError::BadSignature)
        ));
    }

    #[test]
    fn parses_messages_and_statuses() {
        let m = parse(br#"{"message_id":"m1","contact":{"id":"c1","name":"Ana"},"text":"hi"}"#).unwrap();
        assert!(
            matches!(m, Inbound::Message(ref x) if x.external_id == "m1" && x.contact.name.as_deref() == Some("Ana"))
        );
        let s = parse(br#"{"type":"status","message_id":"m1","status":"read"}"#).unwrap();
        assert!(matches!(s, Inbound::Status(ref x) if x.status == DeliveryStatus::Read));
        assert!(parse(br#"{"message_id":"","contact":{"id":"c1"},"text":"hi"}"#).is_err());
        assert!(parse(br#"{"message_id":"m","contact":{"id":"c1"},"text":"  "}"#).is_err());
        assert!(parse(b"not json").is_err());
    }
}

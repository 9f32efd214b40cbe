//! VK's Callback API notifications (channels.md §6.2–§6.3): JSON with
//! `type`, `group_id`, `event_id`, `secret` (the community's secret key,
//! inside the body) and `object`. `message_new` (API ≥ 5.103: the message
//! under `object.message`) is the customer's; `message_reply` is a message
//! the community sent, ours or from VK's own inbox. Lenient: other types
//! bring nothing and are still answered `ok`.

use serde::Deserialize;
use switchboard_core::Millis;

use crate::{ExternalContact, Inbound, InboundError, InboundMedia, InboundMessage};

/// The low bits our `random_id`s carry, so their echoes are known as ours.
pub(super) const OUR_RANDOM_ID_MARK: i64 = 0x5B0A;
const MARK_BITS: i64 = 0xFFFF;

#[derive(Deserialize)]
pub(super) struct Notification {
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) group_id: Option<i64>,
    pub(super) secret: Option<String>,
    #[serde(default)]
    object: serde_json::Value,
}

#[derive(Deserialize)]
struct NewMessage {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    date: i64,
    peer_id: i64,
    #[serde(default)]
    from_id: i64,
    #[serde(default)]
    text: String,
    conversation_message_id: Option<i64>,
    #[serde(default)]
    random_id: i64,
    #[serde(default)]
    attachments: Vec<Attachment>,
    reply_message: Option<Box<Replied>>,
}

#[derive(Deserialize)]
struct Replied {
    conversation_message_id: Option<i64>,
}

#[derive(Deserialize)]
struct Attachment {
    #[serde(rename = "type")]
    kind: String,
    photo: Option<Photo>,
    doc: Option<Doc>,
    audio_message: Option<AudioMessage>,
    sticker: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Photo {
    #[serde(default)]
    sizes: Vec<Size>,
}

#[derive(Deserialize)]
struct Size {
    url: String,
    #[serde(default)]
    width: i64,
    #[serde(default)]
    height: i64,
}

#[derive(Deserialize)]
struct Doc {
    url: Option<String>,
    title: Option<String>,
}

#[derive(Deserialize)]
struct AudioMessage {
    link_ogg: Option<String>,
    link_mp3: Option<String>,
}

/// A message's id as we keep it: VK numbers messages per conversation.
pub(super) fn message_key(peer_id: i64, conversation_message_id: i64) -> String {
    format!("{peer_id}:{conversation_message_id}")
}

/// The peer and conversation message id of a key made by [`message_key`].
pub(super) fn parse_message_key(key: &str) -> Option<(i64, i64)> {
    let (peer, id) = key.split_once(':')?;
    Some((peer.parse().ok()?, id.parse().ok()?))
}

/// A `random_id` for our message: stable for it (VK drops a resend with
/// the same one) and marked as ours.
pub fn random_id(message_id: &str) -> i64 {
    let digest = crate::signing::hmac_sha256(b"vk random_id", message_id.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    // Positive, within VK's int32 range, with our mark in the low bits.
    let high = i64::from_be_bytes(bytes) & 0x7FFF_0000;
    high | OUR_RANDOM_ID_MARK
}

fn ours(random_id: i64) -> bool {
    random_id != 0 && random_id & MARK_BITS == OUR_RANDOM_ID_MARK
}

fn files(list: &[Attachment]) -> (Vec<InboundMedia>, Vec<String>) {
    let mut media = Vec::new();
    let mut lines = Vec::new();
    for a in list {
        let (url, name) = match a.kind.as_str() {
            "photo" => (
                a.photo
                    .as_ref()
                    .and_then(|p| p.sizes.iter().max_by_key(|s| s.width * s.height))
                    .map(|s| s.url.clone()),
                None,
            ),
            "doc" => (
                a.doc.as_ref().and_then(|d| d.url.clone()),
                a.doc.as_ref().and_then(|d| d.title.clone()),
            ),
            "audio_message" => (
                a.audio_message
                    .as_ref()
                    .and_then(|m| m.link_ogg.clone().or_else(|| m.link_mp3.clone())),
                None,
            ),
            _ => (None, None),
        };
        match url {
            Some(url) => media.push(InboundMedia {
                reference: url,
                filename: name,
                content: None,
            }),
            None if a.kind == "sticker" && a.sticker.is_some() => lines.push("(sticker)".to_owned()),
            None => lines.push(format!("Sent a {}", a.kind)),
        }
    }
    (media, lines)
}

fn message(m: &Message) -> InboundMessage {
    let (media, lines) = files(&m.attachments);
    let mut text = m.text.clone();
    for line in lines {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&line);
    }
    InboundMessage {
        html: None,
        subject: None,
        references: Vec::new(),
        external_id: message_key(m.peer_id, m.conversation_message_id.unwrap_or_default()),
        contact: ExternalContact {
            external_id: m.peer_id.to_string(),
            name: None,
            email: None,
            phone: None,
        },
        text,
        in_reply_to: m
            .reply_message
            .as_ref()
            .and_then(|r| r.conversation_message_id)
            .map(|id| message_key(m.peer_id, id)),
        sent_at: (m.date > 0).then(|| Millis(m.date.saturating_mul(1000))),
        media,
    }
}

pub(super) fn parse(body: &[u8]) -> Result<Notification, InboundError> {
    serde_json::from_slice(body)
        .map_err(|e| InboundError::BadPayload(format!("not a VK Callback API notification: {e}")))
}

/// The events of a verified notification.
pub(super) fn events(n: &Notification) -> Result<Vec<Inbound>, InboundError> {
    match n.kind.as_str() {
        "message_new" => {
            let new: NewMessage = serde_json::from_value(n.object.clone())
                .map_err(|e| InboundError::BadPayload(format!("message_new: {e}")))?;
            if new.message.conversation_message_id.is_none() || new.message.from_id < 0 {
                return Ok(Vec::new());
            }
            Ok(vec![Inbound::Message(message(&new.message))])
        }
        "message_reply" => {
            let m: Message = serde_json::from_value(n.object.clone())
                .map_err(|e| InboundError::BadPayload(format!("message_reply: {e}")))?;
            if ours(m.random_id) || m.conversation_message_id.is_none() {
                return Ok(Vec::new());
            }
            Ok(vec![Inbound::Echo(message(&m))])
        }
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn events_of(value: serde_json::Value) -> Vec<Inbound> {
        events(&parse(value.to_string().as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn a_new_message_with_a_photo_and_a_voice_note() {
        let e = events_of(
            json!({"type": "message_new", "group_id": 1, "event_id": "e1", "v": "5.199", "secret": "s",
            "object": {"message": {"id": 0, "date": 1730000000, "peer_id": 55555, "from_id": 55555, "text": "look",
                "conversation_message_id": 2170, "reply_message": {"conversation_message_id": 2169},
                "attachments": [
                    {"type": "photo", "photo": {"sizes": [{"url": "https://cdn/s.jpg", "width": 75, "height": 50},
                                                          {"url": "https://cdn/x.jpg", "width": 604, "height": 453}]}},
                    {"type": "audio_message", "audio_message": {"link_ogg": "https://cdn/v.ogg"}},
                    {"type": "wall", "wall": {}}]},
                "client_info": {"keyboard": true}}}),
        );
        match e.as_slice() {
            [Inbound::Message(m)] => {
                assert_eq!(m.external_id, "55555:2170");
                assert_eq!(m.contact.external_id, "55555");
                assert_eq!(m.in_reply_to.as_deref(), Some("55555:2169"));
                assert_eq!(m.text, "look\nSent a wall");
                let refs: Vec<&str> = m.media.iter().map(|f| f.reference.as_str()).collect();
                assert_eq!(refs, ["https://cdn/x.jpg", "https://cdn/v.ogg"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn replies_from_vks_inbox_are_echoes_and_ours_are_not() {
        let reply = |random_id: i64| {
            events_of(
                json!({"type": "message_reply", "group_id": 1, "secret": "s", "object": {
                "date": 1730000100, "peer_id": 55555, "from_id": -1, "text": "from the inbox",
                "conversation_message_id": 2171, "random_id": random_id}}),
            )
        };
        assert!(matches!(reply(12345).as_slice(), [Inbound::Echo(m)] if m.contact.external_id == "55555"));
        assert!(reply(random_id("our-message")).is_empty());
        assert_eq!(random_id("our-message"), random_id("our-message"));
        assert_ne!(random_id("our-message"), random_id("another"));
        assert!(random_id("x") > 0 && random_id("x") <= i64::from(i32::MAX));
    }

    #[test]
    fn other_types_bring_nothing() {
        assert!(events_of(json!({"type": "message_typing_state", "object": {}})).is_empty());
        assert!(parse(b"ok").is_err());
    }
}

//! The Messenger Platform's webhook (channels.md §3.2): `object` `page`
//! (Messenger) or `instagram`, `entry[]` per Page or Instagram account,
//! each with `messaging[]` events. Entries for another account are skipped;
//! so are events we do not handle. Lenient like the WhatsApp parser.

use serde::Deserialize;
use switchboard_core::{DeliveryStatus, Millis};

use crate::{ExternalContact, Inbound, InboundError, InboundMedia, InboundMessage, StatusUpdate, Watermark};

/// What we put in `message.metadata` of our own sends: their echoes are
/// ours, not messages sent from elsewhere.
pub(super) const OUR_METADATA: &str = "switchboard";

#[derive(Deserialize)]
struct Envelope {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    id: String,
    #[serde(default)]
    messaging: Vec<Event>,
}

#[derive(Deserialize)]
struct Party {
    id: String,
}

#[derive(Deserialize)]
struct Event {
    sender: Party,
    recipient: Party,
    timestamp: Option<i64>,
    message: Option<Message>,
    postback: Option<Postback>,
    reaction: Option<Reaction>,
    delivery: Option<Delivery>,
    read: Option<Read>,
}

#[derive(Deserialize)]
struct Message {
    mid: String,
    text: Option<String>,
    #[serde(default)]
    is_echo: bool,
    metadata: Option<String>,
    quick_reply: Option<QuickReply>,
    reply_to: Option<ReplyTo>,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

#[derive(Deserialize)]
struct QuickReply {
    payload: String,
}

#[derive(Deserialize)]
struct ReplyTo {
    mid: Option<String>,
    story: Option<Story>,
}

#[derive(Deserialize)]
struct Story {
    url: Option<String>,
}

#[derive(Deserialize)]
struct Attachment {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    payload: Option<AttachmentPayload>,
}

#[derive(Deserialize)]
struct AttachmentPayload {
    url: Option<String>,
    title: Option<String>,
}

#[derive(Deserialize)]
struct Postback {
    mid: Option<String>,
    title: Option<String>,
    payload: Option<String>,
}

#[derive(Deserialize)]
struct Reaction {
    mid: String,
    action: Option<String>,
    emoji: Option<String>,
}

#[derive(Deserialize)]
struct Delivery {
    #[serde(default)]
    mids: Vec<String>,
    watermark: Option<i64>,
}

#[derive(Deserialize)]
struct Read {
    watermark: Option<i64>,
    mid: Option<String>,
}

fn contact(id: &str) -> ExternalContact {
    ExternalContact {
        external_id: id.to_owned(),
        name: None,
        email: None,
        phone: None,
    }
}

/// Files we fetch, and lines for what is only a link (shares, posts,
/// reels, story mentions).
fn attachments(list: &[Attachment]) -> (Vec<InboundMedia>, Vec<String>) {
    let mut media = Vec::new();
    let mut lines = Vec::new();
    for a in list {
        let url = a.payload.as_ref().and_then(|p| p.url.clone());
        match (a.kind.as_str(), url) {
            ("image" | "video" | "audio" | "file", Some(url)) => media.push(InboundMedia {
                reference: url,
                filename: None,
                content: None,
            }),
            ("story_mention", Some(url)) => lines.push(format!("Mentioned you in their story: {url}")),
            (kind, Some(url)) => {
                let title = a.payload.as_ref().and_then(|p| p.title.clone());
                lines.push(match title {
                    Some(title) => format!("Shared {kind}: {title} {url}"),
                    None => format!("Shared {kind}: {url}"),
                });
            }
            (kind, None) => lines.push(format!("Sent a {kind}")),
        }
    }
    (media, lines)
}

fn message(customer: &str, m: &Message, at: Option<Millis>) -> InboundMessage {
    let (media, lines) = attachments(&m.attachments);
    let mut parts: Vec<String> = Vec::new();
    if let Some(story) = m.reply_to.as_ref().and_then(|r| r.story.as_ref()) {
        parts.push(format!(
            "Replied to your story{}",
            story.url.as_deref().map(|u| format!(": {u}")).unwrap_or_default()
        ));
    }
    // A quick reply's payload is the full label we offered.
    match (&m.quick_reply, &m.text) {
        (Some(q), _) => parts.push(q.payload.clone()),
        (None, Some(text)) => parts.push(text.clone()),
        (None, None) => {}
    }
    parts.extend(lines);
    InboundMessage {
        html: None,
        subject: None,
        references: Vec::new(),
        external_id: m.mid.clone(),
        contact: contact(customer),
        text: parts.join("\n"),
        in_reply_to: m.reply_to.as_ref().and_then(|r| r.mid.clone()),
        sent_at: at,
        media,
    }
}

fn event(e: &Event) -> Vec<Inbound> {
    let at = e.timestamp.filter(|t| *t > 0).map(Millis);
    if let Some(m) = &e.message {
        if m.is_echo {
            // Ours come back with our metadata; the rest were sent from
            // the Page's or the account's own inbox.
            if m.metadata.as_deref().is_some_and(|d| d.starts_with(OUR_METADATA)) {
                return Vec::new();
            }
            return vec![Inbound::Echo(message(&e.recipient.id, m, at))];
        }
        return vec![Inbound::Message(message(&e.sender.id, m, at))];
    }
    if let Some(p) = &e.postback {
        let text = p.payload.clone().or_else(|| p.title.clone()).unwrap_or_default();
        let external_id = p
            .mid
            .clone()
            .unwrap_or_else(|| format!("postback:{}:{}", e.sender.id, e.timestamp.unwrap_or(0)));
        return vec![Inbound::Message(InboundMessage {
            references: Vec::new(),
            html: None,
            subject: None,
            external_id,
            contact: contact(&e.sender.id),
            text,
            in_reply_to: None,
            sent_at: at,
            media: Vec::new(),
        })];
    }
    if let Some(r) = &e.reaction {
        if r.action.as_deref() == Some("unreact") {
            return Vec::new();
        }
        let emoji = r.emoji.clone().unwrap_or_else(|| "👍".into());
        return vec![Inbound::Message(InboundMessage {
            references: Vec::new(),
            html: None,
            subject: None,
            external_id: format!("reaction:{}:{}:{emoji}", r.mid, e.sender.id),
            contact: contact(&e.sender.id),
            text: format!("Reacted {emoji}"),
            in_reply_to: Some(r.mid.clone()),
            sent_at: at,
            media: Vec::new(),
        })];
    }
    if let Some(d) = &e.delivery {
        let mut events: Vec<Inbound> = d
            .mids
            .iter()
            .map(|mid| {
                Inbound::Status(StatusUpdate {
                    message_id: mid.clone(),
                    status: DeliveryStatus::Delivered,
                    error: None,
                })
            })
            .collect();
        if let Some(watermark) = d.watermark {
            events.push(Inbound::Watermark(Watermark {
                contact_external_id: e.sender.id.clone(),
                status: DeliveryStatus::Delivered,
                up_to: Millis(watermark),
            }));
        }
        return events;
    }
    if let Some(r) = &e.read {
        return match (r.watermark, &r.mid) {
            (Some(watermark), _) => vec![Inbound::Watermark(Watermark {
                contact_external_id: e.sender.id.clone(),
                status: DeliveryStatus::Read,
                up_to: Millis(watermark),
            })],
            (None, Some(mid)) => vec![Inbound::Status(StatusUpdate {
                message_id: mid.clone(),
                status: DeliveryStatus::Read,
                error: None,
            })],
            (None, None) => Vec::new(),
        };
    }
    Vec::new()
}

/// The events of a verified body for the account `account_id`, of the
/// platform whose webhook `object` is `object`.
pub(super) fn parse(body: &[u8], object: &str, account_id: &str) -> Result<Vec<Inbound>, InboundError> {
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|e| InboundError::BadPayload(format!("not a Messenger Platform webhook: {e}")))?;
    if envelope.object != object {
        return Err(InboundError::BadPayload(format!(
            "this channel takes object {object:?} webhooks, not {:?}",
            envelope.object
        )));
    }
    Ok(envelope
        .entry
        .iter()
        .filter(|entry| entry.id == account_id)
        .flat_map(|entry| entry.messaging.iter().flat_map(event))
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse_events(object: &str, messaging: serde_json::Value) -> Vec<Inbound> {
        let body = json!({"object": object, "entry": [
            {"id": "PAGE", "time": 1, "messaging": messaging},
            {"id": "OTHER", "time": 1, "messaging": [{"sender": {"id": "X"}, "recipient": {"id": "OTHER"},
                "message": {"mid": "m_other", "text": "not ours"}}]}]});
        parse(body.to_string().as_bytes(), object, "PAGE").unwrap()
    }

    fn one_message(events: Vec<Inbound>) -> InboundMessage {
        match events.as_slice() {
            [Inbound::Message(m)] => m.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_text_a_quick_reply_and_a_postback_read_as_the_customers_words() {
        let m = one_message(parse_events(
            "page",
            json!([{"sender": {"id": "PSID"}, "recipient": {"id": "PAGE"},
            "timestamp": 1730000000400i64, "message": {"mid": "m_1", "text": "hello", "reply_to": {"mid": "m_0"}}}]),
        ));
        assert_eq!((m.external_id.as_str(), m.text.as_str()), ("m_1", "hello"));
        assert_eq!(m.contact.external_id, "PSID");
        assert_eq!(m.in_reply_to.as_deref(), Some("m_0"));
        assert_eq!(m.sent_at, Some(Millis(1_730_000_000_400)));
        let m = one_message(parse_events(
            "page",
            json!([{"sender": {"id": "PSID"}, "recipient": {"id": "PAGE"},
            "message": {"mid": "m_2", "text": "Bill", "quick_reply": {"payload": "Billing questions"}}}]),
        ));
        assert_eq!(m.text, "Billing questions");
        let m = one_message(parse_events(
            "page",
            json!([{"sender": {"id": "PSID"}, "recipient": {"id": "PAGE"},
            "timestamp": 5, "postback": {"mid": "m_3", "title": "Returns", "payload": "Returns"}}]),
        ));
        assert_eq!((m.external_id.as_str(), m.text.as_str()), ("m_3", "Returns"));
    }

    #[test]
    fn files_are_fetched_and_shares_and_story_replies_are_lines() {
        let m = one_message(parse_events(
            "instagram",
            json!([{"sender": {"id": "IGSID"}, "recipient": {"id": "PAGE"},
            "message": {"mid": "m_4", "attachments": [
                {"type": "image", "payload": {"url": "https://cdn.example/a.jpg"}},
                {"type": "ig_reel", "payload": {"url": "https://cdn.example/reel", "title": "My reel"}}],
                "reply_to": {"story": {"url": "https://cdn.example/story", "id": "1"}}}}]),
        ));
        assert_eq!(m.media[0].reference, "https://cdn.example/a.jpg");
        assert_eq!(
            m.text,
            "Replied to your story: https://cdn.example/story\nShared ig_reel: My reel https://cdn.example/reel"
        );
    }

    #[test]
    fn echoes_from_elsewhere_are_kept_and_ours_are_not() {
        let events = parse_events(
            "page",
            json!([
            {"sender": {"id": "PAGE"}, "recipient": {"id": "PSID"}, "timestamp": 7,
             "message": {"mid": "m_5", "text": "sent from the Page inbox", "is_echo": true, "app_id": 263902037430900i64}},
            {"sender": {"id": "PAGE"}, "recipient": {"id": "PSID"},
             "message": {"mid": "m_6", "text": "ours", "is_echo": true, "metadata": "switchboard:abc"}}]),
        );
        match events.as_slice() {
            [Inbound::Echo(m)] => {
                assert_eq!(m.contact.external_id, "PSID");
                assert_eq!(m.text, "sent from the Page inbox");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deliveries_and_reads_are_watermarks_and_reactions_lines() {
        let events = parse_events(
            "page",
            json!([
            {"sender": {"id": "PSID"}, "recipient": {"id": "PAGE"}, "delivery": {"mids": ["m_7"], "watermark": 900}},
            {"sender": {"id": "PSID"}, "recipient": {"id": "PAGE"}, "timestamp": 1000, "read": {"watermark": 950}},
            {"sender": {"id": "PSID"}, "recipient": {"id": "PAGE"}, "timestamp": 1001,
             "reaction": {"mid": "m_7", "action": "react", "emoji": "❤️", "reaction": "love"}},
            {"sender": {"id": "PSID"}, "recipient": {"id": "PAGE"}, "timestamp": 1002,
             "reaction": {"mid": "m_7", "action": "unreact"}}]),
        );
        assert_eq!(events.len(), 4);
        assert!(matches!(&events[0], Inbound::Status(s) if s.message_id == "m_7"));
        assert_eq!(
            events[1],
            Inbound::Watermark(Watermark {
                contact_external_id: "PSID".into(),
                status: DeliveryStatus::Delivered,
                up_to: Millis(900)
            })
        );
        assert!(
            matches!(&events[2], Inbound::Watermark(w) if w.status == DeliveryStatus::Read && w.up_to == Millis(950))
        );
        assert!(
            matches!(&events[3], Inbound::Message(m) if m.text == "Reacted ❤️" && m.in_reply_to.as_deref() == Some("m_7"))
        );
    }

    #[test]
    fn another_platforms_object_is_refused() {
        let body = json!({"object": "page", "entry": []}).to_string();
        assert!(parse(body.as_bytes(), "instagram", "PAGE").is_err());
        assert!(parse(b"{", "page", "PAGE").is_err());
    }
}

//! Meta's webhook for WhatsApp: the signature and the envelope of
//! messages and statuses (channels.md §1.2–§1.5). Parsing is lenient: a
//! field we do not know is ignored, a message type we do not handle is
//! kept as a readable line, and entries for another phone number are
//! skipped.

use serde::Deserialize;
use switchboard_core::{DeliveryStatus, Millis};

use crate::{ExternalContact, Inbound, InboundError, InboundMedia, InboundMessage, StatusUpdate, TemplateUpdate};

pub(super) use crate::meta::verify;
pub use crate::meta::{SIGNATURE_HEADER, sign};

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: serde_json::Value,
}

#[derive(Deserialize, Default)]
struct Value {
    metadata: Option<Metadata>,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<serde_json::Value>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Deserialize)]
struct Metadata {
    phone_number_id: String,
}

#[derive(Deserialize)]
struct Contact {
    wa_id: Option<String>,
    user_id: Option<String>,
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Deserialize)]
struct StatusError {
    code: Option<i64>,
    title: Option<String>,
    message: Option<String>,
    error_data: Option<ErrorData>,
}

#[derive(Deserialize)]
struct ErrorData {
    details: Option<String>,
}

/// The events of a verified body for the channel's phone number.
pub(super) fn parse(body: &[u8], phone_number_id: &str) -> Result<Vec<Inbound>, InboundError> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| InboundError::BadPayload(format!("not a WhatsApp webhook: {e}")))?;
    let mut events = Vec::new();
    for change in envelope.entry.into_iter().flat_map(|e| e.changes) {
        if let Some(update) = template_update(&change.field, &change.value) {
            events.push(Inbound::Template(update));
            continue;
        }
        let Ok(value) = serde_json::from_value::<Value>(change.value) else {
            continue;
        };
        let ours = value
            .metadata
            .as_ref()
            .is_some_and(|m| m.phone_number_id == phone_number_id);
        if change.field != "messages" || !ours {
            continue;
        }
        for message in &value.messages {
            if let Some(m) = message_of(message, &value.contacts) {
                events.push(Inbound::Message(m));
            }
        }
        for status in value.statuses {
            if let Some(s) = status_of(status) {
                events.push(Inbound::Status(s));
            }
        }
    }
    Ok(events)
}

/// A template's review (`message_template_status_update`), new category
/// (`template_category_update`) or quality rating
/// (`message_template_quality_update`), for the business account's templates.
fn template_update(field: &str, value: &serde_json::Value) -> Option<TemplateUpdate> {
    let name = text_at(value, &["message_template_name"])?.to_owned();
    let language = text_at(value, &["message_template_language"])?.to_owned();
    let lower = |key: &str| text_at(value, &[key]).map(str::to_ascii_lowercase);
    match field {
        "message_template_status_update" => Some(TemplateUpdate {
            name,
            language,
            status: lower("event"),
            category: None,
            quality: None,
        }),
        "template_category_update" => Some(TemplateUpdate {
            name,
            language,
            status: None,
            category: lower("new_category"),
            quality: None,
        }),
        "message_template_quality_update" => Some(TemplateUpdate {
            name,
            language,
            status: None,
            category: None,
            quality: lower("new_quality_score"),
        }),
        _ => None,
    }
}

fn text_at<'a>(v: &'a serde_json::Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, key| v.get(key))
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// One customer message; `None` for one without an id or a sender.
fn message_of(m: &serde_json::Value, contacts: &[Contact]) -> Option<InboundMessage> {
    let id = text_at(m, &["id"])?.to_owned();
    // The business-scoped user id first: users with a username may have
    // no phone number.
    let user_id = text_at(m, &["user_id"]);
    let wa_id = text_at(m, &["from"]);
    let sender = user_id.or(wa_id)?.to_owned();
    let contact = contacts.iter().find(|c| {
        (user_id.is_some() && c.user_id.as_deref() == user_id) || (wa_id.is_some() && c.wa_id.as_deref() == wa_id)
    });
    let kind = text_at(m, &["type"]).unwrap_or("unknown");
    let caption = |media: &str| text_at(m, &[media, "caption"]).map(str::to_owned);
    let mut media = Vec::new();
    let text = match kind {
        "text" => text_at(m, &["text", "body"]).map(str::to_owned),
        "button" => text_at(m, &["button", "text"]).map(str::to_owned),
        // Our choices carry their full label as the id (titles may be cut).
        "interactive" => text_at(m, &["interactive", "button_reply", "id"])
            .or_else(|| text_at(m, &["interactive", "list_reply", "id"]))
            .or_else(|| text_at(m, &["interactive", "button_reply", "title"]))
            .or_else(|| text_at(m, &["interactive", "list_reply", "title"]))
            .map(str::to_owned),
        "image" | "video" | "audio" | "document" | "sticker" => {
            let media_id = text_at(m, &[kind, "id"])?;
            media.push(InboundMedia {
                reference: media_id.to_owned(),
                filename: text_at(m, &[kind, "filename"]).map(str::to_owned),
                content: None,
            });
            Some(caption(kind).unwrap_or_default())
        }
        "location" => {
            let lat = m.pointer("/location/latitude").and_then(|v| v.as_f64());
            let lon = m.pointer("/location/longitude").and_then(|v| v.as_f64());
            let name = text_at(m, &["location", "name"]).unwrap_or("Location");
            match (lat, lon) {
                (Some(lat), Some(lon)) => Some(format!("{name}: https://maps.google.com/?q={lat},{lon}")),
                _ => Some(name.to_owned()),
            }
        }
        "reaction" => text_at(m, &["reaction", "emoji"]).map(|e| format!("Reacted {e}")),
        "contacts" => shared_contacts(m),
        "unsupported" => Some("(a WhatsApp message WhatsApp itself does not pass on, e.g. an edit or a poll)".into()),
        _ => None,
    }
    .unwrap_or_else(|| format!("(a WhatsApp message of type {kind} that Switchboard does not show yet)"));
    let text = with_context_lines(m, text);
    Some(InboundMessage {
        html: None,
        subject: None,
        references: Vec::new(),
        external_id: id,
        contact: ExternalContact {
            external_id: sender,
            name: contact.and_then(|c| c.profile.as_ref()?.name.clone()),
            email: None,
            phone: wa_id.map(|w| format!("+{w}")),
        },
        text,
        // A reaction shows on the message it reacts to, as a reply to it.
        in_reply_to: text_at(m, &["context", "id"])
            .or_else(|| {
                (kind == "reaction")
                    .then(|| text_at(m, &["reaction", "message_id"]))
                    .flatten()
            })
            .map(str::to_owned),
        sent_at: text_at(m, &["timestamp"])
            .and_then(|t| t.parse::<i64>().ok())
            .map(|secs| Millis(secs * 1000)),
        media,
    })
}

/// Shared contact cards as lines: name and phone numbers.
fn shared_contacts(m: &serde_json::Value) -> Option<String> {
    let cards = m.get("contacts")?.as_array()?;
    let lines: Vec<String> = cards
        .iter()
        .map(|card| {
            let name = text_at(card, &["name", "formatted_name"]).unwrap_or("A contact");
            let phones: Vec<&str> = card
                .get("phones")
                .and_then(|p| p.as_array())
                .map(|p| p.iter().filter_map(|p| text_at(p, &["phone"])).collect())
                .unwrap_or_default();
            if phones.is_empty() {
                format!("Shared contact: {name}")
            } else {
                format!("Shared contact: {name}, {}", phones.join(", "))
            }
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// What the agent should know about how the message came: forwarded, or
/// from an ad (click-to-WhatsApp referral).
fn with_context_lines(m: &serde_json::Value, text: String) -> String {
    let forwarded = m.pointer("/context/forwarded").and_then(|f| f.as_bool()) == Some(true)
        || m.pointer("/context/frequently_forwarded").and_then(|f| f.as_bool()) == Some(true);
    let mut out = if forwarded { format!("(forwarded) {text}") } else { text };
    if let Some(referral) = m.get("referral") {
        let headline = text_at(referral, &["headline"]).unwrap_or("an ad");
        let source = text_at(referral, &["source_url"])
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        out.push_str(&format!("\n(came from {headline}{source})"));
    }
    out
}

fn status_of(s: Status) -> Option<StatusUpdate> {
    let status = match s.status.as_str() {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        _ => return None,
    };
    let error = s.errors.first().map(|e| {
        let code = e.code.map(|c| format!("({c}) ")).unwrap_or_default();
        let title = e.title.clone().or_else(|| e.message.clone()).unwrap_or_default();
        match e.error_data.as_ref().and_then(|d| d.details.clone()) {
            Some(details) => format!("{code}{title}: {details}"),
            None => format!("{code}{title}"),
        }
    });
    Some(StatusUpdate {
        message_id: s.id,
        status,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(value: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "9", "changes": [{"field": "messages", "value": value}]}]}))
            .unwrap()
    }

    #[test]
    fn texts_statuses_and_other_numbers() {
        let body = envelope(serde_json::json!({
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "111"},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "4915112345678"}],
            "messages": [
                {"from": "4915112345678", "id": "wamid.1", "timestamp": "1730000000", "type": "text", "text": {"body": "Hello"}, "context": {"id": "wamid.0"}},
                {"from": "4915112345678", "id": "wamid.2", "type": "image", "image": {"id": "777", "mime_type": "image/jpeg", "caption": "receipt"}},
                {"from": "4915112345678", "id": "wamid.3", "type": "order", "order": {}},
                {"from": "4915112345678", "id": "wamid.4", "type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "A rather long billing question", "title": "A rather long billin"}}}
            ],
            "statuses": [{"id": "wamid.9", "status": "failed", "errors": [{"code": 131026, "title": "Message undeliverable", "error_data": {"details": "no WhatsApp"}}]}]
        }));
        let events = parse(&body, "111").unwrap();
        assert_eq!(events.len(), 5);
        let Inbound::Message(text) = &events[0] else { panic!() };
        assert_eq!(
            (text.text.as_str(), text.contact.name.as_deref()),
            ("Hello", Some("Ana"))
        );
        assert_eq!(text.contact.phone.as_deref(), Some("+4915112345678"));
        assert_eq!(text.in_reply_to.as_deref(), Some("wamid.0"));
        assert_eq!(text.sent_at, Some(Millis(1_730_000_000_000)));
        let Inbound::Message(image) = &events[1] else { panic!() };
        assert_eq!(
            (image.text.as_str(), image.media[0].reference.as_str()),
            ("receipt", "777")
        );
        let Inbound::Message(order) = &events[2] else { panic!() };
        assert!(order.text.contains("order"));
        let Inbound::Message(choice) = &events[3] else { panic!() };
        assert_eq!(choice.text, "A rather long billing question");
        let Inbound::Status(failed) = &events[4] else { panic!() };
        assert_eq!(failed.status, DeliveryStatus::Failed);
        assert_eq!(
            failed.error.as_deref(),
            Some("(131026) Message undeliverable: no WhatsApp")
        );
        assert!(
            parse(&body, "222").unwrap().is_empty(),
            "another number's entries are skipped"
        );
        assert!(parse(b"not json", "111").is_err());
    }

    #[test]
    fn shared_contacts_forwards_and_ad_clicks_read_as_lines() {
        let body = envelope(serde_json::json!({
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "111"},
            "messages": [
                {"from": "4915112345678", "id": "wamid.5", "type": "contacts", "contacts": [
                    {"name": {"formatted_name": "Bo Baker", "first_name": "Bo"}, "phones": [{"phone": "+49 30 1234", "type": "WORK"}]}]},
                {"from": "4915112345678", "id": "wamid.6", "type": "text", "text": {"body": "look"},
                 "context": {"forwarded": true}},
                {"from": "4915112345678", "id": "wamid.7", "type": "text", "text": {"body": "Is it in stock?"},
                 "referral": {"source_url": "https://fb.me/ad", "source_type": "ad", "headline": "Spring sale"}},
                {"from": "4915112345678", "id": "wamid.8", "type": "unsupported", "errors": [{"code": 131051}]},
                {"from": "4915112345678", "id": "wamid.9", "type": "reaction", "reaction": {"message_id": "wamid.OURS", "emoji": "👍"}}
            ]
        }));
        let reaction = match &parse(&body, "111").unwrap()[4] {
            Inbound::Message(m) => m.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            (reaction.text.as_str(), reaction.in_reply_to.as_deref()),
            ("Reacted 👍", Some("wamid.OURS"))
        );
        let texts: Vec<String> = parse(&body, "111")
            .unwrap()
            .into_iter()
            .map(|e| match e {
                Inbound::Message(m) => m.text,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(texts[0], "Shared contact: Bo Baker, +49 30 1234");
        assert_eq!(texts[1], "(forwarded) look");
        assert_eq!(texts[2], "Is it in stock?\n(came from Spring sale https://fb.me/ad)");
        assert!(texts[3].contains("does not pass on"), "{}", texts[3]);
    }

    #[test]
    fn signatures() {
        let body = b"{}";
        let header = sign("app-secret", body);
        assert!(verify("app-secret", body, Some(&header)).is_ok());
        assert!(matches!(
            verify("other", body, Some(&header)),
            Err(InboundError::BadSignature)
        ));
        assert!(matches!(
            verify("app-secret", body, None),
            Err(InboundError::MissingSignature)
        ));
    }
}

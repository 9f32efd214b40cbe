//! Telegram's `Update` objects (channels.md §2.2) as our events. Lenient:
//! fields we do not know are ignored, an update of a kind we do not handle
//! yields nothing (and is still answered 200, so Telegram does not retry
//! it), and bots' own messages are skipped.

use serde::Deserialize;
use switchboard_core::Millis;

use crate::{ExternalContact, Inbound, InboundEdit, InboundError, InboundMedia, InboundMessage};

#[derive(Debug, Deserialize)]
pub(super) struct Update {
    pub(super) update_id: i64,
    message: Option<Message>,
    edited_message: Option<Message>,
    callback_query: Option<CallbackQuery>,
}

#[derive(Debug, Deserialize)]
struct User {
    #[serde(default)]
    is_bot: bool,
    #[serde(default)]
    first_name: String,
    last_name: Option<String>,
    username: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Chat {
    id: i64,
    title: Option<String>,
}

#[derive(Debug, Deserialize)]
struct File {
    file_id: String,
    file_name: Option<String>,
    file_size: Option<i64>,
    width: Option<i64>,
    height: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Sticker {
    file_id: String,
    emoji: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Location {
    latitude: f64,
    longitude: f64,
}

#[derive(Debug, Deserialize)]
struct SharedContact {
    phone_number: String,
    #[serde(default)]
    first_name: String,
    last_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Replied {
    message_id: i64,
}

#[derive(Debug, Deserialize)]
struct Message {
    message_id: i64,
    date: Option<i64>,
    edit_date: Option<i64>,
    from: Option<User>,
    chat: Chat,
    text: Option<String>,
    caption: Option<String>,
    #[serde(default)]
    photo: Vec<File>,
    document: Option<File>,
    video: Option<File>,
    video_note: Option<File>,
    animation: Option<File>,
    voice: Option<File>,
    audio: Option<File>,
    sticker: Option<Sticker>,
    location: Option<Location>,
    contact: Option<SharedContact>,
    reply_to_message: Option<Box<Replied>>,
    reply_markup: Option<Markup>,
}

#[derive(Debug, Deserialize)]
struct Markup {
    #[serde(default)]
    inline_keyboard: Vec<Vec<Button>>,
}

#[derive(Debug, Deserialize)]
struct Button {
    text: String,
    callback_data: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    id: String,
    from: User,
    message: Option<Message>,
    data: Option<String>,
}

/// A message's id as we keep it: Telegram numbers messages per chat.
pub(super) fn message_key(chat_id: i64, message_id: i64) -> String {
    format!("{chat_id}:{message_id}")
}

/// The chat and message ids of a key made by [`message_key`].
pub(super) fn parse_message_key(key: &str) -> Option<(i64, i64)> {
    let (chat, message) = key.split_once(':')?;
    Some((chat.parse().ok()?, message.parse().ok()?))
}

/// A button tap's id as a message id: taps have no message of their own.
const TAP_PREFIX: &str = "tap:";

fn seconds(at: Option<i64>) -> Option<Millis> {
    at.filter(|s| *s > 0).map(|s| Millis(s.saturating_mul(1000)))
}

fn contact_of(chat: &Chat, from: Option<&User>) -> ExternalContact {
    let name = match from {
        Some(user) => {
            let full = match &user.last_name {
                Some(last) => format!("{} {last}", user.first_name),
                None => user.first_name.clone(),
            };
            let full = full.trim().to_owned();
            if full.is_empty() {
                user.username.clone()
            } else {
                Some(full)
            }
        }
        None => chat.title.clone(),
    };
    ExternalContact {
        // Replies go to the chat: in a private chat it is the user's id.
        external_id: chat.id.to_string(),
        name,
        email: None,
        phone: None,
    }
}

/// The largest size of a photo (Telegram lists them smallest first).
fn largest(photo: &[File]) -> Option<&File> {
    photo
        .iter()
        .max_by_key(|p| (p.file_size.unwrap_or(0), p.width.unwrap_or(0) * p.height.unwrap_or(0)))
}

fn media(file: &File) -> InboundMedia {
    InboundMedia {
        reference: file.file_id.clone(),
        filename: file.file_name.clone(),
        content: None,
    }
}

/// What a message says, as text: its text or caption, or a line for what
/// has none (a place, a shared contact, a sticker).
fn text_of(m: &Message) -> String {
    if let Some(text) = m.text.as_ref().or(m.caption.as_ref()) {
        return text.clone();
    }
    if let Some(place) = &m.location {
        return format!(
            "📍 Location: {:.6}, {:.6} https://www.openstreetmap.org/?mlat={:.6}&mlon={:.6}",
            place.latitude, place.longitude, place.latitude, place.longitude
        );
    }
    if let Some(c) = &m.contact {
        let name = match &c.last_name {
            Some(last) => format!("{} {last}", c.first_name),
            None => c.first_name.clone(),
        };
        return format!("👤 Contact: {} {}", name.trim(), c.phone_number)
            .trim()
            .to_owned();
    }
    if let Some(sticker) = &m.sticker {
        return format!("{} (sticker)", sticker.emoji.as_deref().unwrap_or(""))
            .trim()
            .to_owned();
    }
    String::new()
}

fn files_of(m: &Message) -> Vec<InboundMedia> {
    let mut files: Vec<InboundMedia> = largest(&m.photo).map(media).into_iter().collect();
    for file in [&m.document, &m.video, &m.video_note, &m.animation, &m.voice, &m.audio]
        .into_iter()
        .flatten()
    {
        files.push(media(file));
    }
    if let Some(sticker) = &m.sticker {
        files.push(InboundMedia {
            reference: sticker.file_id.clone(),
            filename: None,
            content: None,
        });
    }
    // An animation also arrives as a document: the same file once.
    files.dedup_by(|a, b| a.reference == b.reference);
    files
}

fn from_a_bot(m: &Message) -> bool {
    m.from.as_ref().is_some_and(|u| u.is_bot)
}

fn message(m: &Message) -> InboundMessage {
    InboundMessage {
        html: None,
        subject: None,
        references: Vec::new(),
        external_id: message_key(m.chat.id, m.message_id),
        contact: contact_of(&m.chat, m.from.as_ref()),
        text: text_of(m),
        in_reply_to: m
            .reply_to_message
            .as_ref()
            .map(|r| message_key(m.chat.id, r.message_id)),
        sent_at: seconds(m.date),
        media: files_of(m),
    }
}

/// A tap on one of our inline buttons: the customer "said" the button's
/// label (found by its data in the message's keyboard), then Telegram is
/// told the tap was taken.
fn tap(q: &CallbackQuery) -> Vec<Inbound> {
    let acknowledge = Inbound::Acknowledge(q.id.clone());
    let (Some(m), Some(data)) = (&q.message, &q.data) else {
        return vec![acknowledge];
    };
    if q.from.is_bot {
        return vec![acknowledge];
    }
    let label = m
        .reply_markup
        .iter()
        .flat_map(|k| k.inline_keyboard.iter().flatten())
        .find(|b| b.callback_data.as_deref() == Some(data.as_str()))
        .map_or_else(|| data.clone(), |b| b.text.clone());
    let message = InboundMessage {
        references: Vec::new(),
        html: None,
        subject: None,
        external_id: format!("{TAP_PREFIX}{}", q.id),
        contact: contact_of(&m.chat, Some(&q.from)),
        text: label,
        in_reply_to: Some(message_key(m.chat.id, m.message_id)),
        sent_at: None,
        media: Vec::new(),
    };
    vec![Inbound::Message(message), acknowledge]
}

/// The events of one update.
pub(super) fn events(update: &Update) -> Vec<Inbound> {
    if let Some(m) = update.message.as_ref().filter(|m| !from_a_bot(m)) {
        return vec![Inbound::Message(message(m))];
    }
    if let Some(m) = update.edited_message.as_ref().filter(|m| !from_a_bot(m)) {
        return vec![Inbound::Edit(InboundEdit {
            external_id: message_key(m.chat.id, m.message_id),
            text: text_of(m),
            edited_at: seconds(m.edit_date),
        })];
    }
    if let Some(q) = &update.callback_query {
        return tap(q);
    }
    Vec::new()
}

/// A webhook's body: one update.
pub(super) fn parse_one(body: &[u8]) -> Result<Update, InboundError> {
    serde_json::from_slice(body).map_err(|e| InboundError::BadPayload(format!("not a Telegram update: {e}")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn events_of(value: serde_json::Value) -> Vec<Inbound> {
        events(&parse_one(value.to_string().as_bytes()).unwrap())
    }

    fn only_message(value: serde_json::Value) -> InboundMessage {
        match events_of(value).as_slice() {
            [Inbound::Message(m)] => m.clone(),
            other => panic!("{other:?}"),
        }
    }

    const FROM: &str = r#"{"id":111222333,"is_bot":false,"first_name":"Ana","last_name":"Lima","username":"ana"}"#;

    fn msg(extra: serde_json::Value) -> serde_json::Value {
        let mut m = json!({"message_id": 5, "date": 1730000000, "from": serde_json::from_str::<serde_json::Value>(FROM).unwrap(),
                           "chat": {"id": 111222333, "type": "private"}});
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        m
    }

    #[test]
    fn a_text_is_a_message_from_the_chat() {
        let m = only_message(json!({"update_id": 1, "message": msg(json!({"text": "Hello"}))}));
        assert_eq!(m.external_id, "111222333:5");
        assert_eq!(m.contact.external_id, "111222333");
        assert_eq!(m.contact.name.as_deref(), Some("Ana Lima"));
        assert_eq!(m.text, "Hello");
        assert_eq!(m.sent_at, Some(Millis(1_730_000_000_000)));
    }

    #[test]
    fn the_largest_photo_with_its_caption() {
        let m = only_message(
            json!({"update_id": 2, "message": msg(json!({"caption": "receipt", "photo": [
            {"file_id": "small", "file_unique_id": "a", "width": 90, "height": 67, "file_size": 1200},
            {"file_id": "large", "file_unique_id": "b", "width": 1280, "height": 960, "file_size": 98000},
            {"file_id": "mid", "file_unique_id": "c", "width": 320, "height": 240, "file_size": 9000}]}))}),
        );
        assert_eq!(m.text, "receipt");
        assert_eq!(
            m.media.iter().map(|f| f.reference.as_str()).collect::<Vec<_>>(),
            ["large"]
        );
    }

    #[test]
    fn documents_keep_their_names_and_animations_come_once() {
        let m = only_message(json!({"update_id": 3, "message": msg(json!({
            "document": {"file_id": "doc", "file_unique_id": "d", "file_name": "invoice.pdf"}}))}));
        assert_eq!(m.media[0].filename.as_deref(), Some("invoice.pdf"));
        let m = only_message(json!({"update_id": 4, "message": msg(json!({
            "animation": {"file_id": "gif", "file_unique_id": "g"},
            "document": {"file_id": "gif", "file_unique_id": "g"}}))}));
        assert_eq!(m.media.len(), 1);
    }

    #[test]
    fn places_contacts_and_stickers_read_as_lines() {
        let m = only_message(
            json!({"update_id": 5, "message": msg(json!({"location": {"latitude": 52.52, "longitude": 13.405}}))}),
        );
        assert!(m.text.starts_with("📍 Location: 52.520000, 13.405000"), "{}", m.text);
        let m = only_message(json!({"update_id": 6, "message": msg(json!({
            "contact": {"phone_number": "+4915112345678", "first_name": "Bo"}}))}));
        assert_eq!(m.text, "👤 Contact: Bo +4915112345678");
        let m = only_message(json!({"update_id": 7, "message": msg(json!({
            "sticker": {"file_id": "st", "file_unique_id": "s", "emoji": "👍", "width": 512, "height": 512,
                        "is_animated": false, "is_video": false, "type": "regular"}}))}));
        assert_eq!(m.text, "👍 (sticker)");
        assert_eq!(m.media.len(), 1);
    }

    #[test]
    fn replies_quote_the_message_in_the_same_chat() {
        let m = only_message(json!({"update_id": 8, "message": msg(json!({"text": "this one",
            "reply_to_message": {"message_id": 3, "date": 1, "chat": {"id": 111222333, "type": "private"}}}))}));
        assert_eq!(m.in_reply_to.as_deref(), Some("111222333:3"));
    }

    #[test]
    fn an_edit_names_the_message_and_its_new_text() {
        let mut edited = msg(json!({"text": "Hello, world"}));
        edited["edit_date"] = json!(1730000100);
        assert_eq!(
            events_of(json!({"update_id": 9, "edited_message": edited})),
            vec![Inbound::Edit(InboundEdit {
                external_id: "111222333:5".into(),
                text: "Hello, world".into(),
                edited_at: Some(Millis(1_730_000_100_000)),
            })]
        );
    }

    #[test]
    fn a_tap_says_the_buttons_label_then_is_acknowledged() {
        let events = events_of(json!({"update_id": 10, "callback_query": {
            "id": "4382", "chat_instance": "-1", "data": "b1",
            "from": serde_json::from_str::<serde_json::Value>(FROM).unwrap(),
            "message": msg(json!({"text": "Choose", "from": {"id": 99, "is_bot": true, "first_name": "Bot"},
                "reply_markup": {"inline_keyboard": [[{"text": "Billing", "callback_data": "b0"}],
                                                     [{"text": "Returns", "callback_data": "b1"}]]}}))}}));
        match events.as_slice() {
            [Inbound::Message(m), Inbound::Acknowledge(id)] => {
                assert_eq!(m.text, "Returns");
                assert_eq!(m.external_id, "tap:4382");
                assert_eq!(m.contact.external_id, "111222333");
                assert_eq!(m.in_reply_to.as_deref(), Some("111222333:5"));
                assert_eq!(id, "4382");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bots_and_unknown_updates_bring_nothing() {
        let mut from_bot = msg(json!({"text": "hi"}));
        from_bot["from"]["is_bot"] = json!(true);
        assert!(events_of(json!({"update_id": 11, "message": from_bot})).is_empty());
        assert!(events_of(json!({"update_id": 12, "my_chat_member": {}})).is_empty());
        assert!(parse_one(b"[1,2]").is_err());
    }
}

//! Calls to the Bot API (channels.md §2.1, §2.3–§2.5): `https://api.telegram.org/bot<token>/<method>`.
//! The token is part of every URL, so no error we report carries a URL
//! (reqwest's errors are stripped of theirs). Answers are
//! `{"ok": true, "result": …}` or `{"ok": false, "error_code", "description",
//! "parameters": {"retry_after"}}`: 429 waits `retry_after`, 5xx and
//! network trouble are retried, the rest fail with Telegram's description.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{BotApi, Config, update};
use crate::net::OutboundHttp;
use crate::{FetchedMedia, OutboundFile, OutboundMessage, SendError, Sent};

#[derive(Deserialize)]
struct Answer<T> {
    ok: bool,
    result: Option<T>,
    error_code: Option<u16>,
    description: Option<String>,
    parameters: Option<Parameters>,
}

#[derive(Deserialize)]
struct Parameters {
    retry_after: Option<i64>,
}

/// Telegram's refusal: its code and description.
#[derive(Debug)]
pub(super) struct Refusal {
    pub(super) code: u16,
    pub(super) description: String,
}

/// What a call can end in.
#[derive(Debug)]
pub(super) enum CallError {
    Refused(Refusal, Option<i64>),
    Unreachable(String),
    Unreadable(String),
}

impl From<CallError> for SendError {
    fn from(e: CallError) -> SendError {
        match e {
            CallError::Refused(r, Some(wait)) if r.code == 429 => SendError::Limited {
                reason: format!("Telegram answered 429: {}", r.description),
                retry_in_ms: wait.clamp(1, 3600) * 1000,
            },
            CallError::Refused(r, _) if r.code == 429 || r.code >= 500 => {
                SendError::Retryable(format!("Telegram answered {}: {}", r.code, r.description))
            }
            CallError::Refused(r, _) => {
                SendError::Permanent(format!("Telegram answered {}: {}", r.code, r.description))
            }
            CallError::Unreachable(why) => SendError::Retryable(why),
            CallError::Unreadable(why) => SendError::Retryable(why),
        }
    }
}

fn unreachable(e: reqwest::Error) -> CallError {
    if crate::net::refused_private(&e) {
        CallError::Refused(
            Refusal {
                code: 400,
                description: "refused: the Bot API address is private".into(),
            },
            None,
        )
    } else {
        CallError::Unreachable(format!("Telegram could not be reached: {}", e.without_url()))
    }
}

fn method_url(api: &BotApi, token: &str, method: &str) -> String {
    format!("{}/bot{token}/{method}", api.base_url.trim_end_matches('/'))
}

async fn read<T: DeserializeOwned>(response: reqwest::Response, method: &str) -> Result<T, CallError> {
    let status = response.status();
    let body = response.bytes().await.map_err(unreachable)?;
    let answer: Answer<T> = serde_json::from_slice(&body).map_err(|_| {
        CallError::Unreadable(format!(
            "Telegram answered {status} to {method}, not with a Bot API answer"
        ))
    })?;
    match (answer.ok, answer.result) {
        (true, Some(result)) => Ok(result),
        _ => Err(CallError::Refused(
            Refusal {
                code: answer.error_code.unwrap_or(status.as_u16()),
                description: answer.description.unwrap_or_else(|| status.to_string()),
            },
            answer.parameters.and_then(|p| p.retry_after),
        )),
    }
}

/// A method called with a JSON body.
pub(super) async fn call<T: DeserializeOwned>(
    http: &OutboundHttp,
    api: &BotApi,
    token: &str,
    method: &str,
    body: &Value,
) -> Result<T, CallError> {
    let response = http
        .client
        .post(method_url(api, token, method))
        .json(body)
        .send()
        .await
        .map_err(unreachable)?;
    read(response, method).await
}

#[derive(Deserialize)]
pub(super) struct Me {
    pub(super) username: Option<String>,
    pub(super) first_name: String,
}

pub(super) async fn get_me(http: &OutboundHttp, api: &BotApi, token: &str) -> Result<Me, CallError> {
    call(http, api, token, "getMe", &json!({})).await
}

/// The updates we ask for, by webhook or by polling.
const ALLOWED_UPDATES: [&str; 3] = ["message", "edited_message", "callback_query"];

pub(super) async fn set_webhook(
    http: &OutboundHttp,
    api: &BotApi,
    token: &str,
    url: &str,
    secret_token: &str,
) -> Result<bool, CallError> {
    let body = json!({"url": url, "secret_token": secret_token, "allowed_updates": ALLOWED_UPDATES,
                      "max_connections": 40});
    call(http, api, token, "setWebhook", &body).await
}

pub(super) async fn delete_webhook(http: &OutboundHttp, api: &BotApi, token: &str) -> Result<bool, CallError> {
    call(
        http,
        api,
        token,
        "deleteWebhook",
        &json!({"drop_pending_updates": false}),
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct WebhookInfo {
    #[serde(default)]
    pub(super) url: String,
    #[serde(default)]
    pub(super) pending_update_count: i64,
    pub(super) last_error_date: Option<i64>,
    pub(super) last_error_message: Option<String>,
}

pub(super) async fn webhook_info(http: &OutboundHttp, api: &BotApi, token: &str) -> Result<WebhookInfo, CallError> {
    call(http, api, token, "getWebhookInfo", &json!({})).await
}

/// Updates after `offset`, waiting up to `timeout` seconds for one.
pub(super) async fn get_updates(
    http: &OutboundHttp,
    api: &BotApi,
    token: &str,
    offset: Option<i64>,
    timeout: u64,
) -> Result<Vec<Value>, CallError> {
    let mut body = json!({"timeout": timeout, "allowed_updates": ALLOWED_UPDATES, "limit": 100});
    if let Some(offset) = offset {
        body["offset"] = offset.into();
    }
    // A long poll outlasts the client's usual timeout by design.
    let response = http
        .client
        .post(method_url(api, token, "getUpdates"))
        .timeout(std::time::Duration::from_secs(timeout + 15))
        .json(&body)
        .send()
        .await
        .map_err(unreachable)?;
    read(response, "getUpdates").await
}

pub(super) async fn answer_callback(
    http: &OutboundHttp,
    api: &BotApi,
    token: &str,
    callback_query_id: &str,
) -> Result<bool, CallError> {
    call(
        http,
        api,
        token,
        "answerCallbackQuery",
        &json!({"callback_query_id": callback_query_id}),
    )
    .await
}

/// Telegram's longest text, in UTF-16 code units, and longest caption.
pub const TEXT_MAX: usize = 4096;
const CAPTION_MAX: usize = 1024;
/// Longest `callback_data`, in bytes.
const CALLBACK_DATA_MAX: usize = 64;

/// A text cut into pieces Telegram takes, each at most `max` UTF-16 code
/// units, cut after a line break or a space where there is one in the
/// second half of a piece.
pub(super) fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.encode_utf16().count() > max {
        let mut units = 0;
        let mut end = 0;
        for (i, c) in rest.char_indices() {
            if units + c.len_utf16() > max {
                break;
            }
            units += c.len_utf16();
            end = i + c.len_utf8();
        }
        let head = &rest[..end];
        let cut = head
            .rfind('\n')
            .or_else(|| head.rfind(' '))
            .filter(|at| *at >= end / 2)
            .map_or(end, |at| at + 1);
        pieces.push(rest[..cut].trim_end().to_owned());
        rest = &rest[cut..];
    }
    if !rest.trim().is_empty() || pieces.is_empty() {
        pieces.push(rest.trim_end().to_owned());
    }
    pieces
}

/// A button's data: its label, cut to what Telegram takes (a tap is read
/// back as the label of the button it names).
fn callback_data(label: &str) -> String {
    let mut end = label.len().min(CALLBACK_DATA_MAX);
    while !label.is_char_boundary(end) {
        end -= 1;
    }
    label[..end].to_owned()
}

/// Choices as an inline keyboard, one button per row.
pub(super) fn keyboard(buttons: &[String]) -> Value {
    let rows: Vec<Value> = buttons
        .iter()
        .map(|b| json!([{"text": b, "callback_data": callback_data(b)}]))
        .collect();
    json!({"inline_keyboard": rows})
}

fn reply_parameters(in_reply_to: Option<&str>) -> Option<Value> {
    let (_, message_id) = update::parse_message_key(in_reply_to?)?;
    Some(json!({"message_id": message_id, "allow_sending_without_reply": true}))
}

/// The `sendMessage` bodies of a text message: one per piece, the quote
/// on the first and the buttons on the last.
pub(super) fn text_bodies(m: &OutboundMessage) -> Vec<Value> {
    let text = if m.text.trim().is_empty() && !m.buttons.is_empty() {
        "Please choose:"
    } else {
        m.text.as_str()
    };
    let pieces = split_text(text, TEXT_MAX);
    let last = pieces.len() - 1;
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, piece)| {
            let mut body = json!({"chat_id": m.recipient_external_id, "text": piece});
            if i == 0
                && let Some(reply) = reply_parameters(m.in_reply_to.as_deref())
            {
                body["reply_parameters"] = reply;
            }
            if i == last && !m.buttons.is_empty() {
                body["reply_markup"] = keyboard(&m.buttons);
            }
            body
        })
        .collect()
}

/// The method and field that carry a file of this type.
fn file_method(mime: &str) -> (&'static str, &'static str) {
    match mime.split(';').next().unwrap_or_default().trim() {
        "image/jpeg" | "image/png" | "image/webp" => ("sendPhoto", "photo"),
        "video/mp4" => ("sendVideo", "video"),
        "audio/mpeg" | "audio/mp4" | "audio/m4a" => ("sendAudio", "audio"),
        "audio/ogg" => ("sendVoice", "voice"),
        _ => ("sendDocument", "document"),
    }
}

#[derive(Deserialize)]
struct SentMessage {
    message_id: i64,
    chat: SentChat,
}

#[derive(Deserialize)]
struct SentChat {
    id: i64,
}

/// One file, uploaded (multipart): Telegram fetching our link would need
/// our server public (a polling channel's is not) and takes only PDFs,
/// GIFs and ZIPs as documents by URL.
async fn send_file(
    http: &OutboundHttp,
    api: &BotApi,
    token: &str,
    m: &OutboundMessage,
    file: &OutboundFile,
    caption: Option<&str>,
    reply: Option<&Value>,
) -> Result<SentMessage, SendError> {
    let bytes = download(http, file).await?;
    let (method, field) = file_method(&file.mime);
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(file.filename.clone())
        .mime_str(&file.mime)
        .map_err(|_| SendError::Permanent(format!("{} has no valid type", file.filename)))?;
    let mut form = reqwest::multipart::Form::new()
        .text("chat_id", m.recipient_external_id.clone())
        .part(field, part);
    if let Some(caption) = caption.filter(|c| !c.trim().is_empty()) {
        form = form.text("caption", caption.to_owned());
    }
    if let Some(reply) = reply {
        form = form.text("reply_parameters", reply.to_string());
    }
    let response = http
        .client
        .post(method_url(api, token, method))
        .multipart(form)
        .send()
        .await
        .map_err(unreachable)?;
    Ok(read(response, method).await?)
}

/// Our own file, by its signed link.
async fn download(http: &OutboundHttp, file: &OutboundFile) -> Result<Vec<u8>, SendError> {
    use futures::StreamExt;
    let fetched = crate::net::fetch_url(http, &file.url).await?;
    let limit = usize::try_from(file.size.max(0)).unwrap_or(usize::MAX);
    let mut body = fetched.body;
    let mut bytes = Vec::with_capacity(limit.min(64 * 1024 * 1024));
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| SendError::Retryable(format!("{} could not be read: {e}", file.filename)))?;
        bytes.extend_from_slice(&chunk);
        if bytes.len() > limit {
            return Err(SendError::Permanent(format!("{} is larger than it was", file.filename)));
        }
    }
    Ok(bytes)
}

/// Send a message: its files (the caption on the first, or the text
/// before them when too long for a caption), else its text in pieces.
/// The first message Telegram made names ours.
pub(super) async fn send(
    http: &OutboundHttp,
    api: &BotApi,
    config: &Config,
    m: &OutboundMessage,
) -> Result<Sent, SendError> {
    let token = config.bot_token.as_str();
    let mut first: Option<String> = None;
    let note = |first: &mut Option<String>, sent: SentMessage| {
        first.get_or_insert_with(|| update::message_key(sent.chat.id, sent.message_id));
    };
    let reply = reply_parameters(m.in_reply_to.as_deref());
    let caption_fits = m.text.encode_utf16().count() <= CAPTION_MAX && m.buttons.is_empty();
    if m.attachments.is_empty() || !caption_fits && !m.text.trim().is_empty() {
        for body in text_bodies(m) {
            note(&mut first, call(http, api, token, "sendMessage", &body).await?);
        }
    }
    for (i, file) in m.attachments.iter().enumerate() {
        let caption = (i == 0 && caption_fits).then_some(m.text.as_str());
        let quote = if first.is_none() { reply.as_ref() } else { None };
        let sent = send_file(http, api, token, m, file, caption, quote).await?;
        note(&mut first, sent);
    }
    Ok(Sent {
        provider_message_id: first,
    })
}

#[derive(Deserialize)]
struct FileInfo {
    file_path: Option<String>,
    file_size: Option<u64>,
}

/// Bots download files up to 20 MB (channels.md §2.4).
pub(super) const DOWNLOAD_MAX: u64 = 20 * 1024 * 1024;

/// Two steps: the file's path by its id, then its bytes.
pub(super) async fn fetch_file(
    http: &OutboundHttp,
    api: &BotApi,
    config: &Config,
    file_id: &str,
) -> Result<FetchedMedia, SendError> {
    let info: FileInfo = call(http, api, &config.bot_token, "getFile", &json!({"file_id": file_id})).await?;
    if info.file_size.is_some_and(|s| s > DOWNLOAD_MAX) {
        return Err(SendError::Permanent(
            "the file is larger than the 20 MB Telegram lets bots download".into(),
        ));
    }
    let path = info
        .file_path
        .filter(|p| !p.is_empty() && !p.contains("..") && !p.starts_with('/'))
        .ok_or_else(|| SendError::Permanent("Telegram gave no path for the file".into()))?;
    let url = format!(
        "{}/file/bot{}/{path}",
        api.base_url.trim_end_matches('/'),
        config.bot_token
    );
    let response = http
        .client
        .get(url)
        .send()
        .await
        .map_err(|e| SendError::from(unreachable(e)))?;
    let status = response.status();
    if !status.is_success() {
        let reason = format!("Telegram answered {status} to the file download");
        return Err(if status.is_server_error() || status.as_u16() == 429 {
            SendError::Retryable(reason)
        } else {
            SendError::Permanent(reason)
        });
    }
    let filename = path.rsplit('/').next().filter(|n| !n.is_empty()).map(str::to_owned);
    Ok(FetchedMedia {
        filename,
        declared_size: response.content_length().or(info.file_size),
        body: crate::net::body_stream(response),
    })
}

#[cfg(test)]
mod tests {
    use switchboard_core::Millis;

    use super::*;

    fn message(text: &str) -> OutboundMessage {
        OutboundMessage {
            subject: None,
            thread: Vec::new(),
            message_id: "m".into(),
            conversation_id: "c".into(),
            recipient_external_id: "111222333".into(),
            text: text.into(),
            sender_name: None,
            in_reply_to: None,
            created_at: Millis(0),
            buttons: Vec::new(),
            template: None,
            attachments: Vec::new(),
            tag: None,
        }
    }

    #[test]
    fn long_texts_split_within_telegrams_limit_at_spaces() {
        let text = "word ".repeat(2000);
        let pieces = split_text(&text, TEXT_MAX);
        assert_eq!(pieces.len(), 3);
        assert!(pieces.iter().all(|p| p.encode_utf16().count() <= TEXT_MAX));
        assert!(pieces.iter().all(|p| p.ends_with("word")));
        assert_eq!(pieces.concat().replace(' ', "").len(), text.replace(' ', "").len());
    }

    #[test]
    fn the_limit_counts_utf16_units_and_never_cuts_a_character() {
        let text = "😀".repeat(3000); // two units each
        let pieces = split_text(&text, TEXT_MAX);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].encode_utf16().count(), TEXT_MAX);
        assert_eq!(pieces.concat(), text);
        assert_eq!(split_text("", TEXT_MAX), vec![String::new()]);
    }

    #[test]
    fn a_quote_goes_on_the_first_piece_and_buttons_on_the_last() {
        let mut m = message(&"x".repeat(5000));
        m.in_reply_to = Some("111222333:42".into());
        m.buttons = vec!["Billing".into(), "Returns".into()];
        let bodies = text_bodies(&m);
        assert_eq!(bodies.len(), 2);
        assert_eq!(bodies[0]["reply_parameters"]["message_id"], 42);
        assert!(bodies[0].get("reply_markup").is_none());
        assert_eq!(
            bodies[1]["reply_markup"]["inline_keyboard"][1][0],
            json!({"text": "Returns", "callback_data": "Returns"})
        );
    }

    #[test]
    fn button_data_is_cut_to_64_bytes_on_a_character() {
        let label = "é".repeat(40);
        let data = callback_data(&label);
        assert!(data.len() <= 64 && label.starts_with(&data));
        assert_eq!(data.chars().count(), 32);
    }

    #[test]
    fn files_go_by_the_method_of_their_type() {
        assert_eq!(file_method("image/jpeg").0, "sendPhoto");
        assert_eq!(file_method("video/mp4").0, "sendVideo");
        assert_eq!(file_method("audio/ogg").0, "sendVoice");
        assert_eq!(file_method("application/pdf").0, "sendDocument");
    }

    #[test]
    fn waits_and_failures_are_classified() {
        let refused = |code, wait| {
            CallError::Refused(
                Refusal {
                    code,
                    description: "x".into(),
                },
                wait,
            )
        };
        assert!(matches!(
            SendError::from(refused(429, Some(7))),
            SendError::Limited { retry_in_ms: 7000, .. }
        ));
        assert!(matches!(SendError::from(refused(502, None)), SendError::Retryable(_)));
        assert!(matches!(SendError::from(refused(403, None)), SendError::Permanent(_)));
    }
}

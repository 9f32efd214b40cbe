//! Calls to the Graph API: sending messages and downloading media
//! (channels.md §1.4, §1.6). Errors are classified by Meta's codes: rate
//! limits and server trouble are retried, the rest fail with Meta's reason.

use serde::Deserialize;

use super::{Config, GraphApi};
use crate::net::OutboundHttp;
use crate::{FetchedMedia, OutboundMessage, SendError, Sent};

#[derive(Deserialize)]
struct GraphError {
    error: GraphErrorBody,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    message: Option<String>,
    code: Option<i64>,
    error_data: Option<ErrorData>,
}

#[derive(Deserialize)]
struct ErrorData {
    details: Option<String>,
}

/// Meta's codes worth trying again: throughput and rate limits, temporary
/// service trouble.
const RETRYABLE_CODES: [i64; 6] = [1, 2, 4, 80007, 130429, 131000];

/// More than 24 hours since the customer last wrote: only a template may go.
const RE_ENGAGEMENT: i64 = 131047;
/// Meta's per-user cap on marketing messages: not worth trying again for
/// hours (channels.md §1.6).
const MARKETING_CAP: i64 = 131049;
const MARKETING_CAP_WAIT_MS: i64 = 6 * 3600 * 1000;

/// An unsuccessful answer as a send error with Meta's reason.
async fn error_of(response: reqwest::Response) -> SendError {
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    let parsed = serde_json::from_slice::<GraphError>(&body).ok().map(|e| e.error);
    let code = parsed.as_ref().and_then(|e| e.code);
    let reason = match &parsed {
        Some(e) => {
            let mut reason = format!(
                "WhatsApp answered {status}: ({}) {}",
                code.map_or("?".into(), |c| c.to_string()),
                e.message.clone().unwrap_or_default()
            );
            if let Some(details) = e.error_data.as_ref().and_then(|d| d.details.as_deref()) {
                reason.push_str(": ");
                reason.push_str(details);
            }
            reason
        }
        None => format!("WhatsApp answered {status}"),
    };
    let retry =
        status.is_server_error() || status.as_u16() == 429 || code.is_some_and(|c| RETRYABLE_CODES.contains(&c));
    if code == Some(RE_ENGAGEMENT) {
        SendError::WindowClosed(reason)
    } else if code == Some(MARKETING_CAP) {
        SendError::Limited {
            reason,
            retry_in_ms: MARKETING_CAP_WAIT_MS,
        }
    } else if retry {
        SendError::Retryable(reason)
    } else {
        SendError::Permanent(reason)
    }
}

fn network(e: reqwest::Error) -> SendError {
    if crate::net::refused_private(&e) {
        SendError::Permanent("refused: the Graph API address is private".into())
    } else {
        SendError::Retryable(format!("WhatsApp could not be reached: {e}"))
    }
}

/// A call with the access token: the answer, or Meta's error classified.
async fn call(request: reqwest::RequestBuilder, config: &Config) -> Result<reqwest::Response, SendError> {
    let response = request
        .bearer_auth(&config.access_token)
        .send()
        .await
        .map_err(network)?;
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(error_of(response).await)
    }
}

/// The JSON of a successful answer (`what` names it in the error).
async fn answer_of<T: serde::de::DeserializeOwned>(response: reqwest::Response, what: &str) -> Result<T, SendError> {
    response
        .json()
        .await
        .map_err(|e| SendError::Retryable(format!("WhatsApp's {what} could not be read: {e}")))
}

/// Longest reply-button title Meta takes, and list-row title.
const BUTTON_TITLE: usize = 20;
const ROW_TITLE: usize = 24;

fn clipped(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Choices as reply buttons (up to 3) or a list (up to 10). Each choice's
/// id is its full label, so an answer reads as the label even where the
/// title had to be shortened.
fn interactive(m: &OutboundMessage) -> serde_json::Value {
    let text = if m.text.trim().is_empty() {
        "Please choose:"
    } else {
        m.text.as_str()
    };
    let interactive = if m.buttons.len() <= 3 {
        let buttons: Vec<_> = m
            .buttons
            .iter()
            .map(|b| serde_json::json!({"type": "reply", "reply": {"id": b, "title": clipped(b, BUTTON_TITLE)}}))
            .collect();
        serde_json::json!({"type": "button", "body": {"text": text}, "action": {"buttons": buttons}})
    } else {
        let rows: Vec<_> = m
            .buttons
            .iter()
            .take(10)
            .map(|b| serde_json::json!({"id": b, "title": clipped(b, ROW_TITLE)}))
            .collect();
        serde_json::json!({"type": "list", "body": {"text": text},
                           "action": {"button": "Choose", "sections": [{"title": "Options", "rows": rows}]}})
    };
    serde_json::json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": m.recipient_external_id,
                       "type": "interactive", "interactive": interactive})
}

/// One file as a media message Meta fetches by its link; the caption (not
/// allowed on audio) goes with the first.
fn media(m: &OutboundMessage, file: &crate::OutboundFile, caption: Option<&str>) -> serde_json::Value {
    let kind = match file.mime.split(';').next().unwrap_or_default().trim() {
        "image/jpeg" | "image/png" => "image",
        "video/mp4" | "video/3gpp" => "video",
        mime if mime.starts_with("audio/") => "audio",
        _ => "document",
    };
    let mut object = serde_json::json!({"link": file.url});
    if kind == "document" {
        object["filename"] = file.filename.clone().into();
    }
    if let Some(caption) = caption.filter(|c| !c.trim().is_empty() && kind != "audio") {
        object["caption"] = caption.into();
    }
    let mut body = serde_json::json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                                      "to": m.recipient_external_id, "type": kind});
    body[kind] = object;
    body
}

/// The request bodies of a message (Meta's `messages` endpoint): one, or
/// one per file.
pub fn message_bodies(m: &OutboundMessage) -> Vec<serde_json::Value> {
    let mut bodies = if m.template.is_none() && !m.attachments.is_empty() {
        m.attachments
            .iter()
            .enumerate()
            .map(|(i, file)| media(m, file, (i == 0).then_some(m.text.as_str())))
            .collect()
    } else if m.template.is_none() && !m.buttons.is_empty() {
        vec![interactive(m)]
    } else {
        vec![message_body(m)]
    };
    if let (Some(quoted), Some(first)) = (&m.in_reply_to, bodies.first_mut()) {
        first["context"] = serde_json::json!({"message_id": quoted});
    }
    bodies
}

/// A template's `components`: header, body and button parameters, in
/// Meta's shape (lower-case types, the button's index as a string).
fn template_components(t: &crate::OutboundTemplate) -> Vec<serde_json::Value> {
    use switchboard_core::template::HeaderValue;
    use switchboard_core::template::parts::{ButtonKind, HeaderFormat};
    let mut components = Vec::new();
    match &t.header {
        Some(HeaderValue::Text { text }) => components.push(serde_json::json!(
            {"type": "header", "parameters": [{"type": "text", "text": text}]})),
        Some(HeaderValue::Media { format, link }) => {
            let kind = format.as_str();
            let mut parameter = serde_json::json!({"type": kind});
            parameter[kind] = serde_json::json!({"link": link});
            // A document shows its file name: the link's last segment.
            let filename = link.split(['?', '#']).next().and_then(|l| l.rsplit('/').next());
            if let (HeaderFormat::Document, Some(name)) = (format, filename.filter(|n| !n.is_empty())) {
                parameter[kind]["filename"] = name.into();
            }
            components.push(serde_json::json!({"type": "header", "parameters": [parameter]}));
        }
        None => {}
    }
    if !t.params.is_empty() {
        let parameters: Vec<_> = t
            .params
            .iter()
            .map(|p| serde_json::json!({"type": "text", "text": p}))
            .collect();
        components.push(serde_json::json!({"type": "body", "parameters": parameters}));
    }
    for b in &t.buttons {
        let parameter = match b.kind {
            ButtonKind::QuickReply => serde_json::json!({"type": "payload", "payload": b.value}),
            ButtonKind::CopyCode => serde_json::json!({"type": "coupon_code", "coupon_code": b.value}),
            ButtonKind::Url | ButtonKind::PhoneNumber => serde_json::json!({"type": "text", "text": b.value}),
        };
        components.push(serde_json::json!({"type": "button", "sub_type": b.kind.as_str(),
                                           "index": b.index.to_string(), "parameters": [parameter]}));
    }
    components
}

/// A text or a template.
fn message_body(m: &OutboundMessage) -> serde_json::Value {
    match &m.template {
        Some(t) => {
            let mut template =
                serde_json::json!({"name": t.name, "language": {"policy": "deterministic", "code": t.language}});
            let components = template_components(t);
            if !components.is_empty() {
                template["components"] = components.into();
            }
            serde_json::json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": m.recipient_external_id, "type": "template", "template": template})
        }
        None => serde_json::json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": m.recipient_external_id,
            "type": "text", "text": {"preview_url": false, "body": m.text},
        }),
    }
}

#[derive(Deserialize)]
struct SendAnswer {
    #[serde(default)]
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
struct SentMessage {
    id: String,
}

pub(super) async fn send(
    http: &OutboundHttp,
    graph: &GraphApi,
    config: &Config,
    m: &OutboundMessage,
) -> Result<Sent, SendError> {
    let url = graph.url(&format!("{}/messages", config.phone_number_id));
    // The first message's id names ours (statuses of the others are
    // skipped as unknown).
    let mut first = None;
    for body in message_bodies(m) {
        let response = call(http.client.post(&url).json(&body), config).await?;
        let answer: SendAnswer = answer_of(response, "answer").await?;
        first = first.or(answer.messages.into_iter().next().map(|m| m.id));
    }
    Ok(Sent {
        provider_message_id: first,
    })
}

#[derive(Deserialize)]
struct MediaInfo {
    url: String,
}

/// Two steps: the media's URL from its id, then its bytes, both with the
/// access token.
pub(super) async fn fetch_media(
    http: &OutboundHttp,
    graph: &GraphApi,
    config: &Config,
    media_id: &str,
) -> Result<FetchedMedia, SendError> {
    if media_id.is_empty()
        || !media_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(SendError::Permanent("the media id is not valid".into()));
    }
    let url = format!("{}?phone_number_id={}", graph.url(media_id), config.phone_number_id);
    let info: MediaInfo = answer_of(call(http.client.get(url), config).await?, "media answer").await?;
    let url: url::Url = info
        .url
        .parse()
        .map_err(|_| SendError::Permanent("WhatsApp gave a media URL that is not valid".into()))?;
    http.check(&url).map_err(|e| SendError::Permanent(e.to_string()))?;
    let response = call(http.client.get(url), config).await?;
    let declared_size = response.content_length();
    Ok(FetchedMedia {
        filename: None,
        declared_size,
        body: crate::net::body_stream(response),
    })
}

/// Mark a customer's message (and the ones before it) read.
pub(super) async fn mark_read(
    http: &OutboundHttp,
    graph: &GraphApi,
    config: &Config,
    message_id: &str,
) -> Result<(), SendError> {
    let body = serde_json::json!({"messaging_product": "whatsapp", "status": "read", "message_id": message_id});
    let url = graph.url(&format!("{}/messages", config.phone_number_id));
    call(http.client.post(url).json(&body), config).await.map(drop)
}

#[derive(Deserialize)]
struct TemplatePage {
    #[serde(default)]
    data: Vec<GraphTemplate>,
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    cursors: Option<Cursors>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct Cursors {
    after: Option<String>,
}

#[derive(Deserialize)]
struct GraphTemplate {
    name: String,
    language: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    components: Vec<serde_json::Value>,
    quality_score: Option<QualityScore>,
}

#[derive(Deserialize)]
struct QualityScore {
    score: Option<String>,
}

/// Most pages read in one sync (at 100 templates a page).
const TEMPLATE_PAGES: usize = 100;

/// Every template of the business account, following the pages.
pub(super) async fn templates(
    http: &OutboundHttp,
    graph: &GraphApi,
    config: &Config,
) -> Result<Vec<crate::ProviderTemplate>, SendError> {
    let base = format!(
        "{}?fields=name,language,category,status,components,quality_score&limit=100",
        graph.url(&format!("{}/message_templates", config.business_account_id))
    );
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..TEMPLATE_PAGES {
        let url = match &after {
            Some(cursor) => format!(
                "{base}&after={}",
                url::form_urlencoded::byte_serialize(cursor.as_bytes()).collect::<String>()
            ),
            None => base.clone(),
        };
        let page: TemplatePage = answer_of(call(http.client.get(url), config).await?, "template list").await?;
        found.extend(page.data.into_iter().map(|t| {
            let component = |kind: &str| {
                t.components.iter().find(|c| {
                    c.get("type")
                        .and_then(|v| v.as_str())
                        .is_some_and(|k| k.eq_ignore_ascii_case(kind))
                })
            };
            crate::ProviderTemplate {
                body: component("body")
                    .and_then(|c| c.get("text")?.as_str())
                    .map(str::to_owned),
                parts: switchboard_core::template::TemplateParts {
                    header: component("header").and_then(header_of),
                    buttons: component("buttons").map(buttons_of).unwrap_or_default(),
                },
                quality: t.quality_score.and_then(|q| q.score).map(|s| s.to_ascii_lowercase()),
                name: t.name,
                language: t.language,
                category: t.category.to_ascii_lowercase(),
                status: t.status.to_ascii_lowercase(),
            }
        }));
        // Meta gives `next` only while there is a next page.
        match page.paging {
            Some(Paging {
                next: Some(_),
                cursors: Some(Cursors { after: Some(cursor) }),
            }) => after = Some(cursor),
            _ => return Ok(found),
        }
    }
    Ok(found)
}

/// A listed template's HEADER component as ours (a location or product
/// header, which we cannot send, is left out).
fn header_of(c: &serde_json::Value) -> Option<switchboard_core::template::parts::TemplateHeader> {
    let format = c.get("format")?.as_str()?.to_ascii_lowercase().parse().ok()?;
    Some(switchboard_core::template::parts::TemplateHeader {
        format,
        text: c.get("text").and_then(|t| t.as_str()).map(str::to_owned),
    })
}

/// A listed template's BUTTONS component as ours; kinds we do not send
/// (flows, catalogs, OTP) keep their place as quick replies so the indexes
/// of the others stay Meta's.
fn buttons_of(c: &serde_json::Value) -> Vec<switchboard_core::template::parts::TemplateButton> {
    use switchboard_core::template::parts::{ButtonKind, TemplateButton};
    let listed = c.get("buttons").and_then(|b| b.as_array()).cloned().unwrap_or_default();
    listed
        .iter()
        .map(|b| {
            let text = b.get("text").and_then(|t| t.as_str()).unwrap_or_default().to_owned();
            let kind = b
                .get("type")
                .and_then(|t| t.as_str())
                .unwrap_or_default()
                .to_ascii_lowercase();
            let kind = kind.parse().unwrap_or(ButtonKind::QuickReply);
            TemplateButton {
                url: (kind == ButtonKind::Url)
                    .then(|| b.get("url").and_then(|u| u.as_str()).map(str::to_owned))
                    .flatten(),
                kind,
                text,
            }
        })
        .collect()
}

#[derive(Deserialize)]
struct PhoneNumber {
    display_phone_number: Option<String>,
    verified_name: Option<String>,
}

/// Ask Meta about the configured phone number with the access token, and
/// say exactly what is wrong when that fails.
pub(super) async fn check(http: &OutboundHttp, graph: &GraphApi, config: &Config) -> Result<String, String> {
    let url = format!(
        "{}?fields=display_phone_number,verified_name",
        graph.url(&config.phone_number_id)
    );
    let response = http
        .client
        .get(url)
        .bearer_auth(&config.access_token)
        .send()
        .await
        .map_err(|e| format!("Meta's Graph API at {} could not be reached: {e}", graph.base_url))?;
    let status = response.status();
    if status.is_success() {
        let phone: PhoneNumber = response
            .json()
            .await
            .map_err(|e| format!("Meta answered, but not with a phone number: {e}"))?;
        return Ok(format!(
            "Connected to {} ({})",
            phone
                .display_phone_number
                .unwrap_or_else(|| config.phone_number_id.clone()),
            phone.verified_name.unwrap_or_else(|| "no verified name".into())
        ));
    }
    let body = response.bytes().await.unwrap_or_default();
    let error = serde_json::from_slice::<GraphError>(&body).ok().map(|e| e.error);
    let meta = error
        .as_ref()
        .and_then(|e| e.message.clone())
        .unwrap_or_else(|| status.to_string());
    Err(match error.and_then(|e| e.code) {
        Some(190) => format!("The access token is not valid or has expired (Meta: {meta})"),
        Some(100) | Some(803) => format!(
            "Meta does not know the phone number id {} for this token: check it in WhatsApp › API setup (Meta: {meta})",
            config.phone_number_id
        ),
        Some(10) | Some(200) => format!("The access token may not manage this number (Meta: {meta})"),
        _ => format!("Meta answered {status}: {meta}"),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use switchboard_core::Millis;

    use super::*;
    use crate::OutboundFile;

    fn message(text: &str) -> OutboundMessage {
        OutboundMessage {
            subject: None,
            thread: Vec::new(),
            message_id: "m".into(),
            conversation_id: "c".into(),
            recipient_external_id: "4915112345678".into(),
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
    fn menus_are_reply_buttons_or_a_list_whose_ids_are_the_labels() {
        let mut m = message("How can we help?");
        m.buttons = vec!["Orders".into(), "A rather long billing question".into()];
        let body = &message_bodies(&m)[0];
        assert_eq!(body["type"], "interactive");
        assert_eq!(body["interactive"]["type"], "button");
        assert_eq!(
            body["interactive"]["action"]["buttons"][1]["reply"],
            json!({"id": "A rather long billing question", "title": "A rather long billin"})
        );
        m.buttons = (1..=5).map(|i| format!("Choice {i}")).collect();
        let body = &message_bodies(&m)[0];
        assert_eq!(body["interactive"]["type"], "list");
        assert_eq!(
            body["interactive"]["action"]["sections"][0]["rows"]
                .as_array()
                .unwrap()
                .len(),
            5
        );
    }

    #[test]
    fn files_are_media_messages_by_link_with_the_caption_on_the_first() {
        let mut m = message("Your invoice");
        m.in_reply_to = Some("wamid.Q".into());
        let file = |mime: &str, name: &str| OutboundFile {
            url: format!("https://sb.example/{name}"),
            filename: name.into(),
            mime: mime.into(),
            size: 1,
            sha256: "x".into(),
        };
        m.attachments = vec![
            file("application/pdf", "inv.pdf"),
            file("image/png", "p.png"),
            file("audio/ogg", "v.ogg"),
        ];
        let bodies = message_bodies(&m);
        assert_eq!(
            bodies[0],
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "4915112345678",
                   "type": "document", "document": {"link": "https://sb.example/inv.pdf", "filename": "inv.pdf", "caption": "Your invoice"},
                   "context": {"message_id": "wamid.Q"}})
        );
        assert_eq!(bodies[1]["image"], json!({"link": "https://sb.example/p.png"}));
        assert_eq!(bodies[2]["type"], "audio");
    }
}

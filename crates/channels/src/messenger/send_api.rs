//! Calls to the Graph API for Messenger and Instagram (channels.md §3.3):
//! the Send API (`POST /{version}/me/messages` with the Page's token),
//! customers' profiles and the connection check. Errors carry Meta's
//! code and message; rate limits and server trouble are retried.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Config, Platform, webhook::OUR_METADATA};
use crate::net::OutboundHttp;
use crate::whatsapp::GraphApi;
use crate::{ExternalProfile, OutboundFile, OutboundMessage, SendError, Sent};

#[derive(Deserialize)]
struct GraphError {
    error: GraphErrorBody,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    message: Option<String>,
    code: Option<i64>,
}

/// Meta's codes worth trying again: rate limits and temporary trouble.
const RETRYABLE_CODES: [i64; 5] = [1, 2, 4, 17, 613];

fn url(graph: &GraphApi, path: &str) -> String {
    format!("{}/{}/{}", graph.base_url.trim_end_matches('/'), graph.version, path)
}

async fn error_of(platform: Platform, response: reqwest::Response) -> SendError {
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    let parsed = serde_json::from_slice::<GraphError>(&body).ok().map(|e| e.error);
    let code = parsed.as_ref().and_then(|e| e.code);
    let reason = format!(
        "{} answered {status}: ({}) {}",
        platform.label(),
        code.map_or("?".into(), |c| c.to_string()),
        parsed.and_then(|e| e.message).unwrap_or_default()
    );
    if status.is_server_error() || status.as_u16() == 429 || code.is_some_and(|c| RETRYABLE_CODES.contains(&c)) {
        SendError::Retryable(reason)
    } else {
        SendError::Permanent(reason)
    }
}

async fn call(
    platform: Platform,
    request: reqwest::RequestBuilder,
    config: &Config,
) -> Result<reqwest::Response, SendError> {
    let response = request.bearer_auth(&config.access_token).send().await.map_err(|e| {
        if crate::net::refused_private(&e) {
            SendError::Permanent("refused: the Graph API address is private".into())
        } else {
            SendError::Retryable(format!(
                "{} could not be reached: {}",
                platform.label(),
                e.without_url()
            ))
        }
    })?;
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(error_of(platform, response).await)
    }
}

/// Longest quick-reply title Meta shows; at most 13 quick replies.
const QUICK_REPLY_TITLE: usize = 20;
const QUICK_REPLIES: usize = 13;

fn attachment_type(file: &OutboundFile) -> &'static str {
    match file.mime.split(';').next().unwrap_or_default().trim() {
        m if m.starts_with("image/") => "image",
        m if m.starts_with("video/") => "video",
        m if m.starts_with("audio/") => "audio",
        _ => "file",
    }
}

/// The Send API bodies of a message: its text (with quick replies for its
/// choices), then one per file. Outside the 24-hour window each carries
/// the tag; inside it they are responses.
pub(super) fn message_bodies(m: &OutboundMessage) -> Vec<Value> {
    let envelope = |message: Value| {
        let mut body = json!({"recipient": {"id": m.recipient_external_id}, "message": message});
        match &m.tag {
            Some(tag) => {
                body["messaging_type"] = "MESSAGE_TAG".into();
                body["tag"] = tag.clone().into();
            }
            None => body["messaging_type"] = "RESPONSE".into(),
        }
        body["message"]["metadata"] = format!("{OUR_METADATA}:{}", m.message_id).into();
        body
    };
    let mut bodies = Vec::new();
    if !m.text.trim().is_empty() || !m.buttons.is_empty() {
        let text = if m.text.trim().is_empty() {
            "Please choose:"
        } else {
            m.text.as_str()
        };
        let mut message = json!({"text": text});
        if !m.buttons.is_empty() {
            let replies: Vec<Value> = m
                .buttons
                .iter()
                .take(QUICK_REPLIES)
                .map(|b| {
                    json!({"content_type": "text", "title": b.chars().take(QUICK_REPLY_TITLE).collect::<String>(),
                           "payload": b})
                })
                .collect();
            message["quick_replies"] = replies.into();
        }
        bodies.push(envelope(message));
    }
    for file in &m.attachments {
        bodies.push(envelope(json!({"attachment": {"type": attachment_type(file),
                                                    "payload": {"url": file.url, "is_reusable": false}}})));
    }
    bodies
}

#[derive(Deserialize)]
struct SendAnswer {
    message_id: Option<String>,
}

pub(super) async fn send(
    http: &OutboundHttp,
    graph: &GraphApi,
    platform: Platform,
    config: &Config,
    m: &OutboundMessage,
) -> Result<Sent, SendError> {
    let endpoint = url(graph, "me/messages");
    let mut first = None;
    for body in message_bodies(m) {
        let response = call(platform, http.client.post(&endpoint).json(&body), config).await?;
        let answer: SendAnswer = response
            .json()
            .await
            .map_err(|e| SendError::Retryable(format!("{}'s answer could not be read: {e}", platform.label())))?;
        first = first.or(answer.message_id);
    }
    Ok(Sent {
        provider_message_id: first,
    })
}

/// The typing indicator (a sender action, alone).
pub(super) async fn typing(
    http: &OutboundHttp,
    graph: &GraphApi,
    platform: Platform,
    config: &Config,
    recipient: &str,
) -> Result<(), SendError> {
    let body = json!({"recipient": {"id": recipient}, "sender_action": "typing_on"});
    call(
        platform,
        http.client.post(url(graph, "me/messages")).json(&body),
        config,
    )
    .await?;
    Ok(())
}

#[derive(Deserialize)]
struct Profile {
    name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    username: Option<String>,
    profile_pic: Option<String>,
}

pub(super) async fn profile(
    http: &OutboundHttp,
    graph: &GraphApi,
    platform: Platform,
    config: &Config,
    id: &str,
) -> Result<ExternalProfile, SendError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(SendError::Permanent("the customer's id is not valid".into()));
    }
    let fields = match platform {
        Platform::Messenger => "first_name,last_name,profile_pic",
        Platform::Instagram => "name,username,profile_pic",
    };
    let response = call(
        platform,
        http.client.get(format!("{}?fields={fields}", url(graph, id))),
        config,
    )
    .await?;
    let p: Profile = response
        .json()
        .await
        .map_err(|e| SendError::Retryable(format!("the profile could not be read: {e}")))?;
    let full = [p.first_name, p.last_name]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let name = p
        .name
        .filter(|n| !n.trim().is_empty())
        .or(Some(full).filter(|n| !n.trim().is_empty()))
        .or(p.username);
    Ok(ExternalProfile {
        name,
        picture_url: p.profile_pic,
    })
}

#[derive(Deserialize)]
struct Account {
    name: Option<String>,
    username: Option<String>,
}

/// Ask Meta about the configured Page or account with the token.
pub(super) async fn check(
    http: &OutboundHttp,
    graph: &GraphApi,
    platform: Platform,
    config: &Config,
) -> Result<String, String> {
    let fields = match platform {
        Platform::Messenger => "name",
        Platform::Instagram => "name,username",
    };
    let response = http
        .client
        .get(format!("{}?fields={fields}", url(graph, &config.page_id)))
        .bearer_auth(&config.access_token)
        .send()
        .await
        .map_err(|e| {
            format!(
                "Meta's Graph API at {} could not be reached: {}",
                graph.base_url,
                e.without_url()
            )
        })?;
    let status = response.status();
    if status.is_success() {
        let account: Account = response
            .json()
            .await
            .map_err(|e| format!("Meta answered, but not with an account: {e}"))?;
        let name = account
            .username
            .map(|u| format!("@{u}"))
            .or(account.name)
            .unwrap_or_else(|| config.page_id.clone());
        return Ok(format!("Connected to {name} on {}", platform.label()));
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
            "Meta does not know the id {} for this token (Meta: {meta})",
            config.page_id
        ),
        _ => format!("Meta answered {status}: {meta}"),
    })
}

#[cfg(test)]
mod tests {
    use switchboard_core::Millis;

    use super::*;

    fn message() -> OutboundMessage {
        OutboundMessage {
            subject: None,
            thread: Vec::new(),
            message_id: "m1".into(),
            conversation_id: "c".into(),
            recipient_external_id: "PSID".into(),
            text: "Hi Ana".into(),
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
    fn a_response_inside_the_window_and_a_tagged_message_after_it() {
        let bodies = message_bodies(&message());
        assert_eq!(
            bodies,
            vec![json!({"recipient": {"id": "PSID"}, "messaging_type": "RESPONSE",
                        "message": {"text": "Hi Ana", "metadata": "switchboard:m1"}})]
        );
        let tagged = OutboundMessage {
            tag: Some("HUMAN_AGENT".into()),
            ..message()
        };
        let body = &message_bodies(&tagged)[0];
        assert_eq!(
            (body["messaging_type"].as_str(), body["tag"].as_str()),
            (Some("MESSAGE_TAG"), Some("HUMAN_AGENT"))
        );
    }

    #[test]
    fn choices_are_quick_replies_whose_payload_is_the_label_and_files_follow_the_text() {
        let m = OutboundMessage {
            buttons: vec!["A rather long label for billing".into(), "Returns".into()],
            attachments: vec![OutboundFile {
                url: "https://files.example/f".into(),
                filename: "f.pdf".into(),
                mime: "application/pdf".into(),
                size: 10,
                sha256: String::new(),
            }],
            ..message()
        };
        let bodies = message_bodies(&m);
        assert_eq!(bodies.len(), 2);
        assert_eq!(
            bodies[0]["message"]["quick_replies"][0],
            json!({"content_type": "text", "title": "A rather long label ", "payload": "A rather long label for billing"})
        );
        assert_eq!(bodies[1]["message"]["attachment"]["type"], "file");
    }
}

//! Calls to VK's API (channels.md §6.4): `POST {base}/method/{name}`,
//! form parameters with `v`, the community token as a bearer. VK answers
//! 200 with `{"response": …}` or `{"error": {"error_code", "error_msg"}}`:
//! rate limits and internal errors are retried, the rest fail with VK's
//! words.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::callback::{parse_message_key, random_id};
use super::{Config, VkApi};
use crate::net::OutboundHttp;
use crate::{ExternalProfile, OutboundMessage, SendError, Sent};

pub(super) const VERSION: &str = "5.199";

#[derive(Deserialize)]
struct Answer<T> {
    response: Option<T>,
    error: Option<VkError>,
}

#[derive(Deserialize)]
struct VkError {
    error_code: i64,
    error_msg: String,
}

/// Too many requests per second; internal server error; flood control.
const RETRYABLE: [i64; 3] = [6, 10, 9];
/// The user has not allowed the community to write to them.
const NOT_ALLOWED: i64 = 901;

fn encode(params: &[(&str, String)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        form.append_pair(k, v);
    }
    form.append_pair("v", VERSION);
    form.finish()
}

pub(in crate::vk) async fn call<T: DeserializeOwned>(
    http: &OutboundHttp,
    api: &VkApi,
    config: &Config,
    method: &str,
    params: &[(&str, String)],
) -> Result<T, SendError> {
    let body = encode(params);
    let response = http
        .client
        .post(format!("{}/method/{method}", api.base_url.trim_end_matches('/')))
        .bearer_auth(&config.access_token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| crate::net::not_reached(e, "VK"))?;
    let status = response.status();
    if status.is_server_error() {
        return Err(SendError::Retryable(format!("VK answered {status}")));
    }
    let answer: Answer<T> = response
        .json()
        .await
        .map_err(|e| SendError::Retryable(format!("VK's answer to {method} could not be read: {e}")))?;
    match (answer.response, answer.error) {
        (Some(response), None) => Ok(response),
        (_, Some(e)) => {
            let reason = format!("VK answered {method} with error {}: {}", e.error_code, e.error_msg);
            Err(if RETRYABLE.contains(&e.error_code) {
                SendError::Retryable(reason)
            } else if e.error_code == NOT_ALLOWED {
                SendError::Permanent(format!(
                    "{reason} (the customer has not allowed messages from the community)"
                ))
            } else {
                SendError::Permanent(reason)
            })
        }
        (None, None) => Err(SendError::Retryable(format!("VK answered {method} with nothing"))),
    }
}

/// Longest button label VK shows.
const LABEL_MAX: usize = 40;

/// Choices as a one-time keyboard of text buttons, one per row: a tap
/// sends the label as the customer's message.
pub(super) fn keyboard(buttons: &[String]) -> Value {
    let rows: Vec<Value> = buttons
        .iter()
        .take(10)
        .map(|b| {
            json!([{"action": {"type": "text", "label": b.chars().take(LABEL_MAX).collect::<String>()},
                    "color": "secondary"}])
        })
        .collect();
    json!({"one_time": true, "buttons": rows})
}

/// `messages.send` parameters for a message.
pub(super) fn send_params(m: &OutboundMessage) -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("peer_ids", m.recipient_external_id.clone()),
        ("random_id", random_id(&m.message_id).to_string()),
        ("message", m.text.clone()),
    ];
    if !m.buttons.is_empty() {
        params.push(("keyboard", keyboard(&m.buttons).to_string()));
    }
    if let Some((peer, cmid)) = m.in_reply_to.as_deref().and_then(parse_message_key) {
        params.push((
            "forward",
            json!({"peer_id": peer, "conversation_message_ids": [cmid], "is_reply": true}).to_string(),
        ));
    }
    params
}

#[derive(Deserialize)]
struct SentTo {
    peer_id: i64,
    conversation_message_id: Option<i64>,
}

pub(super) async fn send(
    http: &OutboundHttp,
    api: &VkApi,
    config: &Config,
    m: &OutboundMessage,
) -> Result<Sent, SendError> {
    let mut params = send_params(m);
    if !m.attachments.is_empty() {
        let mut attached = Vec::with_capacity(m.attachments.len());
        for file in &m.attachments {
            attached.push(super::upload::attachment(http, api, config, &m.recipient_external_id, file).await?);
        }
        params.push(("attachment", attached.join(",")));
    }
    let sent: Vec<SentTo> = call(http, api, config, "messages.send", &params).await?;
    Ok(Sent {
        provider_message_id: sent.first().and_then(|s| {
            s.conversation_message_id
                .map(|id| super::callback::message_key(s.peer_id, id))
        }),
    })
}

#[derive(Deserialize)]
struct User {
    first_name: Option<String>,
    last_name: Option<String>,
    photo_100: Option<String>,
}

pub(super) async fn profile(
    http: &OutboundHttp,
    api: &VkApi,
    config: &Config,
    id: &str,
) -> Result<ExternalProfile, SendError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(ExternalProfile::default());
    }
    let users: Vec<User> = call(
        http,
        api,
        config,
        "users.get",
        &[("user_ids", id.to_owned()), ("fields", "photo_100".to_owned())],
    )
    .await?;
    let Some(user) = users.into_iter().next() else {
        return Ok(ExternalProfile::default());
    };
    let name = [user.first_name, user.last_name]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(ExternalProfile {
        name: Some(name).filter(|n| !n.trim().is_empty()),
        picture_url: user.photo_100,
    })
}

#[derive(Deserialize)]
struct Groups {
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    name: Option<String>,
}

pub(super) async fn check(http: &OutboundHttp, api: &VkApi, config: &Config) -> Result<String, String> {
    let groups: Groups = call(
        http,
        api,
        config,
        "groups.getById",
        &[("group_id", config.group_id.clone())],
    )
    .await
    .map_err(|e| e.to_string())?;
    let name = groups
        .groups
        .into_iter()
        .next()
        .and_then(|g| g.name)
        .unwrap_or_else(|| config.group_id.clone());
    Ok(format!("Connected to the VK community {name}"))
}

//! Calls to X's API v2 for the account (channels.md §7.4), each signed
//! with OAuth 1.0a: a direct message by
//! `POST /2/dm_conversations/with/{participant_id}/messages` (each of the
//! agent's files uploaded first, see `upload.rs`), the account by
//! `GET /2/users/me`, and a file a customer sent, from X's file host.
//! 429 and 5xx are retried (after `x-rate-limit-reset` where X says);
//! other refusals fail with X's own words.

use serde_json::{Value, json};

use super::oauth1::authorization;
use super::{Config, XApi};
use crate::net::OutboundHttp;
use crate::{FetchedMedia, OutboundMessage, SendError, Sent};

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

pub(super) fn url_of(api: &XApi, path: &str) -> Result<url::Url, SendError> {
    format!("{}{path}", api.base_url.trim_end_matches('/'))
        .parse()
        .map_err(|e| SendError::Permanent(format!("X's API address is not valid: {e}")))
}

/// What a request carries. Neither body is part of the OAuth 1.0a
/// signature: only form-encoded bodies would be, and X takes none here.
pub(super) enum Body<'a> {
    Empty,
    Json(&'a Value),
    Multipart(reqwest::multipart::Form),
}

/// A signed request's answer, or why it failed.
pub(super) async fn call(
    http: &OutboundHttp,
    config: &Config,
    method: reqwest::Method,
    url: url::Url,
    body: Body<'_>,
) -> Result<reqwest::Response, SendError> {
    let header = authorization(method.as_str(), &url, config.credentials(), now_secs());
    let request = http.client.request(method, url).header("authorization", header);
    let request = match body {
        Body::Empty => request,
        Body::Json(value) => request.json(value),
        Body::Multipart(form) => request.multipart(form),
    };
    let response = request.send().await.map_err(|e| crate::net::not_reached(e, "X"))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let reset = response
        .headers()
        .get("x-rate-limit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    let detail = response
        .json::<Value>()
        .await
        .ok()
        .and_then(|v| {
            v["detail"]
                .as_str()
                .or_else(|| v["errors"][0]["message"].as_str())
                .or_else(|| v["title"].as_str())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let reason = match status.as_u16() {
        413 => format!("X refused the file as too large ({status}): {detail}"),
        _ => format!("X answered {status}: {detail}"),
    };
    Err(match status.as_u16() {
        429 => match reset {
            Some(at) => SendError::Limited {
                reason,
                retry_in_ms: (at - now_secs() as i64).max(1) * 1000,
            },
            None => SendError::Retryable(reason),
        },
        408 => SendError::Retryable(reason),
        _ if status.is_server_error() => SendError::Retryable(reason),
        _ => SendError::Permanent(reason),
    })
}

/// The message's text, a menu's choices as numbered lines (X's v2 direct
/// messages have no buttons).
fn text_of(message: &OutboundMessage) -> String {
    let mut text = message.text.clone();
    for (i, choice) in message.buttons.iter().enumerate() {
        if !text.contains(choice.as_str()) {
            text.push_str(&format!("\n{}. {choice}", i + 1));
        }
    }
    text
}

/// The message as direct messages: X takes one attachment a message, so
/// each file goes in a DM of its own, the text with the first. Every file
/// is uploaded before the first DM goes, so a file X refuses sends nothing.
/// The provider id kept is the last DM's: X's read report names the
/// latest event the customer read, which is that one.
pub(super) async fn send(
    http: &OutboundHttp,
    api: &XApi,
    config: &Config,
    message: &OutboundMessage,
) -> Result<Sent, SendError> {
    let participant = &message.recipient_external_id;
    if participant.is_empty() || !participant.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SendError::Permanent("the customer has no X account id".into()));
    }
    super::upload::check_all(&message.attachments)?;
    let mut media_ids = Vec::with_capacity(message.attachments.len());
    for file in &message.attachments {
        media_ids.push(super::upload::media_id(http, api, config, file).await?);
    }
    let url = url_of(api, &format!("/2/dm_conversations/with/{participant}/messages"))?;
    let mut text = Some(text_of(message)).filter(|t| !t.is_empty());
    let mut bodies: Vec<Value> = media_ids
        .iter()
        .map(|id| {
            let mut body = json!({"attachments": [{"media_id": id}]});
            if let Some(text) = text.take() {
                body["text"] = json!(text);
            }
            body
        })
        .collect();
    if bodies.is_empty() {
        bodies.push(json!({"text": text.unwrap_or_default()}));
    }
    let mut last = None;
    for body in &bodies {
        let answer: Value = call(http, config, reqwest::Method::POST, url.clone(), Body::Json(body))
            .await?
            .json()
            .await
            .map_err(|e| SendError::Retryable(format!("X's answer could not be read: {e}")))?;
        last = answer["data"]["dm_event_id"].as_str().map(str::to_owned);
    }
    Ok(Sent {
        provider_message_id: last,
    })
}

/// Who the credentials act for.
pub(super) async fn check(http: &OutboundHttp, api: &XApi, config: &Config) -> Result<String, String> {
    let url = url_of(api, "/2/users/me").map_err(|e| e.to_string())?;
    let answer: Value = call(http, config, reqwest::Method::GET, url, Body::Empty)
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| format!("X's answer could not be read: {e}"))?;
    let id = answer["data"]["id"].as_str().unwrap_or_default();
    if id != config.user_id() {
        return Err(format!(
            "the access token is for account {id}, not {}: use the account's own token",
            config.user_id()
        ));
    }
    Ok(format!(
        "Connected as @{} ({})",
        answer["data"]["username"].as_str().unwrap_or_default(),
        answer["data"]["name"].as_str().unwrap_or_default()
    ))
}

/// A file a customer sent: signed like every call, and only from X's file
/// host (or the configured API's, for tests).
pub(super) async fn fetch(
    http: &OutboundHttp,
    api: &XApi,
    config: &Config,
    reference: &str,
) -> Result<FetchedMedia, SendError> {
    let url: url::Url = reference
        .parse()
        .map_err(|_| SendError::Permanent("not a file link".into()))?;
    let api_host = url_of(api, "/")?.host_str().map(str::to_owned);
    let host = url.host_str().map(str::to_owned);
    let from_x = url.scheme() == "https" && host.as_deref() == Some("ton.twitter.com");
    let from_api = host.is_some() && host == api_host;
    if !(from_x || from_api) {
        return Err(SendError::Permanent(
            "files are only fetched from X's own file host".into(),
        ));
    }
    let filename = url.path_segments().and_then(|mut s| s.next_back()).map(str::to_owned);
    let response = call(http, config, reqwest::Method::GET, url, Body::Empty).await?;
    Ok(FetchedMedia {
        filename,
        declared_size: response.content_length(),
        body: crate::net::body_stream(response),
    })
}

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
    if retry {
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

/// The request body of a message (Meta's `messages` endpoint).
pub(super) fn message_body(m: &OutboundMessage) -> serde_json::Value {
    let mut body = match &m.template {
        Some(t) => {
            let parameters: Vec<_> = t
                .params
                .iter()
                .map(|p| serde_json::json!({"type": "text", "text": p}))
                .collect();
            let mut template =
                serde_json::json!({"name": t.name, "language": {"policy": "deterministic", "code": t.language}});
            if !parameters.is_empty() {
                template["components"] = serde_json::json!([{"type": "body", "parameters": parameters}]);
            }
            serde_json::json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": m.recipient_external_id, "type": "template", "template": template})
        }
        None => serde_json::json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": m.recipient_external_id,
            "type": "text", "text": {"preview_url": false, "body": m.text},
        }),
    };
    if let Some(quoted) = &m.in_reply_to {
        body["context"] = serde_json::json!({"message_id": quoted});
    }
    body
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
    let response = http
        .client
        .post(url)
        .bearer_auth(&config.access_token)
        .json(&message_body(m))
        .send()
        .await
        .map_err(network)?;
    if !response.status().is_success() {
        return Err(error_of(response).await);
    }
    let answer: SendAnswer = response
        .json()
        .await
        .map_err(|e| SendError::Retryable(format!("WhatsApp's answer could not be read: {e}")))?;
    Ok(Sent {
        provider_message_id: answer.messages.into_iter().next().map(|m| m.id),
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
    let info = http
        .client
        .get(format!(
            "{}?phone_number_id={}",
            graph.url(media_id),
            config.phone_number_id
        ))
        .bearer_auth(&config.access_token)
        .send()
        .await
        .map_err(network)?;
    if !info.status().is_success() {
        return Err(error_of(info).await);
    }
    let info: MediaInfo = info
        .json()
        .await
        .map_err(|e| SendError::Retryable(format!("WhatsApp's media answer could not be read: {e}")))?;
    let url: url::Url = info
        .url
        .parse()
        .map_err(|_| SendError::Permanent("WhatsApp gave a media URL that is not valid".into()))?;
    http.check(&url).map_err(|e| SendError::Permanent(e.to_string()))?;
    let response = http
        .client
        .get(url)
        .bearer_auth(&config.access_token)
        .send()
        .await
        .map_err(network)?;
    if !response.status().is_success() {
        return Err(error_of(response).await);
    }
    let declared_size = response.content_length();
    Ok(FetchedMedia {
        filename: None,
        declared_size,
        body: crate::net::body_stream(response),
    })
}

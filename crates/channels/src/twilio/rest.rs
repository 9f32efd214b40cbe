//! Calls to Twilio's REST API (channels.md §4.3): messages are created by a
//! form `POST /2010-04-01/Accounts/{sid}/Messages.json` with Basic auth,
//! media is downloaded with the same auth (only from Twilio's own API
//! host), and the account is read for the connection check. Errors carry
//! Twilio's code and message; 429 and 5xx are retried.

use serde::Deserialize;

use super::{Config, TwilioApi};
use crate::net::OutboundHttp;
use crate::{FetchedMedia, OutboundMessage, SendError, Sent};

#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
}

/// Sending to a number that texted STOP.
const OPTED_OUT: i64 = 21610;

async fn error_of(response: reqwest::Response) -> SendError {
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    let parsed = serde_json::from_slice::<TwilioError>(&body).ok();
    let code = parsed.as_ref().and_then(|e| e.code);
    let reason = format!(
        "Twilio answered {status}: ({}) {}",
        code.map_or("?".into(), |c| c.to_string()),
        parsed.and_then(|e| e.message).unwrap_or_default()
    );
    if code == Some(OPTED_OUT) {
        SendError::Permanent(format!("{reason} (the customer texted STOP)"))
    } else if status.is_server_error() || status.as_u16() == 429 {
        SendError::Retryable(reason)
    } else {
        SendError::Permanent(reason)
    }
}

fn unreachable(e: reqwest::Error) -> SendError {
    crate::net::not_reached(e, "Twilio")
}

/// Where Twilio tells us what became of a message we sent.
pub(super) fn form(m: &OutboundMessage, config: &Config, status_callback: &str) -> Vec<(&'static str, String)> {
    let mut form = vec![("To", m.recipient_external_id.clone())];
    if config.from.starts_with("MG") {
        form.push(("MessagingServiceSid", config.from.clone()));
    } else {
        form.push(("From", config.from.clone()));
    }
    if !m.text.is_empty() || m.attachments.is_empty() {
        form.push(("Body", body_text(m)));
    }
    for file in m.attachments.iter().take(10) {
        form.push(("MediaUrl", file.url.clone()));
    }
    form.push(("StatusCallback", status_callback.to_owned()));
    form
}

fn encoded(pairs: &[(&str, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .finish()
}

/// A menu's choices as numbered lines (SMS has no buttons).
fn body_text(m: &OutboundMessage) -> String {
    let mut text = m.text.clone();
    for (i, choice) in m.buttons.iter().enumerate() {
        text.push_str(&format!("\n{}. {choice}", i + 1));
    }
    text
}

#[derive(Deserialize)]
struct Created {
    sid: String,
}

pub(super) async fn send(
    http: &OutboundHttp,
    api: &TwilioApi,
    config: &Config,
    m: &OutboundMessage,
    status_callback: &str,
) -> Result<Sent, SendError> {
    let url = format!(
        "{}/2010-04-01/Accounts/{}/Messages.json",
        api.base_url.trim_end_matches('/'),
        config.account_sid
    );
    let body = encoded(&form(m, config, status_callback));
    let response = http
        .client
        .post(url)
        .basic_auth(&config.account_sid, Some(&config.auth_token))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(unreachable)?;
    if !response.status().is_success() {
        return Err(error_of(response).await);
    }
    let created: Created = response
        .json()
        .await
        .map_err(|e| SendError::Retryable(format!("Twilio's answer could not be read: {e}")))?;
    Ok(Sent {
        provider_message_id: Some(created.sid),
    })
}

/// A customer's MMS file, with the account's credentials: only from
/// Twilio's own API host, so they never go elsewhere.
pub(super) async fn fetch_media(
    http: &OutboundHttp,
    api: &TwilioApi,
    config: &Config,
    media_url: &str,
) -> Result<FetchedMedia, SendError> {
    let url: url::Url = media_url
        .parse()
        .map_err(|_| SendError::Permanent("the media URL is not valid".into()))?;
    let ours: url::Url = api
        .base_url
        .parse()
        .map_err(|_| SendError::Permanent("the Twilio API URL is not valid".into()))?;
    if url.origin() != ours.origin() {
        return Err(SendError::Permanent(format!(
            "the media URL is not on Twilio's API host ({})",
            ours.origin().ascii_serialization()
        )));
    }
    let response = http
        .client
        .get(url)
        .basic_auth(&config.account_sid, Some(&config.auth_token))
        .send()
        .await
        .map_err(unreachable)?;
    if !response.status().is_success() {
        return Err(error_of(response).await);
    }
    Ok(FetchedMedia {
        filename: None,
        declared_size: response.content_length(),
        body: crate::net::body_stream(response),
    })
}

#[derive(Deserialize)]
struct Account {
    friendly_name: Option<String>,
    status: Option<String>,
}

pub(super) async fn check(http: &OutboundHttp, api: &TwilioApi, config: &Config) -> Result<String, String> {
    let url = format!(
        "{}/2010-04-01/Accounts/{}.json",
        api.base_url.trim_end_matches('/'),
        config.account_sid
    );
    let response = http
        .client
        .get(url)
        .basic_auth(&config.account_sid, Some(&config.auth_token))
        .send()
        .await
        .map_err(|e| format!("Twilio at {} could not be reached: {}", api.base_url, e.without_url()))?;
    let status = response.status();
    if status.as_u16() == 401 {
        return Err("Twilio does not accept this account SID and auth token (401)".into());
    }
    if !status.is_success() {
        return Err(error_of(response).await.to_string());
    }
    let account: Account = response
        .json()
        .await
        .map_err(|e| format!("Twilio answered, but not with an account: {e}"))?;
    if account.status.as_deref().is_some_and(|s| s != "active") {
        return Err(format!("the Twilio account is {}", account.status.unwrap_or_default()));
    }
    Ok(format!(
        "Connected to the Twilio account {}; sending from {}",
        account.friendly_name.unwrap_or_else(|| config.account_sid.clone()),
        config.from
    ))
}

//! What Meta's platforms share (channels.md §1.1–§1.2, §3.1): the `GET`
//! verification handshake (`hub.mode`, `hub.verify_token`,
//! `hub.challenge`) and `X-Hub-Signature-256` (HMAC-SHA256 of the raw body
//! with the app secret) on every `POST`. WhatsApp, Messenger and Instagram
//! use these.

use crate::InboundError;
use crate::adapter::{ChannelSetup, ConfigError, Hook, HookReply, HookRequest};

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// The header value for a body: `sha256=<hex>` (for tests and peers).
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        crate::signing::hmac_sha256_hex(app_secret.as_bytes(), body)
    )
}

/// Check a body's `X-Hub-Signature-256` with the app secret.
pub(crate) fn verify(app_secret: &str, body: &[u8], header: Option<&str>) -> Result<(), InboundError> {
    let header = header.ok_or(InboundError::MissingSignature)?;
    let hex = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(InboundError::BadSignature)?;
    if crate::signing::verify_hex(app_secret.as_bytes(), body, hex) {
        Ok(())
    } else {
        Err(InboundError::BadSignature)
    }
}

/// Answer the subscription handshake: the challenge, when the verify token
/// (the channel's secret) matches.
pub(crate) fn handshake(channel: &ChannelSetup, request: &HookRequest) -> Result<Hook, InboundError> {
    let verify_token = channel.secret.as_ref().ok_or(InboundError::BadSignature)?;
    if request.query_param("hub.mode").as_deref() != Some("subscribe") {
        return Err(InboundError::BadPayload("hub.mode must be subscribe".into()));
    }
    let given = request.query_param("hub.verify_token").unwrap_or_default();
    if !crate::signing::equal_in_constant_time(given.as_bytes(), verify_token.expose().as_bytes()) {
        return Err(InboundError::BadSignature);
    }
    let challenge = request.query_param("hub.challenge").unwrap_or_default();
    Ok(Hook::Reply(HookReply::text(200, challenge)))
}

/// A Meta id: digits only.
pub(crate) fn numeric_id(
    field: &'static str,
    value: Option<&serde_json::Value>,
) -> Result<Option<String>, ConfigError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => {
            let s = v.as_str().map(str::trim).unwrap_or_default();
            if s.is_empty() || s.len() > 32 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError::new(
                    field,
                    "must be the numeric id Meta shows (digits only)",
                ));
            }
            Ok(Some(s.to_owned()))
        }
    }
}

pub(crate) fn secret_text(
    field: &'static str,
    value: Option<&serde_json::Value>,
) -> Result<Option<String>, ConfigError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => {
            let s = v.as_str().map(str::trim).unwrap_or_default();
            if s.len() < 8 || s.len() > 1024 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(ConfigError::new(field, "must be 8 to 1024 characters without spaces"));
            }
            Ok(Some(s.to_owned()))
        }
    }
}

//! The secret a mailbox login uses: the password, the OAuth2 access token
//! an admin pasted, or, given a refresh token, an access token obtained
//! from the provider's token endpoint (RFC 6749 §6; Google's and
//! Microsoft's `XOAUTH2` tokens last about an hour). Tokens are kept until a
//! minute before they expire, so polls and replies do not ask each time.
//! A provider that rotates refresh tokens (Microsoft) sends a new one with
//! each answer; the one configured stays valid for its own lifetime, which
//! is what we keep using.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::config::{Auth, Config};
use crate::SendError;
use crate::net::OutboundHttp;

/// How to obtain access tokens for the mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Refresh {
    /// The provider's token endpoint (Google:
    /// `https://oauth2.googleapis.com/token`; Microsoft:
    /// `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`).
    pub token_url: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    pub refresh_token: String,
}

/// Renew this long before a token expires.
const MARGIN: Duration = Duration::from_secs(60);
/// Past this many tokens the cache starts over (one per mailbox).
const MAX_TOKENS: usize = 10_000;

/// Access tokens obtained, by the refresh token's digest.
#[derive(Debug, Default)]
pub(super) struct TokenCache {
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl TokenCache {
    /// What the login sends as its password or `XOAUTH2` token.
    pub async fn secret(&self, http: &OutboundHttp, config: &Config) -> Result<String, SendError> {
        let refresh = match (&config.auth, &config.refresh) {
            (Auth::Xoauth2, Some(refresh)) => refresh,
            _ => return Ok(config.password.clone()),
        };
        let key = crate::signing::sha256_hex(
            format!(
                "{}\n{}\n{}",
                refresh.token_url, refresh.client_id, refresh.refresh_token
            )
            .as_bytes(),
        );
        let cached = self
            .lock()
            .get(&key)
            .filter(|(_, until)| Instant::now() + MARGIN < *until)
            .map(|(token, _)| token.clone());
        if let Some(token) = cached {
            return Ok(token);
        }
        let answer = request(http, refresh).await?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600));
        self.remember(key, answer.access_token.clone(), Instant::now() + lifetime);
        Ok(answer.access_token)
    }

    fn remember(&self, key: String, token: String, until: Instant) {
        let mut tokens = self.lock();
        if tokens.len() >= MAX_TOKENS {
            tokens.clear();
        }
        tokens.insert(key, (token, until));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The refresh grant, answered with a new access token or the endpoint's
/// reason for refusing.
async fn request(http: &OutboundHttp, refresh: &Refresh) -> Result<TokenAnswer, SendError> {
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", &refresh.refresh_token)
            .append_pair("client_id", &refresh.client_id);
        if let Some(secret) = &refresh.client_secret {
            form.append_pair("client_secret", secret);
        }
        form.finish()
    };
    let response = http
        .client
        .post(&refresh.token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| crate::net::not_reached(e, "the token endpoint"))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if status.is_success() {
        return serde_json::from_value(body)
            .map_err(|_| SendError::Permanent("the token endpoint's answer has no access_token".into()));
    }
    // RFC 6749 §5.2: `error` and an optional `error_description`.
    let reason = format!(
        "the token endpoint refused the refresh token ({status}): {} {}",
        body["error"].as_str().unwrap_or_default(),
        body["error_description"].as_str().unwrap_or_default()
    );
    Err(if status.is_server_error() || status.as_u16() == 429 {
        SendError::Retryable(reason)
    } else {
        SendError::Permanent(reason.trim_end().to_owned())
    })
}

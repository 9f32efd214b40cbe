//! An OpenAI-compatible chat-completions client that tolerates what local
//! servers do differently (llama.cpp, vLLM, Ollama): no `usage`, an empty
//! `finish_reason`, extra fields, a stream with or without `[DONE]`. Every
//! failure becomes a [`ProviderError`] that says what went wrong.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_core::assist::ChatMessage;

/// Where and how to call.
#[derive(Clone)]
pub(crate) struct Provider {
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub timeout: Duration,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        write!(f, "Provider({} {})", self.base_url, self.model)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("the provider's host name could not be resolved (DNS)")]
    Dns,
    #[error("the provider refused the connection (is it running, and on that port?)")]
    Refused,
    #[error("a TLS connection to the provider failed: {0}")]
    Tls(String),
    #[error("the provider's address is on a private network, which this workspace does not allow")]
    Private,
    #[error("the provider refused the API key (HTTP {0})")]
    Unauthorized(u16),
    #[error("the provider has no model named {0:?}")]
    ModelNotFound(String),
    #[error("the provider did not answer within {0} s")]
    Timeout(u64),
    #[error("this is not an OpenAI-compatible chat-completions endpoint: {0}")]
    NotCompatible(String),
    #[error("the provider is rate limiting; try again in {0} s")]
    RateLimited(u64),
    #[error("the provider failed (HTTP {0})")]
    Failed(u16),
    #[error("the provider's answer stopped before it was complete")]
    Truncated,
}

impl ProviderError {
    /// Worth another attempt (after the provider's `Retry-After`).
    fn retryable(&self) -> Option<Duration> {
        match self {
            ProviderError::RateLimited(s) => Some(Duration::from_secs(*s)),
            ProviderError::Failed(status) if *status >= 500 => Some(Duration::from_millis(500)),
            _ => None,
        }
    }

    /// A short word for the call log.
    pub fn code(&self) -> &'static str {
        match self {
            ProviderError::Dns => "dns",
            ProviderError::Refused => "refused",
            ProviderError::Tls(_) => "tls",
            ProviderError::Private => "private_address",
            ProviderError::Unauthorized(_) => "unauthorized",
            ProviderError::ModelNotFound(_) => "model_not_found",
            ProviderError::Timeout(_) => "timeout",
            ProviderError::NotCompatible(_) => "not_compatible",
            ProviderError::RateLimited(_) => "rate_limited",
            ProviderError::Failed(_) => "provider_failed",
            ProviderError::Truncated => "truncated",
        }
    }
}

/// What a call produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Completion {
    pub text: String,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
}

/// The longest `Retry-After` waited for before giving up with its time.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(10);
/// Attempts per call.
const ATTEMPTS: usize = 3;
/// The longest a streamed answer may take in all.
const STREAM_MAX: Duration = Duration::from_secs(300);

fn classify(e: &reqwest::Error, timeout: Duration, https: bool) -> ProviderError {
    if e.is_timeout() {
        return ProviderError::Timeout(timeout.as_secs().max(1));
    }
    let mut chain = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if switchboard_channels::net::refused_private(s) {
            return ProviderError::Private;
        }
        chain.push_str(&s.to_string().to_lowercase());
        chain.push(' ');
        source = s.source();
    }
    if chain.contains("dns") || chain.contains("lookup") || chain.contains("resolve") {
        ProviderError::Dns
    } else if chain.contains("refused") {
        ProviderError::Refused
    } else if chain.contains("certificate")
        || chain.contains("tls")
        || chain.contains("handshake")
        || (https && e.is_connect())
    {
        // A connection that was made but not secured (no TLS there, a bad
        // certificate, a protocol mismatch).
        ProviderError::Tls(chain.trim().chars().take(200).collect())
    } else if e.is_connect() {
        ProviderError::Refused
    } else {
        ProviderError::NotCompatible(chain.trim().chars().take(200).collect())
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> u64 {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(1, |s| s.ceil().max(0.0) as u64)
}

async fn refusal(model: &str, response: reqwest::Response) -> ProviderError {
    let status = response.status().as_u16();
    let wait = retry_after(response.headers());
    let body = response.text().await.unwrap_or_default();
    match status {
        401 | 403 => ProviderError::Unauthorized(status),
        404 if body.to_lowercase().contains("model") => ProviderError::ModelNotFound(model.to_owned()),
        404 | 405 => ProviderError::NotCompatible(format!("HTTP {status} for /chat/completions")),
        408 | 504 => ProviderError::Timeout(0),
        429 => ProviderError::RateLimited(wait),
        s if s >= 500 => ProviderError::Failed(s),
        _ => ProviderError::NotCompatible(format!("HTTP {status}: {}", body.chars().take(200).collect::<String>())),
    }
}

fn usage(v: &Value) -> (Option<i64>, Option<i64>) {
    let u = v.get("usage").filter(|u| u.is_object());
    (
        u.and_then(|u| u.get("prompt_tokens")).and_then(Value::as_i64),
        u.and_then(|u| u.get("completion_tokens")).and_then(Value::as_i64),
    )
}

impl Provider {
    fn url(&self) -> String {
        format!("{}/chat/completions", self.base_url.trim_end_matches('/'))
    }

    fn request(
        &self,
        http: &reqwest::Client,
        messages: &[ChatMessage],
        stream: bool,
        json_object: bool,
    ) -> reqwest::RequestBuilder {
        let mut body = json!({"model": self.model, "messages": messages, "stream": stream, "temperature": 0.3});
        if json_object {
            body["response_format"] = json!({"type": "json_object"});
        }
        // A streamed answer may take long in all; its chunks are timed one by one.
        let whole = if stream { STREAM_MAX } else { self.timeout };
        let mut req = http.post(self.url()).timeout(whole).json(&body);
        if let Some(key) = self.api_key.as_deref().filter(|k| !k.is_empty()) {
            req = req.bearer_auth(key);
        }
        req
    }

    /// Send with bounded retries for 429 (after its `Retry-After`, up to
    /// [`RETRY_AFTER_MAX`]) and 5xx; a 400 naming `response_format` is
    /// asked again without it (servers without JSON mode).
    async fn send(
        &self,
        http: &reqwest::Client,
        messages: &[ChatMessage],
        stream: bool,
        mut json_object: bool,
    ) -> Result<reqwest::Response, ProviderError> {
        let mut last = ProviderError::Failed(0);
        for attempt in 0..ATTEMPTS {
            let response = self
                .request(http, messages, stream, json_object)
                .send()
                .await
                .map_err(|e| classify(&e, self.timeout, self.base_url.starts_with("https://")))?;
            if response.status().is_success() {
                return Ok(response);
            }
            if response.status().as_u16() == 400 && json_object {
                let body = response.text().await.unwrap_or_default();
                if body.contains("response_format") {
                    json_object = false;
                    continue;
                }
                return Err(ProviderError::NotCompatible(format!(
                    "HTTP 400: {}",
                    body.chars().take(200).collect::<String>()
                )));
            }
            last = refusal(&self.model, response).await;
            match last.retryable() {
                Some(wait) if wait <= RETRY_AFTER_MAX && attempt + 1 < ATTEMPTS => tokio::time::sleep(wait).await,
                _ => return Err(last),
            }
        }
        Err(last)
    }

    /// One answer, not streamed.
    pub(crate) async fn complete(
        &self,
        http: &reqwest::Client,
        messages: &[ChatMessage],
        json_object: bool,
    ) -> Result<Completion, ProviderError> {
        let response = self.send(http, messages, false, json_object).await?;
        let body = response
            .text()
            .await
            .map_err(|e| classify(&e, self.timeout, self.base_url.starts_with("https://")))?;
        let value: Value =
            serde_json::from_str(&body).map_err(|_| ProviderError::NotCompatible("the answer is not JSON".into()))?;
        let text = value
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .ok_or_else(|| ProviderError::NotCompatible("no choices[0].message.content in the answer".into()))?;
        let (prompt_tokens, completion_tokens) = usage(&value);
        Ok(Completion {
            text: text.to_owned(),
            prompt_tokens,
            completion_tokens,
        })
    }

    /// One answer streamed: `on_delta` gets each piece as it comes. A
    /// stream that ends with neither a `finish_reason` nor `[DONE]` is
    /// truncated; one silent for the timeout has stalled.
    pub(crate) async fn stream(
        &self,
        http: &reqwest::Client,
        messages: &[ChatMessage],
        mut on_delta: impl FnMut(&str) -> bool,
    ) -> Result<Completion, ProviderError> {
        let mut response = self.send(http, messages, true, false).await?;
        let is_sse = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/event-stream"));
        if !is_sse {
            // Some servers answer a stream request with one JSON body.
            let body = response
                .text()
                .await
                .map_err(|e| classify(&e, self.timeout, self.base_url.starts_with("https://")))?;
            let value: Value = serde_json::from_str(&body)
                .map_err(|_| ProviderError::NotCompatible("neither an event stream nor JSON".into()))?;
            let text = value
                .pointer("/choices/0/message/content")
                .and_then(Value::as_str)
                .ok_or_else(|| ProviderError::NotCompatible("no choices[0].message.content in the answer".into()))?;
            on_delta(text);
            let (prompt_tokens, completion_tokens) = usage(&value);
            return Ok(Completion {
                text: text.to_owned(),
                prompt_tokens,
                completion_tokens,
            });
        }
        let mut out = Completion::default();
        let mut buffer: Vec<u8> = Vec::new();
        let mut finished = false;
        loop {
            let chunk = match tokio::time::timeout(self.timeout, response.chunk()).await {
                Err(_) => return Err(ProviderError::Timeout(self.timeout.as_secs().max(1))),
                Ok(Err(_)) => return Err(ProviderError::Truncated),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(chunk))) => chunk,
            };
            buffer.extend_from_slice(&chunk);
            while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
                let event: Vec<u8> = buffer.drain(..end + 2).collect();
                let event = String::from_utf8_lossy(&event).replace('\r', "");
                for line in event.lines() {
                    let Some(data) = line.strip_prefix("data:").map(str::trim) else {
                        continue;
                    };
                    if data == "[DONE]" {
                        finished = true;
                        continue;
                    }
                    let Ok(value) = serde_json::from_str::<Value>(data) else {
                        return Err(ProviderError::Truncated);
                    };
                    if let Some(piece) = value.pointer("/choices/0/delta/content").and_then(Value::as_str)
                        && !piece.is_empty()
                    {
                        out.text.push_str(piece);
                        if !on_delta(piece) {
                            // The listener left: stop reading (and so the request).
                            return Ok(out);
                        }
                    }
                    if value
                        .pointer("/choices/0/finish_reason")
                        .and_then(Value::as_str)
                        .is_some_and(|r| !r.is_empty())
                    {
                        finished = true;
                    }
                    if let (Some(p), c) = usage(&value) {
                        out.prompt_tokens = Some(p);
                        out.completion_tokens = c;
                    }
                }
            }
        }
        if finished {
            Ok(out)
        } else {
            Err(ProviderError::Truncated)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_never_prints_its_key() {
        let p = Provider {
            base_url: "http://127.0.0.1:1/v1".into(),
            model: "m".into(),
            api_key: Some("sk-never-print".into()),
            timeout: Duration::from_secs(1),
        };
        assert!(!format!("{p:?}").contains("sk-never-print"));
    }

    #[test]
    fn retry_after_is_read_in_whole_seconds_rounded_up() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "1.5".parse().unwrap());
        assert_eq!(retry_after(&headers), 2);
        assert_eq!(retry_after(&reqwest::header::HeaderMap::new()), 1);
    }
}

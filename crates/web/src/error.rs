//! The API's errors: one table of stable codes, each with its HTTP status.
//! Every error response is `{"error": {"code": "…", "message": "…"}}`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use switchboard_service::ServiceError;

/// Every code the API answers with, its status and what it means.
pub const ERROR_CODES: &[(&str, u16, &str)] = &[
    ("malformed_json", 400, "The body is not well-formed JSON."),
    ("invalid_utf8", 400, "The body is not valid UTF-8."),
    (
        "unauthenticated",
        401,
        "Sign in (session cookie) or send a valid bearer token.",
    ),
    ("invalid_credentials", 401, "Wrong e-mail or password."),
    (
        "missing_signature",
        401,
        "A webhook request came without its signature header.",
    ),
    (
        "bad_signature",
        401,
        "A webhook request's signature does not match its body.",
    ),
    (
        "csrf_failed",
        403,
        "A cookie-authenticated write without the session's CSRF token.",
    ),
    (
        "forbidden",
        403,
        "The record is visible to the caller, but this action is not theirs to take.",
    ),
    ("not_found", 404, "No such record within the caller's reach."),
    ("method_not_allowed", 405, "The path exists but not with this method."),
    (
        "conflict",
        409,
        "The change conflicts with existing data (a duplicate name, the last admin, …).",
    ),
    (
        "illegal_transition",
        409,
        "The conversation's status does not allow this move.",
    ),
    (
        "window_closed",
        409,
        "The channel's messaging window is closed; only a template may be sent.",
    ),
    ("nobody_available", 409, "No eligible agent: offline, or at capacity."),
    (
        "setup_unavailable",
        410,
        "The setup link is invalid or was already used.",
    ),
    ("payload_too_large", 413, "The body is larger than the limit."),
    ("unsupported_media_type", 415, "The body must be application/json."),
    (
        "invalid_input",
        422,
        "A field is missing or not valid; the message names it.",
    ),
    (
        "invalid_bot_flow",
        422,
        "A bot flow does not pass validation; `details` lists each problem with its line, column and path.",
    ),
    (
        "bad_payload",
        422,
        "A webhook payload does not have the expected shape.",
    ),
    (
        "unsupported_type",
        422,
        "An uploaded file's content is of a type that is not allowed (HTML, SVG, scripts, programs, unknown).",
    ),
    (
        "rate_limited",
        429,
        "Too many attempts; wait for the time in Retry-After.",
    ),
    ("internal", 500, "Something went wrong on our side; it has been logged."),
    ("unavailable", 503, "The server is busy or shutting down; try again."),
];

#[derive(Debug)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
    /// Structured detail where a message alone is not enough (bot flow problems).
    pub details: Option<serde_json::Value>,
    /// The input field at fault (`invalid_input`), so a form can show the
    /// message next to it.
    pub field: Option<&'static str>,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
            details: None,
            field: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        let code = ERROR_CODES
            .iter()
            .find(|(c, _, _)| *c == self.code)
            .map_or(500, |(_, s, _)| *s);
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new("not_found", format!("{what} not found"))
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        use switchboard_core::lifecycle::LifecycleError as L;
        let message = e.to_string();
        let code = match &e {
            ServiceError::NotFound(_) => "not_found",
            ServiceError::Unauthenticated => "unauthenticated",
            ServiceError::InvalidCredentials => "invalid_credentials",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::Invalid(_) => "invalid_input",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::Lifecycle(L::WindowClosed) => "window_closed",
            // A time in the past is bad input, not a move the status forbids.
            ServiceError::Lifecycle(L::SnoozeNotInFuture) => "invalid_input",
            ServiceError::Lifecycle(_) => "illegal_transition",
            ServiceError::NobodyAvailable(_) => "nobody_available",
            ServiceError::InvalidFlow(_) => "invalid_bot_flow",
            ServiceError::RateLimited { .. } => "rate_limited",
            ServiceError::MissingSignature => "missing_signature",
            ServiceError::BadSignature => "bad_signature",
            ServiceError::BadPayload(_) => "bad_payload",
            ServiceError::TooLarge(_) => "payload_too_large",
            ServiceError::UnsupportedType(_) => "unsupported_type",
            ServiceError::SetupUnavailable(_) => "setup_unavailable",
            ServiceError::Unavailable => "unavailable",
            ServiceError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "internal"
            }
        };
        let message = match &e {
            ServiceError::Internal(_) => "internal error".to_owned(),
            ServiceError::Forbidden(why) => (*why).to_owned(),
            _ => message,
        };
        let retry_after = match e {
            ServiceError::RateLimited { retry_after_secs } => Some(retry_after_secs),
            _ => None,
        };
        let details = match &e {
            ServiceError::InvalidFlow(errors) => serde_json::to_value(errors).ok(),
            _ => None,
        };
        let field = match &e {
            ServiceError::Invalid(invalid) => Some(invalid.field),
            _ => None,
        };
        Self {
            code,
            message,
            retry_after,
            details,
            field,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        if let Some(details) = self.details.clone() {
            body["error"]["details"] = details;
        }
        if let Some(field) = self.field {
            body["error"]["field"] = field.into();
        }
        let mut response = (self.status(), axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert("retry-after", v);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_valid() {
        for (i, (code, status, _)) in ERROR_CODES.iter().enumerate() {
            assert!(
                ERROR_CODES[i + 1..].iter().all(|(c, _, _)| c != code),
                "duplicate {code}"
            );
            assert!(StatusCode::from_u16(*status).is_ok());
            assert!((400..600).contains(status));
        }
    }
}

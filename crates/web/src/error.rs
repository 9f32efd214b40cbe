//! The API's errors: one table of stable codes, each with its HTTP status.
//! Every error response is `{"error": {"code": "…", "message": "…"}}`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use switchboard_service::ServiceError;

/// Every code the API answers with. Each code is written once, with its
/// HTTP status and meaning, in the one exhaustive `match` of
/// [`ErrorCode::spec`]; the OpenAPI `Error` schema lists [`ErrorCode::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    MalformedJson,
    InvalidUtf8,
    Unauthenticated,
    InvalidCredentials,
    MissingSignature,
    BadSignature,
    CsrfFailed,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    IllegalTransition,
    WindowClosed,
    NobodyAvailable,
    SetupUnavailable,
    PayloadTooLarge,
    UnsupportedMediaType,
    InvalidInput,
    InvalidBotFlow,
    BadPayload,
    UnsupportedType,
    RateLimited,
    Internal,
    Unavailable,
    UpstreamFailed,
    UpgradeRequired,
}

impl ErrorCode {
    pub const ALL: &[ErrorCode] = &[
        ErrorCode::MalformedJson,
        ErrorCode::InvalidUtf8,
        ErrorCode::Unauthenticated,
        ErrorCode::InvalidCredentials,
        ErrorCode::MissingSignature,
        ErrorCode::BadSignature,
        ErrorCode::CsrfFailed,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::IllegalTransition,
        ErrorCode::WindowClosed,
        ErrorCode::NobodyAvailable,
        ErrorCode::SetupUnavailable,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::InvalidInput,
        ErrorCode::InvalidBotFlow,
        ErrorCode::BadPayload,
        ErrorCode::UnsupportedType,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
        ErrorCode::UpstreamFailed,
        ErrorCode::UpgradeRequired,
    ];

    /// The code as clients see it, its HTTP status and what it means.
    pub const fn spec(self) -> (&'static str, u16, &'static str) {
        match self {
            ErrorCode::MalformedJson => ("malformed_json", 400, "The body is not well-formed JSON."),
            ErrorCode::UpgradeRequired => (
                "upgrade_required",
                426,
                "The route is a WebSocket: open it with an upgrade handshake.",
            ),
            ErrorCode::InvalidUtf8 => ("invalid_utf8", 400, "The body is not valid UTF-8."),
            ErrorCode::Unauthenticated => (
                "unauthenticated",
                401,
                "Sign in (session cookie) or send a valid bearer token.",
            ),
            ErrorCode::InvalidCredentials => ("invalid_credentials", 401, "Wrong e-mail or password."),
            ErrorCode::MissingSignature => (
                "missing_signature",
                401,
                "A webhook request came without its signature header.",
            ),
            ErrorCode::BadSignature => (
                "bad_signature",
                401,
                "A webhook request's signature does not match its body.",
            ),
            ErrorCode::CsrfFailed => (
                "csrf_failed",
                403,
                "A cookie-authenticated write without the session's CSRF token.",
            ),
            ErrorCode::Forbidden => (
                "forbidden",
                403,
                "The record is visible to the caller, but this action is not theirs to take.",
            ),
            ErrorCode::NotFound => ("not_found", 404, "No such record within the caller's reach."),
            ErrorCode::MethodNotAllowed => ("method_not_allowed", 405, "The path exists but not with this method."),
            ErrorCode::Conflict => (
                "conflict",
                409,
                "The change conflicts with existing data (a duplicate name, the last admin, …).",
            ),
            ErrorCode::IllegalTransition => (
                "illegal_transition",
                409,
                "The conversation's status does not allow this move.",
            ),
            ErrorCode::WindowClosed => (
                "window_closed",
                409,
                "The channel's messaging window is closed; only a template may be sent.",
            ),
            ErrorCode::NobodyAvailable => ("nobody_available", 409, "No eligible agent: offline, or at capacity."),
            ErrorCode::SetupUnavailable => (
                "setup_unavailable",
                410,
                "The setup link is invalid or was already used.",
            ),
            ErrorCode::PayloadTooLarge => ("payload_too_large", 413, "The body is larger than the limit."),
            ErrorCode::UnsupportedMediaType => ("unsupported_media_type", 415, "The body must be application/json."),
            ErrorCode::InvalidInput => (
                "invalid_input",
                422,
                "A field is missing or not valid; the message names it.",
            ),
            ErrorCode::InvalidBotFlow => (
                "invalid_bot_flow",
                422,
                "A bot flow does not pass validation; `details` lists each problem with its line, column and path.",
            ),
            ErrorCode::BadPayload => (
                "bad_payload",
                422,
                "A webhook payload does not have the expected shape.",
            ),
            ErrorCode::UnsupportedType => (
                "unsupported_type",
                422,
                "An uploaded file's content is of a type that is not allowed (HTML, SVG, scripts, programs, unknown).",
            ),
            ErrorCode::RateLimited => (
                "rate_limited",
                429,
                "Too many attempts; wait for the time in Retry-After.",
            ),
            ErrorCode::Internal => ("internal", 500, "Something went wrong on our side; it has been logged."),
            ErrorCode::Unavailable => ("unavailable", 503, "The server is busy or shutting down; try again."),
            ErrorCode::UpstreamFailed => (
                "upstream_failed",
                502,
                "A server the request points to (a file to fetch) failed or timed out; try again.",
            ),
        }
    }

    pub const fn as_str(self) -> &'static str {
        self.spec().0
    }

    pub fn status(self) -> StatusCode {
        StatusCode::from_u16(self.spec().1).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub const fn description(self) -> &'static str {
        self.spec().2
    }
}

/// Every code as `(code, status, meaning)`, in the order of
/// [`ErrorCode::ALL`]: derived from the enum, never written apart from it.
pub const ERROR_CODES: &[(&str, u16, &str)] = &{
    let mut table = [("", 0, ""); ErrorCode::ALL.len()];
    let mut i = 0;
    while i < table.len() {
        table[i] = ErrorCode::ALL[i].spec();
        i += 1;
    }
    table
};

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub retry_after: Option<u64>,
    /// Structured detail where a message alone is not enough (bot flow problems).
    pub details: Option<serde_json::Value>,
    /// The input field at fault (`invalid_input`), so a form can show the
    /// message next to it.
    pub field: Option<&'static str>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
            details: None,
            field: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        use switchboard_core::lifecycle::LifecycleError as L;
        let message = e.to_string();
        let code = match &e {
            ServiceError::NotFound(_) => ErrorCode::NotFound,
            ServiceError::Unauthenticated => ErrorCode::Unauthenticated,
            ServiceError::InvalidCredentials => ErrorCode::InvalidCredentials,
            ServiceError::Forbidden(_) => ErrorCode::Forbidden,
            ServiceError::Invalid(_) => ErrorCode::InvalidInput,
            ServiceError::Conflict(_) | ServiceError::Stale(_) => ErrorCode::Conflict,
            ServiceError::Refused(_) => ErrorCode::Forbidden,
            ServiceError::Lifecycle(L::WindowClosed) | ServiceError::PastWindow(_) => ErrorCode::WindowClosed,
            // A time in the past is bad input, not a move the status forbids.
            ServiceError::Lifecycle(L::SnoozeNotInFuture) => ErrorCode::InvalidInput,
            ServiceError::Lifecycle(_) => ErrorCode::IllegalTransition,
            ServiceError::NobodyAvailable(_) => ErrorCode::NobodyAvailable,
            ServiceError::InvalidFlow(_) => ErrorCode::InvalidBotFlow,
            ServiceError::RateLimited { .. } => ErrorCode::RateLimited,
            ServiceError::MissingSignature => ErrorCode::MissingSignature,
            ServiceError::BadSignature => ErrorCode::BadSignature,
            ServiceError::BadPayload(_) => ErrorCode::BadPayload,
            ServiceError::TooLarge(_) => ErrorCode::PayloadTooLarge,
            ServiceError::UnsupportedType(_) => ErrorCode::UnsupportedType,
            ServiceError::SetupUnavailable(_) => ErrorCode::SetupUnavailable,
            ServiceError::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            ServiceError::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            ServiceError::Unavailable => ErrorCode::Unavailable,
            ServiceError::Upstream(_) => ErrorCode::UpstreamFailed,
            ServiceError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                ErrorCode::Internal
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
            ServiceError::Invalid(invalid) | ServiceError::Stale(invalid) | ServiceError::Refused(invalid) => {
                Some(invalid.field)
            }
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
        let mut body = serde_json::json!({ "error": { "code": self.code.as_str(), "message": self.message } });
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
        for (i, code) in ErrorCode::ALL.iter().enumerate() {
            assert!(
                ErrorCode::ALL[i + 1..]
                    .iter()
                    .all(|c| c.as_str() != code.as_str() && c != code),
                "duplicate {code:?}"
            );
            let status = code.spec().1;
            assert!(StatusCode::from_u16(status).is_ok());
            assert!((400..600).contains(&status));
        }
    }
}

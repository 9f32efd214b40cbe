//! Errors of the service layer. The web layer maps each to a stable code
//! and status in one table.

use switchboard_core::lifecycle::LifecycleError;
use switchboard_core::validate::Invalid;
use switchboard_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Not there, or not within the caller's reach (never "forbidden", so
    /// existence does not leak).
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("sign in first")]
    Unauthenticated,
    #[error("wrong e-mail or password")]
    InvalidCredentials,
    #[error("the caller may see this but not do that: {0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("{0}")]
    Conflict(String),
    /// Well-formed input that does not fit what is stored (a tag no one
    /// defined, a name already taken, a value count the template does not
    /// take): 409, with the field named.
    #[error("{0}")]
    Stale(Invalid),
    /// The caller proved nothing (a wrong current password): 403, with the field named.
    #[error("{0}")]
    Refused(Invalid),
    #[error("{0}")]
    Lifecycle(#[from] LifecycleError),
    /// The channel's messaging window, extension included, is over: 409
    /// `window_closed`, naming the channel's rule.
    #[error("{0}")]
    PastWindow(String),
    #[error("{0}")]
    NobodyAvailable(String),
    /// A bot flow that does not pass validation: every problem, with its line.
    #[error("{}", flow_problems(.0))]
    InvalidFlow(Vec<switchboard_core::bot::FlowError>),
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("the request signature is missing")]
    MissingSignature,
    #[error("the request signature does not match")]
    BadSignature,
    #[error("the payload is not valid: {0}")]
    BadPayload(String),
    /// An upload over its limit (the message names the limit).
    #[error("{0}")]
    TooLarge(String),
    /// A file type that is not allowed (the message says which are).
    #[error("{0}")]
    UnsupportedType(String),
    #[error("{0}")]
    SetupUnavailable(&'static str),
    /// A request body of a type the endpoint does not take (the message
    /// says which it does).
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("this path does not take that method")]
    MethodNotAllowed,
    #[error("the service is busy or shutting down; try again")]
    Unavailable,
    /// A server the request pointed to failed (a file to fetch); worth
    /// trying again.
    #[error("{0}")]
    Upstream(String),
    #[error("internal error")]
    Internal(String),
}

fn flow_problems(errors: &[switchboard_core::bot::FlowError]) -> String {
    let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
    match list.len() {
        1 => format!("the bot flow has a problem: {}", list[0]),
        n => format!("the bot flow has {n} problems: {}", list.join("; ")),
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => {
                ServiceError::Conflict(format!("a record with the same {what} already exists"))
            }
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) => ServiceError::Unavailable,
            StoreError::Durability(e) => {
                tracing::error!(error = %e, "a commit could not be made durable");
                ServiceError::Unavailable
            }
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<switchboard_channels::InboundError> for ServiceError {
    fn from(e: switchboard_channels::InboundError) -> Self {
        use switchboard_channels::InboundError as E;
        match e {
            E::MissingSignature => ServiceError::MissingSignature,
            E::BadSignature => ServiceError::BadSignature,
            E::BadPayload(p) => ServiceError::BadPayload(p),
            E::UnsupportedMediaType(m) => ServiceError::UnsupportedMediaType(m),
            E::MethodNotAllowed => ServiceError::MethodNotAllowed,
            E::NoHook => ServiceError::NotFound("channel"),
        }
    }
}

//! The one error type of the domain, and its one mapping to HTTP.
//!
//! Messages are written for clients: they never carry a token, a password,
//! an SDK error or a table name. Internal detail goes to the log (without
//! secrets) where the error is created.

use http::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A field failed validation; the message names the field.
    #[error("{0}")]
    InvalidInput(String),
    #[error("request body must be a JSON object")]
    MalformedBody,
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// Unknown user or wrong password: one answer for both.
    #[error("invalid id or password")]
    InvalidCredentials,
    /// No bearer token where one is required.
    #[error("a bearer token is required")]
    MissingToken,
    /// A token was sent but cannot be accepted, whatever the reason.
    #[error("the token is invalid, expired or revoked")]
    InvalidToken,
    /// Too many failed logins for this account or source: retry later.
    #[error("too many failed attempts, retry later")]
    TooManyAttempts { retry_after_secs: u64 },
    /// A password change whose current password is wrong.
    #[error("the current password is incorrect")]
    WrongCurrentPassword,
    /// Not one of the caller's live sessions (or no such session at all).
    #[error("no such session")]
    SessionNotFound,
    #[error("a user with this id already exists")]
    UserExists,
    #[error("no such route")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// DynamoDB did not answer or failed; the caller may retry.
    #[error("the service is temporarily unavailable, retry shortly")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl AuthError {
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::InvalidInput(_) | AuthError::MalformedBody => StatusCode::BAD_REQUEST,
            AuthError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AuthError::InvalidCredentials | AuthError::MissingToken | AuthError::InvalidToken => {
                StatusCode::UNAUTHORIZED
            }
            AuthError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            AuthError::WrongCurrentPassword => StatusCode::FORBIDDEN,
            AuthError::UserExists => StatusCode::CONFLICT,
            AuthError::NotFound | AuthError::SessionNotFound => StatusCode::NOT_FOUND,
            AuthError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AuthError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code for the `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::InvalidInput(_) => "invalid_request",
            AuthError::MalformedBody => "invalid_json",
            AuthError::PayloadTooLarge { .. } => "payload_too_large",
            AuthError::InvalidCredentials => "invalid_credentials",
            AuthError::MissingToken => "missing_token",
            AuthError::InvalidToken => "invalid_token",
            AuthError::TooManyAttempts { .. } => "too_many_attempts",
            AuthError::WrongCurrentPassword => "invalid_current_password",
            AuthError::SessionNotFound => "session_not_found",
            AuthError::UserExists => "user_exists",
            AuthError::NotFound => "not_found",
            AuthError::MethodNotAllowed => "method_not_allowed",
            AuthError::Unavailable => "service_unavailable",
            AuthError::Internal => "internal_error",
        }
    }

    /// RFC 6750 §3: the challenge for a 401. `error="invalid_token"` only
    /// when a token was actually presented.
    pub fn www_authenticate(&self) -> Option<&'static str> {
        match self {
            AuthError::MissingToken => Some(r#"Bearer realm="tokengate""#),
            AuthError::InvalidToken => Some(r#"Bearer realm="tokengate", error="invalid_token""#),
            _ => None,
        }
    }
}

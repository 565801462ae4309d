//! The domain's error: what went wrong, in words a client may read.
//!
//! It knows nothing of HTTP: [`crate::http`] maps it to statuses and headers
//! in one place. Messages never carry a token, a password, an SDK error or a
//! table name; the cause of a server-side failure is kept as its `source`
//! and logged once, where the response is made.

use crate::rules::account::CodeRejection;
use crate::rules::Rejection;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A field failed validation; the message names the field, never its value.
    #[error("{0}")]
    InvalidInput(String),
    /// Unknown user or wrong password: one answer for both.
    #[error("invalid id or password")]
    InvalidCredentials,
    /// A token was presented but cannot be accepted; `reason` is for the log
    /// only, the client sees one message whatever it is.
    #[error("the token is invalid, expired or revoked")]
    InvalidToken { reason: Rejection },
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
    #[error("an account with this e-mail address already exists")]
    EmailExists,
    /// A one-time code that does not count; `reason` is for the log only.
    #[error("the code is invalid or has expired")]
    InvalidCode { reason: CodeRejection },
    /// The right password (or code) for an account an operator disabled.
    #[error("this account is disabled")]
    AccountDisabled,
    /// An operator named an account that does not exist.
    #[error("no such account")]
    UserNotFound,
    /// DynamoDB did not answer or failed; the caller may retry.
    #[error("the service is temporarily unavailable, retry shortly")]
    Unavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] InternalError),
}

/// What broke inside, for the log.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    #[error("stored item is malformed")]
    Store(#[source] StoreError),
    #[error("token signing failed")]
    Signing(#[source] jsonwebtoken::errors::Error),
    #[error("asked to mint tokens without a signing key (JWT_PRIVATE_KEY)")]
    NoSigningKey,
    #[error("password hashing failed")]
    Hashing,
    #[error("a blocking task failed")]
    Task(#[source] tokio::task::JoinError),
}

impl AuthError {
    pub fn invalid_token(reason: Rejection) -> Self {
        AuthError::InvalidToken { reason }
    }

    pub fn invalid_code(reason: CodeRejection) -> Self {
        AuthError::InvalidCode { reason }
    }
}

impl From<StoreError> for AuthError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => AuthError::Unavailable(err),
            // `AlreadyExists` is an answer the caller expected and matched
            // first; reaching here means a write collided where none can.
            StoreError::Corrupt(_) | StoreError::AlreadyExists => {
                AuthError::Internal(InternalError::Store(err))
            }
        }
    }
}

impl From<InternalError> for AuthError {
    fn from(err: InternalError) -> Self {
        AuthError::Internal(err)
    }
}

/// `err` and its sources, `: `-separated, by `Display` only: an SDK error's
/// `Debug` can hold whole items (password hashes), its `Display` never does.
pub fn display_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<crate::token::TokenError> for AuthError {
    fn from(err: crate::token::TokenError) -> Self {
        use crate::token::TokenError;
        match err {
            TokenError::Rejected(why) => AuthError::invalid_token(Rejection::Token(why)),
            TokenError::Signing(e) => AuthError::Internal(InternalError::Signing(e)),
            TokenError::NoSigningKey => AuthError::Internal(InternalError::NoSigningKey),
        }
    }
}

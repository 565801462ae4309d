//! The HTTP edge, framework-neutral (the `http` crate), so the Lambda
//! adapters and the local server share it: reading bearer tokens and typed
//! JSON bodies, and the one place where errors become responses (status,
//! `WWW-Authenticate`, `Retry-After`) and get logged.

use http::header::{
    HeaderMap, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::caller::CallerError;
use crate::error::{display_chain, AuthError};
use crate::service::TokenPair;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The Kotlin design's header for refresh tokens.
pub const REFRESH_TOKEN_HEADER: &str = "refresh-token";
/// Seconds a client should wait after a 503.
const RETRY_AFTER_SECS: &str = "1";

/// Everything a request can fail with: the domain's errors, and what only
/// HTTP knows of (missing credentials, bodies, routing).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// No bearer token where one is required.
    #[error("a bearer token is required")]
    MissingToken,
    /// A protected function reached without the authorizer's context.
    #[error("a bearer token is required")]
    NoCaller(#[source] CallerError),
    /// A body field is missing, of the wrong type, or breaks its rule.
    #[error("{0}")]
    InvalidField(String),
    #[error("request body must be a JSON object")]
    MalformedBody,
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("no such route")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A cookie-mode request that may be cross-site (CSRF defence).
    #[error("cookie requests need the Tokengate-Transport: cookie header and an allowed Origin")]
    CrossSite(#[source] crate::browser::CrossSite),
}

impl From<CallerError> for ApiError {
    fn from(err: CallerError) -> Self {
        ApiError::NoCaller(err)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        ApiError::Auth(err.into())
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Auth(e) => match e {
                AuthError::InvalidInput(_) => StatusCode::BAD_REQUEST,
                AuthError::InvalidCredentials | AuthError::InvalidToken { .. } => {
                    StatusCode::UNAUTHORIZED
                }
                AuthError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
                AuthError::WrongCurrentPassword => StatusCode::FORBIDDEN,
                AuthError::UserExists | AuthError::EmailExists => StatusCode::CONFLICT,
                // As Supabase Auth answers a bad one-time code: the request was
                // well-formed, the credential in it is refused.
                AuthError::InvalidCode { .. } => StatusCode::FORBIDDEN,
                AuthError::AccountDisabled => StatusCode::FORBIDDEN,
                AuthError::UserNotFound => StatusCode::NOT_FOUND,
                AuthError::SessionNotFound => StatusCode::NOT_FOUND,
                AuthError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                AuthError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::MissingToken | ApiError::NoCaller(_) => StatusCode::UNAUTHORIZED,
            ApiError::InvalidField(_) | ApiError::MalformedBody => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::CrossSite(_) => StatusCode::FORBIDDEN,
        }
    }

    /// Stable machine-readable code for the `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Auth(e) => match e {
                AuthError::InvalidInput(_) => "invalid_request",
                AuthError::InvalidCredentials => "invalid_credentials",
                AuthError::InvalidToken { .. } => "invalid_token",
                AuthError::TooManyAttempts { .. } => "too_many_attempts",
                AuthError::WrongCurrentPassword => "invalid_current_password",
                AuthError::SessionNotFound => "session_not_found",
                AuthError::UserExists => "user_exists",
                AuthError::EmailExists => "email_exists",
                AuthError::InvalidCode { .. } => "invalid_code",
                AuthError::AccountDisabled => "account_disabled",
                AuthError::UserNotFound => "user_not_found",
                AuthError::Unavailable(_) => "service_unavailable",
                AuthError::Internal(_) => "internal_error",
            },
            ApiError::MissingToken | ApiError::NoCaller(_) => "missing_token",
            ApiError::InvalidField(_) => "invalid_request",
            ApiError::MalformedBody => "invalid_json",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::CrossSite(_) => "csrf_rejected",
        }
    }

    /// RFC 6750 §3: the challenge for a 401. `error="invalid_token"` only
    /// when a token was actually presented.
    pub fn www_authenticate(&self) -> Option<&'static str> {
        match self {
            ApiError::MissingToken | ApiError::NoCaller(_) => Some(r#"Bearer realm="tokengate""#),
            ApiError::Auth(AuthError::InvalidToken { .. }) => {
                Some(r#"Bearer realm="tokengate", error="invalid_token""#)
            }
            _ => None,
        }
    }

    /// `Retry-After`, in seconds, where waiting helps.
    pub fn retry_after(&self) -> Option<HeaderValue> {
        match self {
            ApiError::Auth(AuthError::Unavailable(_)) => {
                Some(HeaderValue::from_static(RETRY_AFTER_SECS))
            }
            ApiError::Auth(AuthError::TooManyAttempts { retry_after_secs }) => {
                Some(HeaderValue::from(*retry_after_secs))
            }
            _ => None,
        }
    }

    /// Why a request was refused, as a metric dimension: the token's
    /// rejection for an invalid token, else the error code.
    pub fn metric_reason(&self) -> &'static str {
        match self {
            ApiError::Auth(AuthError::InvalidToken { reason }) => reason.metric_reason(),
            other => other.code(),
        }
    }

    /// Logs the failure once: server-side ones with their cause (by
    /// `Display` only), client ones as their code and, for tokens, why.
    /// [`error_response`] calls it; so does the authorizer, which answers
    /// with a policy instead.
    pub fn log(&self) {
        let code = self.code();
        if let ApiError::Auth(AuthError::Unavailable(_)) = self {
            crate::metrics::count(crate::metrics::Metric::StoreErrors);
        }
        match self {
            ApiError::Auth(AuthError::Unavailable(_) | AuthError::Internal(_)) => {
                tracing::error!(code, error = %display_chain(self), "request failed")
            }
            ApiError::Auth(AuthError::InvalidToken { reason }) => {
                tracing::info!(code, reason = %reason, "request refused")
            }
            ApiError::Auth(AuthError::InvalidCode { reason }) => {
                tracing::info!(code, reason = reason.as_str(), "request refused")
            }
            ApiError::CrossSite(why) => {
                tracing::warn!(code, reason = %why, "request refused")
            }
            ApiError::NoCaller(why) => {
                tracing::error!(code, reason = %why, "protected function reached without a caller")
            }
            _ => tracing::info!(code, "request refused"),
        }
    }
}

/// The bearer token of header `name` (`Authorization`, `Refresh-Token`).
/// No header: `MissingToken`; a header that is not a usable bearer
/// credential: `InvalidToken`.
pub fn bearer_token<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, ApiError> {
    let value = headers.get(name).ok_or(ApiError::MissingToken)?;
    bearer_credential(value.to_str().map_err(|_| unusable_credential())?)
}

/// The token of a `Bearer <token>` credential, or `InvalidToken`.
pub fn bearer_credential(value: &str) -> Result<&str, ApiError> {
    parse_bearer(value).ok_or_else(unusable_credential)
}

fn unusable_credential() -> ApiError {
    AuthError::invalid_token(crate::rules::Rejection::Token("not a bearer credential")).into()
}

/// The token of a `Bearer <token>` credential (scheme case-insensitive).
pub fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Parses a body of at most [`MAX_BODY_BYTES`] into `T`: a JSON object, or
/// `MalformedBody`. A field that is missing (or `null`), of the wrong type or
/// against its rule is `InvalidField`, naming the field and never its value.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(body) else {
        return Err(ApiError::MalformedBody);
    };
    // `null` reads as absent, as for optional fields.
    map.retain(|_, v| !v.is_null());
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let message = e.inner().to_string();
        let field = e.path().to_string();
        ApiError::InvalidField(if let Some(missing) = missing_field(&message) {
            format!("`{missing}` is required")
        } else if message.starts_with("invalid type") {
            format!("`{field}` must be a string")
        } else if field == "." {
            // About the object itself (a field given twice): names only.
            message
        } else {
            // One of our own rules (`FieldRule`): safe to show.
            format!("`{field}` {message}")
        })
    })
}

/// The field name of serde's "missing field `x`" (one of ours: no input).
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

fn base(status: StatusCode, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // Auth responses are per-user: no shared or private cache may keep them.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A JSON response.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<String> {
    match serde_json::to_string(body) {
        Ok(text) => base(status, text),
        Err(_) => base(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "internal_error", "message": "internal error"}).to_string(),
        ),
    }
}

/// A token response (RFC 6749 §5.1: `no-store` and `Pragma: no-cache`).
pub fn token_response(pair: &TokenPair) -> Response<String> {
    let mut response = json_response(StatusCode::OK, pair);
    response
        .headers_mut()
        .insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// 204 No Content (still `no-store`: it answers a per-user request).
pub fn no_content() -> Response<String> {
    let mut response = Response::new(String::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `{"message": ...}` with 200.
pub fn message_response(message: &str) -> Response<String> {
    json_response(StatusCode::OK, &json!({ "message": message }))
}

/// The one mapping from an error to an HTTP response; logs it once.
pub fn error_response(err: &ApiError) -> Response<String> {
    err.log();
    let body = json!({ "error": err.code(), "message": err.to_string() }).to_string();
    let mut response = base(err.status(), body);
    let headers = response.headers_mut();
    if let Some(challenge) = err.www_authenticate() {
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    if let Some(seconds) = err.retry_after() {
        headers.insert(RETRY_AFTER, seconds);
    }
    response
}

/// Turns a handler's result into its response.
pub fn respond(result: Result<Response<String>, ApiError>) -> Response<String> {
    result.unwrap_or_else(|err| error_response(&err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{NewPassword, Password, UserId};
    use crate::rules::Rejection;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn bearer_parsing() {
        let h = headers(&[("authorization", "Bearer abc.def.ghi")]);
        assert_eq!(bearer_token(&h, "authorization").unwrap(), "abc.def.ghi");
        let h = headers(&[("authorization", "bearer   abc")]);
        assert_eq!(bearer_token(&h, "authorization").unwrap(), "abc");
        assert!(matches!(
            bearer_token(&HeaderMap::new(), "authorization"),
            Err(ApiError::MissingToken)
        ));
        for bad in ["Basic abc", "Bearer", "Bearer ", "abc"] {
            let h = headers(&[("authorization", bad)]);
            let err = bearer_token(&h, "authorization").unwrap_err();
            assert_eq!(err.code(), "invalid_token", "{bad}");
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body {
        id: UserId,
        password: Password,
        new_password: Option<NewPassword>,
    }

    fn field_error(body: &str) -> String {
        match parse_body::<Body>(body.as_bytes()) {
            Err(ApiError::InvalidField(message)) => message,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn bodies_are_objects_within_the_limit() {
        assert!(parse_body::<Body>(br#"{"id":"alice","password":"x"}"#).is_ok());
        for bad in [&b"[]"[..], b"\"str\"", b"{", b"", b"null", b"42"] {
            assert!(matches!(
                parse_body::<Body>(bad),
                Err(ApiError::MalformedBody)
            ));
        }
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(matches!(
            parse_body::<Body>(&big),
            Err(ApiError::PayloadTooLarge { .. })
        ));
    }

    #[test]
    fn fields_name_themselves_not_their_values() {
        assert_eq!(field_error(r#"{"id": "alice"}"#), "`password` is required");
        assert_eq!(
            field_error(r#"{"id": "alice", "password": null}"#),
            "`password` is required"
        );
        assert_eq!(
            field_error(r#"{"id": "alice", "password": 12345678}"#),
            "`password` must be a string"
        );
        assert_eq!(
            field_error(r#"{"id": "alice", "password": ["hunter22"]}"#),
            "`password` must be a string"
        );
        assert_eq!(
            field_error(r#"{"id": "a b", "password": "x"}"#),
            "`id` must be 3-64 characters of letters, digits, '.', '_', '@' or '-'"
        );
        let short = field_error(r#"{"id": "alice", "password": "x", "newPassword": "hunter2"}"#);
        assert_eq!(short, "`newPassword` must be 8-128 characters");
    }

    #[test]
    fn errors_carry_status_code_and_challenge() {
        let r = error_response(&AuthError::invalid_token(Rejection::SessionGone).into());
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token""#));
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
        let body: Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(body["error"], "invalid_token");
        assert!(!r.body().contains("session gone"), "the reason is for logs");

        let r = error_response(&ApiError::MissingToken);
        assert!(!r.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("error="));

        let down = crate::store::StoreError::Unavailable("connection refused".into());
        let r = error_response(&ApiError::from(down));
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers().contains_key(RETRY_AFTER));
        assert!(!r.body().contains("connection refused"));

        let r = error_response(
            &AuthError::TooManyAttempts {
                retry_after_secs: 42,
            }
            .into(),
        );
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[RETRY_AFTER], "42");
    }
}

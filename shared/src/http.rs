//! Framework-neutral HTTP helpers: reading bearer tokens and JSON bodies,
//! and the one place where results become responses. Built on the `http`
//! crate, so Lambda adapters and the local server share them.

use http::header::{
    HeaderMap, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{Response, StatusCode};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::error::AuthError;
use crate::service::TokenPair;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The Kotlin design's header for refresh tokens.
pub const REFRESH_TOKEN_HEADER: &str = "refresh-token";
/// Seconds a client should wait after a 503.
const RETRY_AFTER_SECS: &str = "1";

/// The bearer token of header `name` (`Authorization`, `Refresh-Token`).
/// No header: `MissingToken`; a header that is not a usable bearer
/// credential: `InvalidToken`.
pub fn bearer_token<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, AuthError> {
    let value = headers.get(name).ok_or(AuthError::MissingToken)?;
    parse_bearer(value.to_str().map_err(|_| AuthError::InvalidToken)?)
}

/// The token of a `Bearer <token>` credential (scheme case-insensitive).
pub fn parse_bearer(value: &str) -> Result<&str, AuthError> {
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(AuthError::InvalidToken)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthError::InvalidToken);
    }
    Ok(token)
}

/// Parses a JSON object body of at most `MAX_BODY_BYTES`.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, AuthError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(AuthError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(AuthError::MalformedBody),
    }
}

/// A required string field; the error names the field, never its value.
pub fn required_string(body: &Map<String, Value>, field: &str) -> Result<String, AuthError> {
    match body.get(field) {
        Some(Value::String(v)) => Ok(v.clone()),
        None | Some(Value::Null) => Err(AuthError::InvalidInput(format!("`{field}` is required"))),
        Some(_) => Err(AuthError::InvalidInput(format!(
            "`{field}` must be a string"
        ))),
    }
}

/// The first of `fields` present in `body`, as a string.
pub fn optional_string(
    body: &Map<String, Value>,
    fields: &[&str],
) -> Result<Option<String>, AuthError> {
    for field in fields {
        match body.get(*field) {
            None | Some(Value::Null) => continue,
            Some(Value::String(v)) => return Ok(Some(v.clone())),
            Some(_) => {
                return Err(AuthError::InvalidInput(format!(
                    "`{field}` must be a string"
                )))
            }
        }
    }
    Ok(None)
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
        Err(_) => error_response(&AuthError::Internal),
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

/// The one mapping from a domain error to an HTTP response.
pub fn error_response(err: &AuthError) -> Response<String> {
    let body = json!({ "error": err.code(), "message": err.to_string() }).to_string();
    let mut response = base(err.status(), body);
    let headers = response.headers_mut();
    if let Some(challenge) = err.www_authenticate() {
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    match err {
        AuthError::Unavailable => {
            headers.insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
        }
        AuthError::TooManyAttempts { retry_after_secs } => {
            headers.insert(RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        _ => {}
    }
    response
}

/// Turns a handler's result into its response.
pub fn respond(result: Result<Response<String>, AuthError>) -> Response<String> {
    result.unwrap_or_else(|err| error_response(&err))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            Err(AuthError::MissingToken)
        ));
        for bad in ["Basic abc", "Bearer", "Bearer ", "abc"] {
            let h = headers(&[("authorization", bad)]);
            assert!(
                matches!(
                    bearer_token(&h, "authorization"),
                    Err(AuthError::InvalidToken)
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn bodies() {
        assert!(json_object(br#"{"a":"b"}"#).is_ok());
        for bad in [&b"[]"[..], b"\"str\"", b"{", b"", b"null", b"42"] {
            assert!(matches!(json_object(bad), Err(AuthError::MalformedBody)));
        }
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(matches!(
            json_object(&big),
            Err(AuthError::PayloadTooLarge { .. })
        ));
    }

    #[test]
    fn fields_name_themselves_not_their_values() {
        let body = json_object(br#"{"id": 5, "password": ["hunter22"]}"#).unwrap();
        let err = required_string(&body, "password").unwrap_err().to_string();
        assert_eq!(err, "`password` must be a string");
        let err = required_string(&body, "name").unwrap_err().to_string();
        assert_eq!(err, "`name` is required");
    }

    #[test]
    fn errors_carry_status_code_and_challenge() {
        let r = error_response(&AuthError::InvalidToken);
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token""#));
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
        let body: Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(body["error"], "invalid_token");

        let r = error_response(&AuthError::MissingToken);
        assert!(!r.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("error="));

        let r = error_response(&AuthError::Unavailable);
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers().contains_key(RETRY_AFTER));

        let r = error_response(&AuthError::TooManyAttempts {
            retry_after_secs: 42,
        });
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[RETRY_AFTER], "42");
    }
}

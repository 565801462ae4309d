//! `GET /.well-known/jwks.json`: the public keys that verify tokengate's
//! tokens (RFC 7517), for other services.
//! `GET /.well-known/openid-configuration`: where to find them (discovery).
//! Public and cacheable; never a private or symmetric key, and this function
//! is never given one.

use http::header::{HeaderValue, CACHE_CONTROL};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use tokengate::config::{issuer, ConfigError, Env};
use tokengate::http::json_response;
use tokengate::keys::KeyConfig;
use tokengate::lambda::respond;
use tokengate::ApiError;

/// How long verifiers may cache the key set: a new key must be published at
/// least this long before it signs (see the README's rotation steps).
pub const MAX_AGE_SECS: u32 = 300;

/// The documents, built once at cold start.
pub struct Discovery {
    jwks: Value,
    issuer: String,
    algorithms: Vec<String>,
}

impl Discovery {
    /// Reads the key variables and `JWT_ISSUER` through the same code as
    /// every other function ([`tokengate::config`]).
    pub fn read(env: &Env) -> Result<Self, ConfigError> {
        let jwks = KeyConfig::public_jwks(env)?;
        let mut algorithms: Vec<String> = jwks
            .keys
            .iter()
            .filter_map(|k| k.common.key_algorithm.map(|a| a.to_string()))
            .collect();
        algorithms.sort();
        algorithms.dedup();
        Ok(Discovery {
            jwks: serde_json::to_value(&jwks)
                .map_err(|_| ConfigError::redacted("JWT_PRIVATE_KEY", "a key with a JWK form"))?,
            issuer: issuer(env),
            algorithms,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::process())
    }

    /// [`Discovery::read`] through `lookup` (tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(&Env::new(lookup))
    }
}

pub async fn handle(request: Request, discovery: &Discovery) -> Response<Body> {
    respond(document(&request, discovery))
}

fn document(request: &Request, discovery: &Discovery) -> Result<http::Response<String>, ApiError> {
    if request.method() != http::Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    let body = match request.uri().path().trim_end_matches('/') {
        p if p.ends_with("/.well-known/jwks.json") => discovery.jwks.clone(),
        p if p.ends_with("/.well-known/openid-configuration") => json!({
            "issuer": discovery.issuer,
            "jwks_uri": format!("{}/.well-known/jwks.json", base_url(request)),
            "id_token_signing_alg_values_supported": discovery.algorithms,
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
        }),
        _ => return Err(ApiError::NotFound),
    };
    let mut response = json_response(StatusCode::OK, &body);
    let cache = format!("public, max-age={MAX_AGE_SECS}");
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_str(&cache).expect("a valid header value"),
    );
    Ok(response)
}

/// `https://<host>` as the client reached the API (API Gateway sets
/// `x-forwarded-proto`; the local gateway too).
fn base_url(request: &Request) -> String {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let proto = header("x-forwarded-proto").unwrap_or_else(|| "https".into());
    let host = header("host").unwrap_or_else(|| "localhost".into());
    format!("{proto}://{host}")
}

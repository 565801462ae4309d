//! `GET /.well-known/jwks.json`: the public keys that verify tokengate's
//! tokens (RFC 7517), for other services.
//! `GET /.well-known/openid-configuration`: where to find them (discovery),
//! built from the configured issuer URL only, never from the request's
//! `Host`: a cached document must not point verifiers at a host an attacker
//! named. With an issuer that is not an http(s) URL there is no discovery
//! document (404).
//! Public and cacheable; never a private or symmetric key, and this function
//! is never given one. With `KEYS_SECRET_ARN` the public keys come from that
//! secret and are re-read like every function's keys.

use http::header::{HeaderValue, CACHE_CONTROL};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use tokengate::clock::{Clock, SystemClock};
use tokengate::config::{issuer, limits, ConfigError, Env, DEFAULT_KEYS_REFRESH_SECS};
use tokengate::http::json_response;
use tokengate::keys::KeyConfig;
use tokengate::lambda::respond;
use tokengate::secrets::{key_variables, KeySecret, Reloading};
use tokengate::ApiError;

/// How long verifiers may cache the key set: a new key must be published at
/// least this long before it signs (see the README's rotation steps).
pub const MAX_AGE_SECS: u32 = 300;

/// The documents, built from one reading of the key variables.
pub struct Discovery {
    /// Each public JWK with its not-after: a retired key leaves the set at
    /// that moment, not at the next cold start.
    keys: Vec<(Value, Option<u64>)>,
    issuer: String,
    /// `None` unless the issuer is an http(s) URL.
    jwks_uri: Option<String>,
    algorithms: Vec<String>,
}

impl Discovery {
    /// Reads the key variables and `JWT_ISSUER` through the same code as
    /// every other function ([`tokengate::config`]).
    pub fn read(env: &Env) -> Result<Self, ConfigError> {
        Self::build(env, issuer(env))
    }

    fn build(env: &Env, issuer: String) -> Result<Self, ConfigError> {
        let publishable = KeyConfig::publishable(env)?;
        let mut algorithms: Vec<String> = publishable
            .iter()
            .filter_map(|(k, _)| k.common.key_algorithm.map(|a| a.to_string()))
            .collect();
        let mut keys = Vec::with_capacity(publishable.len());
        for (jwk, not_after) in publishable {
            let jwk = serde_json::to_value(&jwk)
                .map_err(|_| ConfigError::redacted("JWT_PRIVATE_KEY", "a key with a JWK form"))?;
            keys.push((jwk, not_after));
        }
        algorithms.sort();
        algorithms.dedup();
        let is_url = issuer.starts_with("https://") || issuer.starts_with("http://");
        Ok(Discovery {
            keys,
            jwks_uri: is_url
                .then(|| format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'))),
            issuer,
            algorithms,
        })
    }

    /// [`Discovery::read`] through `lookup` (tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(&Env::new(lookup))
    }
}

/// The documents this function serves: fixed, or rebuilt from the key
/// secret every `KEYS_REFRESH_SECS`.
pub struct Published(Reloading<Discovery>);

impl Published {
    pub fn fixed(discovery: Discovery) -> Self {
        Published(Reloading::fixed(discovery))
    }

    /// From the process environment, and `KEYS_SECRET_ARN`'s secret if set.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let env = Env::process();
        let Some(secret) = KeySecret::from_env(&env).await else {
            return Ok(Self::fixed(Discovery::read(&env)?));
        };
        let every = env.seconds(
            "KEYS_REFRESH_SECS",
            DEFAULT_KEYS_REFRESH_SECS,
            limits::KEYS_REFRESH_SECS,
        )?;
        let issuer = issuer(&env);
        let build = move |env: &Env<'_>| Discovery::build(env, issuer.clone());
        let now_ms = SystemClock.now_millis();
        Reloading::from_secret(secret, key_variables(&env), every, now_ms, build)
            .await
            .map(Published)
    }

    /// Re-reads the key secret if it is due.
    async fn current(&self) -> std::sync::Arc<Discovery> {
        self.0.refresh_if_due(SystemClock.now_millis()).await;
        self.0.current()
    }
}

pub async fn handle(request: Request, published: &Published) -> Response<Body> {
    let discovery = published.current().await;
    respond(document(&request, &discovery))
}

fn document(request: &Request, discovery: &Discovery) -> Result<http::Response<String>, ApiError> {
    if request.method() != http::Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    let body = match request.uri().path().trim_end_matches('/') {
        p if p.ends_with("/.well-known/jwks.json") => {
            let now = SystemClock.now_millis() / 1000;
            let keys: Vec<&Value> = discovery
                .keys
                .iter()
                .filter(|(_, end)| end.is_none_or(|end| now < end))
                .map(|(jwk, _)| jwk)
                .collect();
            json!({ "keys": keys })
        }
        p if p.ends_with("/.well-known/openid-configuration") => json!({
            "issuer": discovery.issuer,
            "jwks_uri": discovery.jwks_uri.as_deref().ok_or(ApiError::NotFound)?,
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

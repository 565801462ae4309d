//! Minting and verifying access and refresh tokens.
//!
//! The key is chosen by the token's `kid` from a fixed set, and the algorithm
//! is pinned per key (never taken from the token header alone). Access and
//! refresh tokens have mutually exclusive validation rules (RFC 8725 §3.11):
//! a distinct `token_use` claim *and* a distinct `typ` header, both checked,
//! so neither kind is ever accepted in place of the other. They also carry
//! different audiences: an access token is for `JWT_AUDIENCE` (the APIs
//! behind tokengate), a refresh token for tokengate's own refresh endpoint
//! ([`crate::config::Config::refresh_audience`]), so a generic JWT verifier
//! that checks `aud`, as every correct one must, refuses a refresh token
//! even though it ignores `typ` and `token_use`.

use std::collections::HashMap;
use std::time::Duration;

use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Config;
use crate::keys::KeyConfig;

/// Tokens longer than this are refused before any parsing or crypto.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    /// Explicit JWT typing (RFC 8725 §3.11; `at+jwt` is RFC 9068's).
    fn typ(self) -> &'static str {
        match self {
            TokenKind::Access => "at+jwt",
            TokenKind::Refresh => "rt+jwt",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// `JWT_AUDIENCE` on access tokens; the refresh audience on refresh ones.
    pub aud: String,
    /// The user id.
    pub sub: String,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    /// Fresh UUID v4 for every token.
    pub jti: String,
    /// Session id: one per login (device).
    pub sid: String,
    /// The session's refresh generation this token was minted for.
    pub gen: u64,
    /// The user's token version when the session was created or refreshed.
    pub ver: u64,
    /// When the session's login happened (OIDC's `auth_time`): a refresh
    /// never extends the session past `auth_time` + the maximum lifetime.
    pub auth_time: u64,
    pub token_use: TokenKind,
}

/// What a token is minted for: the session it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct SessionRef<'a> {
    pub user_id: &'a str,
    pub session_id: &'a str,
    pub generation: u64,
    pub version: u64,
    /// When the session was created.
    pub auth_time: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintedToken {
    pub token: String,
    pub expires_at: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token rejected: {0}")]
    Rejected(&'static str),
    #[error("token could not be signed: {0}")]
    Signing(#[from] jsonwebtoken::errors::Error),
    /// A verify-only function (public key only) was asked to mint.
    #[error("this function holds no signing key (JWT_PRIVATE_KEY)")]
    NoSigningKey,
}

/// A verification key with the validation rules pinned to its algorithm,
/// one set per token kind (they differ in audience).
struct Verifier {
    algorithm: Algorithm,
    decoding: DecodingKey,
    /// A retired key verifies nothing from this moment on.
    not_after: Option<u64>,
    access: Validation,
    refresh: Validation,
}

impl Verifier {
    fn validation(&self, kind: TokenKind) -> &Validation {
        match kind {
            TokenKind::Access => &self.access,
            TokenKind::Refresh => &self.refresh,
        }
    }
}

/// Signing and verification keys with their validation rules, built once at
/// cold start.
pub struct TokenKeys {
    algorithm: Algorithm,
    kid: String,
    /// `None` in a function that only verifies.
    encoding: Option<EncodingKey>,
    /// By `kid`: the current key and the previous ones.
    verifiers: HashMap<String, Verifier>,
    issuer: String,
    audience: String,
    refresh_audience: String,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl TokenKeys {
    pub fn from_config(config: &Config) -> Self {
        Self::new(&config.keys, config)
    }

    /// `keys` with the issuer, audiences and lifetimes of `config` (keys
    /// re-read from Secrets Manager replace `config.keys`).
    pub fn new(keys: &KeyConfig, config: &Config) -> Self {
        let validation = |algorithm, audience: &str| {
            let mut validation = Validation::new(algorithm);
            validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
            validation.set_issuer(&[&config.issuer]);
            validation.set_audience(&[audience]);
            // Required above, but judged against the injected clock below
            // (`within_lifetime`), not the library's own reading of it.
            validation.validate_exp = false;
            validation.validate_nbf = false;
            validation
        };
        let verifiers = keys
            .verification_keys()
            .map(|key| {
                let verifier = Verifier {
                    algorithm: key.algorithm,
                    decoding: key.decoding.clone(),
                    not_after: key.not_after,
                    access: validation(key.algorithm, &config.audience),
                    refresh: validation(key.algorithm, &config.refresh_audience),
                };
                (key.kid.clone(), verifier)
            })
            .collect();
        let current = &keys.current;
        TokenKeys {
            algorithm: current.algorithm,
            kid: current.kid.clone(),
            encoding: keys.signing.as_ref().map(|s| s.encoding.clone()),
            verifiers,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            refresh_audience: config.refresh_audience.clone(),
            access_ttl: config.access_ttl,
            refresh_ttl: config.refresh_ttl,
        }
    }

    /// Mints a token of `kind` for `session`, expiring after the kind's TTL
    /// but never after `not_after` (the session's own expiry).
    pub fn mint(
        &self,
        kind: TokenKind,
        session: SessionRef<'_>,
        now: u64,
        not_after: u64,
    ) -> Result<MintedToken, TokenError> {
        let (ttl, audience) = match kind {
            TokenKind::Access => (self.access_ttl, &self.audience),
            TokenKind::Refresh => (self.refresh_ttl, &self.refresh_audience),
        };
        let exp = (now + ttl.as_secs()).min(not_after);
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: audience.clone(),
            sub: session.user_id.to_string(),
            iat: now,
            nbf: now,
            exp,
            jti: Uuid::new_v4().to_string(),
            sid: session.session_id.to_string(),
            gen: session.generation,
            ver: session.version,
            auth_time: session.auth_time,
            token_use: kind,
        };
        let mut header = Header::new(self.algorithm);
        header.typ = Some(kind.typ().to_string());
        header.kid = Some(self.kid.clone());
        let encoding = self.encoding.as_ref().ok_or(TokenError::NoSigningKey)?;
        let token = encode(&header, &claims, encoding)?;
        Ok(MintedToken {
            token,
            expires_at: exp,
        })
    }

    /// Verifies signature, algorithm, `iss`, `aud`, `exp`, `nbf` and that the
    /// token is of `kind`, at `now`. Says nothing yet about revocation: that
    /// is the store's half of the decision.
    pub fn verify(&self, kind: TokenKind, token: &str, now: u64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Rejected("oversize"));
        }
        let header = decode_header(token).map_err(|_| TokenError::Rejected("malformed header"))?;
        let verifier = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifiers.get(kid))
            .ok_or(TokenError::Rejected("unknown key id"))?;
        // The key decides the algorithm, not the token.
        if header.alg != verifier.algorithm {
            return Err(TokenError::Rejected("algorithm does not match the key"));
        }
        if verifier.not_after.is_some_and(|end| now >= end) {
            return Err(TokenError::Rejected("key retired"));
        }
        let data = decode::<Claims>(token, &verifier.decoding, verifier.validation(kind))
            .map_err(|_| TokenError::Rejected("signature or claims"))?;
        if data.header.typ.as_deref() != Some(kind.typ()) || data.claims.token_use != kind {
            return Err(TokenError::Rejected("wrong token use"));
        }
        if !within_lifetime(data.claims.nbf, data.claims.exp, now) {
            return Err(TokenError::Rejected("expired or not yet valid"));
        }
        Ok(data.claims)
    }
}

/// Whether a token with `nbf` and `exp` is usable at `now`, with
/// [`LEEWAY_SECS`] of clock skew either side (as RFC 7519 allows).
pub fn within_lifetime(nbf: u64, exp: u64, now: u64) -> bool {
    nbf <= now.saturating_add(LEEWAY_SECS) && exp >= now.saturating_sub(LEEWAY_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::now_secs;
    use crate::config::Config;

    fn keys() -> TokenKeys {
        let config = Config::from_lookup(|k| match k {
            "TABLE_NAME" => Some("t".into()),
            "JWT_SECRET" => Some("k".repeat(32)),
            _ => None,
        })
        .unwrap();
        TokenKeys::from_config(&config)
    }

    fn session() -> SessionRef<'static> {
        SessionRef {
            user_id: "alice",
            session_id: "s-1",
            generation: 3,
            version: 7,
            auth_time: 1_700_000_000,
        }
    }

    #[test]
    fn round_trip_keeps_claims() {
        let keys = keys();
        let now = now_secs();
        let minted = keys
            .mint(TokenKind::Access, session(), now, u64::MAX)
            .unwrap();
        assert_eq!(minted.expires_at, now + 900);
        let claims = keys.verify(TokenKind::Access, &minted.token, now).unwrap();
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.sid, "s-1");
        assert_eq!((claims.gen, claims.ver), (3, 7));
        assert_eq!(claims.token_use, TokenKind::Access);
        assert!(Uuid::parse_str(&claims.jti).is_ok());
    }

    #[test]
    fn kinds_are_not_interchangeable_and_have_different_audiences() {
        let keys = keys();
        let now = now_secs();
        let access = keys
            .mint(TokenKind::Access, session(), now, u64::MAX)
            .unwrap();
        let refresh = keys
            .mint(TokenKind::Refresh, session(), now, u64::MAX)
            .unwrap();
        assert!(keys.verify(TokenKind::Refresh, &access.token, now).is_err());
        assert!(keys.verify(TokenKind::Access, &refresh.token, now).is_err());
        // Also told apart by audience, for verifiers that ignore `typ`.
        let access = keys.verify(TokenKind::Access, &access.token, now).unwrap();
        let refresh = keys
            .verify(TokenKind::Refresh, &refresh.token, now)
            .unwrap();
        assert_eq!(access.aud, "tokengate-api");
        assert_eq!(refresh.aud, "tokengate/api/auth/refresh");
        assert_eq!(refresh.auth_time, 1_700_000_000);
    }

    #[test]
    fn every_token_has_its_own_jti() {
        let keys = keys();
        let now = now_secs();
        let a = keys
            .mint(TokenKind::Access, session(), now, u64::MAX)
            .unwrap();
        let b = keys
            .mint(TokenKind::Access, session(), now, u64::MAX)
            .unwrap();
        let ja = keys.verify(TokenKind::Access, &a.token, now).unwrap().jti;
        let jb = keys.verify(TokenKind::Access, &b.token, now).unwrap().jti;
        assert_ne!(ja, jb);
    }

    #[test]
    fn expiry_is_capped_by_the_session() {
        let keys = keys();
        let now = now_secs();
        let minted = keys
            .mint(TokenKind::Refresh, session(), now, now + 100)
            .unwrap();
        assert_eq!(minted.expires_at, now + 100);
    }

    #[test]
    fn lifetime_is_judged_at_the_given_time_with_leeway() {
        let keys = keys();
        let now = 1_800_000_000;
        let token = keys
            .mint(TokenKind::Access, session(), now, u64::MAX)
            .unwrap()
            .token;
        let at = |t| keys.verify(TokenKind::Access, &token, t);
        assert!(at(now).is_ok());
        assert!(at(now - LEEWAY_SECS).is_ok(), "a clock slightly behind");
        assert!(at(now - LEEWAY_SECS - 1).is_err(), "not yet valid");
        assert!(at(now + 900 + LEEWAY_SECS).is_ok());
        assert!(at(now + 900 + LEEWAY_SECS + 1).is_err(), "expired");
        assert!(within_lifetime(10, 20, 0));
        assert!(!within_lifetime(10, 20, 31));
    }

    #[test]
    fn oversize_tokens_are_refused_before_parsing() {
        let keys = keys();
        let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(matches!(
            keys.verify(TokenKind::Access, &huge, 0),
            Err(TokenError::Rejected("oversize"))
        ));
    }
}

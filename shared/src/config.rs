//! One `Config`, read from the environment once at cold start.
//!
//! Every variable is validated up front, its range included, so a
//! misconfigured function refuses to start with a clear message instead of
//! failing (or overflowing) on its first request.

use std::time::Duration;

use crate::browser::AllowedOrigins;
pub use crate::env::{ConfigError, Env};
use crate::keys::KeyConfig;

/// Whether a new login leaves the user's other devices signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionMode {
    /// Every device keeps its own session (the Go design).
    Multi,
    /// A login signs out every other device (the Kotlin design).
    Single,
}

#[derive(Clone)]
pub struct Config {
    pub table_name: String,
    pub dynamodb_endpoint: Option<String>,
    /// Signing and verification keys (`JWT_ALGORITHM`, `JWT_SECRET` or
    /// `JWT_PRIVATE_KEY`/`JWT_PUBLIC_KEY`, previous keys).
    pub keys: KeyConfig,
    pub issuer: String,
    /// `aud` of access tokens: the APIs behind tokengate.
    pub audience: String,
    /// `aud` of refresh tokens: tokengate's own refresh endpoint
    /// ([`refresh_audience`]), never `audience`, so no verifier of access
    /// tokens that checks `aud` takes a refresh token for one.
    pub refresh_audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// How long a session lives after its login or last refresh: idle for
    /// longer, it ends. The same length as `refresh_ttl`, since a refresh
    /// token lives exactly as long as the session it renews.
    pub session_ttl: Duration,
    /// The absolute limit: however often it is refreshed, a session ends
    /// this long after its login (`SESSION_MAX_LIFETIME_SECS`).
    pub session_max_lifetime: Duration,
    pub refresh_reuse_grace: Duration,
    pub session_mode: SessionMode,
    pub login_throttle: LoginThrottle,
    /// Registrations allowed per source address in one throttle window.
    pub register_max_per_ip: u64,
    /// Web origins that may use the API from a browser, with the refresh
    /// cookie (`CORS_ALLOWED_ORIGINS`); none by default.
    pub allowed_origins: AllowedOrigins,
    /// How long a security event stays in the user's activity trail
    /// (`AUDIT_RETENTION_DAYS`): its item's TTL, and the oldest a listing
    /// shows.
    pub audit_retention: Duration,
    /// The sender of verification and reset codes (`MAIL_FROM`, an SES
    /// identity's address); `None`: no mail is sent.
    pub mail_from: Option<String>,
    /// The product name in the messages (`MAIL_APP_NAME`).
    pub mail_app_name: String,
    /// Reset-code requests per address in one throttle window
    /// (`FORGOT_MAX_PER_EMAIL`); per source, `LOGIN_MAX_FAILURES_PER_IP`.
    pub forgot_max_per_email: u64,
    /// The reset request never answers sooner (`FORGOT_MIN_RESPONSE_MS`),
    /// so whether the address has an account does not show in its timing.
    pub forgot_min_response: Duration,
}

/// Failed-login limits: past either one, logins get 429 until the window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Failures allowed per account id in one window.
    pub max_failures_per_user: u64,
    /// Failures allowed per source IP in one window.
    pub max_failures_per_ip: u64,
    /// Fixed window length.
    pub window: Duration,
}

// Hand-written so key material can never reach a log line through `{:?}`.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("table_name", &self.table_name)
            .field("dynamodb_endpoint", &self.dynamodb_endpoint)
            .field("keys", &self.keys)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("refresh_audience", &self.refresh_audience)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("session_ttl", &self.session_ttl)
            .field("session_max_lifetime", &self.session_max_lifetime)
            .field("refresh_reuse_grace", &self.refresh_reuse_grace)
            .field("session_mode", &self.session_mode)
            .field("login_throttle", &self.login_throttle)
            .field("register_max_per_ip", &self.register_max_per_ip)
            .field("audit_retention", &self.audit_retention)
            .field("allowed_origins", &self.allowed_origins)
            .field("mail_from", &self.mail_from)
            .field("mail_app_name", &self.mail_app_name)
            .field("forgot_max_per_email", &self.forgot_max_per_email)
            .field("forgot_min_response", &self.forgot_min_response)
            .finish()
    }
}

pub const DEFAULT_ISSUER: &str = "tokengate";
pub const DEFAULT_AUDIENCE: &str = "tokengate-api";
pub const DEFAULT_ACCESS_TTL_SECS: u64 = 900;
pub const DEFAULT_REFRESH_TTL_SECS: u64 = 604_800;
pub const DEFAULT_REFRESH_REUSE_GRACE_SECS: u64 = 10;
pub const DEFAULT_LOGIN_MAX_FAILURES: u64 = 5;
pub const DEFAULT_LOGIN_MAX_FAILURES_PER_IP: u64 = 50;
pub const DEFAULT_LOGIN_FAILURE_WINDOW_SECS: u64 = 900;
/// 30 days.
pub const DEFAULT_SESSION_MAX_LIFETIME_SECS: u64 = 2_592_000;
pub const DEFAULT_REGISTER_MAX_PER_IP: u64 = 20;
pub const DEFAULT_KEYS_REFRESH_SECS: u64 = 300;
pub const DEFAULT_AUDIT_RETENTION_DAYS: u64 = 90;
pub const DEFAULT_MAIL_APP_NAME: &str = "tokengate";
pub const DEFAULT_FORGOT_MAX_PER_EMAIL: u64 = 3;
/// Above what a GetItem, a PutItem and an SES call take together.
pub const DEFAULT_FORGOT_MIN_RESPONSE_MS: u64 = 400;

/// The ranges accepted at start-up. The upper bounds keep every `now + ttl`
/// far from overflow and every setting within what makes sense.
pub mod limits {
    use std::ops::RangeInclusive;
    /// Up to a day: an access token is checked on every request anyway.
    pub const ACCESS_TTL_SECS: RangeInclusive<u64> = 1..=86_400;
    /// Up to a year.
    pub const REFRESH_TTL_SECS: RangeInclusive<u64> = 1..=31_536_000;
    /// Up to 5 minutes: a reused refresh token is a theft signal past that.
    pub const REFRESH_REUSE_GRACE_SECS: RangeInclusive<u64> = 0..=300;
    /// Load tests and benchmarks lift the limits out of the way: a million.
    pub const LOGIN_MAX_FAILURES: RangeInclusive<u64> = 1..=1_000_000;
    pub const LOGIN_MAX_FAILURES_PER_IP: RangeInclusive<u64> = 1..=1_000_000;
    /// Up to a day.
    pub const LOGIN_FAILURE_WINDOW_SECS: RangeInclusive<u64> = 1..=86_400;
    /// Up to a year, like the refresh TTL.
    pub const SESSION_MAX_LIFETIME_SECS: RangeInclusive<u64> = 1..=31_536_000;
    pub const REGISTER_MAX_PER_IP: RangeInclusive<u64> = 1..=1_000_000;
    /// A day to ten years.
    pub const AUDIT_RETENTION_DAYS: RangeInclusive<u64> = 1..=3_650;
    /// How often key material is re-read from Secrets Manager: at least
    /// every 10 s (one call per function instance), at most hourly.
    pub const KEYS_REFRESH_SECS: RangeInclusive<u64> = 10..=3_600;
    /// Load tests lift it out of the way, like the login limits.
    pub const FORGOT_MAX_PER_EMAIL: RangeInclusive<u64> = 1..=1_000_000;
    /// Up to 5 s: API Gateway waits 30 s, a person less.
    pub const FORGOT_MIN_RESPONSE_MS: RangeInclusive<u64> = 0..=5_000;
}

/// The audience of refresh tokens: the refresh endpoint of `issuer`.
pub fn refresh_audience(issuer: &str) -> String {
    format!("{}/api/auth/refresh", issuer.trim_end_matches('/'))
}

/// `JWT_ISSUER`, as every function (the JWKS one included) reads it.
pub fn issuer(env: &Env) -> String {
    env.get("JWT_ISSUER")
        .unwrap_or_else(|| DEFAULT_ISSUER.to_string())
}

/// A lifetime `name` that must be at least the access token's: a session or
/// refresh token that ends before its access token would be meaningless.
fn at_least_access_ttl(
    name: &'static str,
    value: Duration,
    access_ttl: Duration,
) -> Result<(), ConfigError> {
    if value < access_ttl {
        return Err(ConfigError::Invalid {
            name,
            expected: "at least ACCESS_TOKEN_TTL_SECS".to_string(),
            value: value.as_secs().to_string(),
        });
    }
    Ok(())
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::process())
    }

    /// Reads configuration through `lookup`, so tests need not touch the
    /// (process-global) environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(&Env::new(lookup))
    }

    pub fn read(env: &Env) -> Result<Self, ConfigError> {
        let keys = KeyConfig::read(env)?;
        let access_ttl = env.seconds(
            "ACCESS_TOKEN_TTL_SECS",
            DEFAULT_ACCESS_TTL_SECS,
            limits::ACCESS_TTL_SECS,
        )?;
        let refresh_ttl = env.seconds(
            "REFRESH_TOKEN_TTL_SECS",
            DEFAULT_REFRESH_TTL_SECS,
            limits::REFRESH_TTL_SECS,
        )?;
        at_least_access_ttl("REFRESH_TOKEN_TTL_SECS", refresh_ttl, access_ttl)?;
        let session_max_lifetime = env.seconds(
            "SESSION_MAX_LIFETIME_SECS",
            DEFAULT_SESSION_MAX_LIFETIME_SECS,
            limits::SESSION_MAX_LIFETIME_SECS,
        )?;
        at_least_access_ttl(
            "SESSION_MAX_LIFETIME_SECS",
            session_max_lifetime,
            access_ttl,
        )?;
        let issuer = issuer(env);
        let audience = env
            .get("JWT_AUDIENCE")
            .unwrap_or_else(|| DEFAULT_AUDIENCE.to_string());
        let refresh_audience = refresh_audience(&issuer);
        if audience == refresh_audience {
            return Err(ConfigError::Invalid {
                name: "JWT_AUDIENCE",
                expected: "not the refresh tokens' audience (JWT_ISSUER + /api/auth/refresh)"
                    .to_string(),
                value: audience,
            });
        }
        let session_mode = match env.choice("SESSION_MODE", &["multi", "single"])? {
            "single" => SessionMode::Single,
            _ => SessionMode::Multi,
        };
        Ok(Config {
            table_name: env.required("TABLE_NAME")?,
            dynamodb_endpoint: env.get("DYNAMODB_ENDPOINT"),
            keys,
            issuer,
            audience,
            refresh_audience,
            access_ttl,
            refresh_ttl,
            session_ttl: refresh_ttl,
            session_max_lifetime,
            refresh_reuse_grace: env.seconds(
                "REFRESH_REUSE_GRACE_SECS",
                DEFAULT_REFRESH_REUSE_GRACE_SECS,
                limits::REFRESH_REUSE_GRACE_SECS,
            )?,
            session_mode,
            login_throttle: LoginThrottle {
                max_failures_per_user: env.number(
                    "LOGIN_MAX_FAILURES",
                    DEFAULT_LOGIN_MAX_FAILURES,
                    limits::LOGIN_MAX_FAILURES,
                )?,
                max_failures_per_ip: env.number(
                    "LOGIN_MAX_FAILURES_PER_IP",
                    DEFAULT_LOGIN_MAX_FAILURES_PER_IP,
                    limits::LOGIN_MAX_FAILURES_PER_IP,
                )?,
                window: env.seconds(
                    "LOGIN_FAILURE_WINDOW_SECS",
                    DEFAULT_LOGIN_FAILURE_WINDOW_SECS,
                    limits::LOGIN_FAILURE_WINDOW_SECS,
                )?,
            },
            register_max_per_ip: env.number(
                "REGISTER_MAX_PER_IP",
                DEFAULT_REGISTER_MAX_PER_IP,
                limits::REGISTER_MAX_PER_IP,
            )?,
            allowed_origins: AllowedOrigins::read(env)?,
            audit_retention: Duration::from_secs(
                86_400
                    * env.number(
                        "AUDIT_RETENTION_DAYS",
                        DEFAULT_AUDIT_RETENTION_DAYS,
                        limits::AUDIT_RETENTION_DAYS,
                    )?,
            ),
            mail_from: env.get("MAIL_FROM").filter(|from| !from.trim().is_empty()),
            mail_app_name: env
                .get("MAIL_APP_NAME")
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_MAIL_APP_NAME.to_string()),
            forgot_max_per_email: env.number(
                "FORGOT_MAX_PER_EMAIL",
                DEFAULT_FORGOT_MAX_PER_EMAIL,
                limits::FORGOT_MAX_PER_EMAIL,
            )?,
            forgot_min_response: Duration::from_millis(env.number(
                "FORGOT_MIN_RESPONSE_MS",
                DEFAULT_FORGOT_MIN_RESPONSE_MS,
                limits::FORGOT_MIN_RESPONSE_MS,
            )?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::MIN_SECRET_BYTES;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_apply() {
        let c = config(&[("TABLE_NAME", "t"), ("JWT_SECRET", SECRET)]).unwrap();
        assert_eq!(c.access_ttl, Duration::from_secs(900));
        assert_eq!(c.refresh_ttl, Duration::from_secs(604_800));
        assert_eq!(c.session_ttl, c.refresh_ttl);
        assert_eq!(c.session_max_lifetime, Duration::from_secs(30 * 86_400));
        assert_eq!(c.register_max_per_ip, 20);
        assert_eq!(c.audit_retention, Duration::from_secs(90 * 86_400));
        assert_eq!(c.refresh_audience, "tokengate/api/auth/refresh");
        assert_ne!(c.refresh_audience, c.audience);
        assert_eq!(c.refresh_reuse_grace, Duration::from_secs(10));
        assert_eq!(c.issuer, "tokengate");
        assert_eq!(c.session_mode, SessionMode::Multi);
        assert_eq!(
            c.login_throttle,
            LoginThrottle {
                max_failures_per_user: 5,
                max_failures_per_ip: 50,
                window: Duration::from_secs(900),
            }
        );
        assert!(c.dynamodb_endpoint.is_none());
    }

    #[test]
    fn refuses_short_secret_and_missing_vars() {
        assert_eq!(
            config(&[("TABLE_NAME", "t"), ("JWT_SECRET", "short")]).unwrap_err(),
            ConfigError::SecretTooShort {
                got: 5,
                min: MIN_SECRET_BYTES
            }
        );
        assert_eq!(
            config(&[("TABLE_NAME", "t")]).unwrap_err(),
            ConfigError::Missing("JWT_SECRET")
        );
        assert_eq!(
            config(&[("JWT_SECRET", SECRET)]).unwrap_err(),
            ConfigError::Missing("TABLE_NAME")
        );
    }

    #[test]
    fn rejects_bad_numbers_modes_and_out_of_range_values() {
        let base = [("TABLE_NAME", "t"), ("JWT_SECRET", SECRET)];
        for (k, v) in [
            ("ACCESS_TOKEN_TTL_SECS", "abc"),
            ("ACCESS_TOKEN_TTL_SECS", "0"),
            ("ACCESS_TOKEN_TTL_SECS", "86401"),
            ("REFRESH_TOKEN_TTL_SECS", "-1"),
            ("REFRESH_TOKEN_TTL_SECS", "60"),
            // Once overflowed `now + ttl` on the first login.
            ("REFRESH_TOKEN_TTL_SECS", "18446744073709551615"),
            ("REFRESH_TOKEN_TTL_SECS", "31536001"),
            ("REFRESH_REUSE_GRACE_SECS", "301"),
            ("SESSION_MODE", "both"),
            ("LOGIN_MAX_FAILURES", "0"),
            ("LOGIN_MAX_FAILURES", "1000001"),
            ("LOGIN_MAX_FAILURES_PER_IP", "many"),
            ("LOGIN_FAILURE_WINDOW_SECS", "0"),
            ("LOGIN_FAILURE_WINDOW_SECS", "86401"),
            ("SESSION_MAX_LIFETIME_SECS", "0"),
            ("SESSION_MAX_LIFETIME_SECS", "60"),
            ("SESSION_MAX_LIFETIME_SECS", "31536001"),
            ("REGISTER_MAX_PER_IP", "0"),
            ("AUDIT_RETENTION_DAYS", "0"),
            ("AUDIT_RETENTION_DAYS", "3651"),
            ("JWT_AUDIENCE", "tokengate/api/auth/refresh"),
        ] {
            let mut vars = base.to_vec();
            vars.push((k, v));
            let err = config(&vars).unwrap_err();
            assert!(matches!(err, ConfigError::Invalid { .. }), "{k}={v}");
            assert!(err.to_string().starts_with(k), "{err}");
        }
        let mut strict = base.to_vec();
        strict.push(("REFRESH_REUSE_GRACE_SECS", "0"));
        assert_eq!(config(&strict).unwrap().refresh_reuse_grace, Duration::ZERO);
        let mut longest = base.to_vec();
        longest.extend([
            ("ACCESS_TOKEN_TTL_SECS", "86400"),
            ("REFRESH_TOKEN_TTL_SECS", "31536000"),
        ]);
        assert!(config(&longest).is_ok());
    }

    #[test]
    fn debug_output_redacts_the_secret() {
        let c = config(&[("TABLE_NAME", "t"), ("JWT_SECRET", SECRET)]).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains(SECRET));
        assert!(shown.contains("kid"), "{shown}");
    }
}

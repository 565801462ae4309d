//! One `Config`, read from the environment once at cold start.
//!
//! Every variable is validated up front so a misconfigured function refuses to
//! start with a clear message instead of failing on its first request.

use std::time::Duration;

use crate::keys::KeyConfig;

/// Shortest HS256 secret accepted (RFC 7518 §3.2: key >= hash output size).
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is required but not set")]
    Missing(&'static str),
    #[error("{name} must be {expected}, got {value:?}")]
    Invalid {
        name: &'static str,
        expected: &'static str,
        value: String,
    },
    #[error("JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes (got {0}); generate one with `openssl rand -base64 48`")]
    SecretTooShort(usize),
}

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
    /// `JWT_PRIVATE_KEY`, previous keys).
    pub keys: KeyConfig,
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub refresh_reuse_grace: Duration,
    pub session_mode: SessionMode,
    pub login_throttle: LoginThrottle,
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

// Hand-written so the secret can never reach a log line through `{:?}`.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("table_name", &self.table_name)
            .field("dynamodb_endpoint", &self.dynamodb_endpoint)
            .field("keys", &self.keys)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("refresh_reuse_grace", &self.refresh_reuse_grace)
            .field("session_mode", &self.session_mode)
            .field("login_throttle", &self.login_throttle)
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

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the
    /// (process-global) environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        let seconds =
            |name: &'static str, default: u64, min: u64| -> Result<Duration, ConfigError> {
                match get(name) {
                    None => Ok(Duration::from_secs(default)),
                    Some(raw) => match raw.trim().parse::<u64>() {
                        Ok(v) if v >= min => Ok(Duration::from_secs(v)),
                        _ => Err(ConfigError::Invalid {
                            name,
                            expected: if min == 0 {
                                "a whole number of seconds"
                            } else {
                                "a whole number of seconds, at least 1"
                            },
                            value: raw,
                        }),
                    },
                }
            };

        let count = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(raw) => match raw.trim().parse::<u64>() {
                    Ok(v) if v >= 1 => Ok(v),
                    _ => Err(ConfigError::Invalid {
                        name,
                        expected: "a whole number, at least 1",
                        value: raw,
                    }),
                },
            }
        };

        let keys = KeyConfig::from_lookup(get)?;
        let access_ttl = seconds("ACCESS_TOKEN_TTL_SECS", DEFAULT_ACCESS_TTL_SECS, 1)?;
        let refresh_ttl = seconds("REFRESH_TOKEN_TTL_SECS", DEFAULT_REFRESH_TTL_SECS, 1)?;
        if refresh_ttl < access_ttl {
            return Err(ConfigError::Invalid {
                name: "REFRESH_TOKEN_TTL_SECS",
                expected: "at least ACCESS_TOKEN_TTL_SECS",
                value: refresh_ttl.as_secs().to_string(),
            });
        }
        let session_mode = match get("SESSION_MODE").as_deref().map(str::trim) {
            None | Some("multi") => SessionMode::Multi,
            Some("single") => SessionMode::Single,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "SESSION_MODE",
                    expected: "`multi` or `single`",
                    value: other.to_string(),
                })
            }
        };

        Ok(Config {
            table_name: required("TABLE_NAME")?,
            dynamodb_endpoint: get("DYNAMODB_ENDPOINT"),
            keys,
            issuer: get("JWT_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.to_string()),
            audience: get("JWT_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.to_string()),
            access_ttl,
            refresh_ttl,
            refresh_reuse_grace: seconds(
                "REFRESH_REUSE_GRACE_SECS",
                DEFAULT_REFRESH_REUSE_GRACE_SECS,
                0,
            )?,
            session_mode,
            login_throttle: LoginThrottle {
                max_failures_per_user: count("LOGIN_MAX_FAILURES", DEFAULT_LOGIN_MAX_FAILURES)?,
                max_failures_per_ip: count(
                    "LOGIN_MAX_FAILURES_PER_IP",
                    DEFAULT_LOGIN_MAX_FAILURES_PER_IP,
                )?,
                window: seconds(
                    "LOGIN_FAILURE_WINDOW_SECS",
                    DEFAULT_LOGIN_FAILURE_WINDOW_SECS,
                    1,
                )?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            ConfigError::SecretTooShort(5)
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
    fn rejects_bad_numbers_and_modes() {
        let base = [("TABLE_NAME", "t"), ("JWT_SECRET", SECRET)];
        for (k, v) in [
            ("ACCESS_TOKEN_TTL_SECS", "abc"),
            ("ACCESS_TOKEN_TTL_SECS", "0"),
            ("REFRESH_TOKEN_TTL_SECS", "-1"),
            ("REFRESH_TOKEN_TTL_SECS", "60"),
            ("SESSION_MODE", "both"),
            ("LOGIN_MAX_FAILURES", "0"),
            ("LOGIN_MAX_FAILURES_PER_IP", "many"),
            ("LOGIN_FAILURE_WINDOW_SECS", "0"),
        ] {
            let mut vars = base.to_vec();
            vars.push((k, v));
            assert!(
                matches!(config(&vars), Err(ConfigError::Invalid { .. })),
                "{k}={v}"
            );
        }
        let mut strict = base.to_vec();
        strict.push(("REFRESH_REUSE_GRACE_SECS", "0"));
        assert_eq!(config(&strict).unwrap().refresh_reuse_grace, Duration::ZERO);
    }

    #[test]
    fn debug_output_redacts_the_secret() {
        let c = config(&[("TABLE_NAME", "t"), ("JWT_SECRET", SECRET)]).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains(SECRET));
        assert!(shown.contains("kid"), "{shown}");
    }
}

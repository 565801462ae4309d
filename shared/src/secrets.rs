//! Key material from AWS Secrets Manager, re-read while the function runs.
//!
//! With `KEYS_SECRET_ARN` set, a function reads its key variables
//! (`JWT_SECRET`, `JWT_PRIVATE_KEY`, `JWT_PREVIOUS_PUBLIC_KEYS`, ... the
//! same names as the environment variables) from that secret at cold start,
//! and again once `KEYS_REFRESH_SECS` have passed, on the next request that
//! needs keys: putting a new secret value rotates keys everywhere within
//! that time, without a deploy. The secret's text is a JSON object of those
//! names; a bare PEM is taken as `JWT_PRIVATE_KEY` and any other bare text
//! as `JWT_SECRET`.
//!
//! Without it, the keys come from the environment, as in `make dev` with
//! `DEV_KEYS=env` and the tests. A failed re-read keeps the keys the
//! function has (they were good a moment ago) and is tried again shortly;
//! a failed read at cold start fails the start.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::env::{ConfigError, Env};

/// The variable naming the secret.
pub const KEYS_SECRET_ARN: &str = "KEYS_SECRET_ARN";

/// The key variables: what a secret may set, and what is taken from the
/// environment beneath it.
pub const KEY_VARIABLES: &[&str] = &[
    "JWT_ALGORITHM",
    "JWT_SECRET",
    "JWT_PREVIOUS_SECRET",
    "JWT_PRIVATE_KEY",
    "JWT_PUBLIC_KEY",
    "JWT_PREVIOUS_PUBLIC_KEYS",
    "JWT_PREVIOUS_NOT_AFTER",
];

/// After a failed re-read, the next try comes this much later.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// Reads of one secret: the Secrets Manager client is built once.
#[derive(Clone, Debug)]
pub struct KeySecret {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl KeySecret {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        KeySecret {
            client,
            secret_id: secret_id.into(),
        }
    }

    /// The secret `KEYS_SECRET_ARN` names, through a client from the
    /// standard AWS environment (which honours
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER`, as `make dev` sets for moto).
    pub async fn from_env(env: &Env<'_>) -> Option<Self> {
        let secret_id = env.get(KEYS_SECRET_ARN)?;
        let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let config = aws_sdk_secretsmanager::config::Builder::from(&sdk_config)
            .timeout_config(
                aws_sdk_secretsmanager::config::timeout::TimeoutConfig::builder()
                    // A re-read runs inside a request (the authorizer's
                    // Lambda timeout is 5 s, DynamoDB's budget 2.5 s).
                    .operation_timeout(Duration::from_secs(1))
                    .build(),
            )
            .build();
        Some(Self::new(
            aws_sdk_secretsmanager::Client::from_conf(config),
            secret_id,
        ))
    }

    /// The secret's current value, as key variables.
    pub async fn values(&self) -> Result<HashMap<String, String>, ConfigError> {
        let failed = |cause: String| ConfigError::KeySecret {
            secret: self.secret_id.clone(),
            cause,
        };
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            // The SDK error's chain names the failure, never the value.
            .map_err(|e| failed(crate::error::display_chain(&e)))?;
        let text = out
            .secret_string()
            .ok_or_else(|| failed("the secret has no SecretString".into()))?;
        parse_secret(text).map_err(failed)
    }
}

/// A secret's text as key variables: a JSON object of strings (unknown
/// names refused, so a typo is not a silently missing key), or a bare PEM
/// (`JWT_PRIVATE_KEY`), or a bare secret (`JWT_SECRET`). Errors never quote
/// the text.
pub fn parse_secret(text: &str) -> Result<HashMap<String, String>, String> {
    let text = text.trim();
    if !text.starts_with('{') {
        let name = if text.starts_with("-----BEGIN") {
            "JWT_PRIVATE_KEY"
        } else {
            "JWT_SECRET"
        };
        return Ok(HashMap::from([(name.to_string(), text.to_string())]));
    }
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|_| "the secret is not a JSON object of key variables".to_string())?;
    let mut values = HashMap::new();
    for (name, value) in object {
        if !KEY_VARIABLES.contains(&name.as_str()) {
            return Err(format!(
                "the secret sets `{name}`, which is not one of {}",
                KEY_VARIABLES.join(", ")
            ));
        }
        match value {
            serde_json::Value::String(v) => values.insert(name, v),
            _ => return Err(format!("`{name}` in the secret must be a string")),
        };
    }
    Ok(values)
}

/// The key variables of `env`, taken once (the base beneath a secret).
pub fn key_variables(env: &Env<'_>) -> HashMap<String, String> {
    KEY_VARIABLES
        .iter()
        .filter_map(|name| env.get(name).map(|v| (name.to_string(), v)))
        .collect()
}

/// Something built from key variables (the token keys, the published key
/// set), rebuilt from the secret every `every` when there is one.
pub struct Reloading<T> {
    current: RwLock<Arc<T>>,
    reload: Option<Reload<T>>,
}

type Build<T> = Box<dyn Fn(&Env<'_>) -> Result<T, ConfigError> + Send + Sync>;

struct Reload<T> {
    secret: KeySecret,
    base: HashMap<String, String>,
    build: Build<T>,
    every: Duration,
    next_check_ms: AtomicU64,
    /// One re-read at a time; the others carry on with the current value.
    busy: tokio::sync::Mutex<()>,
}

impl<T> Reloading<T> {
    /// A value that never changes (keys from the environment).
    pub fn fixed(value: T) -> Self {
        Reloading {
            current: RwLock::new(Arc::new(value)),
            reload: None,
        }
    }

    /// Builds the value from `secret`'s variables over `base` now (at
    /// `now_ms`), and again every `every`.
    pub async fn from_secret(
        secret: KeySecret,
        base: HashMap<String, String>,
        every: Duration,
        now_ms: u64,
        build: impl Fn(&Env<'_>) -> Result<T, ConfigError> + Send + Sync + 'static,
    ) -> Result<Self, ConfigError> {
        let values = secret.values().await?;
        let value = build(&layered(&values, &base))?;
        Ok(Reloading {
            current: RwLock::new(Arc::new(value)),
            reload: Some(Reload {
                secret,
                base,
                build: Box::new(build),
                every,
                next_check_ms: AtomicU64::new(now_ms + every.as_millis() as u64),
                busy: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The value in use.
    pub fn current(&self) -> Arc<T> {
        self.current.read().expect("not poisoned").clone()
    }

    /// Re-reads the secret if its time has come (and nobody else is).
    pub async fn refresh_if_due(&self, now_ms: u64) {
        let Some(reload) = &self.reload else { return };
        if now_ms < reload.next_check_ms.load(Ordering::Acquire) {
            return;
        }
        let Ok(_busy) = reload.busy.try_lock() else {
            return;
        };
        let next = match reload.secret.values().await {
            Ok(values) => match (reload.build)(&layered(&values, &reload.base)) {
                Ok(value) => {
                    *self.current.write().expect("not poisoned") = Arc::new(value);
                    tracing::debug!("keys re-read from Secrets Manager");
                    reload.every
                }
                Err(error) => {
                    tracing::error!(%error, "the key secret's new value is unusable; keeping the keys in use");
                    RETRY_AFTER_FAILURE
                }
            },
            Err(error) => {
                tracing::warn!(%error, "re-reading the key secret failed; keeping the keys in use");
                RETRY_AFTER_FAILURE
            }
        };
        reload
            .next_check_ms
            .store(now_ms + next.as_millis() as u64, Ordering::Release);
    }
}

/// `values` over `base`: what the secret sets wins.
fn layered<'a>(values: &'a HashMap<String, String>, base: &'a HashMap<String, String>) -> Env<'a> {
    Env::new(move |name| values.get(name).or_else(|| base.get(name)).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_a_json_object_of_key_variables_or_a_bare_key() {
        let values = parse_secret(r#"{"JWT_SECRET": "s", "JWT_PREVIOUS_SECRET": "p"}"#).unwrap();
        assert_eq!(values["JWT_SECRET"], "s");
        assert_eq!(values["JWT_PREVIOUS_SECRET"], "p");
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4\n-----END PRIVATE KEY-----";
        assert_eq!(parse_secret(pem).unwrap()["JWT_PRIVATE_KEY"], pem);
        assert_eq!(parse_secret(" plain ").unwrap()["JWT_SECRET"], "plain");
        for bad in [
            r#"{"JWT_SECRET": 5}"#,
            r#"{"JWT_SEKRET": "typo"}"#,
            r#"{"JWT_SECRET": "s""#,
        ] {
            let err = parse_secret(bad).unwrap_err();
            assert!(!err.contains("\"s\""), "{err}");
        }
    }
}

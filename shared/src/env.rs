//! Reading settings from the environment: typed, range-checked, with errors
//! that name the variable. Every other settings module reads through this,
//! so a misconfigured function refuses to start with a clear message.

use std::ops::RangeInclusive;
use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is required but not set")]
    Missing(&'static str),
    #[error("{name} must be {expected}, got {value:?}")]
    Invalid {
        name: &'static str,
        expected: String,
        value: String,
    },
    #[error("JWT_SECRET must be at least {min} bytes (got {got}); generate one with `openssl rand -base64 48`")]
    SecretTooShort { got: usize, min: usize },
    /// The key secret (`KEYS_SECRET_ARN`) could not be read or parsed.
    #[error("the key secret {secret} could not be used: {cause}")]
    KeySecret { secret: String, cause: String },
}

impl ConfigError {
    /// An invalid value that must not be echoed (key material).
    pub fn redacted(name: &'static str, expected: impl Into<String>) -> Self {
        ConfigError::Invalid {
            name,
            expected: expected.into(),
            value: "<redacted>".to_string(),
        }
    }
}

/// A source of settings: the process environment, or a map in tests.
/// Blank values count as unset.
pub struct Env<'a> {
    lookup: Box<Lookup<'a>>,
}

/// Name to value, `None` when unset.
type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

impl<'a> Env<'a> {
    pub fn new(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Env {
            lookup: Box::new(lookup),
        }
    }

    pub fn process() -> Env<'static> {
        Env::new(|name| std::env::var(name).ok())
    }

    /// The value of `name`, if set and not blank.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing(name))
    }

    /// A whole number in `range` (default when unset).
    pub fn number(
        &self,
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        let Some(raw) = self.get(name) else {
            return Ok(default);
        };
        match raw.trim().parse::<u64>() {
            Ok(v) if range.contains(&v) => Ok(v),
            _ => Err(ConfigError::Invalid {
                name,
                expected: format!("a whole number from {} to {}", range.start(), range.end()),
                value: raw,
            }),
        }
    }

    /// A whole number of seconds in `range` (default when unset).
    pub fn seconds(
        &self,
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        self.number(name, default, range)
            .map(Duration::from_secs)
            .map_err(|e| match e {
                ConfigError::Invalid {
                    name,
                    expected,
                    value,
                } => ConfigError::Invalid {
                    name,
                    expected: format!("{expected} (seconds)"),
                    value,
                },
                other => other,
            })
    }

    /// One of `choices` (the first is the default).
    pub fn choice(
        &self,
        name: &'static str,
        choices: &[&'static str],
    ) -> Result<&'static str, ConfigError> {
        let Some(raw) = self.get(name) else {
            return Ok(choices[0]);
        };
        choices
            .iter()
            .find(|c| **c == raw.trim())
            .copied()
            .ok_or_else(|| ConfigError::Invalid {
                name,
                expected: format!("one of {}", choices.join(", ")),
                value: raw,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&'static str, &'static str)]) -> Env<'static> {
        let pairs = pairs.to_vec();
        Env::new(move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn numbers_are_range_checked() {
        let e = env(&[("A", "5"), ("B", "0"), ("C", "x"), ("D", " "), ("E", "99")]);
        assert_eq!(e.number("A", 1, 1..=10).unwrap(), 5);
        assert!(matches!(
            e.number("B", 1, 1..=10),
            Err(ConfigError::Invalid { .. })
        ));
        assert!(matches!(
            e.number("C", 1, 1..=10),
            Err(ConfigError::Invalid { .. })
        ));
        assert_eq!(e.number("D", 7, 1..=10).unwrap(), 7, "blank is unset");
        let err = e.seconds("E", 1, 1..=10).unwrap_err().to_string();
        assert_eq!(
            err,
            r#"E must be a whole number from 1 to 10 (seconds), got "99""#
        );
    }

    #[test]
    fn choices() {
        let e = env(&[("M", "single"), ("N", "both")]);
        assert_eq!(e.choice("M", &["multi", "single"]).unwrap(), "single");
        assert_eq!(e.choice("X", &["multi", "single"]).unwrap(), "multi");
        assert!(e.choice("N", &["multi", "single"]).is_err());
    }
}

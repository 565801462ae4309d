//! Metrics in CloudWatch Embedded Metric Format: the `metrics` facade,
//! emitted by `metrics_cloudwatch_embedded` as one JSON log line per
//! dimension set after each invocation. CloudWatch Logs turns the lines into
//! metrics; there is no network call, and nothing to send when nothing
//! happened.
//!
//! Powertools' conventions: the namespace is `POWERTOOLS_METRICS_NAMESPACE`
//! (default `tokengate`), every metric has the dimension `service`
//! (`POWERTOOLS_SERVICE_NAME`, else the Lambda function's name), and each
//! document carries the invocation's `function_request_id`.
//!
//! The operations count what happened ([`count`]) wherever it is decided;
//! with no recorder installed (unit tests, the API test suite) the calls
//! do nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::env::{ConfigError, Env};

pub const DEFAULT_NAMESPACE: &str = "tokengate";
/// The dimension every metric has.
pub const SERVICE_DIMENSION: &str = "service";
/// The dimension of [`Metric::AuthorizerDeny`]: why ([`deny`]).
pub const REASON_DIMENSION: &str = "reason";
/// The authorizer's decision time, in milliseconds (a histogram).
pub const DECISION_LATENCY: &str = "DecisionLatency";
/// The EMF property holding the invocation's request id.
pub const REQUEST_ID_PROPERTY: &str = "function_request_id";

/// Every counter tokengate emits. Names are what CloudWatch shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    LoginSucceeded,
    /// Unknown id or wrong password.
    LoginFailed,
    /// Refused by the per-account or per-source limit, before argon2.
    LoginThrottled,
    /// A sign-in from a device the account had not used recently.
    NewDevice,
    Registered,
    RegisterThrottled,
    RefreshRotated,
    /// The same refresh token again inside the reuse grace: re-issued.
    RefreshReissued,
    /// A rotated refresh token came back: its session was revoked.
    RefreshReplayRevoked,
    Logout,
    LogoutAll,
    /// One of the caller's other sessions, ended by them.
    SessionRevoked,
    PasswordChanged,
    AuthorizerAllow,
    /// Has the [`REASON_DIMENSION`]; counted through [`deny`].
    AuthorizerDeny,
    /// A DynamoDB request that failed or did not answer.
    StoreErrors,
    /// The first invocation of a process.
    ColdStart,
    /// A verification or reset code handed to SES.
    MailSent,
    /// A code that could not be sent (SES refused or no sender).
    MailFailed,
    /// A reset request that was not throttled (known address or not).
    PasswordResetRequested,
    PasswordReset,
    EmailVerified,
    AccountDeleted,
    /// An operator disabled an account.
    AccountDisabled,
    LogoutOthers,
    /// A verification or reset code that did not count.
    CodeRejected,
}

impl Metric {
    pub const ALL: [Metric; 26] = [
        Metric::LoginSucceeded,
        Metric::LoginFailed,
        Metric::LoginThrottled,
        Metric::NewDevice,
        Metric::Registered,
        Metric::RegisterThrottled,
        Metric::RefreshRotated,
        Metric::RefreshReissued,
        Metric::RefreshReplayRevoked,
        Metric::Logout,
        Metric::LogoutAll,
        Metric::SessionRevoked,
        Metric::PasswordChanged,
        Metric::AuthorizerAllow,
        Metric::AuthorizerDeny,
        Metric::StoreErrors,
        Metric::ColdStart,
        Metric::MailSent,
        Metric::MailFailed,
        Metric::PasswordResetRequested,
        Metric::PasswordReset,
        Metric::EmailVerified,
        Metric::AccountDeleted,
        Metric::AccountDisabled,
        Metric::LogoutOthers,
        Metric::CodeRejected,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::LoginSucceeded => "LoginSucceeded",
            Metric::LoginFailed => "LoginFailed",
            Metric::LoginThrottled => "LoginThrottled",
            Metric::NewDevice => "NewDevice",
            Metric::Registered => "Registered",
            Metric::RegisterThrottled => "RegisterThrottled",
            Metric::RefreshRotated => "RefreshRotated",
            Metric::RefreshReissued => "RefreshReissued",
            Metric::RefreshReplayRevoked => "RefreshReplayRevoked",
            Metric::Logout => "Logout",
            Metric::LogoutAll => "LogoutAll",
            Metric::SessionRevoked => "SessionRevoked",
            Metric::PasswordChanged => "PasswordChanged",
            Metric::AuthorizerAllow => "AuthorizerAllow",
            Metric::AuthorizerDeny => "AuthorizerDeny",
            Metric::StoreErrors => "StoreErrors",
            Metric::ColdStart => "ColdStart",
            Metric::MailSent => "MailSent",
            Metric::MailFailed => "MailFailed",
            Metric::PasswordResetRequested => "PasswordResetRequested",
            Metric::PasswordReset => "PasswordReset",
            Metric::EmailVerified => "EmailVerified",
            Metric::AccountDeleted => "AccountDeleted",
            Metric::AccountDisabled => "AccountDisabled",
            Metric::LogoutOthers => "LogoutOthers",
            Metric::CodeRejected => "CodeRejected",
        }
    }
}

/// Counts one `metric`.
pub fn count(metric: Metric) {
    metrics::counter!(metric.name()).increment(1);
}

/// Counts one authorizer deny, with why: a short, fixed name
/// ([`crate::ApiError::metric_reason`]), never anything from the request.
pub fn deny(reason: &'static str) {
    metrics::counter!(Metric::AuthorizerDeny.name(), REASON_DIMENSION => reason).increment(1);
}

/// Records how long the authorizer took to decide.
pub fn decision_latency(elapsed: Duration) {
    metrics::histogram!(DECISION_LATENCY).record(elapsed.as_secs_f64() * 1000.0);
}

/// Where the EMF lines go and what they are labelled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    pub namespace: String,
    pub service: String,
}

impl MetricsSettings {
    /// `POWERTOOLS_METRICS_NAMESPACE` and `POWERTOOLS_SERVICE_NAME` (else
    /// `AWS_LAMBDA_FUNCTION_NAME`, else `default_service`), checked against
    /// CloudWatch's rules.
    pub fn read(env: &Env<'_>, default_service: &str) -> Result<Self, ConfigError> {
        let namespace = env
            .get("POWERTOOLS_METRICS_NAMESPACE")
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
        // CloudWatch: 1-255 ASCII characters of this set, never `AWS/...`.
        let namespace_ok = (1..=255).contains(&namespace.len())
            && namespace
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-_/#: ".contains(&b))
            && !namespace.starts_with("AWS/");
        if !namespace_ok {
            return Err(ConfigError::Invalid {
                name: "POWERTOOLS_METRICS_NAMESPACE",
                value: namespace,
                expected:
                    "1-255 characters of A-Z a-z 0-9 . - _ / # : and space, not starting with AWS/"
                        .into(),
            });
        }
        let service = env
            .get("POWERTOOLS_SERVICE_NAME")
            .or_else(|| env.get("AWS_LAMBDA_FUNCTION_NAME"))
            .unwrap_or_else(|| default_service.to_string());
        // A dimension value: 1-1024 ASCII characters, not starting with `:`.
        let service_ok = (1..=1024).contains(&service.len())
            && service.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
            && !service.starts_with(':');
        if !service_ok {
            return Err(ConfigError::Invalid {
                name: "POWERTOOLS_SERVICE_NAME",
                value: service,
                expected: "1-1024 printable ASCII characters, not starting with `:`".into(),
            });
        }
        Ok(MetricsSettings { namespace, service })
    }
}

/// The process's EMF emitter: installed once, flushed after each
/// invocation.
#[derive(Clone, Copy)]
pub struct Emitter {
    collector: &'static metrics_cloudwatch_embedded::Collector,
}

impl Emitter {
    /// Installs the process-wide recorder. Fails if one is installed
    /// already.
    pub fn install(settings: &MetricsSettings) -> Result<Emitter, String> {
        let collector = metrics_cloudwatch_embedded::Builder::new()
            .cloudwatch_namespace(settings.namespace.clone())
            .with_dimension(SERVICE_DIMENSION, settings.service.clone())
            .init()
            .map_err(|e| e.to_string())?;
        describe();
        collector.set_property("level", emf_level(crate::telemetry::level_from_env()));
        Ok(Emitter { collector })
    }

    /// The EMF lines of everything counted since the last flush (nothing
    /// when nothing was), labelled with `request_id`.
    pub fn flush(&self, request_id: Option<&str>) -> Vec<u8> {
        match request_id {
            Some(id) => self.collector.set_property(REQUEST_ID_PROPERTY, id),
            None => self.collector.remove_property(REQUEST_ID_PROPERTY),
        };
        let mut lines = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = self.collector.flush(&mut lines);
        lines
    }

    /// [`Emitter::flush`] to stdout, where Lambda sends it to CloudWatch
    /// Logs: one write, so no other log line lands inside it.
    pub fn flush_to_stdout(&self, request_id: Option<&str>) {
        use std::io::Write;
        let lines = self.flush(request_id);
        if !lines.is_empty() {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&lines).and_then(|()| out.flush());
        }
    }
}

/// The `level` of the EMF lines: Lambda's log-level filter reads it (a
/// line without one counts as INFO), so at `ApplicationLogLevel` WARN or
/// ERROR the metrics take that level and still reach CloudWatch.
pub fn emf_level(filter: tracing_subscriber::filter::LevelFilter) -> &'static str {
    use tracing_subscriber::filter::LevelFilter;
    if filter == LevelFilter::ERROR || filter == LevelFilter::OFF {
        "ERROR"
    } else if filter == LevelFilter::WARN {
        "WARN"
    } else {
        "INFO"
    }
}

/// Units, so CloudWatch shows counts as counts and the latency in ms.
fn describe() {
    for metric in Metric::ALL {
        metrics::describe_counter!(metric.name(), metrics::Unit::Count, "");
    }
    metrics::describe_histogram!(DECISION_LATENCY, metrics::Unit::Milliseconds, "");
}

/// What EMF lines add up to: per metric name, the sum of its values (a
/// histogram's values summed too), and how many documents and bytes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tally {
    pub totals: BTreeMap<String, f64>,
    pub documents: u64,
    pub bytes: u64,
}

impl Tally {
    /// Adds `lines` (EMF documents, one per line; anything else is skipped).
    pub fn add(&mut self, lines: &[u8]) {
        for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let Ok(doc) = serde_json::from_slice::<serde_json::Value>(line) else {
                continue;
            };
            let Some(defs) = doc.pointer("/_aws/CloudWatchMetrics") else {
                continue;
            };
            self.documents += 1;
            self.bytes += line.len() as u64 + 1;
            let names = defs
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d.get("Metrics")?.as_array())
                .flatten()
                .filter_map(|m| m.get("Name")?.as_str());
            for name in names {
                let value = match doc.get(name) {
                    Some(serde_json::Value::Array(values)) => {
                        values.iter().filter_map(|v| v.as_f64()).sum()
                    }
                    Some(v) => v.as_f64().unwrap_or(0.0),
                    None => 0.0,
                };
                *self.totals.entry(name.to_string()).or_default() += value;
            }
        }
    }

    /// One line: `LoginSucceeded=3 RefreshRotated=5 ... (N EMF documents, B bytes)`;
    /// the latency as its number of samples.
    pub fn summary(&self) -> String {
        let counts: Vec<String> = self
            .totals
            .iter()
            .filter(|(name, _)| name.as_str() != DECISION_LATENCY)
            .map(|(name, total)| format!("{name}={total}"))
            .collect();
        let counts = match counts.is_empty() {
            true => "none".to_string(),
            false => counts.join(" "),
        };
        format!(
            "{counts} ({} EMF documents, {} bytes)",
            self.documents, self.bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<MetricsSettings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = Env::new(|k| map.get(k).cloned());
        MetricsSettings::read(&env, "login")
    }

    #[test]
    fn namespace_and_service_default_and_are_checked() {
        assert_eq!(
            settings(&[]).unwrap(),
            MetricsSettings {
                namespace: "tokengate".into(),
                service: "login".into()
            }
        );
        let named = settings(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "stack-Login-abc"),
            ("POWERTOOLS_METRICS_NAMESPACE", "Acme/Auth"),
        ])
        .unwrap();
        assert_eq!(named.service, "stack-Login-abc");
        assert_eq!(named.namespace, "Acme/Auth");
        let long = "n".repeat(256);
        for bad in [
            ("POWERTOOLS_METRICS_NAMESPACE", long.as_str()),
            ("POWERTOOLS_METRICS_NAMESPACE", "AWS/Lambda"),
            ("POWERTOOLS_METRICS_NAMESPACE", "tökengate"),
            ("POWERTOOLS_SERVICE_NAME", ":login"),
            ("POWERTOOLS_SERVICE_NAME", "log\nin"),
        ] {
            let err = settings(&[bad]).unwrap_err();
            assert!(err.to_string().starts_with(bad.0), "{err}");
        }
    }

    #[test]
    fn emf_lines_pass_any_log_level_filter() {
        use tracing_subscriber::filter::LevelFilter;
        assert_eq!(emf_level(LevelFilter::TRACE), "INFO");
        assert_eq!(emf_level(LevelFilter::INFO), "INFO");
        assert_eq!(emf_level(LevelFilter::WARN), "WARN");
        assert_eq!(emf_level(LevelFilter::ERROR), "ERROR");
        assert_eq!(emf_level(LevelFilter::OFF), "ERROR");
    }

    #[test]
    fn metric_names_are_unique() {
        let mut names: Vec<_> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
    }

    #[test]
    fn a_tally_sums_counters_and_histograms_and_skips_other_lines() {
        let mut tally = Tally::default();
        let emf = br#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"t","Dimensions":[["service"]],"Metrics":[{"Name":"LoginSucceeded","Unit":"Count"},{"Name":"DecisionLatency","Unit":"Milliseconds"}]}]},"service":"x","LoginSucceeded":2,"DecisionLatency":[1.5,2.5]}"#;
        let mut lines = emf.to_vec();
        lines.extend_from_slice(b"\n{\"level\":\"INFO\",\"message\":\"login\"}\nnot json\n");
        lines.extend_from_slice(emf);
        lines.push(b'\n');
        tally.add(&lines);
        assert_eq!(tally.documents, 2);
        assert_eq!(tally.totals["LoginSucceeded"], 4.0);
        assert_eq!(tally.totals["DecisionLatency"], 8.0);
        assert_eq!(tally.bytes, 2 * (emf.len() as u64 + 1));
        assert!(
            tally.summary().starts_with("LoginSucceeded=4 ("),
            "{}",
            tally.summary()
        );
        assert_eq!(
            Tally::default().summary(),
            "none (0 EMF documents, 0 bytes)"
        );
    }
}

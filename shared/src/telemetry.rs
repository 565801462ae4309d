//! Logging set-up shared by every function and the local server.
//!
//! Same behaviour as lambda_runtime's default subscriber (level from
//! `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO; JSON lines when
//! `AWS_LAMBDA_LOG_FORMAT=JSON`, as the template sets), with one difference:
//! the crates that log whole requests and responses at DEBUG/TRACE are capped
//! at INFO, because those bodies are DynamoDB items (password hashes) and
//! API Gateway events (bearer tokens). Turning the level up to debug
//! tokengate never puts a secret in CloudWatch.

use tracing_subscriber::filter::{EnvFilter, LevelFilter};

/// Crates that log wire-level bodies below INFO.
const WIRE_TARGETS: &[&str] = &[
    "aws_config",
    "aws_runtime",
    "aws_sdk_dynamodb",
    // Its responses are key material.
    "aws_sdk_secretsmanager",
    "aws_sdk_sso",
    "aws_sdk_ssooidc",
    "aws_sdk_sts",
    "aws_smithy_http_client",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_types",
    "h2",
    "hyper",
    "hyper_util",
    "lambda_http",
    "lambda_runtime",
    "lambda_runtime_api_client",
    "rustls",
];

/// `level` for everything, capped at INFO for [`WIRE_TARGETS`].
pub fn filter(level: LevelFilter) -> EnvFilter {
    let wire = level.min(LevelFilter::INFO);
    WIRE_TARGETS.iter().fold(
        EnvFilter::default().add_directive(level.into()),
        |filter, target| {
            filter.add_directive(
                format!("{target}={wire}")
                    .parse()
                    .expect("a valid directive"),
            )
        },
    )
}

/// How a session appears in logs: the first 12 hex digits (48 bits) of
/// the SHA-256 of its id. Enough to follow one session through the logs;
/// useless for presenting it anywhere (a session id is a bearer-ish
/// secret: it names the item a token is checked against, and operators'
/// log readers are not its owners).
pub fn session_tag(session_id: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(session_id.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The level Lambda's advanced logging controls (or `RUST_LOG`) ask for.
pub fn level_from_env() -> LevelFilter {
    std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|level| level.trim().parse().ok())
        .unwrap_or(LevelFilter::INFO)
}

/// Installs the process-wide subscriber; call once, first thing in `main`.
pub fn init() {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter(level_from_env()));
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_tags_are_short_stable_and_not_the_id() {
        let id = "0b6f2c1e-8a8f-4c44-9d55-6a1b2c3d4e5f";
        let tag = session_tag(id);
        assert_eq!(tag.len(), 12);
        assert_eq!(tag, session_tag(id));
        assert_ne!(tag, session_tag("another"));
        assert!(!id.contains(&tag));
    }

    #[test]
    fn wire_crates_never_go_below_info() {
        let shown = filter(LevelFilter::TRACE).to_string();
        assert!(shown.contains("aws_smithy_runtime=info"), "{shown}");
        assert!(shown.contains("lambda_runtime=info"), "{shown}");
        let quiet = filter(LevelFilter::WARN).to_string();
        assert!(quiet.contains("aws_smithy_runtime=warn"), "{quiet}");
    }
}

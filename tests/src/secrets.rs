//! A local Secrets Manager for the tests: the moto server named by
//! `MOTO_ENDPOINT` (what `make test` starts), or one this process starts
//! on a free port and stops when it exits; clients of the real SDK for it.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_secretsmanager::Client;

use crate::dynamodb::{free_port, repo_root, wait_for_port};

static ENDPOINT: OnceLock<String> = OnceLock::new();
static WATCHDOG: Mutex<Option<std::process::Child>> = Mutex::new(None);

/// The moto endpoint for this test process.
pub fn moto_endpoint() -> &'static str {
    ENDPOINT.get_or_init(|| {
        if let Ok(endpoint) = std::env::var("MOTO_ENDPOINT") {
            return endpoint;
        }
        let port = free_port();
        let script = repo_root().join("scripts/moto.sh");
        // Stopped when this process exits and the pipe closes.
        let child = std::process::Command::new("sh")
            .arg("-c")
            .arg(r#"bash "$0" run "$1" >/dev/null 2>&1 & pid=$!; read _; kill $pid"#)
            .arg(&script)
            .arg(port.to_string())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("start moto");
        *WATCHDOG.lock().unwrap() = Some(child);
        assert!(
            wait_for_port(port, Duration::from_secs(120)),
            "moto did not start on port {port}"
        );
        format!("http://127.0.0.1:{port}")
    })
}

/// A Secrets Manager client of the real SDK, for the local moto server.
pub fn secrets_client() -> Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .endpoint_url(moto_endpoint())
        .build();
    Client::from_conf(config)
}

/// Creates secret `name` with `value` (a JSON object of key variables);
/// its ARN.
pub async fn create_key_secret(client: &Client, name: &str, value: &serde_json::Value) -> String {
    let out = client
        .create_secret()
        .name(name)
        .secret_string(value.to_string())
        .send()
        .await
        .expect("create the secret in moto");
    out.arn().expect("an ARN").to_string()
}

/// Puts a new current value into secret `arn`, as an operator rotating.
pub async fn put_key_secret(client: &Client, arn: &str, value: &serde_json::Value) {
    client
        .put_secret_value()
        .secret_id(arn)
        .secret_string(value.to_string())
        .send()
        .await
        .expect("put a new secret value in moto");
}

//! `tokengate::lambda`'s loop as Lambda runs it: this test binary re-runs
//! itself as the authorizer function (a child process), against the Lambda
//! Runtime API emulator and DynamoDB Local, and reads what it writes to
//! stdout, where Lambda sends it to CloudWatch Logs.

#![recursion_limit = "256"]

use std::io::Read;
use std::process::{Child, Command, Stdio};

use integration_tests::emf::parse_lines;
use integration_tests::runtime::{next, start_emulator, Runtime, Seen};
use integration_tests::*;
use serde_json::Value;
use tokio::sync::mpsc;

/// Set in the child: run as the function instead of as the test.
const AS_FUNCTION: &str = "TOKENGATE_TEST_AS_FUNCTION";

/// The child's side: the authorizer's `main`, verbatim.
fn run_as_function() -> ! {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let result = runtime.block_on(tokengate::lambda::run_events(
        tokengate::AuthService::start(),
        authorizer_fn::handle,
    ));
    std::process::exit(if result.is_ok() { 0 } else { 1 })
}

/// This test binary, re-run as the function `name` against `runtime_api`.
fn spawn_function(test: &str, env: &[(&str, String)]) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env_clear()
        .env(AS_FUNCTION, "1")
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn lambda_env(app: &TestApp, runtime_api: String) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        (
            "AWS_LAMBDA_FUNCTION_NAME",
            "stack-AuthorizerFunction-x1".into(),
        ),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "test".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "test".into()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
        // The template's LogLevel at WARN: metrics must still get through.
        ("AWS_LAMBDA_LOG_LEVEL", "WARN".into()),
        ("POWERTOOLS_SERVICE_NAME", "authorizer".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "local".into()),
        ("AWS_SECRET_ACCESS_KEY", "local".into()),
        ("DYNAMODB_ENDPOINT", endpoint().to_string()),
        ("TABLE_NAME", app.store.table().to_string()),
        ("JWT_SECRET", TEST_SECRET.to_string()),
    ]
}

fn stdout_of(mut child: Child) -> String {
    let _ = child.kill();
    child.wait().unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    out
}

#[test]
fn each_invocation_writes_its_emf_metrics_with_its_request_id() {
    if std::env::var(AS_FUNCTION).is_ok() {
        run_as_function();
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let app = TestApp::new().await;
        app.register("alice").await;
        let (access, _) = app.login("alice").await;
        let events = vec![
            authorizer_v2_event(Some(&format!("Bearer {access}"))),
            authorizer_v2_event(None),
            authorizer_v2_event(Some(&format!("Bearer {access}"))),
        ];
        let (seen_tx, mut seen) = mpsc::unbounded_channel();
        let address = start_emulator(Runtime::new(events, seen_tx)).await;
        let child = spawn_function(
            "each_invocation_writes_its_emf_metrics_with_its_request_id",
            &lambda_env(&app, address.to_string()),
        );
        let mut request_ids = Vec::new();
        for expected in [true, false, true] {
            let Seen::Next { request_id, .. } = next(&mut seen).await else {
                panic!("expected a /next poll");
            };
            match next(&mut seen).await {
                Seen::Response { body, .. } => assert_eq!(body["isAuthorized"], expected),
                other => panic!("{other:?}"),
            }
            request_ids.push(request_id);
        }
        // The next poll: every invocation has been answered and flushed.
        let Seen::Next { .. } = next(&mut seen).await else {
            panic!("expected a /next poll");
        };
        // The test harness's own "test ... " prefix shares the first line.
        let stdout: String = stdout_of(child)
            .lines()
            .filter_map(|line| line.find('{').map(|at| format!("{}\n", &line[at..])))
            .collect();

        let mut by_request: Vec<(String, Vec<String>)> = Vec::new();
        for line in stdout.lines().filter(|l| l.starts_with(r#"{"_aws""#)) {
            let metrics = parse_lines(line.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            let doc: Value = serde_json::from_str(line).unwrap();
            let id = doc["function_request_id"].as_str().unwrap().to_string();
            // What Lambda's log-level filter reads.
            assert_eq!(doc["level"], "WARN", "{line}");
            for metric in metrics {
                assert_eq!(metric.namespace, "tokengate");
                assert_eq!(
                    metric.dimensions[0],
                    ("service".into(), "authorizer".into())
                );
                match by_request.iter_mut().find(|(r, _)| *r == id) {
                    Some((_, names)) => names.push(metric.name),
                    None => by_request.push((id.clone(), vec![metric.name])),
                }
            }
        }
        for (_, names) in by_request.iter_mut() {
            names.sort();
        }
        assert_eq!(
            by_request,
            [
                (
                    request_ids[0].clone(),
                    vec![
                        "AuthorizerAllow".into(),
                        "ColdStart".into(),
                        "DecisionLatency".into()
                    ]
                ),
                (
                    request_ids[1].clone(),
                    vec!["AuthorizerDeny".into(), "DecisionLatency".into()]
                ),
                (
                    request_ids[2].clone(),
                    vec!["AuthorizerAllow".into(), "DecisionLatency".into()]
                ),
            ],
            "{stdout}"
        );
        // Every line on stdout is JSON (EMF or a log line) and no EMF line
        // is broken by another write.
        for line in stdout.lines() {
            serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        }
        assert!(!stdout.contains(&access), "the token reached stdout");
    });
}

#[test]
fn a_bad_metrics_namespace_fails_the_cold_start_with_its_name() {
    if std::env::var(AS_FUNCTION).is_ok() {
        run_as_function();
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let app = TestApp::new().await;
        let (seen_tx, _seen) = mpsc::unbounded_channel();
        let address = start_emulator(Runtime::new(Vec::new(), seen_tx)).await;
        let mut env = lambda_env(&app, address.to_string());
        env.push(("POWERTOOLS_METRICS_NAMESPACE", "AWS/Lambda".into()));
        let mut child = spawn_function(
            "a_bad_metrics_namespace_fails_the_cold_start_with_its_name",
            &env,
        );
        let status = child.wait().unwrap();
        assert!(!status.success());
        let stdout = stdout_of(child);
        assert!(
            stdout.contains("POWERTOOLS_METRICS_NAMESPACE must be"),
            "{stdout}"
        );
    });
}

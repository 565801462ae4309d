//! `cargo bench -p integration-tests --bench cold_start`
//!
//! Each function binary started against a minimal Lambda Runtime API
//! emulator (below), as Lambda starts it: exec -> first `/next` poll is the
//! init phase; then the first invocation (happy path, on DynamoDB Local) and
//! a second, warm one; peak RSS (`VmHWM`) once the second has answered.
//!
//! The binaries come from `TOKENGATE_BIN_DIR` (default `target/release`;
//! `make bench` builds them with the bench profile, then the release profile
//! for a few). Runs `COLD_START_RUNS` (5) cold starts per function (those
//! named in `COLD_START_FUNCTIONS`, comma-separated, or all) and prints
//! medians.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use integration_tests::emf::parse_lines;
use integration_tests::runtime::{next, start_emulator, Runtime, Seen};
use integration_tests::*;
use serde_json::{json, Value};
use tokio::sync::mpsc;

const FUNCTIONS: &[&str] = &[
    "authorizer",
    "validate",
    "activity",
    "login",
    "refresh",
    "logout",
    "register",
    "sessions",
    "password",
    "account",
    "jwks",
    "todos",
];

/// Invocations per cold start: the first, then warm ones.
const INVOCATIONS: usize = 4;

/// One cold start of `function`: init, first and second invocation, RSS.
struct ColdStart {
    init: Duration,
    first: Duration,
    warm: Duration,
    peak_rss_kib: u64,
    /// EMF bytes the first invocation wrote (its `ColdStart` included),
    /// and the median of the warm ones.
    emf_first_bytes: usize,
    emf_warm_bytes: usize,
}

/// The EMF documents of `stdout` by request id: bytes written, and whether
/// `ColdStart` was among them. Every line is checked against the
/// specification: a function writing broken EMF fails the benchmark.
fn emf_by_request(stdout: &str) -> std::collections::HashMap<String, (usize, bool)> {
    let mut by_request = std::collections::HashMap::new();
    for line in stdout.lines().filter(|l| l.starts_with(r#"{"_aws""#)) {
        let metrics = parse_lines(line.as_bytes()).unwrap_or_else(|e| panic!("not EMF: {e}"));
        let doc: Value = serde_json::from_str(line).unwrap();
        let id = doc["function_request_id"]
            .as_str()
            .expect("every EMF document names its invocation")
            .to_string();
        let entry = by_request.entry(id).or_insert((0, false));
        entry.0 += line.len() + 1;
        entry.1 |= metrics.iter().any(|m| m.name == "ColdStart");
    }
    by_request
}

async fn cold_start(binary: &PathBuf, env: &[(String, String)], events: Vec<Value>) -> ColdStart {
    let invocations = events.len();
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let runtime = Runtime::new(events, seen_tx);
    let address = start_emulator(runtime.clone()).await;
    let started = std::time::Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    let mut timings = Vec::new();
    let mut request_ids = Vec::new();
    for _ in 0..invocations {
        let Seen::Next { handed, request_id } = next(&mut seen).await else {
            panic!("expected a /next poll")
        };
        match next(&mut seen).await {
            Seen::Response { at, body } => {
                let status = body
                    .get("statusCode")
                    .and_then(Value::as_u64)
                    .unwrap_or(200);
                let authorized = body.get("isAuthorized").and_then(Value::as_bool);
                assert!(
                    status < 300 && authorized != Some(false),
                    "{}: not the happy path: {body}",
                    binary.display()
                );
                timings.push((handed, at));
                request_ids.push(request_id);
            }
            Seen::Error { body } => panic!("{}: the function failed: {body}", binary.display()),
            Seen::Next { .. } => panic!("{}: polled again without answering", binary.display()),
        }
    }
    // The third poll: both invocations are done.
    let Seen::Next { .. } = next(&mut seen).await else {
        panic!("expected a /next poll")
    };
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let peak_rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    child.kill().unwrap();
    child.wait().unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let emf = emf_by_request(&stdout);
    let (emf_first_bytes, cold) = emf.get(&request_ids[0]).copied().unwrap_or_default();
    assert!(
        cold,
        "{}: no ColdStart metric on the first invocation",
        binary.display()
    );
    let mut warm_bytes = Vec::new();
    for id in &request_ids[1..] {
        let (bytes, cold) = emf.get(id).copied().unwrap_or_default();
        assert!(
            !cold,
            "{}: ColdStart on a warm invocation",
            binary.display()
        );
        warm_bytes.push(bytes);
    }
    warm_bytes.sort();
    let (first_handed, first_done) = timings[0];
    let warm = timings[1..]
        .iter()
        .map(|(handed, done)| *done - *handed)
        .collect();
    ColdStart {
        init: first_handed - started,
        first: first_done - first_handed,
        warm: median(warm),
        peak_rss_kib,
        emf_first_bytes,
        emf_warm_bytes: warm_bytes[warm_bytes.len() / 2],
    }
}

/// The happy-path events for `function`, each with its own fresh user.
async fn events_for(function: &str, app: &TestApp, run: usize) -> Vec<Value> {
    let mut events = Vec::new();
    for i in 0..INVOCATIONS {
        let id = format!("{function}-{run}-{i}");
        let tokens = if matches!(function, "register" | "login" | "jwks" | "todos") {
            None
        } else {
            app.register(&id).await;
            Some(app.login(&id).await)
        };
        let bearer = tokens.as_ref().map(|(a, _)| format!("Bearer {a}"));
        let bearer = || vec![("authorization", bearer.as_deref().unwrap())];
        let event = match function {
            "authorizer" => authorizer_v2_event(Some(bearer()[0].1)),
            "validate" => event_json("GET", "/api/auth/validate", &bearer(), None),
            "activity" => event_json("GET", "/api/auth/activity", &bearer(), None),
            "account" => event_json("GET", "/api/auth/account", &bearer(), None),
            "refresh" => {
                let refresh = format!("Bearer {}", tokens.as_ref().unwrap().1);
                let mut headers = bearer();
                headers.push(("refresh-token", &refresh));
                event_json("POST", "/api/auth/refresh", &headers, None)
            }
            "logout" => event_json("POST", "/api/auth/logout", &bearer(), None),
            "sessions" => event_json("GET", "/api/auth/sessions", &bearer(), None),
            "password" => {
                let body =
                    json!({"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"});
                event_json(
                    "POST",
                    "/api/auth/password",
                    &bearer(),
                    Some(&body.to_string()),
                )
            }
            "register" => {
                let body = json!({"id": id, "password": PASSWORD, "name": "Cold Start"});
                event_json("POST", "/api/auth/register", &[], Some(&body.to_string()))
            }
            "login" => {
                if i == 0 {
                    app.register(&format!("login-{run}")).await;
                }
                let body = json!({"id": format!("login-{run}"), "password": PASSWORD});
                event_json("POST", "/api/auth/login", &[], Some(&body.to_string()))
            }
            "jwks" => event_json("GET", "/.well-known/jwks.json", &[], None),
            "todos" => {
                let mut event = event_json("GET", "/api/todos", &[], None);
                event["requestContext"]["authorizer"] =
                    json!({"lambda": {"userId": "alice", "seq": 1, "sessionId": "s"}});
                event
            }
            other => unreachable!("{other}"),
        };
        events.push(event);
    }
    events
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::var("COLD_START_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let bin_dir = std::env::var("TOKENGATE_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release"));
    let lifted = [
        ("LOGIN_MAX_FAILURES", "100000"),
        ("LOGIN_MAX_FAILURES_PER_IP", "100000"),
        ("REGISTER_MAX_PER_IP", "100000"),
    ];
    let app = TestApp::with_env(&lifted).await;
    let todos_table = format!("{}-todos", app.store.table());
    todos_fn::ensure_table(app.store.client(), &todos_table)
        .await
        .expect("todos table");
    let mut env: Vec<(String, String)> = [
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "bench"),
        ("AWS_LAMBDA_LOG_LEVEL", "warn"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("DYNAMODB_ENDPOINT", endpoint()),
        ("TABLE_NAME", app.store.table()),
        ("TODOS_TABLE_NAME", &todos_table),
        ("JWT_SECRET", TEST_SECRET),
    ]
    .iter()
    .chain(lifted.iter())
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.push(("AWS_LAMBDA_FUNCTION_NAME".into(), String::new()));

    println!(
        "cold start per function, median of {runs} (binaries: {})",
        bin_dir.display()
    );
    println!(
        "  function        init    1st invoke   warm invoke   peak RSS   binary   EMF 1st/warm"
    );
    let mut results = serde_json::Map::new();
    let only = std::env::var("COLD_START_FUNCTIONS").unwrap_or_default();
    let only: Vec<&str> = only.split(',').filter(|f| !f.is_empty()).collect();
    for function in FUNCTIONS
        .iter()
        .filter(|f| only.is_empty() || only.contains(f))
    {
        let binary = bin_dir.join(function);
        env.last_mut().unwrap().1 = format!("tokengate-{function}");
        let (mut init, mut first, mut warm, mut rss) = (Vec::new(), Vec::new(), Vec::new(), 0);
        let mut emf = (0, 0);
        for run in 0..runs {
            let events = events_for(function, &app, run).await;
            let start = cold_start(&binary, &env, events).await;
            init.push(start.init);
            first.push(start.first);
            warm.push(start.warm);
            rss = rss.max(start.peak_rss_kib);
            emf = (start.emf_first_bytes, start.emf_warm_bytes);
        }
        let size = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let (init, first, warm) = (median(init), median(first), median(warm));
        println!(
            "  {function:<12} {:>6.1} ms {:>9.2} ms {:>10.2} ms {:>7.1} MiB {:>6.1} MiB   {:>4} B/{:>4} B",
            ms(init),
            ms(first),
            ms(warm),
            rss as f64 / 1024.0,
            size as f64 / 1048576.0,
            emf.0,
            emf.1
        );
        results.insert(
            function.to_string(),
            json!({
                "init_ms": ms(init),
                "first_invocation_ms": ms(first),
                "warm_invocation_ms": ms(warm),
                "peak_rss_kib": rss,
                "binary_bytes": size,
                "emf_first_invocation_bytes": emf.0,
                "emf_warm_invocation_bytes": emf.1,
            }),
        );
    }
    write_bench_result(
        "cold_start",
        &json!({"runs": runs, "bin_dir": bin_dir, "functions": results}),
    );
}

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

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use integration_tests::*;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};

const FUNCTIONS: &[&str] = &[
    "authorizer",
    "validate",
    "login",
    "refresh",
    "logout",
    "register",
    "sessions",
    "password",
    "jwks",
    "todos",
];

/// Invocations per cold start: the first, then warm ones.
const INVOCATIONS: usize = 4;

/// What the emulator saw, in order.
#[derive(Debug)]
enum Seen {
    /// A `/next` poll arrived (its event, if queued, goes out at once).
    Next {
        handed: Instant,
    },
    Response {
        at: Instant,
        body: Value,
    },
    Error {
        body: String,
    },
}

/// The events to hand out, and who waits for them.
struct Runtime {
    events: Mutex<VecDeque<Value>>,
    ready: Notify,
    seen: mpsc::UnboundedSender<Seen>,
}

impl Runtime {
    async fn next_event(&self) -> Value {
        loop {
            let notified = self.ready.notified();
            if let Some(event) = self.events.lock().unwrap().pop_front() {
                return event;
            }
            notified.await;
        }
    }
}

async fn runtime_api(
    runtime: Arc<Runtime>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_string();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if path.ends_with("/invocation/next") {
        let _ = runtime.seen.send(Seen::Next {
            handed: Instant::now(),
        });
        let event = runtime.next_event().await;
        let deadline = tokengate::clock::Clock::now_millis(&tokengate::clock::SystemClock) + 30_000;
        return Ok(Response::builder()
            .header(
                "lambda-runtime-aws-request-id",
                uuid::Uuid::new_v4().to_string(),
            )
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench",
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-5759e988-bd862e3fe1be46a994272793",
            )
            .body(Full::new(Bytes::from(event.to_string())))
            .unwrap());
    }
    let seen = if path.ends_with("/response") {
        Seen::Response {
            at: Instant::now(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        }
    } else {
        Seen::Error {
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    };
    let _ = runtime.seen.send(seen);
    Ok(Response::builder()
        .status(202)
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap())
}

async fn start_emulator(runtime: Arc<Runtime>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let runtime = runtime.clone();
            tokio::spawn(async move {
                let service = service_fn(move |r| runtime_api(runtime.clone(), r));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    address
}

async fn next(seen: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    match tokio::time::timeout(Duration::from_secs(30), seen.recv()).await {
        Ok(Some(seen)) => seen,
        other => panic!("the function went quiet: {other:?}"),
    }
}

/// One cold start of `function`: init, first and second invocation, RSS.
struct ColdStart {
    init: Duration,
    first: Duration,
    warm: Duration,
    peak_rss_kib: u64,
}

async fn cold_start(binary: &PathBuf, env: &[(String, String)], events: Vec<Value>) -> ColdStart {
    let invocations = events.len();
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let runtime = Arc::new(Runtime {
        events: Mutex::new(events.into_iter().collect()),
        ready: Notify::new(),
        seen: seen_tx,
    });
    let address = start_emulator(runtime.clone()).await;
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    let mut timings = Vec::new();
    for _ in 0..invocations {
        let Seen::Next { handed } = next(&mut seen).await else {
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
    println!("  function        init    1st invoke   warm invoke   peak RSS   binary");
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
        for run in 0..runs {
            let events = events_for(function, &app, run).await;
            let start = cold_start(&binary, &env, events).await;
            init.push(start.init);
            first.push(start.first);
            warm.push(start.warm);
            rss = rss.max(start.peak_rss_kib);
        }
        let size = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let (init, first, warm) = (median(init), median(first), median(warm));
        println!(
            "  {function:<12} {:>6.1} ms {:>9.2} ms {:>10.2} ms {:>7.1} MiB {:>6.1} MiB",
            ms(init),
            ms(first),
            ms(warm),
            rss as f64 / 1024.0,
            size as f64 / 1048576.0
        );
        results.insert(
            function.to_string(),
            json!({
                "init_ms": ms(init),
                "first_invocation_ms": ms(first),
                "warm_invocation_ms": ms(warm),
                "peak_rss_kib": rss,
                "binary_bytes": size,
            }),
        );
    }
    write_bench_result(
        "cold_start",
        &json!({"runs": runs, "bin_dir": bin_dir, "functions": results}),
    );
}

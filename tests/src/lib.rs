//! Test harness: real DynamoDB Local, a fresh table per test, and real
//! API Gateway events for the handlers.
//!
//! DynamoDB Local is the one named by `DYNAMODB_ENDPOINT` (what `make test`
//! starts once for all test binaries) or, when that is unset, one this
//! process starts itself on a free port and stops when it exits.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_dynamodb::Client;
use serde_json::{json, Value};
use tokengate::store::{Resilience, Store};
use tokengate::{AuthService, Config};

pub const TEST_SECRET: &str = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
pub const PASSWORD: &str = "correct horse battery staple";

static ENDPOINT: OnceLock<String> = OnceLock::new();
/// Keeps the watchdog's stdin open: when this process exits, the pipe
/// closes and the watchdog stops DynamoDB Local.
static WATCHDOG: Mutex<Option<Child>> = Mutex::new(None);

fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// Starts DynamoDB Local on `port`, tied to this process's lifetime.
pub fn spawn_dynamodb_local(port: u16) -> Child {
    let script = repo_root().join("scripts/dynamodb-local.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg("install")
        .stdout(Stdio::null())
        .status()
        .expect("run scripts/dynamodb-local.sh install");
    assert!(status.success(), "installing DynamoDB Local failed");
    Command::new("sh")
        .arg("-c")
        .arg(r#"bash "$0" run "$1" >/dev/null 2>&1 & pid=$!; read _; kill $pid"#)
        .arg(&script)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .spawn()
        .expect("start DynamoDB Local")
}

/// Waits until something listens on `port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The DynamoDB Local endpoint for this test process.
pub fn endpoint() -> &'static str {
    ENDPOINT.get_or_init(|| {
        if let Ok(endpoint) = std::env::var("DYNAMODB_ENDPOINT") {
            return endpoint;
        }
        let port = free_port();
        let child = spawn_dynamodb_local(port);
        *WATCHDOG.lock().unwrap() = Some(child);
        assert!(
            wait_for_port(port, Duration::from_secs(90)),
            "DynamoDB Local did not start on port {port}"
        );
        format!("http://127.0.0.1:{port}")
    })
}

/// Stops a DynamoDB Local started by [`spawn_dynamodb_local`].
pub fn stop_dynamodb_local(mut child: Child) {
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"\n");
    }
    let _ = child.wait();
}

/// Records each request the SDK sends (retries included), by operation.
#[derive(Debug, Default, Clone)]
pub struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let operation = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.split('.').nth(1))
            .unwrap_or("unknown")
            .to_string();
        self.0.lock().unwrap().push(operation);
        Ok(())
    }
}

/// Timeouts for the suite's clients. The shared DynamoDB Local serves the
/// whole parallel suite on 2 cores, cold JVM included: a slow answer there
/// is not the fault under test (`store_faults` tests the functions' own
/// [`Resilience::DEFAULT`] on a DynamoDB Local of their own).
pub const SUITE_RESILIENCE: Resilience = Resilience {
    attempt_timeout: Duration::from_secs(10),
    operation_timeout: Duration::from_secs(30),
    ..Resilience::DEFAULT
};

/// A DynamoDB client for `endpoint` with fake static credentials.
pub fn client_for(endpoint: &str, calls: CallLog) -> Client {
    client_with(endpoint, calls, SUITE_RESILIENCE)
}

/// [`client_for`] with the given timeouts and retries.
pub fn client_with(endpoint: &str, calls: CallLog, resilience: Resilience) -> Client {
    let config = resilience
        .apply(aws_sdk_dynamodb::Config::builder())
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .endpoint_url(endpoint)
        .interceptor(calls)
        .build();
    Client::from_conf(config)
}

/// A test-only key from `tests/fixtures/keys/`.
pub fn fixture_key(name: &str) -> String {
    let path = format!("{}/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A config as the functions read it, with test defaults and `overrides`.
pub fn config_with(table: &str, overrides: &[(&str, &str)]) -> Config {
    let table = table.to_string();
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|name| {
        if let Some((_, v)) = overrides.iter().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        match name {
            "TABLE_NAME" => Some(table.clone()),
            "JWT_SECRET" => Some(TEST_SECRET.to_string()),
            _ => None,
        }
    })
    .expect("valid test config")
}

/// One isolated app: a fresh table in DynamoDB Local and the service on it.
pub struct TestApp {
    pub service: AuthService,
    pub store: Store,
    pub calls: CallLog,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_env(&[]).await
    }

    pub async fn with_env(overrides: &[(&str, &str)]) -> Self {
        Self::on_endpoint(endpoint(), overrides).await
    }

    /// A fresh app on the DynamoDB at `endpoint` (a test's own instance).
    pub async fn on_endpoint(endpoint: &str, overrides: &[(&str, &str)]) -> Self {
        let table = format!("tokengate-test-{}", uuid::Uuid::new_v4().simple());
        let calls = CallLog::default();
        let client = client_for(endpoint, calls.clone());
        let store = Store::new(client.clone(), &table);
        store.create_table().await.expect("create test table");
        calls.take();
        let service = AuthService::new(config_with(&table, overrides), client);
        TestApp {
            service,
            store,
            calls,
        }
    }

    /// Registers `id` with [`PASSWORD`] through the register handler.
    pub async fn register(&self, id: &str) -> Value {
        let response = register_fn::handle(
            post(
                "/api/auth/register",
                &json!({"id": id, "password": PASSWORD, "name": format!("{id} name")}),
            ),
            &self.service,
        )
        .await;
        assert_eq!(
            response.status(),
            201,
            "register {id}: {}",
            body_text(&response)
        );
        body_json(&response)
    }

    /// Logs `id` in through the login handler; returns (access, refresh).
    pub async fn login(&self, id: &str) -> (String, String) {
        let response = login_fn::handle(
            post("/api/auth/login", &json!({"id": id, "password": PASSWORD})),
            &self.service,
        )
        .await;
        assert_eq!(
            response.status(),
            200,
            "login {id}: {}",
            body_text(&response)
        );
        let body = body_json(&response);
        (
            body["accessToken"].as_str().unwrap().to_string(),
            body["refreshToken"].as_str().unwrap().to_string(),
        )
    }

    /// Another service on the same table with other settings (another key
    /// configuration, as after a deploy).
    pub fn service_with(&self, overrides: &[(&str, &str)]) -> AuthService {
        AuthService::new(
            config_with(self.store.table(), overrides),
            self.store.client().clone(),
        )
    }

    /// A login attempt from source address `ip`, whatever its outcome.
    pub async fn login_from(
        &self,
        id: &str,
        password: &str,
        ip: &str,
    ) -> lambda_http::Response<lambda_http::Body> {
        let mut event = event_json(
            "POST",
            "/api/auth/login",
            &[],
            Some(&json!({"id": id, "password": password}).to_string()),
        );
        event["requestContext"]["http"]["sourceIp"] = json!(ip);
        login_fn::handle(to_request(&event), &self.service).await
    }

    /// `GET /api/auth/sessions`.
    pub async fn sessions(&self, access: &str) -> lambda_http::Response<lambda_http::Body> {
        sessions_fn::handle(get_with_bearer("/api/auth/sessions", access), &self.service).await
    }

    /// `DELETE /api/auth/sessions/{session_id}`.
    pub async fn revoke(
        &self,
        access: &str,
        session_id: &str,
    ) -> lambda_http::Response<lambda_http::Body> {
        let path = format!("/api/auth/sessions/{session_id}");
        let mut event = event_json(
            "DELETE",
            &path,
            &[("authorization", &format!("Bearer {access}"))],
            None,
        );
        event["routeKey"] = json!("DELETE /api/auth/sessions/{sessionId}");
        event["pathParameters"] = json!({ "sessionId": session_id });
        sessions_fn::handle(to_request(&event), &self.service).await
    }

    /// `POST /api/auth/password`.
    pub async fn change_password(
        &self,
        access: &str,
        current: &str,
        new: &str,
    ) -> lambda_http::Response<lambda_http::Body> {
        password_fn::handle(
            event(
                "POST",
                "/api/auth/password",
                &[("authorization", &format!("Bearer {access}"))],
                Some(&json!({"currentPassword": current, "newPassword": new}).to_string()),
            ),
            &self.service,
        )
        .await
    }

    pub async fn validate(&self, access: &str) -> lambda_http::Response<lambda_http::Body> {
        validate_with(&self.service, access).await
    }

    pub async fn refresh(&self, refresh: &str) -> lambda_http::Response<lambda_http::Body> {
        refresh_with(&self.service, refresh).await
    }

    pub async fn logout(
        &self,
        path: &str,
        access: &str,
    ) -> lambda_http::Response<lambda_http::Body> {
        logout_fn::handle(
            event(
                "POST",
                path,
                &[("authorization", &format!("Bearer {access}"))],
                None,
            ),
            &self.service,
        )
        .await
    }
}

/// `GET /api/auth/validate` on `service`.
pub async fn validate_with(
    service: &AuthService,
    access: &str,
) -> lambda_http::Response<lambda_http::Body> {
    validate_fn::handle(get_with_bearer("/api/auth/validate", access), service).await
}

/// `POST /api/auth/refresh` (Refresh-Token header) on `service`.
pub async fn refresh_with(
    service: &AuthService,
    refresh: &str,
) -> lambda_http::Response<lambda_http::Body> {
    refresh_fn::handle(
        event(
            "POST",
            "/api/auth/refresh",
            &[("refresh-token", &format!("Bearer {refresh}"))],
            None,
        ),
        service,
    )
    .await
}

/// An API Gateway HTTP API (payload 2.0) event, parsed the way the Lambda
/// runtime parses it.
pub fn event_json(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Value {
    let mut header_map = serde_json::Map::new();
    header_map.insert("content-type".into(), json!("application/json"));
    header_map.insert("user-agent".into(), json!("tokengate-tests/1.0"));
    for (k, v) in headers {
        header_map.insert(k.to_string(), json!(v));
    }
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": header_map,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "tokengate-tests/1.0"
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "23/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1795428000000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

pub fn to_request(event: &Value) -> lambda_http::Request {
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway event")
}

pub fn event(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> lambda_http::Request {
    to_request(&event_json(method, path, headers, body))
}

pub fn post(path: &str, body: &Value) -> lambda_http::Request {
    event("POST", path, &[], Some(&body.to_string()))
}

pub fn get_with_bearer(path: &str, token: &str) -> lambda_http::Request {
    event(
        "GET",
        path,
        &[("authorization", &format!("Bearer {token}"))],
        None,
    )
}

pub fn body_text(response: &lambda_http::Response<lambda_http::Body>) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

pub fn body_json(response: &lambda_http::Response<lambda_http::Body>) -> Value {
    serde_json::from_slice(response.body())
        .unwrap_or_else(|_| panic!("JSON body, got {:?}", body_text(response)))
}

/// Asserts an error response: status, JSON `error` code and no-store.
pub fn assert_error(response: &lambda_http::Response<lambda_http::Body>, status: u16, code: &str) {
    assert_eq!(response.status(), status, "body: {}", body_text(response));
    assert_eq!(
        body_json(response)["error"],
        code,
        "body: {}",
        body_text(response)
    );
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
}

/// A decoded token's claims, without verification (for assertions only).
pub fn claims_of(token: &str) -> Value {
    jsonwebtoken::dangerous::insecure_decode::<Value>(token)
        .expect("a JWT")
        .claims
}

/// A service whose DynamoDB endpoint refuses connections: the store is down.
pub fn service_with_store_down() -> AuthService {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let client = client_for(&endpoint, CallLog::default());
    AuthService::new(config_with("tokengate-down", &[]), client)
}

/// An HTTP API (payload 2.0) REQUEST authorizer event for `GET /api/todos`.
pub fn authorizer_v2_event(authorization: Option<&str>) -> Value {
    let mut headers = serde_json::Map::new();
    headers.insert("user-agent".into(), json!("tokengate-tests/1.0"));
    if let Some(value) = authorization {
        headers.insert("authorization".into(), json!(value));
    }
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/$default/GET/api/todos",
        "identitySource": authorization.map(|a| vec![a]).unwrap_or_default(),
        "routeKey": "GET /api/todos",
        "rawPath": "/api/todos",
        "rawQueryString": "",
        "cookies": [],
        "headers": headers,
        "queryStringParameters": {},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {
                "method": "GET",
                "path": "/api/todos",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "tokengate-tests/1.0"
            },
            "requestId": "id",
            "routeKey": "GET /api/todos",
            "stage": "$default",
            "time": "23/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1795428000000u64
        },
        "pathParameters": {},
        "stageVariables": {}
    })
}

/// Benchmarks write their figures as JSON into `BENCH_RESULTS_DIR` (set by
/// `make bench`) for `scripts/bench-report.py`; run alone, they only print.
pub fn write_bench_result(name: &str, result: &Value) {
    let Ok(dir) = std::env::var("BENCH_RESULTS_DIR") else {
        return;
    };
    std::fs::create_dir_all(&dir).expect("create BENCH_RESULTS_DIR");
    let path = std::path::Path::new(&dir).join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(result).expect("JSON"))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// The `q` quantile (0..=1) of `samples`, nearest rank.
pub fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort_unstable();
    let rank = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len());
    samples[rank - 1]
}

/// A DynamoDB Local of a test's own, persisted on disk, that the test can
/// stop, restart on the same port, freeze and thaw under running handlers.
pub struct OwnDynamoDb {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl OwnDynamoDb {
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("tokengate-ddb-{}", uuid::Uuid::new_v4()));
        let mut db = OwnDynamoDb {
            port: free_port(),
            dir,
            child: None,
        };
        db.restart();
        db
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port with the same data.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        // The script `exec`s java: the child is the JVM itself.
        let child = Command::new("bash")
            .arg(repo_root().join("scripts/dynamodb-local.sh"))
            .arg("run")
            .arg(self.port.to_string())
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start DynamoDB Local");
        self.child = Some(child);
        assert!(
            wait_for_port(self.port, Duration::from_secs(90)),
            "DynamoDB Local did not start on port {}",
            self.port
        );
    }

    /// Kills the process: connections are refused until [`Self::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the process (SIGSTOP): connections hang, nothing answers.
    pub fn freeze(&self) {
        self.signal("STOP");
    }

    /// Thaws a frozen process (SIGCONT).
    pub fn thaw(&self) {
        self.signal("CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("kill");
        assert!(status.success());
    }
}

impl Drop for OwnDynamoDb {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.thaw();
        }
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

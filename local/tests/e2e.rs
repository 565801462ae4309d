//! The real local server binary over real HTTP, on DynamoDB Local.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use integration_tests::{endpoint, free_port, wait_for_port, TEST_SECRET};
use serde_json::{json, Value};

/// Kills the process when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server() -> (Running, String) {
    start_server_with(&[])
}

fn start_server_with(extra_env: &[(&str, &str)]) -> (Running, String) {
    let port = free_port();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_tokengate-local"))
        .envs(extra_env.iter().copied())
        .env("PORT", port.to_string())
        .env("TABLE_NAME", format!("e2e-{suffix}"))
        .env("TODOS_TABLE_NAME", format!("e2e-todos-{suffix}"))
        .env("JWT_SECRET", TEST_SECRET)
        // Discovery is built from the issuer URL, as on AWS.
        .env("JWT_ISSUER", format!("http://127.0.0.1:{port}"))
        .env("DYNAMODB_ENDPOINT", endpoint())
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_REGION", "us-east-1")
        .stdout(Stdio::null())
        .spawn()
        .expect("start tokengate-local");
    let running = Running(child);
    assert!(
        wait_for_port(port, Duration::from_secs(30)),
        "server did not listen"
    );
    (running, format!("http://127.0.0.1:{port}"))
}

struct Http {
    base: String,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl Http {
    fn new(base: String) -> Self {
        Http {
            base,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// One request, its answer as it came.
    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (u16, hyper::HeaderMap, String) {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = self
            .client
            .request(
                request
                    .body(Full::new(Bytes::from(body.unwrap_or_default().to_string())))
                    .unwrap(),
            )
            .await
            .expect("HTTP response");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        (parts.status.as_u16(), parts.headers, text)
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let body = match body {
            Some(b) => {
                request = request.header("content-type", "application/json");
                Full::new(Bytes::from(b.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let response = self
            .client
            .request(request.body(body).unwrap())
            .await
            .expect("HTTP response");
        let status = response.status().as_u16();
        // Every answer, success or error: never cached; JSON unless empty.
        let headers = response.headers();
        let cache = if path.starts_with("/.well-known/") {
            "public, max-age=300"
        } else {
            "no-store"
        };
        assert_eq!(headers["cache-control"], cache, "{method} {path}");
        if status != 204 {
            assert_eq!(
                headers["content-type"], "application/json",
                "{method} {path}"
            );
        }
        if path == "/api/auth/login" && status == 200 {
            assert_eq!(headers["pragma"], "no-cache");
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

fn bearer(token: &Value) -> String {
    format!("Bearer {}", token.as_str().unwrap())
}

#[tokio::test]
async fn full_flow_over_http() {
    let (_server, base) = start_server();
    let http = Http::new(base);
    let password = "correct horse battery";

    let (status, user) = http
        .call(
            "POST",
            "/api/auth/register",
            &[],
            Some(json!({"id": "alice", "password": password, "name": "Alice"})),
        )
        .await;
    assert_eq!(status, 201, "{user}");

    let (status, tokens) = http
        .call(
            "POST",
            "/api/auth/login",
            &[],
            Some(json!({"id": "alice", "password": password})),
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    let access = bearer(&tokens["accessToken"]);

    let (status, me) = http
        .call(
            "GET",
            "/api/auth/validate",
            &[("authorization", &access)],
            None,
        )
        .await;
    assert_eq!(
        (status, &me),
        (
            200,
            &json!({"seq": user["seq"], "id": "alice", "name": "Alice"})
        )
    );

    let (status, todo) = http
        .call(
            "POST",
            "/api/todos",
            &[("authorization", &access)],
            Some(json!({"title": "buy milk"})),
        )
        .await;
    assert_eq!(status, 201, "{todo}");
    assert_eq!(todo["userId"], "alice");
    assert_eq!(todo["title"], "buy milk");

    // Another user sees only their own todos.
    http.call(
        "POST",
        "/api/auth/register",
        &[],
        Some(json!({"id": "bob", "password": password, "name": "Bob"})),
    )
    .await;
    let (_, bob) = http
        .call(
            "POST",
            "/api/auth/login",
            &[],
            Some(json!({"id": "bob", "password": password})),
        )
        .await;
    let (status, bobs) = http
        .call(
            "GET",
            "/api/todos",
            &[("authorization", &bearer(&bob["accessToken"]))],
            None,
        )
        .await;
    assert_eq!((status, bobs), (200, json!({"todos": []})));
    let (_, mine) = http
        .call("GET", "/api/todos", &[("authorization", &access)], None)
        .await;
    assert_eq!(mine["todos"], json!([todo]));

    // Refresh (Kotlin-style headers): new pair, the old access token stops.
    let (status, rotated) = http
        .call(
            "POST",
            "/api/auth/refresh",
            &[
                ("authorization", &access),
                ("refresh-token", &bearer(&tokens["refreshToken"])),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new_access = bearer(&rotated["accessToken"]);
    let (status, _) = http
        .call(
            "GET",
            "/api/auth/validate",
            &[("authorization", &access)],
            None,
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = http
        .call("GET", "/api/todos", &[("authorization", &access)], None)
        .await;
    assert_eq!(status, 403, "the authorizer refuses the rotated-out token");

    // Logout: everything of this session is refused, by the API and the authorizer.
    let (status, _) = http
        .call(
            "POST",
            "/api/auth/logout",
            &[("authorization", &new_access)],
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = http
        .call(
            "GET",
            "/api/auth/validate",
            &[("authorization", &new_access)],
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    let (status, _) = http
        .call("GET", "/api/todos", &[("authorization", &new_access)], None)
        .await;
    assert_eq!(status, 403);
    let (status, _) = http
        .call(
            "POST",
            "/api/auth/refresh",
            &[],
            Some(json!({"refreshToken": rotated["refreshToken"]})),
        )
        .await;
    assert_eq!(status, 401);

    // Bob's session was never touched.
    let (status, _) = http
        .call(
            "GET",
            "/api/todos",
            &[("authorization", &bearer(&bob["accessToken"]))],
            None,
        )
        .await;
    assert_eq!(status, 200);

    // Bob's sessions: list them, revoke a lost phone through the path route.
    let (_, phone) = http
        .call(
            "POST",
            "/api/auth/login",
            &[("user-agent", "bobs-phone")],
            Some(json!({"id": "bob", "password": password})),
        )
        .await;
    let bob_access = bearer(&bob["accessToken"]);
    let (status, listed) = http
        .call(
            "GET",
            "/api/auth/sessions",
            &[("authorization", &bob_access)],
            None,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{listed}");
    let phone_session = sessions
        .iter()
        .find(|s| s["userAgent"] == "bobs-phone")
        .expect("the phone's session");
    assert_eq!(phone_session["current"], false);
    assert_eq!(phone_session["sourceIp"], "127.0.0.1");
    let path = format!(
        "/api/auth/sessions/{}",
        phone_session["sessionId"].as_str().unwrap()
    );
    let (status, _) = http
        .call("DELETE", &path, &[("authorization", &bob_access)], None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = http
        .call(
            "GET",
            "/api/auth/validate",
            &[("authorization", &bearer(&phone["accessToken"]))],
            None,
        )
        .await;
    assert_eq!(status, 401);

    // Password change: a fresh pair for this device, the old access token stops.
    let (status, changed) = http
        .call(
            "POST",
            "/api/auth/password",
            &[("authorization", &bob_access)],
            Some(json!({"currentPassword": password, "newPassword": "a new passphrase"})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    let (status, _) = http
        .call("GET", "/api/todos", &[("authorization", &bob_access)], None)
        .await;
    assert_eq!(status, 403);
    let (status, _) = http
        .call(
            "GET",
            "/api/todos",
            &[("authorization", &bearer(&changed["accessToken"]))],
            None,
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn gateway_errors_are_json() {
    let (_server, base) = start_server();
    let http = Http::new(base);
    // Discovery is public; in the dev default (HS256) no key is published.
    let (status, jwks) = http.call("GET", "/.well-known/jwks.json", &[], None).await;
    assert_eq!((status, jwks), (200, json!({"keys": []})));
    let (status, openid) = http
        .call("GET", "/.well-known/openid-configuration", &[], None)
        .await;
    assert_eq!(status, 200);
    assert!(openid["jwks_uri"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    let (status, body) = http.call("GET", "/api/nothing-here", &[], None).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    for (method, path) in [
        ("DELETE", "/api/auth/login"),
        ("DELETE", "/api/auth/sessions"),
        ("GET", "/api/auth/sessions/some-id"),
    ] {
        let (status, body) = http.call(method, path, &[], None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (405, Some("method_not_allowed")),
            "{method} {path}"
        );
    }
    let (status, _) = http
        .call("DELETE", "/api/auth/sessions/a/b", &[], None)
        .await;
    assert_eq!(status, 404);
    let (status, body) = http.call("GET", "/api/todos", &[], None).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("Unauthorized"))
    );
    let (status, body) = http
        .call(
            "POST",
            "/api/todos",
            &[("authorization", "Bearer nonsense")],
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!((status, body["message"].as_str()), (403, Some("Forbidden")));
    let (status, body) = http
        .call("POST", "/api/auth/login", &[], Some(json!({"id": "x"})))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

/// Process ids whose command line contains `needle`.
fn processes_matching(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push(pid);
            }
        }
    }
    found
}

#[tokio::test]
async fn sigterm_to_make_dev_prints_its_metrics_and_leaves_no_dynamodb_local_behind() {
    let port = free_port();
    let ddb_port = free_port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/dev.sh");
    let metrics_file = std::env::temp_dir().join(format!(
        "tokengate-metrics-{}.jsonl",
        uuid::Uuid::new_v4().simple()
    ));
    let child = Command::new("bash")
        .arg(script)
        .env_remove("DYNAMODB_ENDPOINT")
        .env("PORT", port.to_string())
        .env("DDB_PORT", ddb_port.to_string())
        .env("TOKENGATE_LOCAL_BIN", env!("CARGO_BIN_EXE_tokengate-local"))
        .env("METRICS_FILE", &metrics_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start scripts/dev.sh");
    let mut dev = Running(child);
    assert!(
        wait_for_port(port, Duration::from_secs(90)),
        "make dev did not serve"
    );
    // Something to count: a sign-up, a sign-in, a wrong password.
    let http = Http::new(format!("http://127.0.0.1:{port}"));
    let alice = json!({"id": "alice", "password": "correct horse battery", "name": "Alice"});
    assert_eq!(
        http.call("POST", "/api/auth/register", &[], Some(alice))
            .await
            .0,
        201
    );
    let login = json!({"id": "alice", "password": "correct horse battery"});
    // A device to recognise: no user agent, no device.
    let laptop = [("user-agent", "e2e-laptop/1.0")];
    let (status, tokens) = http
        .call("POST", "/api/auth/login", &laptop, Some(login))
        .await;
    assert_eq!(status, 200);
    let wrong = json!({"id": "alice", "password": "not the password"});
    assert_eq!(
        http.call("POST", "/api/auth/login", &[], Some(wrong))
            .await
            .0,
        401
    );
    // The activity route, through the gateway's query string.
    let (status, page) = http
        .call(
            "GET",
            "/api/auth/activity?limit=1",
            &[("authorization", &bearer(&tokens["accessToken"]))],
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["events"][0]["type"], "sign_in_failed");
    assert!(page["nextCursor"].is_string(), "{page}");
    let needle = format!("-port {ddb_port} ");
    assert_eq!(
        processes_matching(&needle).len(),
        1,
        "DynamoDB Local runs while serving"
    );

    let status = Command::new("kill")
        .arg("-TERM")
        .arg(dev.0.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let exit = dev.0.wait().unwrap();
    assert!(
        exit.success(),
        "make dev exits cleanly on SIGTERM: {exit:?}"
    );
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut dev.0.stdout.take().unwrap(), &mut stdout).unwrap();
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("metrics: "))
        .unwrap_or_else(|| panic!("no metrics summary in: {stdout}"));
    for counted in [
        "LoginFailed=1",
        "LoginSucceeded=1",
        "NewDevice=1",
        "Registered=1",
    ] {
        assert!(summary.contains(counted), "{summary}");
    }
    // The EMF lines behind it, as the functions write them on AWS.
    let lines = std::fs::read(&metrics_file).unwrap();
    let _ = std::fs::remove_file(&metrics_file);
    let metrics = integration_tests::emf::parse_lines(&lines).unwrap();
    assert!(metrics
        .iter()
        .all(|m| m.dimensions[0] == ("service".into(), "local".into())));
    let logins: f64 = metrics
        .iter()
        .filter(|m| m.name == "LoginSucceeded")
        .flat_map(|m| m.values.iter())
        .sum();
    assert_eq!(logins, 1.0);
    let bytes = lines.len();
    assert!(
        summary.ends_with(&format!("EMF documents, {bytes} bytes)")),
        "{summary} vs {bytes}"
    );
    // Give the kernel a moment to reap.
    for _ in 0..50 {
        if processes_matching(&needle).is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        processes_matching(&needle).is_empty(),
        "DynamoDB Local left running"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "server left running"
    );
}

/// A CORS preflight for `method` on a protected route: answered before any
/// authorizer runs.
async fn preflight(http: &Http, origin: &str, method: &str) -> (u16, hyper::HeaderMap, String) {
    let headers = [
        ("origin", origin),
        ("access-control-request-method", method),
        (
            "access-control-request-headers",
            "authorization,tokengate-transport",
        ),
    ];
    http.send("OPTIONS", "/api/todos", &headers, None).await
}

/// What a browser sees of the local gateway: CORS as an HTTP API with a
/// `CorsConfiguration` answers it, and the account page at `/`.
#[tokio::test]
async fn browsers_get_cors_for_allowed_origins_and_the_account_page() {
    const APP: &str = "https://app.example.com";
    let web_root = concat!(env!("CARGO_MANIFEST_DIR"), "/../web");
    let (_server, base) = start_server_with(&[
        ("CORS_ALLOWED_ORIGINS", &format!("http://127.0.0.1:1,{APP}")),
        ("WEB_ROOT", web_root),
    ]);
    let http = Http::new(base);
    let (status, headers, _) = preflight(&http, APP, "POST").await;
    assert_eq!(status, 204);
    assert_eq!(headers["access-control-allow-origin"], APP);
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert_eq!(headers["access-control-allow-methods"], "GET, POST, DELETE");
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("tokengate-transport") && allowed.contains("authorization"));
    for (origin, method) in [("https://evil.example.com", "POST"), (APP, "PUT")] {
        let (status, headers, _) = preflight(&http, origin, method).await;
        assert_eq!(status, 204);
        assert!(
            !headers.contains_key("access-control-allow-origin"),
            "{origin} {method}"
        );
    }

    // Answers carry the CORS headers for an allowed origin only, errors
    // and the gateway's own 401 included.
    for path in ["/api/auth/validate", "/api/todos"] {
        let (status, headers, _) = http.send("GET", path, &[("origin", APP)], None).await;
        assert_eq!(status, 401, "{path}");
        assert_eq!(headers["access-control-allow-origin"], APP, "{path}");
        assert_eq!(
            headers["access-control-expose-headers"],
            "retry-after, www-authenticate"
        );
        let (_, headers, _) = http
            .send("GET", path, &[("origin", "https://evil.example.com")], None)
            .await;
        assert!(!headers.contains_key("access-control-allow-origin"));
    }

    // Cookie mode through the gateway: the cookies go in payload 2.0's
    // `cookies` (joined back into one `Cookie` header by lambda_http), the
    // new one comes back as `Set-Cookie`.
    let password = "correct horse battery";
    let (status, _) = http
        .call(
            "POST",
            "/api/auth/register",
            &[],
            Some(json!({"id": "carol", "password": password, "name": "Carol"})),
        )
        .await;
    assert_eq!(status, 201);
    let cookie_mode = [("origin", APP), ("tokengate-transport", "cookie")];
    let login = json!({"id": "carol", "password": password}).to_string();
    let (status, headers, body) = http
        .send("POST", "/api/auth/login", &cookie_mode, Some(&login))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("refreshToken"), "{body}");
    let cookie_of = |headers: &hyper::HeaderMap| {
        let set_cookie = headers["set-cookie"].to_str().unwrap();
        set_cookie.split(';').next().unwrap().to_string()
    };
    let first = cookie_of(&headers);
    let with_cookies = |cookies: &[&'static str], refresh: &str| {
        let mut headers: Vec<(&str, String)> = cookie_mode
            .iter()
            .map(|(k, v)| (*k, v.to_string()))
            .collect();
        headers.extend(cookies.iter().map(|c| ("cookie", c.to_string())));
        headers.push(("cookie", refresh.to_string()));
        headers
    };
    let headers = with_cookies(&["theme=dark"], &first);
    let borrowed: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, headers, body) = http
        .send("POST", "/api/auth/refresh", &borrowed, None)
        .await;
    assert_eq!(status, 200, "{body}");
    let second = cookie_of(&headers);
    assert_ne!(first, second);
    // The old and the new one together: two cookies of that name, refused.
    let headers = with_cookies(&[], &format!("{first}; {second}"));
    let borrowed: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, body) = http
        .send("POST", "/api/auth/refresh", &borrowed, None)
        .await;
    assert_eq!(status, 401, "{body}");

    let (status, headers, page) = http.send("GET", "/", &[], None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    assert!(page.contains("tokengate"), "{page}");
    let (status, headers, _) = http.send("GET", "/tokengate.js", &[], None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    let (status, _, body) = http.send("GET", "/no-such-page.html", &[], None).await;
    assert_eq!(status, 404, "{body}");
}

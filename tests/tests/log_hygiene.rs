//! Captures everything every crate logs (TRACE, through the filter every
//! function installs, as the JSON lines Lambda gets) through a full flow, failures included, and checks that no token, password or
//! password hash ever reaches a log line. Its own test binary: it owns the
//! process-wide subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex};

use integration_tests::*;
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

const NEW_PASSWORD: &str = "another secret passphrase";
const COOKIE_ORIGIN: &str = "https://app.example.com";
const WRONG_PASSWORD: &str = "not-the-password-at-all";

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let captured = Captured::default();
    tracing_subscriber::fmt()
        .json()
        // What the functions install, at the most verbose level.
        .with_env_filter(tokengate::telemetry::filter(
            tracing_subscriber::filter::LevelFilter::TRACE,
        ))
        .with_writer(captured.clone())
        .init();

    let app = TestApp::with_env(&[
        ("LOGIN_MAX_FAILURES", "2"),
        ("CORS_ALLOWED_ORIGINS", COOKIE_ORIGIN),
    ])
    .await;
    app.register("alice").await;
    app.register("mallory").await;
    let mut hashes = Vec::new();
    for id in ["alice", "mallory"] {
        hashes.push(
            app.store
                .get_user(id)
                .await
                .unwrap()
                .unwrap()
                .password_hash
                .unwrap(),
        );
    }
    let (access, refresh) = app.login("alice").await;
    let (other_access, other_refresh) = app.login("alice").await;
    let mut secrets = vec![
        PASSWORD.to_string(),
        NEW_PASSWORD.to_string(),
        WRONG_PASSWORD.to_string(),
        TEST_SECRET.to_string(),
        access.clone(),
        refresh.clone(),
        other_access.clone(),
        other_refresh.clone(),
    ];

    secrets.extend(cookie_mode_flow(&app).await);
    let (account_secrets, codes) = account_flow().await;
    secrets.extend(account_secrets);

    assert_eq!(app.validate(&access).await.status(), 200);
    let rotated = body_json(&app.refresh(&refresh).await);
    let rotated_access = rotated["accessToken"].as_str().unwrap().to_string();
    secrets.push(rotated_access.clone());
    secrets.push(rotated["refreshToken"].as_str().unwrap().to_string());
    // Reuse inside the grace, then a forged and a garbage token.
    assert_eq!(app.refresh(&refresh).await.status(), 200);
    assert_eq!(app.validate("garbage.token.here").await.status(), 401);
    let decision = authorizer_fn::handle_json(
        authorizer_v2_event(Some(&format!("Bearer {rotated_access}"))),
        &app.service,
    )
    .await;
    assert_eq!(decision["isAuthorized"], true);

    // Failures: wrong passwords until the account locks.
    for _ in 0..3 {
        app.login_from("mallory", WRONG_PASSWORD, "192.0.2.9").await;
    }
    let sessions = app.sessions(&rotated_access).await;
    assert_eq!(sessions.status(), 200);
    let other_sid = claims_of(&other_access)["sid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.revoke(&rotated_access, &other_sid).await.status(), 204);
    assert_eq!(
        app.change_password(&rotated_access, WRONG_PASSWORD, NEW_PASSWORD)
            .await
            .status(),
        403
    );
    let changed = app
        .change_password(&rotated_access, PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(changed.status(), 200);
    let changed = body_json(&changed);
    let final_access = changed["accessToken"].as_str().unwrap().to_string();
    secrets.push(final_access.clone());
    secrets.push(changed["refreshToken"].as_str().unwrap().to_string());
    assert_eq!(
        app.logout("/api/auth/logout-all", &final_access)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.logout("/api/auth/logout", &final_access).await.status(),
        401
    );
    let down = login_fn::handle(
        post(
            "/api/auth/login",
            &json!({"id": "alice", "password": PASSWORD}),
        ),
        &service_with_store_down(),
    )
    .await;
    assert_eq!(down.status(), 503);

    // Alice's new hash too, after the change.
    hashes.push(
        app.store
            .get_user("alice")
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .unwrap(),
    );
    for hash in hashes {
        // The hash's salt and digest, also on their own.
        secrets.extend(hash.rsplit('$').take(2).map(str::to_string));
        secrets.push(hash);
    }

    // Session ids name the items tokens are checked against: logs carry a
    // short hash of them instead.
    for token in [&access, &other_access] {
        secrets.push(claims_of(token)["sid"].as_str().unwrap().to_string());
    }

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // Security events say where they came from.
    let failed = logs
        .lines()
        .find(|line| line.contains("login failed"))
        .expect("failed logins are logged");
    assert!(failed.contains("192.0.2.9"), "{failed}");
    let tag = tokengate::telemetry::session_tag(claims_of(&access)["sid"].as_str().unwrap());
    assert!(logs.contains(&tag), "sessions are followed by their tag");
    // Each failure logged once, where its response was made: client errors
    // by code, the outage with its cause chain.
    assert!(logs.contains("invalid_credentials"), "the flow was logged");
    assert!(logs.contains("password reset code issued") && logs.contains("mail not sent"));
    assert!(logs.contains("refresh rotated"));
    assert!(logs.contains("request failed") && logs.contains("service_unavailable"));
    assert!(
        logs.contains("csrf_rejected"),
        "the forged refresh was logged"
    );
    // A code would show as a value of its own: quoted, or after `=`, `:`
    // or a space (a timestamp's digits follow a `.`).
    for code in &codes {
        for shown in [
            format!("\"{code}\""),
            format!("={code}"),
            format!(" {code}"),
        ] {
            assert!(!logs.contains(&shown), "a one-time code reached the logs");
        }
    }
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret reached the logs: {}…",
            &secret[..6]
        );
        // Signatures and payloads of tokens, also on their own.
        for part in secret.split('.').filter(|p| p.len() >= 16) {
            assert!(
                !logs.contains(part),
                "part of a token reached the logs: {}…",
                &part[..6]
            );
        }
    }
}

/// The account lifecycle with mail through moto, a lost message included:
/// the addresses and the tokens it made, and (apart: six digits can occur
/// in any timestamp) the codes.
async fn account_flow() -> (Vec<String>, Vec<String>) {
    let app = TestApp::with_mail(&[]).await;
    let email = fresh_address("carol");
    let response = app.register_with_email("carol", &email).await;
    assert_eq!(response.status(), 201);
    let verify_code = latest_code(&email);
    let (access, _) = app.login("carol").await;
    let call = |method: &'static str,
                path: &'static str,
                token: Option<String>,
                body: serde_json::Value| {
        let app = &app;
        async move {
            app.account(method, path, token.as_deref(), Some(&body))
                .await
        }
    };
    let verified = call(
        "POST",
        "/api/auth/email/verify",
        Some(access.clone()),
        json!({"code": verify_code}),
    )
    .await;
    assert_eq!(verified.status(), 200);
    let forgot = call(
        "POST",
        "/api/auth/password/forgot",
        None,
        json!({"email": email}),
    )
    .await;
    assert_eq!(forgot.status(), 202);
    let reset_code = wait_for_mail(&email, 2).await[1].code();
    let reset = json!({"email": email, "code": reset_code, "newPassword": NEW_PASSWORD});
    let wrong = json!({"email": email, "code": "000000", "newPassword": NEW_PASSWORD});
    call("POST", "/api/auth/password/reset", None, wrong).await;
    let reset = call("POST", "/api/auth/password/reset", None, reset).await;
    assert_eq!(reset.status(), 200);
    let (new_access, new_refresh) = token_pair(&reset);
    // A message SES refuses: its error is logged, not its code or address.
    let refusing = TestApp::with_mail(&[]).await;
    let refusing = TestApp {
        service: refusing
            .service
            .clone()
            .with_mailer(refusing_mailer().await),
        ..refusing
    };
    let lost = fresh_address("dave");
    assert_eq!(
        refusing.register_with_email("dave", &lost).await.status(),
        201
    );
    let deleted = call(
        "DELETE",
        "/api/auth/account",
        Some(new_access.clone()),
        json!({"password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(deleted.status(), 204);
    (
        vec![email, lost, access, new_access, new_refresh],
        vec![verify_code, reset_code],
    )
}

/// A cookie-mode login, a forged refresh (the cookie without the transport
/// header) and a real one: the tokens that went through cookies.
async fn cookie_mode_flow(app: &TestApp) -> Vec<String> {
    let cookie_mode = [("tokengate-transport", "cookie"), ("origin", COOKIE_ORIGIN)];
    let body = json!({"id": "alice", "password": PASSWORD}).to_string();
    let login = login_fn::handle(
        event("POST", "/api/auth/login", &cookie_mode, Some(&body)),
        &app.service,
    )
    .await;
    assert_eq!(login.status(), 200);
    let cookie_of = |response: &lambda_http::Response<lambda_http::Body>| {
        let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
        set_cookie.split(';').next().unwrap().to_string()
    };
    let cookie = cookie_of(&login);
    let forged = refresh_fn::handle(
        event("POST", "/api/auth/refresh", &[("cookie", &cookie)], None),
        &app.service,
    )
    .await;
    assert_eq!(forged.status(), 403);
    let mut headers = cookie_mode.to_vec();
    headers.push(("cookie", &cookie));
    let refreshed = refresh_fn::handle(
        event("POST", "/api/auth/refresh", &headers, None),
        &app.service,
    )
    .await;
    assert_eq!(refreshed.status(), 200);
    let token = |cookie: String| cookie.split_once('=').unwrap().1.to_string();
    vec![
        body_json(&login)["accessToken"]
            .as_str()
            .unwrap()
            .to_string(),
        body_json(&refreshed)["accessToken"]
            .as_str()
            .unwrap()
            .to_string(),
        token(cookie_of(&refreshed)),
        token(cookie),
    ]
}

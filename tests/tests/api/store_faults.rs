//! Faults of a running store, on a DynamoDB Local of the test's own: killed
//! and restarted on the same port, or frozen (SIGSTOP) so that requests
//! hang. The same handlers, never rebuilt, must answer a prompt 503 (the
//! authorizer: a deny) while it is down and recover once it is back.

use std::time::{Duration, Instant};

use integration_tests::*;
use serde_json::json;
use tokengate::store::Resilience;
use tokengate::AuthService;

/// The SDK gives up after the operation timeout; this bounds the handler
/// around it (slack for a loaded 2-core machine), not a performance target.
fn promptly() -> Duration {
    Resilience::DEFAULT.operation_timeout + Duration::from_secs(3)
}

/// The functions' own service (their timeouts and retries) on `app`'s table.
/// `app` itself, with the suite's patient client, only sets the scene.
fn function_service(app: &TestApp, db: &OwnDynamoDb) -> AuthService {
    let client = client_with(&db.endpoint(), CallLog::default(), Resilience::DEFAULT);
    AuthService::new(config_with(app.store.table(), &[]), client)
}

/// Every store-backed function, each timed: 503 JSON with Retry-After, and
/// the authorizer denies.
async fn assert_fails_closed_promptly(service: &AuthService, access: &str, refresh: &str) {
    let bearer = format!("Bearer {access}");
    let register = json!({"id": "bob", "password": PASSWORD, "name": "Bob"});
    let login = json!({"id": "alice", "password": PASSWORD});
    let logout = || {
        event(
            "POST",
            "/api/auth/logout",
            &[("authorization", &bearer)],
            None,
        )
    };
    let calls = [
        (
            "register",
            timed(register_fn::handle(
                post("/api/auth/register", &register),
                service,
            ))
            .await,
        ),
        (
            "login",
            timed(login_fn::handle(post("/api/auth/login", &login), service)).await,
        ),
        ("validate", timed(validate_with(service, access)).await),
        ("refresh", timed(refresh_with(service, refresh)).await),
        ("logout", timed(logout_fn::handle(logout(), service)).await),
    ];
    for (name, (response, elapsed)) in &calls {
        assert_eq!(response.status(), 503, "{name}: {}", body_text(response));
        assert_error(response, 503, "service_unavailable");
        assert!(response.headers().contains_key("retry-after"), "{name}");
        assert!(*elapsed < promptly(), "{name} took {elapsed:?}");
    }
    let started = Instant::now();
    let decision = authorizer_fn::handle_json(authorizer_v2_event(Some(&bearer)), service).await;
    assert_eq!(decision["isAuthorized"], false);
    assert!(
        started.elapsed() < promptly(),
        "authorizer: {:?}",
        started.elapsed()
    );
}

/// Times one handler call; one that hangs fails the test instead of it.
async fn timed<T>(call: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let out = tokio::time::timeout(promptly() * 8, call)
        .await
        .expect("the call hung: no timeout on the store");
    (out, started.elapsed())
}

#[tokio::test]
async fn a_killed_store_gives_503s_and_the_same_handlers_recover_when_it_returns() {
    let mut db = OwnDynamoDb::start();
    let app = TestApp::on_endpoint(&db.endpoint(), &[]).await;
    app.register("alice").await;
    let (access, refresh) = app.login("alice").await;
    let service = function_service(&app, &db);
    assert_eq!(validate_with(&service, &access).await.status(), 200);

    db.stop();
    assert_fails_closed_promptly(&service, &access, &refresh).await;

    db.restart();
    // Same service, same client, same connection pool: no restart needed.
    assert_eq!(validate_with(&service, &access).await.status(), 200);
    let (access, _) = {
        let response = refresh_with(&service, &refresh).await;
        assert_eq!(response.status(), 200, "{}", body_text(&response));
        let body = body_json(&response);
        (
            body["accessToken"].as_str().unwrap().to_string(),
            body["refreshToken"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(validate_with(&service, &access).await.status(), 200);
    let bob = json!({"id": "bob", "password": PASSWORD, "name": "Bob"});
    let response = register_fn::handle(post("/api/auth/register", &bob), &service).await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
    let response = login_fn::handle(post("/api/auth/login", &bob), &service).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let bearer = format!("Bearer {access}");
    let logout = event(
        "POST",
        "/api/auth/logout",
        &[("authorization", &bearer)],
        None,
    );
    let response = logout_fn::handle(logout, &service).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_eq!(validate_with(&service, &access).await.status(), 401);
}

#[tokio::test]
async fn a_frozen_store_times_out_promptly_and_a_cut_off_refresh_leaves_no_half_state() {
    let db = OwnDynamoDb::start();
    let app = TestApp::on_endpoint(&db.endpoint(), &[]).await;
    app.register("alice").await;
    let (access, refresh) = app.login("alice").await;
    let sid = claims_of(&access)["sid"].as_str().unwrap().to_string();
    let service = function_service(&app, &db);
    assert_eq!(validate_with(&service, &access).await.status(), 200);

    db.freeze();
    let (response, elapsed) = timed(validate_with(&service, &access)).await;
    assert_error(&response, 503, "service_unavailable");
    assert!(elapsed < promptly(), "validate took {elapsed:?}");
    // The rotation's transaction may sit in DynamoDB's socket and commit
    // when it thaws, after the client gave up: the response is lost.
    let (response, elapsed) = timed(refresh_with(&service, &refresh)).await;
    assert_error(&response, 503, "service_unavailable");
    assert!(elapsed < promptly(), "refresh took {elapsed:?}");
    db.thaw();

    // Let DynamoDB finish whatever it had buffered.
    let started = Instant::now();
    while app.store.get_session(&sid).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "store back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Either the rotation never happened (the old refresh token still
    // works), or it did (the old token is then a replay: within the grace
    // it gets the current pair, else it revokes the session). Never a live
    // session that no refresh token can reach.
    let retry = refresh_with(&service, &refresh).await;
    let session = app.store.get_session(&sid).await.unwrap();
    match retry.status().as_u16() {
        200 => {
            let body = body_json(&retry);
            let access = body["accessToken"].as_str().unwrap();
            assert_eq!(validate_with(&service, access).await.status(), 200);
            let refresh = body["refreshToken"].as_str().unwrap();
            assert_eq!(refresh_with(&service, refresh).await.status(), 200);
        }
        401 => {
            let now = tokengate::clock::now_secs();
            let live =
                session.is_some_and(|s| tokengate::rules::session::is_live(s.expires_at, now));
            assert!(!live, "refresh refused but the session is still live");
            assert_eq!(validate_with(&service, &access).await.status(), 401);
        }
        other => panic!("refresh after thaw: {other} {}", body_text(&retry)),
    }
}

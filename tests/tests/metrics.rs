//! Each event counts its metric, in EMF lines CloudWatch would accept.
//!
//! Its own test binary: the metrics recorder is process-wide, so these
//! tests take turns (one lock) and read exactly what their own requests
//! emitted, through the same emitter the functions use.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use integration_tests::emf::{parse_lines, Emitted};
use integration_tests::*;
use serde_json::json;
use tokengate::metrics::{Emitter, MetricsSettings, DECISION_LATENCY};
use tokio::sync::{Mutex, MutexGuard};

fn emitter() -> Emitter {
    static EMITTER: OnceLock<Emitter> = OnceLock::new();
    *EMITTER.get_or_init(|| {
        Emitter::install(&MetricsSettings {
            namespace: "tokengate-test".into(),
            service: "under-test".into(),
        })
        .expect("the only recorder of this process")
    })
}

/// One test at a time, starting from nothing emitted.
async fn turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::const_new(());
    let guard = TURN.lock().await;
    emitter().flush(None);
    guard
}

/// What was emitted since the last flush, every line checked against the
/// EMF specification; counts by metric name and `reason`.
fn emitted() -> (Vec<Emitted>, BTreeMap<String, f64>) {
    let lines = emitter().flush(Some("request-1"));
    let metrics = parse_lines(&lines).unwrap_or_else(|e| panic!("not EMF: {e}"));
    let mut counts = BTreeMap::new();
    for metric in &metrics {
        assert_eq!(metric.namespace, "tokengate-test");
        assert_eq!(
            metric.dimensions[0],
            ("service".into(), "under-test".into())
        );
        let key = match metric.dimensions.get(1) {
            Some((_, reason)) => format!("{}/{reason}", metric.name),
            None => metric.name.clone(),
        };
        let value = match metric.name.as_str() {
            DECISION_LATENCY => metric.values.len() as f64,
            _ => metric.values.iter().sum(),
        };
        *counts.entry(key).or_default() += value;
    }
    // Every document carries the invocation's request id.
    for line in String::from_utf8(lines).unwrap().lines() {
        let doc: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(doc["function_request_id"], "request-1");
    }
    (metrics, counts)
}

fn counts(expected: &[(&str, f64)]) -> BTreeMap<String, f64> {
    expected.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test]
async fn sign_ins_and_registrations_count_what_happened() {
    let _turn = turn().await;
    let app = TestApp::with_env(&[("LOGIN_MAX_FAILURES", "2"), ("REGISTER_MAX_PER_IP", "1")]).await;
    assert_eq!(
        app.register_from("alice", "198.51.100.1").await.status(),
        201
    );
    assert_error(
        &app.register_from("bob", "198.51.100.1").await,
        429,
        "too_many_attempts",
    );
    assert_eq!(
        emitted().1,
        counts(&[("Registered", 1.0), ("RegisterThrottled", 1.0)])
    );

    token_pair(&app.login_with_agent("alice", PASSWORD, "Laptop/1").await);
    token_pair(&app.login_with_agent("alice", PASSWORD, "Laptop/2").await);
    token_pair(&app.login_with_agent("alice", PASSWORD, "Phone/1").await);
    assert_eq!(
        emitted().1,
        counts(&[("LoginSucceeded", 3.0), ("NewDevice", 2.0)])
    );

    for _ in 0..2 {
        assert_error(
            &app.login_with_agent("alice", "wrong password", "Phone/1")
                .await,
            401,
            "invalid_credentials",
        );
    }
    assert_error(
        &app.login_with_agent("alice", PASSWORD, "Phone/1").await,
        429,
        "too_many_attempts",
    );
    assert_eq!(
        emitted().1,
        counts(&[("LoginFailed", 2.0), ("LoginThrottled", 1.0)])
    );
}

#[tokio::test]
async fn session_operations_count_what_happened() {
    let _turn = turn().await;
    let app = TestApp::new().await;
    app.register("alice").await;
    let (laptop, refresh) = token_pair(&app.login_with_agent("alice", PASSWORD, "Laptop/1").await);
    let (phone, _) = token_pair(&app.login_with_agent("alice", PASSWORD, "Phone/1").await);
    emitted();

    let (_, rotated) = token_pair(&app.refresh(&refresh).await);
    // Inside the grace: the same pair again, not a replay.
    token_pair(&app.refresh(&refresh).await);
    assert_eq!(
        emitted().1,
        counts(&[("RefreshRotated", 1.0), ("RefreshReissued", 1.0)])
    );
    token_pair(&app.refresh(&rotated).await);
    app.clock.advance(Duration::from_secs(60));
    assert_error(&app.refresh(&rotated).await, 401, "invalid_token");
    assert_eq!(
        emitted().1,
        counts(&[("RefreshRotated", 1.0), ("RefreshReplayRevoked", 1.0)])
    );

    let (tablet, _) = token_pair(&app.login_with_agent("alice", PASSWORD, "Tablet/1").await);
    let tablet_sid = claims_of(&tablet)["sid"].as_str().unwrap().to_string();
    emitted();
    assert_eq!(app.revoke(&phone, &tablet_sid).await.status(), 204);
    let (phone, _) = token_pair(
        &app.change_password(&phone, PASSWORD, "a brand new passphrase")
            .await,
    );
    assert_eq!(
        app.logout("/api/auth/logout-all", &phone).await.status(),
        200
    );
    let (again, _) = token_pair(
        &app.login_with_agent("alice", "a brand new passphrase", "Phone/1")
            .await,
    );
    assert_eq!(app.logout("/api/auth/logout", &again).await.status(), 200);
    assert_eq!(
        emitted().1,
        counts(&[
            ("SessionRevoked", 1.0),
            ("PasswordChanged", 1.0),
            ("LogoutAll", 1.0),
            ("LoginSucceeded", 1.0),
            ("Logout", 1.0),
        ])
    );
    // Refusals count nothing but themselves: a dead token logs out nothing.
    assert_error(
        &app.logout("/api/auth/logout", &laptop).await,
        401,
        "invalid_token",
    );
    assert_eq!(emitted().1, counts(&[]));
}

#[tokio::test]
async fn the_authorizer_counts_allows_denies_by_reason_and_its_latency() {
    let _turn = turn().await;
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, refresh) = app.login("alice").await;
    emitted();
    let decide = |authorization: Option<String>| {
        let service = app.service.clone();
        async move {
            let event = authorizer_v2_event(authorization.as_deref());
            authorizer_fn::handle_json(event, &service).await
        }
    };
    assert_eq!(
        decide(Some(format!("Bearer {access}"))).await["isAuthorized"],
        true
    );
    assert_eq!(decide(None).await["isAuthorized"], false);
    assert_eq!(
        decide(Some("Bearer not.a.token".into())).await["isAuthorized"],
        false
    );
    assert_eq!(
        decide(Some(format!("Bearer {refresh}"))).await["isAuthorized"],
        false
    );
    assert_eq!(app.logout("/api/auth/logout", &access).await.status(), 200);
    assert_eq!(
        decide(Some(format!("Bearer {access}"))).await["isAuthorized"],
        false
    );
    assert_eq!(
        authorizer_fn::handle_json(json!({"type": "SURPRISE"}), &app.service).await["isAuthorized"],
        false
    );
    let (metrics, counted) = emitted();
    assert_eq!(
        counted,
        counts(&[
            ("AuthorizerAllow", 1.0),
            ("AuthorizerDeny/missing_token", 1.0),
            ("AuthorizerDeny/bad_token", 2.0),
            ("AuthorizerDeny/session_gone", 1.0),
            ("AuthorizerDeny/unrecognised_event", 1.0),
            (DECISION_LATENCY, 6.0),
            ("Logout", 1.0),
        ])
    );
    let latency = metrics.iter().find(|m| m.name == DECISION_LATENCY).unwrap();
    assert_eq!(latency.unit.as_deref(), Some("Milliseconds"));
    assert!(latency.values.iter().all(|ms| (0.0..5_000.0).contains(ms)));
    let deny = metrics.iter().find(|m| m.name == "AuthorizerDeny").unwrap();
    assert_eq!(deny.unit.as_deref(), Some("Count"));
    assert_eq!(deny.dimensions[1].0, "reason");
}

#[tokio::test]
async fn store_errors_are_counted_wherever_they_are_answered() {
    let _turn = turn().await;
    let down = service_with_store_down();
    let token = "eyJhbGciOiJIUzI1NiJ9.e30.c2ln";
    // A request that reaches the store: a valid token of a user who never was.
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, _) = app.login("alice").await;
    emitted();
    assert_error(
        &validate_with(&down, &access).await,
        503,
        "service_unavailable",
    );
    let event = authorizer_v2_event(Some(&format!("Bearer {access}")));
    assert_eq!(
        authorizer_fn::handle_json(event, &down).await["isAuthorized"],
        false
    );
    // A token refused before any store call is no store error.
    assert_error(&validate_with(&down, token).await, 401, "invalid_token");
    assert_eq!(
        emitted().1,
        counts(&[
            ("StoreErrors", 2.0),
            ("AuthorizerDeny/service_unavailable", 1.0),
            (DECISION_LATENCY, 1.0),
        ])
    );
}

#[tokio::test]
async fn nothing_happened_nothing_is_written() {
    let _turn = turn().await;
    assert!(emitter().flush(Some("idle")).is_empty());
}

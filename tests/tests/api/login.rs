use integration_tests::*;
use serde_json::json;

#[tokio::test]
async fn login_returns_a_bearer_pair_with_token_headers() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let response = login_fn::handle(
        post(
            "/api/auth/login",
            &json!({"id": "alice", "password": PASSWORD}),
        ),
        &app.service,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = body_json(&response);
    assert_eq!(body["tokenType"], "Bearer");
    assert_eq!(body["expiresIn"], 900);
    assert_eq!(body["refreshExpiresIn"], 604_800);

    let access = claims_of(body["accessToken"].as_str().unwrap());
    let refresh = claims_of(body["refreshToken"].as_str().unwrap());
    assert_eq!(access["sub"], "alice");
    assert_eq!(access["token_use"], "access");
    assert_eq!(refresh["token_use"], "refresh");
    assert_eq!(access["sid"], refresh["sid"], "one session per login");
    assert_ne!(access["jti"], refresh["jti"], "a fresh jti per token");
    assert_eq!(access["iss"], "tokengate");
    assert_eq!(access["aud"], "tokengate-api");
    assert_eq!(
        access["exp"].as_u64().unwrap() - access["iat"].as_u64().unwrap(),
        900
    );

    // The session item records the device, and its TTL is the refresh expiry.
    let session = app
        .store
        .get_session(access["sid"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.user_id, "alice");
    assert_eq!(session.generation, 1);
    assert_eq!(session.expires_at, refresh["exp"].as_u64().unwrap());
    assert_eq!(session.user_agent.as_deref(), Some("tokengate-tests/1.0"));
    assert_eq!(session.source_ip.as_deref(), Some("203.0.113.7"));
}

#[tokio::test]
async fn each_login_is_its_own_session() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (a1, _) = app.login("alice").await;
    let (a2, _) = app.login("alice").await;
    assert_ne!(claims_of(&a1)["sid"], claims_of(&a2)["sid"]);
    assert_eq!(app.validate(&a1).await.status(), 200);
    assert_eq!(app.validate(&a2).await.status(), 200);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let verifications = || app.service.passwords().verifications();
    let before = verifications();
    let wrong = login_fn::handle(
        post(
            "/api/auth/login",
            &json!({"id": "alice", "password": "wrong password"}),
        ),
        &app.service,
    )
    .await;
    let unknown = login_fn::handle(
        post(
            "/api/auth/login",
            &json!({"id": "nobody", "password": "wrong password"}),
        ),
        &app.service,
    )
    .await;
    let odd_id = login_fn::handle(
        post(
            "/api/auth/login",
            &json!({"id": "x".repeat(500), "password": "pw"}),
        ),
        &app.service,
    )
    .await;
    for response in [&wrong, &unknown, &odd_id] {
        assert_error(response, 401, "invalid_credentials");
    }
    // The same work on every path: one argon2 verification each.
    assert_eq!(verifications() - before, 3);
    assert_eq!(body_text(&wrong), body_text(&unknown));
    assert_eq!(body_text(&wrong), body_text(&odd_id));
    assert_eq!(
        wrong.headers().get("www-authenticate"),
        unknown.headers().get("www-authenticate")
    );
}

#[tokio::test]
async fn login_costs_two_round_trips() {
    let app = TestApp::new().await;
    app.register("alice").await;
    app.calls.take();
    app.login("alice").await;
    // Together: the read of the user, the attempts claimed on the account's
    // and the source's counters. Then one write: the session, clearing the
    // account's claim and giving the source's back.
    let mut calls = app.calls.take();
    let last = calls.pop();
    calls.sort();
    assert_eq!(calls, ["GetItem", "UpdateItem", "UpdateItem"]);
    assert_eq!(last.as_deref(), Some("TransactWriteItems"));
}

#[tokio::test]
async fn bad_login_bodies_are_400() {
    let app = TestApp::new().await;
    for (body, code) in [
        (Some("{"), "invalid_json"),
        (None, "invalid_json"),
        (Some(r#"{"id": "alice"}"#), "invalid_request"),
        (Some(r#"{"password": "x"}"#), "invalid_request"),
        (
            Some(r#"{"id": ["alice"], "password": "x"}"#),
            "invalid_request",
        ),
        (
            Some(r#"{"id": "alice", "password": 12345678}"#),
            "invalid_request",
        ),
    ] {
        let response =
            login_fn::handle(event("POST", "/api/auth/login", &[], body), &app.service).await;
        assert_error(&response, 400, code);
    }
}

#[tokio::test]
async fn single_session_mode_signs_out_other_devices() {
    let app = TestApp::with_env(&[("SESSION_MODE", "single")]).await;
    app.register("alice").await;
    let (phone_access, phone_refresh) = app.login("alice").await;
    assert_eq!(app.validate(&phone_access).await.status(), 200);
    let (laptop_access, _) = app.login("alice").await;
    assert_eq!(app.validate(&laptop_access).await.status(), 200);
    assert_error(&app.validate(&phone_access).await, 401, "invalid_token");
    assert_error(&app.refresh(&phone_refresh).await, 401, "invalid_token");
}

#[tokio::test]
async fn multi_session_mode_keeps_devices_independent() {
    let app = TestApp::with_env(&[("SESSION_MODE", "multi")]).await;
    app.register("alice").await;
    let (phone, _) = app.login("alice").await;
    let (laptop, _) = app.login("alice").await;
    assert_eq!(app.validate(&phone).await.status(), 200);
    assert_eq!(app.validate(&laptop).await.status(), 200);
}

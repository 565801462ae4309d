use std::time::Duration;

use integration_tests::*;
use tokengate::clock::now_secs;

/// The `sid` of a token.
fn sid(token: &str) -> String {
    claims_of(token)["sid"].as_str().unwrap().to_string()
}

fn listed_ids(response: &lambda_http::Response<lambda_http::Body>) -> Vec<String> {
    assert_eq!(response.status(), 200, "{}", body_text(response));
    body_json(response)["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sessionId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn lists_the_callers_live_sessions_in_one_query() {
    let app = TestApp::new().await;
    app.register("alice").await;
    app.register("bob").await;
    let (phone, _) = app.login("alice").await;
    let (laptop, _) = app.login("alice").await;
    let (tablet, _) = app.login("alice").await;
    let (bob, _) = app.login("bob").await;

    app.calls.take();
    let response = app.sessions(&laptop).await;
    assert_eq!(app.calls.take(), ["BatchGetItem", "Query"]);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = body_json(&response);
    let sessions = body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3, "{body}");
    let mut ids: Vec<&str> = sessions
        .iter()
        .map(|s| s["sessionId"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = [sid(&phone), sid(&laptop), sid(&tablet)];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(!ids.contains(&sid(&bob).as_str()), "another user's session");
    for session in sessions {
        let current = session["sessionId"] == sid(&laptop).as_str();
        assert_eq!(session["current"], current, "{session}");
        assert_eq!(session["userAgent"], "tokengate-tests/1.0");
        assert_eq!(session["sourceIp"], "203.0.113.7");
        let created = session["createdAt"].as_u64().unwrap();
        assert!(created.abs_diff(now_secs()) < 60);
        assert_eq!(session["refreshedAt"].as_u64().unwrap(), created);
    }
}

#[tokio::test]
async fn expired_and_signed_out_sessions_are_not_listed() {
    let app = TestApp::with_env(&[
        ("ACCESS_TOKEN_TTL_SECS", "60"),
        ("REFRESH_TOKEN_TTL_SECS", "60"),
    ])
    .await;
    app.register("alice").await;
    let (b, _) = app.login("alice").await;
    app.clock.advance(Duration::from_secs(30));
    let (a, _) = app.login("alice").await;

    // b is past its expiry but not yet deleted by TTL (DynamoDB is lazy);
    // a has 29 s to go.
    app.clock.advance(Duration::from_secs(31));
    assert!(app.store.get_session(&sid(&b)).await.unwrap().is_some());
    assert_eq!(listed_ids(&app.sessions(&a).await), [sid(&a)]);

    // logout-all leaves the items in the table, but none of them is live.
    assert_eq!(app.logout("/api/auth/logout-all", &a).await.status(), 200);
    let (c, _) = app.login("alice").await;
    assert!(app.store.get_session(&sid(&a)).await.unwrap().is_some());
    assert_eq!(listed_ids(&app.sessions(&c).await), [sid(&c)]);
}

#[tokio::test]
async fn revoking_a_lost_device_ends_only_that_session() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (laptop, _) = app.login("alice").await;
    let (phone, phone_refresh) = app.login("alice").await;

    app.calls.take();
    let response = app.revoke(&laptop, &sid(&phone)).await;
    assert_eq!(response.status(), 204, "{}", body_text(&response));
    assert!(response.body().is_empty());
    assert_eq!(response.headers()["cache-control"], "no-store");
    // The caller's claim and the delete in one transaction.
    assert_eq!(app.calls.take(), ["TransactWriteItems"]);

    assert_error(&app.validate(&phone).await, 401, "invalid_token");
    assert_error(&app.refresh(&phone_refresh).await, 401, "invalid_token");
    assert_eq!(app.validate(&laptop).await.status(), 200);
    assert_eq!(listed_ids(&app.sessions(&laptop).await), [sid(&laptop)]);

    // Again: it is gone.
    assert_error(
        &app.revoke(&laptop, &sid(&phone)).await,
        404,
        "session_not_found",
    );
}

#[tokio::test]
async fn someone_elses_session_and_unknown_ids_are_the_same_404() {
    let app = TestApp::new().await;
    app.register("alice").await;
    app.register("mallory").await;
    let (alice, _) = app.login("alice").await;
    let (mallory, _) = app.login("mallory").await;

    let others = app.revoke(&mallory, &sid(&alice)).await;
    let unknown = app
        .revoke(&mallory, &uuid::Uuid::new_v4().to_string())
        .await;
    let malformed = app.revoke(&mallory, "../USER#alice").await;
    for response in [&others, &unknown, &malformed] {
        assert_error(response, 404, "session_not_found");
    }
    assert_eq!(body_text(&others), body_text(&unknown));
    assert_eq!(body_text(&others), body_text(&malformed));
    // Nothing changed for alice.
    assert_eq!(app.validate(&alice).await.status(), 200);
    assert!(app.store.get_session(&sid(&alice)).await.unwrap().is_some());
    assert_eq!(app.validate(&mallory).await.status(), 200);
}

#[tokio::test]
async fn revoking_the_current_session_is_a_logout() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, _) = app.login("alice").await;
    let upper = sid(&access).to_uppercase();
    assert_eq!(app.revoke(&access, &upper).await.status(), 204);
    assert_error(&app.validate(&access).await, 401, "invalid_token");
}

#[tokio::test]
async fn session_routes_need_a_live_access_token() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, refresh) = app.login("alice").await;
    let (other, _) = app.login("alice").await;

    let no_token =
        sessions_fn::handle(event("GET", "/api/auth/sessions", &[], None), &app.service).await;
    assert_error(&no_token, 401, "missing_token");
    assert_error(&app.sessions(&refresh).await, 401, "invalid_token");
    assert_error(
        &app.revoke(&refresh, &sid(&other)).await,
        401,
        "invalid_token",
    );

    app.logout("/api/auth/logout", &access).await;
    assert_error(&app.sessions(&access).await, 401, "invalid_token");
    // A revoked caller gets 401 whatever the id, and revokes nothing.
    assert_error(
        &app.revoke(&access, &sid(&other)).await,
        401,
        "invalid_token",
    );
    assert_error(
        &app.revoke(&access, "not-a-uuid").await,
        401,
        "invalid_token",
    );
    assert_eq!(app.validate(&other).await.status(), 200);

    let post = sessions_fn::handle(
        event(
            "POST",
            "/api/auth/sessions",
            &[("authorization", &format!("Bearer {other}"))],
            None,
        ),
        &app.service,
    )
    .await;
    assert_error(&post, 405, "method_not_allowed");
}

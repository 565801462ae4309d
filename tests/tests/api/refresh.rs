use integration_tests::*;
use serde_json::json;

async fn logged_in(app: &TestApp) -> (String, String) {
    app.register("alice").await;
    app.login("alice").await
}

fn sid(token: &str) -> String {
    claims_of(token)["sid"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn refresh_rotates_in_one_round_trip_and_old_access_stops() {
    let app = TestApp::new().await;
    let (access1, refresh1) = logged_in(&app).await;
    app.calls.take();
    let response = app.refresh(&refresh1).await;
    assert_eq!(
        app.calls.take(),
        ["TransactWriteItems"],
        "one conditional write"
    );
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body = body_json(&response);
    assert_eq!(body["tokenType"], "Bearer");
    assert_eq!(body["expiresIn"], 900);
    let (access2, refresh2) = token_pair(&response);
    assert_eq!(sid(&access2), sid(&access1), "same session");
    assert_eq!(claims_of(&access2)["gen"], 2);
    assert_eq!(claims_of(&refresh2)["gen"], 2);

    assert_eq!(app.validate(&access2).await.status(), 200);
    assert_error(&app.validate(&access1).await, 401, "invalid_token");
    assert_eq!(
        app.store
            .get_session(&sid(&access1))
            .await
            .unwrap()
            .unwrap()
            .generation,
        2
    );
}

#[tokio::test]
async fn refresh_token_sources_kotlin_header_and_go_body() {
    let app = TestApp::new().await;
    let (access, refresh) = logged_in(&app).await;
    // Kotlin design: Authorization (access) + Refresh-Token (refresh).
    let response = refresh_fn::handle(
        event(
            "POST",
            "/api/auth/refresh",
            &[
                ("authorization", &format!("Bearer {access}")),
                ("refresh-token", &format!("Bearer {refresh}")),
            ],
            None,
        ),
        &app.service,
    )
    .await;
    let (_, refresh) = token_pair(&response);
    // Go design: JSON body, either spelling.
    let response = refresh_fn::handle(
        post("/api/auth/refresh", &json!({"refreshToken": refresh})),
        &app.service,
    )
    .await;
    let (_, refresh) = token_pair(&response);
    let response = refresh_fn::handle(
        post("/api/auth/refresh", &json!({"refresh_token": refresh})),
        &app.service,
    )
    .await;
    let (_, refresh) = token_pair(&response);
    assert_eq!(claims_of(&refresh)["gen"], 4);

    // Nothing usable sent.
    for (headers, body, status, code) in [
        (vec![], None, 401, "missing_token"),
        (vec![], Some("{}"), 401, "missing_token"),
        (vec![], Some("{"), 400, "invalid_json"),
        (
            vec![],
            Some(r#"{"refreshToken": 5}"#),
            400,
            "invalid_request",
        ),
        (
            vec![("refresh-token", "Basic abc")],
            None,
            401,
            "invalid_token",
        ),
    ] {
        let response = refresh_fn::handle(
            event("POST", "/api/auth/refresh", &headers, body),
            &app.service,
        )
        .await;
        assert_error(&response, status, code);
    }
}

#[tokio::test]
async fn access_token_is_never_a_refresh_token() {
    let app = TestApp::new().await;
    let (access, refresh) = logged_in(&app).await;
    assert_error(&app.refresh(&access).await, 401, "invalid_token");
    assert_error(&app.validate(&refresh).await, 401, "invalid_token");
    // And neither attempt disturbed the session.
    assert_eq!(app.validate(&access).await.status(), 200);
    token_pair(&app.refresh(&refresh).await);
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_advance_exactly_one_generation() {
    let app = TestApp::new().await;
    let (access, refresh) = logged_in(&app).await;
    let mut handles = Vec::new();
    for _ in 0..16 {
        let service = app.service.clone();
        let refresh = refresh.clone();
        handles.push(tokio::spawn(async move {
            refresh_with(&service, &refresh).await
        }));
    }
    let mut pairs = Vec::new();
    for h in handles {
        pairs.push(token_pair(&h.await.unwrap()));
    }
    let session = app.store.get_session(&sid(&access)).await.unwrap().unwrap();
    assert_eq!(session.generation, 2, "one rotation, however many raced");
    for (access, refresh) in &pairs {
        assert_eq!(claims_of(access)["gen"], 2);
        assert_eq!(claims_of(refresh)["gen"], 2);
        assert_eq!(app.validate(access).await.status(), 200);
    }
    // Any one of the returned refresh tokens carries the session on.
    let (access3, _) = token_pair(&app.refresh(&pairs[7].1).await);
    assert_eq!(claims_of(&access3)["gen"], 3);
}

#[tokio::test]
async fn previous_refresh_token_within_grace_gets_current_tokens_without_rotating() {
    let app = TestApp::new().await;
    let (_, refresh1) = logged_in(&app).await;
    let (access2, _) = token_pair(&app.refresh(&refresh1).await);
    // Another tab still holds refresh1.
    let (access_again, refresh_again) = token_pair(&app.refresh(&refresh1).await);
    assert_eq!(claims_of(&access_again)["gen"], 2);
    assert_eq!(
        app.store
            .get_session(&sid(&access2))
            .await
            .unwrap()
            .unwrap()
            .generation,
        2
    );
    assert_eq!(app.validate(&access2).await.status(), 200);
    assert_eq!(app.validate(&access_again).await.status(), 200);
    token_pair(&app.refresh(&refresh_again).await);
}

#[tokio::test]
async fn reuse_after_grace_revokes_the_whole_session_but_not_others() {
    let app = TestApp::new().await;
    let (_, refresh1) = logged_in(&app).await;
    let (other_access, other_refresh) = app.login("alice").await;
    let (access2, refresh2) = token_pair(&app.refresh(&refresh1).await);
    // Past the 10 s grace, by the service's clock.
    app.clock.advance(std::time::Duration::from_millis(11_000));

    // The thief (or the owner) replays refresh1 after the grace: revoked.
    assert_error(&app.refresh(&refresh1).await, 401, "invalid_token");
    assert!(app
        .store
        .get_session(&sid(&access2))
        .await
        .unwrap()
        .is_none());
    assert_error(&app.validate(&access2).await, 401, "invalid_token");
    assert_error(&app.refresh(&refresh2).await, 401, "invalid_token");

    // The user's other device is untouched.
    assert_eq!(app.validate(&other_access).await.status(), 200);
    token_pair(&app.refresh(&other_refresh).await);
}

#[tokio::test]
async fn older_generation_replay_revokes_even_within_grace() {
    let app = TestApp::new().await;
    let (_, refresh1) = logged_in(&app).await;
    let (_, refresh2) = token_pair(&app.refresh(&refresh1).await);
    let (access3, refresh3) = token_pair(&app.refresh(&refresh2).await);
    assert_error(&app.refresh(&refresh1).await, 401, "invalid_token");
    assert_error(&app.validate(&access3).await, 401, "invalid_token");
    assert_error(&app.refresh(&refresh3).await, 401, "invalid_token");
}

#[tokio::test]
async fn strict_mode_revokes_on_any_reuse() {
    let app = TestApp::with_env(&[("REFRESH_REUSE_GRACE_SECS", "0")]).await;
    let (_, refresh1) = logged_in(&app).await;
    let (access2, _) = token_pair(&app.refresh(&refresh1).await);
    assert_error(&app.refresh(&refresh1).await, 401, "invalid_token");
    assert_error(&app.validate(&access2).await, 401, "invalid_token");
}

#[tokio::test]
async fn refresh_after_logout_all_is_rejected() {
    let app = TestApp::new().await;
    let (access, refresh) = logged_in(&app).await;
    assert_eq!(
        app.logout("/api/auth/logout-all", &access).await.status(),
        200
    );
    assert_error(&app.refresh(&refresh).await, 401, "invalid_token");
}

/// After logout-all, the previous refresh token replayed inside the reuse
/// grace is dead like every other token of the old version: no new pair.
#[tokio::test]
async fn a_replay_inside_the_grace_after_logout_all_gets_401() {
    let app = TestApp::new().await;
    let (_, refresh1) = logged_in(&app).await;
    let (access2, refresh2) = token_pair(&app.refresh(&refresh1).await);
    assert_eq!(
        app.logout("/api/auth/logout-all", &access2).await.status(),
        200
    );
    // Within the 10 s grace of the rotation.
    assert_error(&app.refresh(&refresh1).await, 401, "invalid_token");
    assert_error(&app.refresh(&refresh2).await, 401, "invalid_token");
}

/// The rotation reached DynamoDB and was applied, but every answer the
/// SDK's three attempts got was `TransactionInProgressException` (as after
/// a timed-out attempt). The store's re-send is the same request (one client
/// token), so DynamoDB reports the rotation as done: not a replay, even with
/// no grace at all.
#[tokio::test]
async fn a_rotation_whose_answer_was_lost_is_not_taken_for_a_replay() {
    let app = TestApp::with_env(&[("REFRESH_REUSE_GRACE_SECS", "0")]).await;
    let (_, refresh1) = logged_in(&app).await;
    let sdk_attempts = tokengate::store::Resilience::DEFAULT.max_attempts;
    app.faults.lose_transaction_answers(sdk_attempts);
    app.calls.take();
    let (access2, refresh2) = token_pair(&app.refresh(&refresh1).await);
    assert_eq!(
        app.calls.take().len(),
        sdk_attempts as usize + 1,
        "the SDK's attempts, answers lost, then the store's re-send"
    );
    assert_eq!(claims_of(&access2)["gen"], 2);
    assert_eq!(app.validate(&access2).await.status(), 200);
    let (_, refresh3) = token_pair(&app.refresh(&refresh2).await);
    assert_eq!(claims_of(&refresh3)["gen"], 3);
}

use integration_tests::*;

const NEW_PASSWORD: &str = "a brand new passphrase";

#[tokio::test]
async fn changing_the_password_keeps_this_device_and_signs_out_the_others() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, refresh) = app.login("alice").await;
    let (other, other_refresh) = app.login("alice").await;

    app.calls.take();
    let response = app.change_password(&access, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    // The access decision, the attempt claimed on the account's counter, then
    // one transaction (hash + version, session generation, counter cleared).
    assert_eq!(
        app.calls.take(),
        ["BatchGetItem", "UpdateItem", "TransactWriteItems"]
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body = body_json(&response);
    let new_access = body["accessToken"].as_str().unwrap();
    let new_refresh = body["refreshToken"].as_str().unwrap();
    assert_eq!(claims_of(new_access)["sid"], claims_of(&access)["sid"]);

    // This device goes on with the new pair only.
    assert_eq!(app.validate(new_access).await.status(), 200);
    assert_error(&app.validate(&access).await, 401, "invalid_token");
    // Every other device is signed out.
    assert_error(&app.validate(&other).await, 401, "invalid_token");
    assert_error(&app.refresh(&other_refresh).await, 401, "invalid_token");
    // This device's previous refresh token belongs to the old version: dead,
    // but not a replay, so the re-keyed session survives it.
    assert_error(&app.refresh(&refresh).await, 401, "invalid_token");
    assert_eq!(app.validate(new_access).await.status(), 200);
    assert_eq!(app.refresh(new_refresh).await.status(), 200);

    // The old password no longer logs in; the new one does.
    assert_error(
        &app.login_from("alice", PASSWORD, "192.0.2.1").await,
        401,
        "invalid_credentials",
    );
    let login = app.login_from("alice", NEW_PASSWORD, "192.0.2.1").await;
    assert_eq!(login.status(), 200);
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing_and_counts_as_a_failure() {
    let app = TestApp::with_env(&[("LOGIN_MAX_FAILURES", "2")]).await;
    app.register("alice").await;
    let (access, _) = app.login("alice").await;
    let (other, _) = app.login("alice").await;

    for _ in 0..2 {
        assert_error(
            &app.change_password(&access, "not my password", NEW_PASSWORD)
                .await,
            403,
            "invalid_current_password",
        );
    }
    assert_eq!(app.validate(&access).await.status(), 200);
    assert_eq!(app.validate(&other).await.status(), 200);
    // Guessing through a stolen access token is throttled like logins...
    let argon2_runs = app.service.passwords().verifications();
    assert_error(
        &app.change_password(&access, PASSWORD, NEW_PASSWORD).await,
        429,
        "too_many_attempts",
    );
    assert_error(
        &app.login_from("alice", PASSWORD, "192.0.2.1").await,
        429,
        "too_many_attempts",
    );
    assert_eq!(app.service.passwords().verifications(), argon2_runs);
    // ...and the password is still the old one.
    let user = app.store.get_user("alice").await.unwrap().unwrap();
    assert!(app
        .service
        .passwords()
        .verify(user.password_hash.as_deref(), PASSWORD));
}

#[tokio::test]
async fn bad_password_change_requests() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, refresh) = app.login("alice").await;
    let bearer = format!("Bearer {access}");
    for (body, code, field) in [
        (Some("{"), "invalid_json", ""),
        (None, "invalid_json", ""),
        (
            Some(r#"{"newPassword": "long enough"}"#),
            "invalid_request",
            "currentPassword",
        ),
        (
            Some(r#"{"currentPassword": "x"}"#),
            "invalid_request",
            "newPassword",
        ),
        (
            Some(r#"{"currentPassword": "x", "newPassword": "short"}"#),
            "invalid_request",
            "newPassword",
        ),
        (
            Some(r#"{"currentPassword": 1, "newPassword": "long enough"}"#),
            "invalid_request",
            "currentPassword",
        ),
    ] {
        let response = password_fn::handle(
            event(
                "POST",
                "/api/auth/password",
                &[("authorization", &bearer)],
                body,
            ),
            &app.service,
        )
        .await;
        assert_error(&response, 400, code);
        assert!(
            body_text(&response).contains(field),
            "{}",
            body_text(&response)
        );
    }
    let no_token = password_fn::handle(
        post(
            "/api/auth/password",
            &serde_json::json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
        ),
        &app.service,
    )
    .await;
    assert_error(&no_token, 401, "missing_token");
    assert_error(
        &app.change_password(&refresh, PASSWORD, NEW_PASSWORD).await,
        401,
        "invalid_token",
    );
    app.logout("/api/auth/logout", &access).await;
    assert_error(
        &app.change_password(&access, PASSWORD, NEW_PASSWORD).await,
        401,
        "invalid_token",
    );
    let user = app.store.get_user("alice").await.unwrap().unwrap();
    assert!(app
        .service
        .passwords()
        .verify(user.password_hash.as_deref(), PASSWORD));
}

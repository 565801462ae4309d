use integration_tests::*;

#[tokio::test]
async fn logout_ends_only_this_device_in_one_round_trip() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (phone_access, phone_refresh) = app.login("alice").await;
    let (laptop_access, laptop_refresh) = app.login("alice").await;

    app.calls.take();
    let response = app.logout("/api/auth/logout", &phone_access).await;
    assert_eq!(app.calls.take(), ["TransactWriteItems"]);
    assert_eq!(response.status(), 200);
    assert!(body_json(&response)["message"].is_string());

    assert_error(&app.validate(&phone_access).await, 401, "invalid_token");
    assert_error(&app.refresh(&phone_refresh).await, 401, "invalid_token");
    let sid = claims_of(&phone_access)["sid"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        app.store.get_session(&sid).await.unwrap().is_none(),
        "session item deleted"
    );

    assert_eq!(app.validate(&laptop_access).await.status(), 200);
    assert_eq!(app.refresh(&laptop_refresh).await.status(), 200);

    // A second logout with the same token is refused, not a silent 200.
    assert_error(
        &app.logout("/api/auth/logout", &phone_access).await,
        401,
        "invalid_token",
    );
}

#[tokio::test]
async fn logout_all_ends_every_session_with_one_write() {
    let app = TestApp::new().await;
    app.register("alice").await;
    app.register("bob").await;
    let (phone_access, phone_refresh) = app.login("alice").await;
    let (laptop_access, laptop_refresh) = app.login("alice").await;
    let (bob_access, _) = app.login("bob").await;

    app.calls.take();
    let response = app.logout("/api/auth/logout-all", &laptop_access).await;
    assert_eq!(app.calls.take(), ["TransactWriteItems"]);
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.store
            .get_user("alice")
            .await
            .unwrap()
            .unwrap()
            .token_version,
        1
    );

    for token in [&phone_access, &laptop_access] {
        assert_error(&app.validate(token).await, 401, "invalid_token");
    }
    for token in [&phone_refresh, &laptop_refresh] {
        assert_error(&app.refresh(token).await, 401, "invalid_token");
    }
    assert_eq!(
        app.validate(&bob_access).await.status(),
        200,
        "other users untouched"
    );

    // A fresh login works again, with the new version.
    let (access, _) = app.login("alice").await;
    assert_eq!(claims_of(&access)["ver"], 1);
    assert_eq!(app.validate(&access).await.status(), 200);
}

#[tokio::test]
async fn logout_needs_a_valid_access_token() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, refresh) = app.login("alice").await;
    let response =
        logout_fn::handle(event("POST", "/api/auth/logout", &[], None), &app.service).await;
    assert_error(&response, 401, "missing_token");
    assert_error(
        &app.logout("/api/auth/logout", &refresh).await,
        401,
        "invalid_token",
    );
    assert_error(
        &app.logout("/api/auth/logout-all", &refresh).await,
        401,
        "invalid_token",
    );
    assert_error(
        &app.logout("/api/auth/logout", "not.a.token").await,
        401,
        "invalid_token",
    );
    assert_eq!(
        app.validate(&access).await.status(),
        200,
        "failed attempts changed nothing"
    );
}

#[tokio::test]
async fn unknown_path_on_the_logout_function_is_404() {
    let app = TestApp::new().await;
    let response =
        logout_fn::handle(event("POST", "/api/auth/logoff", &[], None), &app.service).await;
    assert_error(&response, 404, "not_found");
}

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
    let alice = app.store.get_user("alice").await.unwrap().unwrap();
    assert_eq!(
        alice.token_version,
        tokengate::rules::account::initial_token_version(alice.seq) + 1
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
    assert_eq!(claims_of(&access)["ver"], alice.token_version);
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

/// A thief refreshed the session first; the owner's older pair is one
/// generation behind. The owner's logout still ends the session, so the
/// thief's newer tokens stop too.
#[tokio::test]
async fn logout_with_a_superseded_token_ends_the_session_a_thief_rotated() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (owner_access, owner_refresh) = app.login("alice").await;
    let stolen = body_json(&app.refresh(&owner_refresh).await);
    let thief_access = stolen["accessToken"].as_str().unwrap().to_string();
    let thief_refresh = stolen["refreshToken"].as_str().unwrap().to_string();

    let response = app.logout("/api/auth/logout", &owner_access).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_error(&app.validate(&thief_access).await, 401, "invalid_token");
    assert_error(&app.refresh(&thief_refresh).await, 401, "invalid_token");
    // Once ended, the old token ends nothing more.
    assert_error(
        &app.logout("/api/auth/logout", &owner_access).await,
        401,
        "invalid_token",
    );
}

/// The same for logout-all: the superseded token's version is current, so
/// every session of the user ends.
#[tokio::test]
async fn logout_all_with_a_superseded_token_ends_every_session() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (owner_access, owner_refresh) = app.login("alice").await;
    let (laptop_access, _) = app.login("alice").await;
    let stolen = body_json(&app.refresh(&owner_refresh).await);
    let thief_access = stolen["accessToken"].as_str().unwrap().to_string();

    let response = app.logout("/api/auth/logout-all", &owner_access).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    for access in [&thief_access, &laptop_access, &owner_access] {
        assert_error(&app.validate(access).await, 401, "invalid_token");
    }
    // A token of the old version now ends nothing.
    assert_error(
        &app.logout("/api/auth/logout-all", &owner_access).await,
        401,
        "invalid_token",
    );
}

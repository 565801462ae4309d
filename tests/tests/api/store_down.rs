//! When DynamoDB cannot be reached every decision fails closed: 503 JSON
//! with Retry-After for the API, a deny for the authorizer, never a 200.

use integration_tests::*;
use serde_json::json;

#[tokio::test]
async fn every_function_answers_503_and_the_authorizer_denies() {
    // Tokens minted by a healthy app with the same secret, so that only the
    // store decides.
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, refresh) = app.login("alice").await;
    let down = service_with_store_down();

    let responses = [
        register_fn::handle(
            post(
                "/api/auth/register",
                &json!({"id": "bob", "password": PASSWORD, "name": "B"}),
            ),
            &down,
        )
        .await,
        login_fn::handle(
            post(
                "/api/auth/login",
                &json!({"id": "alice", "password": PASSWORD}),
            ),
            &down,
        )
        .await,
        validate_fn::handle(get_with_bearer("/api/auth/validate", &access), &down).await,
        refresh_with(&down, &refresh).await,
        logout_fn::handle(get_with_bearer("/api/auth/logout", &access), &down).await,
        logout_fn::handle(get_with_bearer("/api/auth/logout-all", &access), &down).await,
        sessions_fn::handle(get_with_bearer("/api/auth/sessions", &access), &down).await,
        password_fn::handle(
            event(
                "POST",
                "/api/auth/password",
                &[("authorization", &format!("Bearer {access}"))],
                Some(
                    r#"{"currentPassword": "correct horse battery", "newPassword": "another one"}"#,
                ),
            ),
            &down,
        )
        .await,
    ];
    for response in &responses {
        assert_error(response, 503, "service_unavailable");
        assert!(response.headers().contains_key("retry-after"));
        let text = body_text(response);
        assert!(
            !text.contains("tokengate-down"),
            "no table name in the body: {text}"
        );
        assert!(
            !text.to_lowercase().contains("dispatch"),
            "no SDK detail in the body: {text}"
        );
    }

    let decision = authorizer_fn::handle_json(
        authorizer_v2_event(Some(&format!("Bearer {access}"))),
        &down,
    )
    .await;
    assert_eq!(decision["isAuthorized"], false);

    // The healthy app still accepts the same tokens: it was the store.
    assert_eq!(app.validate(&access).await.status(), 200);
}

#[tokio::test]
async fn missing_table_fails_closed_too() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, _) = app.login("alice").await;
    let client = client_for(endpoint(), CallLog::default());
    let misconfigured = tokengate::AuthService::new(config_with("no-such-table", &[]), client);
    let response = validate_fn::handle(
        get_with_bearer("/api/auth/validate", &access),
        &misconfigured,
    )
    .await;
    assert_error(&response, 503, "service_unavailable");
    assert!(!body_text(&response).contains("no-such-table"));
}

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::*;
use serde_json::json;

#[tokio::test]
async fn validate_returns_seq_id_name_in_one_round_trip() {
    let app = TestApp::new().await;
    let registered = app.register("alice").await;
    let (access, _) = app.login("alice").await;
    app.calls.take();
    let response = app.validate(&access).await;
    assert_eq!(
        app.calls.take(),
        ["BatchGetItem"],
        "one DynamoDB round trip"
    );
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        body_json(&response),
        json!({"seq": registered["seq"], "id": "alice", "name": "alice name"})
    );
}

#[tokio::test]
async fn missing_or_non_bearer_authorization() {
    let app = TestApp::new().await;
    let response =
        validate_fn::handle(event("GET", "/api/auth/validate", &[], None), &app.service).await;
    assert_error(&response, 401, "missing_token");
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer") && !challenge.contains("error="));

    for value in ["Basic YWxpY2U6cHc=", "Bearer", "Bearer    "] {
        let response = validate_fn::handle(
            event(
                "GET",
                "/api/auth/validate",
                &[("authorization", value)],
                None,
            ),
            &app.service,
        )
        .await;
        assert_error(&response, 401, "invalid_token");
    }
}

/// DynamoDB deletes expired items lazily: an item past `expires_at` that is
/// still in the table must not authenticate anything, even while the tokens
/// themselves are still inside their clock-skew leeway.
#[tokio::test]
async fn expired_session_item_still_present_is_rejected() {
    let app = TestApp::with_env(&[
        ("ACCESS_TOKEN_TTL_SECS", "60"),
        ("REFRESH_TOKEN_TTL_SECS", "60"),
    ])
    .await;
    app.register("alice").await;
    let (access, refresh) = app.login("alice").await;
    let sid = claims_of(&access)["sid"].as_str().unwrap().to_string();
    // One second past the session's end; the tokens' `exp` is the same
    // instant, still accepted under the 10 s leeway.
    app.clock.advance(std::time::Duration::from_secs(61));
    assert!(app.store.get_session(&sid).await.unwrap().is_some());
    assert_error(&app.validate(&access).await, 401, "invalid_token");
    assert_error(&app.refresh(&refresh).await, 401, "invalid_token");
    assert_error(
        &app.logout("/api/auth/logout", &access).await,
        401,
        "invalid_token",
    );
}

#[tokio::test]
async fn deleted_user_invalidates_tokens() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, _) = app.login("alice").await;
    app.store
        .client()
        .delete_item()
        .table_name(app.store.table())
        .key("pk", AttributeValue::S("USER#alice".into()))
        .send()
        .await
        .unwrap();
    assert_error(&app.validate(&access).await, 401, "invalid_token");
}

#[tokio::test]
async fn rest_api_v1_event_with_capitalised_header() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, _) = app.login("alice").await;
    let event = json!({
        "resource": "/api/auth/validate",
        "path": "/api/auth/validate",
        "httpMethod": "GET",
        "headers": {"Authorization": format!("Bearer {access}"), "Host": "example.com"},
        "multiValueHeaders": {"Authorization": [format!("Bearer {access}")], "Host": ["example.com"]},
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "abc123",
            "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "198.51.100.1", "userAgent": "curl/8"},
            "resourcePath": "/api/auth/validate",
            "httpMethod": "GET",
            "apiId": "1234567890",
            "path": "/prod/api/auth/validate"
        },
        "body": null,
        "isBase64Encoded": false
    });
    let response = validate_fn::handle(to_request(&event), &app.service).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_eq!(body_json(&response)["id"], "alice");
}

/// The access decision reads what it needs and never the password hash
/// (the template's `dynamodb:Attributes` condition allows no more).
#[tokio::test]
async fn access_decisions_never_read_the_password_hash() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, _) = app.login("alice").await;
    let sid = claims_of(&access)["sid"].as_str().unwrap().to_string();
    let (session, user) = app
        .store
        .load_session_and_user(&sid, "alice", false)
        .await
        .unwrap();
    let user = user.unwrap();
    assert_eq!((user.id.as_str(), user.password_hash), ("alice", None));
    assert_eq!(session.unwrap().session_id, sid);
    let (_, full) = app
        .store
        .load_session_and_user(&sid, "alice", true)
        .await
        .unwrap();
    assert!(full.unwrap().password_hash.is_some());
}

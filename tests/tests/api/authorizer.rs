use integration_tests::*;
use serde_json::{json, Value};

async fn alice() -> (TestApp, String, String) {
    let app = TestApp::new().await;
    let seq = app.register("alice").await["seq"].as_u64().unwrap();
    let (access, refresh) = app.login("alice").await;
    let _ = seq;
    (app, access, refresh)
}

#[tokio::test]
async fn http_api_v2_allows_a_live_access_token_with_context_in_one_round_trip() {
    let (app, access, _) = alice().await;
    app.calls.take();
    let decision = authorizer_fn::handle_json(
        authorizer_v2_event(Some(&format!("Bearer {access}"))),
        &app.service,
    )
    .await;
    assert_eq!(app.calls.take(), ["BatchGetItem"]);
    assert_eq!(decision["isAuthorized"], true);
    let seq = app.store.get_user("alice").await.unwrap().unwrap().seq;
    assert_eq!(
        decision["context"],
        json!({"userId": "alice", "seq": seq, "sessionId": claims_of(&access)["sid"]})
    );
}

#[tokio::test]
async fn http_api_v2_denies_everything_else() {
    let (app, access, refresh) = alice().await;
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("refresh token", Some(format!("Bearer {refresh}"))),
        ("basic auth", Some("Basic YWxpY2U6cHc=".into())),
        ("garbage", Some("Bearer garbage".into())),
    ];
    for (what, header) in cases {
        let decision =
            authorizer_fn::handle_json(authorizer_v2_event(header.as_deref()), &app.service).await;
        assert_eq!(decision["isAuthorized"], false, "{what}");
        assert_eq!(decision["context"], json!({}), "{what}");
    }
    // After logout the same token is refused at once.
    assert_eq!(app.logout("/api/auth/logout", &access).await.status(), 200);
    let decision = authorizer_fn::handle_json(
        authorizer_v2_event(Some(&format!("Bearer {access}"))),
        &app.service,
    )
    .await;
    assert_eq!(decision["isAuthorized"], false);
}

#[tokio::test]
async fn malformed_events_are_denied() {
    let (app, access, _) = alice().await;
    let mut missing_context = authorizer_v2_event(Some(&format!("Bearer {access}")));
    missing_context
        .as_object_mut()
        .unwrap()
        .remove("requestContext");
    for event in [
        json!({}),
        json!([1, 2]),
        json!("Bearer x"),
        json!({"type": "TOKEN"}),
        missing_context,
    ] {
        let decision = authorizer_fn::handle_json(event.clone(), &app.service).await;
        assert_eq!(decision["isAuthorized"], false, "{event}");
    }
}

fn statement(decision: &Value) -> &Value {
    &decision["policyDocument"]["Statement"][0]
}

#[tokio::test]
async fn rest_token_authorizer_answers_with_an_iam_policy() {
    let (app, access, _) = alice().await;
    let arn = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/api/todos";
    let event =
        |token: &str| json!({"type": "TOKEN", "authorizationToken": token, "methodArn": arn});

    let allow = authorizer_fn::handle_json(event(&format!("Bearer {access}")), &app.service).await;
    assert_eq!(allow["principalId"], "alice");
    assert_eq!(allow["policyDocument"]["Version"], "2012-10-17");
    assert_eq!(statement(&allow)["Effect"], "Allow");
    assert_eq!(statement(&allow)["Action"], json!(["execute-api:Invoke"]));
    assert_eq!(statement(&allow)["Resource"], json!([arn]));
    assert_eq!(allow["context"]["userId"], "alice");
    assert_eq!(allow["context"]["sessionId"], claims_of(&access)["sid"]);

    for token in ["Bearer nope", "", &access] {
        let deny = authorizer_fn::handle_json(event(token), &app.service).await;
        assert_eq!(statement(&deny)["Effect"], "Deny", "{token:.10}");
        assert_eq!(deny["context"], json!({}));
    }
}

#[tokio::test]
async fn rest_request_authorizer_reads_the_header() {
    let (app, access, _) = alice().await;
    let arn = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/POST/api/todos";
    let event = |headers: Value| {
        json!({
            "type": "REQUEST",
            "methodArn": arn,
            "resource": "/api/todos",
            "path": "/api/todos",
            "httpMethod": "POST",
            "headers": headers,
            "queryStringParameters": {},
            "pathParameters": {},
            "stageVariables": {},
            "requestContext": {"accountId": "123456789012", "apiId": "abcdef1234", "stage": "prod", "httpMethod": "POST", "requestId": "r1", "resourcePath": "/api/todos", "path": "/prod/api/todos"}
        })
    };
    let allow = authorizer_fn::handle_json(
        event(json!({"Authorization": format!("Bearer {access}")})),
        &app.service,
    )
    .await;
    assert_eq!(statement(&allow)["Effect"], "Allow", "{allow}");
    let deny = authorizer_fn::handle_json(event(json!({})), &app.service).await;
    assert_eq!(statement(&deny)["Effect"], "Deny");
}

//! "Protect your own function" (README), walked as a user would: a function
//! that exists only here reads the caller with `tokengate::Caller`, behind
//! the real authorizer's answer, as an HTTP API and as a REST API pass it on.
//! The todos sample is checked the same way. Without the authorizer's
//! context, both refuse.

use http::StatusCode;
use integration_tests::*;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use tokengate::http::json_response;
use tokengate::{ApiError, Caller};

// --- The guide's function, as its lib.rs would be. ---

/// `GET /hello`: greets the caller. The state is whatever the function
/// builds at cold start; this one needs none.
pub async fn handle(request: Request, _state: &()) -> Response<Body> {
    tokengate::lambda::respond(hello(&request))
}

fn hello(request: &Request) -> Result<http::Response<String>, ApiError> {
    let caller = Caller::from_request(request)?;
    let body = json!({ "hello": caller.user_id, "seq": caller.seq, "session": caller.session_id });
    Ok(json_response(StatusCode::OK, &body))
}

// --- The gateway's part, with the real authorizer. ---

/// What an HTTP API hands the function after the authorizer allowed
/// `access`: the simple response's context under `authorizer.lambda`.
async fn via_http_api(
    app: &TestApp,
    access: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Request {
    let decision = authorizer_fn::handle_json(
        authorizer_v2_event(Some(&format!("Bearer {access}"))),
        &app.service,
    )
    .await;
    assert_eq!(decision["isAuthorized"], true, "{decision}");
    let event = event_json(method, path, &[], body);
    to_request(&gateway_events::with_lambda_authorizer(
        event,
        decision["context"].clone(),
    ))
}

/// What a REST API hands the function after a `TOKEN` authorizer allowed
/// `access`: principal and context (stringified) under `authorizer`.
async fn via_rest_api(
    app: &TestApp,
    access: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Request {
    let arn = format!("arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/{method}{path}");
    let token_event = json!({"type": "TOKEN", "authorizationToken": format!("Bearer {access}"), "methodArn": arn});
    let decision = authorizer_fn::handle_json(token_event, &app.service).await;
    assert_eq!(
        decision["policyDocument"]["Statement"][0]["Effect"], "Allow",
        "{decision}"
    );
    let principal = decision["principalId"].as_str().unwrap();
    let event = rest_event_json(method, path, body, Some((principal, &decision["context"])));
    to_request(&event)
}

async fn alice() -> (TestApp, String) {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, _) = app.login("alice").await;
    (app, access)
}

#[tokio::test]
async fn the_guides_function_reads_the_caller_behind_either_authorizer() {
    let (app, access) = alice().await;
    let seq = app.store.get_user("alice").await.unwrap().unwrap().seq;
    let expected = json!({"hello": "alice", "seq": seq, "session": claims_of(&access)["sid"]});
    for request in [
        via_http_api(&app, &access, "GET", "/hello", None).await,
        via_rest_api(&app, &access, "GET", "/hello", None).await,
    ] {
        let response = handle(request, &()).await;
        assert_eq!(response.status(), 200, "{}", body_text(&response));
        assert_eq!(body_json(&response), expected);
    }
}

#[tokio::test]
async fn without_the_authorizers_context_a_protected_function_refuses() {
    // A route left unprotected by mistake: no context at all, a context of
    // another kind, or a REST context that lacks a key.
    let no_context = to_request(&event_json("GET", "/hello", &[], None));
    let mut jwt = event_json("GET", "/hello", &[], None);
    jwt["requestContext"]["authorizer"] =
        json!({"jwt": {"claims": {"sub": "alice"}, "scopes": []}});
    let partial = json!({"userId": "alice", "sessionId": "s"});
    let rest = rest_event_json("GET", "/hello", None, Some(("alice", &partial)));
    let no_rest_context = rest_event_json("GET", "/hello", None, None);
    for (what, request) in [
        ("none", no_context),
        ("jwt authorizer", to_request(&jwt)),
        ("REST, no seq", to_request(&rest)),
        ("REST, none", to_request(&no_rest_context)),
    ] {
        let response = handle(request, &()).await;
        assert_eq!(response.status(), 401, "{what}");
        assert_error(&response, 401, "missing_token");
    }
}

#[tokio::test]
async fn todos_works_behind_an_http_api_and_a_rest_api() {
    let (app, access) = alice().await;
    let todos = app.todos().await;
    let title = |t: &str| json!({ "title": t }).to_string();

    let created = todos_fn::handle(
        via_http_api(
            &app,
            &access,
            "POST",
            "/api/todos",
            Some(&title("via HTTP API")),
        )
        .await,
        &todos,
    )
    .await;
    assert_eq!(created.status(), 201, "{}", body_text(&created));
    let created = todos_fn::handle(
        via_rest_api(
            &app,
            &access,
            "POST",
            "/api/todos",
            Some(&title("via REST API")),
        )
        .await,
        &todos,
    )
    .await;
    assert_eq!(created.status(), 201, "{}", body_text(&created));
    assert_eq!(body_json(&created)["userId"], "alice");

    for request in [
        via_http_api(&app, &access, "GET", "/api/todos", None).await,
        via_rest_api(&app, &access, "GET", "/api/todos", None).await,
    ] {
        let listed = todos_fn::handle(request, &todos).await;
        assert_eq!(listed.status(), 200, "{}", body_text(&listed));
        let titles: Vec<Value> = body_json(&listed)["todos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].clone())
            .collect();
        assert_eq!(titles, [json!("via HTTP API"), json!("via REST API")]);
    }

    let unprotected = to_request(&rest_event_json("GET", "/api/todos", None, None));
    assert_error(
        &todos_fn::handle(unprotected, &todos).await,
        401,
        "missing_token",
    );
}

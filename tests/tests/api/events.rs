//! The sample events in `events/` (for `cargo lambda invoke --data-file`)
//! are real-shaped: each one drives its handler to success.

use integration_tests::*;
use serde_json::Value;

fn load(name: &str, access: &str, refresh: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let text = text
        .replace("REPLACE_WITH_ACCESS_TOKEN", access)
        .replace("REPLACE_WITH_REFRESH_TOKEN", refresh);
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn sample_events_drive_each_handler() {
    let app = TestApp::new().await;
    let r = register_fn::handle(to_request(&load("register.json", "", "")), &app.service).await;
    assert_eq!(r.status(), 201, "{}", body_text(&r));
    let r = login_fn::handle(to_request(&load("login.json", "", "")), &app.service).await;
    assert_eq!(r.status(), 200, "{}", body_text(&r));
    let tokens = body_json(&r);
    let (access, refresh) = (
        tokens["accessToken"].as_str().unwrap(),
        tokens["refreshToken"].as_str().unwrap(),
    );

    let r = validate_fn::handle(
        to_request(&load("validate.json", access, refresh)),
        &app.service,
    )
    .await;
    assert_eq!(r.status(), 200, "{}", body_text(&r));
    let discovery = jwks_fn::Published::fixed(jwks_fn::Discovery::from_lookup(|_| None).unwrap());
    let r = jwks_fn::handle(to_request(&load("jwks.json", "", "")), &discovery).await;
    assert_eq!(r.status(), 200, "{}", body_text(&r));
    let r = sessions_fn::handle(
        to_request(&load("sessions-list.json", access, refresh)),
        &app.service,
    )
    .await;
    assert_eq!(r.status(), 200, "{}", body_text(&r));
    for name in ["authorizer-http-v2.json", "authorizer-rest-token.json"] {
        let decision = authorizer_fn::handle_json(load(name, access, refresh), &app.service).await;
        let allowed = decision["isAuthorized"] == true
            || decision["policyDocument"]["Statement"][0]["Effect"] == "Allow";
        assert!(allowed, "{name}: {decision}");
    }

    let todos = app.todos().await;
    let r = todos_fn::handle(
        to_request(&load("todos-create.json", access, refresh)),
        &todos,
    )
    .await;
    assert_eq!(r.status(), 201, "{}", body_text(&r));

    let r = refresh_fn::handle(
        to_request(&load("refresh.json", access, refresh)),
        &app.service,
    )
    .await;
    assert_eq!(r.status(), 200, "{}", body_text(&r));
    let tokens = body_json(&r);
    let access = tokens["accessToken"].as_str().unwrap();
    let r = logout_fn::handle(to_request(&load("logout.json", access, "")), &app.service).await;
    assert_eq!(r.status(), 200, "{}", body_text(&r));

    let r = login_fn::handle(to_request(&load("login.json", "", "")), &app.service).await;
    let access = body_json(&r)["accessToken"].as_str().unwrap().to_string();
    let r = password_fn::handle(
        to_request(&load("password.json", &access, "")),
        &app.service,
    )
    .await;
    assert_eq!(r.status(), 200, "{}", body_text(&r));
    let access = body_json(&r)["accessToken"].as_str().unwrap().to_string();
    let r = logout_fn::handle(
        to_request(&load("logout-all.json", &access, "")),
        &app.service,
    )
    .await;
    assert_eq!(r.status(), 200, "{}", body_text(&r));
}

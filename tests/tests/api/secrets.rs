//! Keys from Secrets Manager (the moto server, through the real SDK): read
//! at start, re-read every KEYS_REFRESH_SECS by the running service, so a
//! new secret value rotates keys without a restart while the previous key
//! keeps verifying until its not-after.

use std::sync::Arc;
use std::time::Duration;

use integration_tests::*;
use serde_json::json;
use tokengate::clock::Clock;
use tokengate::config::{ConfigError, Env};
use tokengate::secrets::KeySecret;
use tokengate::AuthService;

const KEY_A: &str = "key-a-0123456789-0123456789-0123456789";
const KEY_B: &str = "key-b-0123456789-0123456789-0123456789";

/// A service as a function starts it with KEYS_SECRET_ARN=`arn`, on
/// `app`'s table and clock.
async fn service_on_secret(app: &TestApp, arn: &str) -> Result<AuthService, ConfigError> {
    let table = app.store.table().to_string();
    let env = Env::new(move |name| match name {
        "TABLE_NAME" => Some(table.clone()),
        "KEYS_REFRESH_SECS" => Some("60".into()),
        _ => None,
    });
    let secret = KeySecret::new(secrets_client(), arn);
    let clock = Arc::new(app.clock.clone());
    AuthService::with_key_secret(&env, secret, app.store.client().clone(), clock).await
}

async fn login_on(service: &AuthService) -> String {
    let body = json!({"id": "alice", "password": PASSWORD});
    let response = login_fn::handle(post("/api/auth/login", &body), service).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    body_json(&response)["accessToken"]
        .as_str()
        .unwrap()
        .to_string()
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

fn secret_name() -> String {
    format!("tokengate/test/{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn a_new_secret_value_rotates_the_running_service_s_keys() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let sm = secrets_client();
    let arn = create_key_secret(&sm, &secret_name(), &json!({"JWT_SECRET": KEY_A})).await;
    let service = service_on_secret(&app, &arn).await.unwrap();
    let token_a = login_on(&service).await;

    // Step 1 of a rotation: the new key becomes current, the old one
    // previous. Nothing changes before the service's next re-read ...
    put_key_secret(
        &sm,
        &arn,
        &json!({"JWT_SECRET": KEY_B, "JWT_PREVIOUS_SECRET": KEY_A}),
    )
    .await;
    assert_eq!(kid(&login_on(&service).await), kid(&token_a));
    // ... and after it, new tokens carry the new key while the old ones
    // keep verifying: nobody is logged out.
    app.clock.advance(Duration::from_secs(61));
    assert_eq!(validate_with(&service, &token_a).await.status(), 200);
    let token_b = login_on(&service).await;
    assert_ne!(kid(&token_b), kid(&token_a));
    assert_eq!(validate_with(&service, &token_b).await.status(), 200);

    // Step 2: the old key retires at a not-after.
    let not_after = app.clock.now().secs + 120;
    put_key_secret(
        &sm,
        &arn,
        &json!({
            "JWT_SECRET": KEY_B,
            "JWT_PREVIOUS_SECRET": KEY_A,
            "JWT_PREVIOUS_NOT_AFTER": not_after.to_string(),
        }),
    )
    .await;
    app.clock.advance(Duration::from_secs(61));
    assert_eq!(validate_with(&service, &token_a).await.status(), 200);
    app.clock.advance(Duration::from_secs(60));
    assert_error(
        &validate_with(&service, &token_a).await,
        401,
        "invalid_token",
    );
    assert_eq!(validate_with(&service, &token_b).await.status(), 200);

    // A broken new value is not taken: the keys in use stay.
    put_key_secret(&sm, &arn, &json!({"JWT_SECRET": "short"})).await;
    app.clock.advance(Duration::from_secs(61));
    assert_eq!(validate_with(&service, &token_b).await.status(), 200);
    assert_eq!(kid(&login_on(&service).await), kid(&token_b));
}

#[tokio::test]
async fn a_function_refuses_to_start_on_an_unusable_key_secret() {
    let app = TestApp::new().await;
    let sm = secrets_client();
    let typo = create_key_secret(&sm, &secret_name(), &json!({"JWT_SEKRET": KEY_A})).await;
    let err = service_on_secret(&app, &typo).await.err().expect("refused");
    assert!(matches!(err, ConfigError::KeySecret { .. }), "{err}");
    assert!(!err.to_string().contains(KEY_A), "{err}");
    let missing = format!("{typo}-gone");
    let err = service_on_secret(&app, &missing)
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, ConfigError::KeySecret { .. }), "{err}");
    let short = create_key_secret(&sm, &secret_name(), &json!({"JWT_SECRET": "short"})).await;
    let err = service_on_secret(&app, &short)
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, ConfigError::SecretTooShort { .. }), "{err}");
}

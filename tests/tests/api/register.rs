use integration_tests::*;
use serde_json::json;

#[tokio::test]
async fn register_returns_201_with_seq_id_name() {
    let app = TestApp::new().await;
    let response = register_fn::handle(
        post(
            "/api/auth/register",
            &json!({"id": "alice", "password": PASSWORD, "name": "Alice Liddell"}),
        ),
        &app.service,
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = body_json(&response);
    assert_eq!(body["id"], "alice");
    assert_eq!(body["name"], "Alice Liddell");
    assert!(body["seq"].as_u64().unwrap() >= 1);
    assert!(body.get("password").is_none() && body.get("passwordHash").is_none());

    let stored = app.store.get_user("alice").await.unwrap().unwrap();
    assert!(stored
        .password_hash
        .unwrap()
        .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    // Versions start at seq × 2^20: a deleted id's next incarnation never
    // shares one with the last.
    assert_eq!(
        stored.token_version,
        tokengate::rules::account::initial_token_version(stored.seq)
    );
}

#[tokio::test]
async fn seq_is_unique_and_increasing_under_concurrency() {
    let app = TestApp::new().await;
    let mut handles = Vec::new();
    for i in 0..8 {
        let service = app.service.clone();
        handles.push(tokio::spawn(async move {
            let response = register_fn::handle(
                post(
                    "/api/auth/register",
                    &json!({"id": format!("user{i}"), "password": PASSWORD, "name": "U"}),
                ),
                &service,
            )
            .await;
            assert_eq!(response.status(), 201);
            body_json(&response)["seq"].as_u64().unwrap()
        }));
    }
    let mut seqs = Vec::new();
    for h in handles {
        seqs.push(h.await.unwrap());
    }
    seqs.sort();
    seqs.dedup();
    assert_eq!(seqs.len(), 8, "every seq unique: {seqs:?}");
    let next = app.register("later").await["seq"].as_u64().unwrap();
    assert!(next > *seqs.last().unwrap());
}

#[tokio::test]
async fn duplicate_id_is_409_and_overwrites_nothing() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let before = app.store.get_user("alice").await.unwrap().unwrap();
    let response = register_fn::handle(
        post(
            "/api/auth/register",
            &json!({"id": "alice", "password": "another password", "name": "Mallory"}),
        ),
        &app.service,
    )
    .await;
    assert_error(&response, 409, "user_exists");
    let after = app.store.get_user("alice").await.unwrap().unwrap();
    assert_eq!(before, after);
    app.login("alice").await; // the original password still works
}

#[tokio::test]
async fn invalid_fields_are_400_naming_the_field_and_store_nothing() {
    let app = TestApp::new().await;
    let cases = [
        (
            json!({"id": "ab", "password": PASSWORD, "name": "A"}),
            "`id`",
        ),
        (
            json!({"id": "bad id!", "password": PASSWORD, "name": "A"}),
            "`id`",
        ),
        (
            json!({"id": "x".repeat(65), "password": PASSWORD, "name": "A"}),
            "`id`",
        ),
        (
            json!({"id": "alice", "password": "short", "name": "A"}),
            "`password`",
        ),
        (
            json!({"id": "alice", "password": "p".repeat(129), "name": "A"}),
            "`password`",
        ),
        (
            json!({"id": "alice", "password": PASSWORD, "name": ""}),
            "`name`",
        ),
        (
            json!({"id": "alice", "password": PASSWORD, "name": "n".repeat(101)}),
            "`name`",
        ),
        (json!({"password": PASSWORD, "name": "A"}), "`id`"),
        (json!({"id": "alice", "name": "A"}), "`password`"),
        (json!({"id": "alice", "password": PASSWORD}), "`name`"),
        (json!({"id": 42, "password": PASSWORD, "name": "A"}), "`id`"),
        (
            json!({"id": "alice", "password": ["x"], "name": "A"}),
            "`password`",
        ),
        (
            json!({"id": "alice", "password": PASSWORD, "name": null}),
            "`name`",
        ),
    ];
    for (body, field) in cases {
        let response = register_fn::handle(post("/api/auth/register", &body), &app.service).await;
        assert_error(&response, 400, "invalid_request");
        let message = body_json(&response)["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains(field), "{body}: {message}");
        assert!(
            !message.contains(PASSWORD),
            "the message echoes the password"
        );
    }
    assert!(app.store.get_user("alice").await.unwrap().is_none());
}

#[tokio::test]
async fn malformed_missing_and_oversize_bodies() {
    let app = TestApp::new().await;
    for body in [
        Some("{not json"),
        Some("[]"),
        Some("\"alice\""),
        Some(""),
        None,
    ] {
        let response =
            register_fn::handle(event("POST", "/api/auth/register", &[], body), &app.service).await;
        assert_error(&response, 400, "invalid_json");
    }
    let huge =
        json!({"id": "alice", "password": PASSWORD, "name": "x".repeat(70 * 1024)}).to_string();
    let response = register_fn::handle(
        event("POST", "/api/auth/register", &[], Some(&huge)),
        &app.service,
    )
    .await;
    assert_error(&response, 413, "payload_too_large");
    assert!(app.store.get_user("alice").await.unwrap().is_none());
}

#[tokio::test]
async fn base64_encoded_body_is_decoded() {
    use base64::Engine;
    let app = TestApp::new().await;
    let raw = json!({"id": "bob", "password": PASSWORD, "name": "Bob"}).to_string();
    let mut event = event_json("POST", "/api/auth/register", &[], None);
    event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(raw));
    event["isBase64Encoded"] = json!(true);
    let response = register_fn::handle(to_request(&event), &app.service).await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
    assert_eq!(body_json(&response)["id"], "bob");
}

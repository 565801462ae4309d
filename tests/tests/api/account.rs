//! The account lifecycle on DynamoDB Local, with mail through SES v2 on
//! moto: address verification, password reset, sign-out of other devices,
//! deletion and the operators' disable / enable / sign-out.

use std::time::{Duration, Instant};

use integration_tests::*;
use serde_json::{json, Value};
use tokengate::clock::Clock;
use tokengate::store::Item;

/// Every item of the app's table (a test table is small).
async fn all_items(app: &TestApp) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = app
            .store
            .client()
            .scan()
            .table_name(app.store.table())
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(out.items().iter().cloned());
        match out.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => return items,
        }
    }
}

/// The items that mention `needle` in any string attribute.
async fn items_mentioning(app: &TestApp, needle: &str) -> Vec<Item> {
    all_items(app)
        .await
        .into_iter()
        .filter(|item| {
            item.values()
                .any(|v| v.as_s().is_ok_and(|s| s.contains(needle)))
        })
        .collect()
}

async fn forgot(app: &TestApp, email: &str) -> lambda_http::Response<lambda_http::Body> {
    app.account(
        "POST",
        "/api/auth/password/forgot",
        None,
        Some(&json!({ "email": email })),
    )
    .await
}

/// A reset request for an account's address: its code, once mailed.
async fn forgot_code(app: &TestApp, email: &str) -> String {
    let before = mail_to(email).len();
    assert_eq!(forgot(app, email).await.status(), 202);
    wait_for_mail(email, before + 1)
        .await
        .last()
        .unwrap()
        .code()
}

async fn reset(
    app: &TestApp,
    email: &str,
    code: &str,
    new_password: &str,
) -> lambda_http::Response<lambda_http::Body> {
    app.account(
        "POST",
        "/api/auth/password/reset",
        None,
        Some(&json!({ "email": email, "code": code, "newPassword": new_password })),
    )
    .await
}

async fn verify(
    app: &TestApp,
    access: &str,
    code: &str,
) -> lambda_http::Response<lambda_http::Body> {
    app.account(
        "POST",
        "/api/auth/email/verify",
        Some(access),
        Some(&json!({ "code": code })),
    )
    .await
}

async fn login_with(
    app: &TestApp,
    id: &str,
    password: &str,
) -> lambda_http::Response<lambda_http::Body> {
    login_fn::handle(
        post("/api/auth/login", &json!({"id": id, "password": password})),
        &app.service,
    )
    .await
}

async fn logout_others(
    app: &TestApp,
    access: &str,
    refresh: &str,
) -> lambda_http::Response<lambda_http::Body> {
    let headers = [
        ("authorization", format!("Bearer {access}")),
        ("refresh-token", format!("Bearer {refresh}")),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    account_fn::handle(
        event("POST", "/api/auth/logout-others", &headers, None),
        &app.service,
    )
    .await
}

async fn admin(app: &TestApp, action: &str, id: &str) -> Value {
    let admin = admin_fn::Admin::new(app.store.clone());
    admin_fn::handle(json!({"action": action, "userId": id}), &admin).await
}

/// A code that is not `code`.
fn other_than(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

/// Registers `id` with a fresh address; (the address, access, refresh).
async fn with_address(app: &TestApp, id: &str) -> (String, String, String) {
    let email = fresh_address(id);
    let response = app.register_with_email(id, &email).await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
    let (access, refresh) = app.login(id).await;
    (email, access, refresh)
}

#[tokio::test]
async fn registering_with_an_address_mails_a_code_that_verifies_it_once() {
    let app = TestApp::with_mail(&[]).await;
    let email = fresh_address("alice");
    let shouted = email.to_uppercase();
    let response = app
        .register_with_email("alice", &format!("  {shouted} "))
        .await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
    // The seed contract of register is unchanged.
    let body = body_json(&response);
    assert_eq!(body.as_object().unwrap().len(), 3, "{body}");
    let mail = mail_to(&email);
    assert_eq!(mail.len(), 1, "one message, to the lower-cased address");
    assert_eq!(mail[0].from, MAIL_FROM);
    assert_eq!(mail[0].subject, "tokengate: confirm your e-mail address");
    let code = mail[0].code();
    // Stored hashed: no item holds the code.
    assert!(items_mentioning(&app, &code).await.is_empty());

    let (access, _) = app.login("alice").await;
    let account = app
        .account("GET", "/api/auth/account", Some(&access), None)
        .await;
    assert_eq!(account.status(), 200);
    let seq = body["seq"].clone();
    assert_eq!(
        body_json(&account),
        json!({"seq": seq, "id": "alice", "name": "alice name", "email": email, "emailVerified": false})
    );
    // validate keeps {seq, id, name}.
    let validated = body_json(&app.validate(&access).await);
    assert_eq!(
        validated,
        json!({"seq": seq, "id": "alice", "name": "alice name"})
    );

    assert_error(
        &verify(&app, &access, &other_than(&code)).await,
        403,
        "invalid_code",
    );
    let verified = verify(&app, &access, &code).await;
    assert_eq!(verified.status(), 200, "{}", body_text(&verified));
    assert_eq!(body_json(&verified)["emailVerified"], true);
    // Single use.
    assert_error(&verify(&app, &access, &code).await, 403, "invalid_code");
    let account = app
        .account("GET", "/api/auth/account", Some(&access), None)
        .await;
    assert_eq!(body_json(&account)["emailVerified"], true);
    // Without a valid token, nothing.
    let anonymous = app
        .account(
            "POST",
            "/api/auth/email/verify",
            None,
            Some(&json!({"code": code})),
        )
        .await;
    assert_error(&anonymous, 401, "missing_token");
}

#[tokio::test]
async fn the_account_view_is_one_read_and_never_the_password_hash() {
    let app = TestApp::with_mail(&[]).await;
    let (_, access, _) = with_address(&app, "alice").await;
    app.calls.take();
    let account = app
        .account("GET", "/api/auth/account", Some(&access), None)
        .await;
    assert_eq!(account.status(), 200);
    assert_eq!(app.calls.take(), ["BatchGetItem"]);
    assert!(!body_text(&account).contains("argon2"));
}

#[tokio::test]
async fn an_address_belongs_to_one_account_and_bad_ones_store_nothing() {
    let app = TestApp::with_mail(&[]).await;
    let (email, _, _) = with_address(&app, "alice").await;
    let taken = app.register_with_email("bob", &email.to_uppercase()).await;
    assert_error(&taken, 409, "email_exists");
    let invalid = app.register_with_email("carol", "carol@nowhere").await;
    assert_error(&invalid, 400, "invalid_request");
    assert!(body_text(&invalid).contains("`email`"));
    // Nothing stored half-way: no user, no code, no message.
    assert!(app.store.get_user("bob").await.unwrap().is_none());
    assert!(app.store.get_user("carol").await.unwrap().is_none());
    assert!(items_mentioning(&app, "bob").await.is_empty());
    assert_eq!(mail_to(&email).len(), 1, "only alice's verification");
    // The id is checked first: a taken id with a free address is user_exists.
    let again = app.register_with_email("alice", &fresh_address("x")).await;
    assert_error(&again, 409, "user_exists");
}

#[tokio::test]
async fn a_verification_code_dies_after_five_wrong_tries() {
    let app = TestApp::with_mail(&[]).await;
    let (email, access, _) = with_address(&app, "alice").await;
    let code = latest_code(&email);
    for _ in 0..5 {
        assert_error(
            &verify(&app, &access, &other_than(&code)).await,
            403,
            "invalid_code",
        );
    }
    assert_error(&verify(&app, &access, &code).await, 403, "invalid_code");
    let account = app
        .account("GET", "/api/auth/account", Some(&access), None)
        .await;
    assert_eq!(body_json(&account)["emailVerified"], false);
}

#[tokio::test]
async fn parallel_guesses_get_five_tries_between_them() {
    let app = TestApp::with_mail(&[]).await;
    let (email, access, _) = with_address(&app, "alice").await;
    let code = latest_code(&email);
    let wrong = other_than(&code);
    let guesses = (0..12).map(|_| verify(&app, &access, &wrong));
    for refused in futures_util::future::join_all(guesses).await {
        assert_error(&refused, 403, "invalid_code");
    }
    let stored = app
        .store
        .get_code(&tokengate::store::verify_code_key("alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.attempts, 5, "every try claimed, none past the limit");
    assert_error(&verify(&app, &access, &code).await, 403, "invalid_code");
}

#[tokio::test]
async fn a_deleted_accounts_leftover_events_never_show_in_the_new_ones_trail() {
    let app = TestApp::with_mail(&[]).await;
    app.register("alice").await;
    // An event of an earlier "alice", as a failed batch would leave it.
    let old = tokengate::model::ActivityRecord {
        user_id: "alice".into(),
        event_id: uuid::Uuid::new_v4().to_string(),
        kind: tokengate::model::ActivityKind::SignedIn,
        at_ms: app.clock.now().millis - 60_000,
        expires_at: app.clock.now().secs + 86_400,
        source_ip: Some("198.51.100.1".into()),
        user_agent: None,
        new_device: false,
    };
    app.store
        .client()
        .put_item()
        .table_name(app.store.table())
        .set_item(Some(tokengate::store::codec::activity_item(&old)))
        .send()
        .await
        .unwrap();
    app.clock.advance(Duration::from_secs(1));
    let (access, _) = app.login("alice").await;
    let trail = body_json(&app.activity(&access, "").await);
    let events = trail["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{trail}");
    assert_ne!(events[0]["id"], old.event_id.as_str());
}

#[tokio::test]
async fn forgot_answers_the_same_whether_the_address_has_an_account_or_not() {
    let app = TestApp::with_mail(&[("FORGOT_MIN_RESPONSE_MS", "300")]).await;
    let (email, _, _) = with_address(&app, "alice").await;
    let unknown = fresh_address("nobody");
    let mut answers = Vec::new();
    for address in [&email, &unknown] {
        let started = Instant::now();
        let response = forgot(&app, address).await;
        let took = started.elapsed();
        // Never sooner than the floor, whichever path it took.
        assert!(took >= Duration::from_millis(300), "{address}: {took:?}");
        answers.push((
            response.status(),
            body_text(&response),
            response.headers().get("cache-control").cloned(),
            response.headers().len(),
        ));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, 202);
    assert_eq!(
        serde_json::from_str::<Value>(&answers[0].1).unwrap(),
        json!({"message": account_fn::FORGOT_ANSWER})
    );
    // Only the account's address got mail (its verification, then the reset).
    let mail = wait_for_mail(&email, 2).await;
    assert_eq!(mail.len(), 2);
    assert_eq!(mail[1].subject, "tokengate: reset your password");
    assert!(mail_to(&unknown).is_empty());
    // A code item exists for the account's address only, without the code.
    let code = latest_code(&email);
    assert!(items_mentioning(&app, &code).await.is_empty());
    assert!(app
        .store
        .get_code(&tokengate::store::reset_code_key(&unknown))
        .await
        .unwrap()
        .is_none());
    // Malformed: a 400 that depends on the input alone.
    assert_error(
        &forgot(&app, "not an address").await,
        400,
        "invalid_request",
    );
}

#[tokio::test]
async fn reset_sets_the_password_ends_every_session_and_starts_a_new_one() {
    let app = TestApp::with_mail(&[]).await;
    let (email, access, refresh) = with_address(&app, "alice").await;
    let (other_access, _) = app.login("alice").await;
    let code = forgot_code(&app, &email).await;
    let new_password = "a brand new passphrase";
    // Events of one millisecond have no order in the trail.
    app.clock.advance(Duration::from_secs(1));

    let response = reset(&app, &email, &code, new_password).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let (new_access, new_refresh) = token_pair(&response);
    assert_eq!(app.validate(&new_access).await.status(), 200);
    // Every earlier token is dead, refresh tokens too.
    assert_eq!(app.validate(&access).await.status(), 401);
    assert_eq!(app.validate(&other_access).await.status(), 401);
    assert_eq!(app.refresh(&refresh).await.status(), 401);
    // (Refreshing would retire `new_access`: that comes last.)
    // The old password is gone, the new one works.
    app.clock.advance(Duration::from_secs(1));
    assert_error(
        &login_with(&app, "alice", PASSWORD).await,
        401,
        "invalid_credentials",
    );
    app.clock.advance(Duration::from_secs(1));
    assert_eq!(login_with(&app, "alice", new_password).await.status(), 200);
    // Single use.
    assert_error(
        &reset(&app, &email, &code, "yet another password").await,
        403,
        "invalid_code",
    );
    // The code proved the address.
    let account = app
        .account("GET", "/api/auth/account", Some(&new_access), None)
        .await;
    assert_eq!(body_json(&account)["emailVerified"], true);
    let activity = body_json(&app.activity(&new_access, "").await);
    let kinds: Vec<&str> = activity["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds[..3],
        ["signed_in", "sign_in_failed", "password_reset"]
    );
    assert_eq!(app.refresh(&new_refresh).await.status(), 200);
}

#[tokio::test]
async fn a_reset_code_works_for_15_minutes_and_the_newest_code_wins() {
    let app = TestApp::with_mail(&[]).await;
    let (email, _, _) = with_address(&app, "alice").await;
    let first = forgot_code(&app, &email).await;
    let second = forgot_code(&app, &email).await;
    if first != second {
        assert_error(
            &reset(&app, &email, &first, "new password 1").await,
            403,
            "invalid_code",
        );
    }
    app.clock.advance(Duration::from_secs(15 * 60));
    assert_error(
        &reset(&app, &email, &second, "new password 2").await,
        403,
        "invalid_code",
    );
    assert_eq!(login_with(&app, "alice", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_reset_code_dies_after_five_wrong_tries_and_unknown_addresses_look_the_same() {
    let app = TestApp::with_mail(&[("LOGIN_MAX_FAILURES", "100")]).await;
    let (email, _, _) = with_address(&app, "alice").await;
    let code = forgot_code(&app, &email).await;
    let wrong = reset(&app, &email, &other_than(&code), "new password 1").await;
    let unknown = reset(&app, &fresh_address("nobody"), &code, "new password 1").await;
    assert_eq!(wrong.status(), unknown.status());
    assert_eq!(body_text(&wrong), body_text(&unknown));
    // Each refusal costs the same requests, code or no code.
    app.calls.take();
    reset(&app, &email, &other_than(&code), "new password 1").await;
    let with_code = app.calls.take();
    reset(&app, &fresh_address("nobody"), &code, "new password 1").await;
    assert_eq!(app.calls.take(), with_code);
    // Two wrong tries so far; three more kill the code.
    for _ in 0..3 {
        reset(&app, &email, &other_than(&code), "new password 1").await;
    }
    assert_error(
        &reset(&app, &email, &code, "new password 1").await,
        403,
        "invalid_code",
    );
    assert_eq!(login_with(&app, "alice", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn reset_requests_and_attempts_are_throttled_per_address() {
    let app =
        TestApp::with_mail(&[("FORGOT_MAX_PER_EMAIL", "2"), ("LOGIN_MAX_FAILURES", "2")]).await;
    let (email, _, _) = with_address(&app, "alice").await;
    let unknown = fresh_address("nobody");
    for address in [&email, &unknown] {
        assert_eq!(forgot(&app, address).await.status(), 202);
        assert_eq!(forgot(&app, address).await.status(), 202);
        // Known or not, the third is refused alike.
        assert_error(&forgot(&app, address).await, 429, "too_many_attempts");
    }
    assert_eq!(
        wait_for_mail(&email, 3).await.len(),
        3,
        "verification + two resets"
    );
    let code = latest_code(&email);
    for _ in 0..2 {
        assert_error(
            &reset(&app, &email, &other_than(&code), "new password 1").await,
            403,
            "invalid_code",
        );
    }
    // Past the address's limit even the right code waits for the window.
    let throttled = reset(&app, &email, &code, "new password 1").await;
    assert_error(&throttled, 429, "too_many_attempts");
    assert!(throttled.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn a_lost_message_changes_no_answer() {
    let mut app = TestApp::with_mail(&[]).await;
    app.service = app.service.clone().with_mailer(refusing_mailer().await);
    let email = fresh_address("alice");
    assert_eq!(app.register_with_email("alice", &email).await.status(), 201);
    let response = forgot(&app, &email).await;
    assert_eq!(response.status(), 202);
    assert!(mail_to(&email).is_empty());
}

#[tokio::test]
async fn logout_others_needs_the_sessions_own_refresh_token() {
    let app = TestApp::with_mail(&[]).await;
    app.register("alice").await;
    let (access, refresh) = app.login("alice").await;
    let (_, other_refresh) = app.login("alice").await;
    // An access token alone never buys a refresh token.
    let alone = app
        .account("POST", "/api/auth/logout-others", Some(&access), None)
        .await;
    assert_error(&alone, 401, "missing_token");
    assert_error(
        &logout_others(&app, &access, &other_refresh).await,
        401,
        "invalid_token",
    );
    assert_error(
        &logout_others(&app, &access, &access).await,
        401,
        "invalid_token",
    );
    // Nothing ended.
    assert_eq!(app.validate(&access).await.status(), 200);
    assert_eq!(app.refresh(&other_refresh).await.status(), 200);
    // A rotated-away refresh token is not the current one either.
    let rotated = app.refresh(&refresh).await;
    let (new_access, _) = token_pair(&rotated);
    assert_error(
        &logout_others(&app, &new_access, &refresh).await,
        401,
        "invalid_token",
    );
}

#[tokio::test]
async fn logout_others_ends_every_other_session_in_one_transaction() {
    let app = TestApp::with_mail(&[]).await;
    app.register("alice").await;
    let (access, refresh) = app.login("alice").await;
    let (b_access, b_refresh) = app.login("alice").await;
    let (c_access, _) = app.login("alice").await;
    // Events of one millisecond have no order in the trail.
    app.clock.advance(Duration::from_secs(1));
    app.calls.take();
    let response = logout_others(&app, &access, &refresh).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_eq!(app.calls.take(), ["BatchGetItem", "TransactWriteItems"]);
    let (new_access, new_refresh) = token_pair(&response);
    for dead in [&b_access, &c_access, &access] {
        assert_eq!(app.validate(dead).await.status(), 401);
    }
    assert_eq!(app.refresh(&b_refresh).await.status(), 401);
    assert_eq!(app.refresh(&refresh).await.status(), 401);
    assert_eq!(app.validate(&new_access).await.status(), 200);
    let sessions = body_json(&app.sessions(&new_access).await);
    assert_eq!(
        sessions["sessions"].as_array().unwrap().len(),
        1,
        "{sessions}"
    );
    assert_eq!(sessions["sessions"][0]["current"], true);
    let activity = body_json(&app.activity(&new_access, "").await);
    assert_eq!(activity["events"][0]["type"], "signed_out_others");
    assert_eq!(app.refresh(&new_refresh).await.status(), 200);
}

#[tokio::test]
async fn deleting_the_account_leaves_no_item_behind_and_frees_id_and_address() {
    let app = TestApp::with_mail(&[]).await;
    let (email, access, refresh) = with_address(&app, "alice").await;
    // Leave something of every kind: sessions, activity, a reset code,
    // failure and reset counters, another user's items beside them.
    app.login("alice").await;
    forgot_code(&app, &email).await;
    assert_eq!(
        login_with(&app, "alice", "wrong password").await.status(),
        401
    );
    reset(&app, &email, "000000", "new password 1").await;
    app.register("bob").await;
    app.login("bob").await;
    let before_bob = items_mentioning(&app, "bob").await.len();

    let wrong = app
        .account(
            "DELETE",
            "/api/auth/account",
            Some(&access),
            Some(&json!({"password": "nope"})),
        )
        .await;
    assert_error(&wrong, 403, "invalid_current_password");
    assert_eq!(app.validate(&access).await.status(), 200, "nothing deleted");

    let deleted = app
        .account(
            "DELETE",
            "/api/auth/account",
            Some(&access),
            Some(&json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(deleted.status(), 204, "{}", body_text(&deleted));
    assert!(
        items_mentioning(&app, "alice").await.is_empty(),
        "{:?}",
        items_mentioning(&app, "alice").await
    );
    assert!(items_mentioning(&app, &email).await.is_empty());
    assert_eq!(
        items_mentioning(&app, "bob").await.len(),
        before_bob,
        "bob untouched"
    );
    assert_eq!(app.validate(&access).await.status(), 401);
    assert_eq!(app.refresh(&refresh).await.status(), 401);

    // The id and the address can be registered again, and nothing of the
    // old account passes for the new one.
    assert_eq!(app.register_with_email("alice", &email).await.status(), 201);
    assert_eq!(app.validate(&access).await.status(), 401);
    assert_eq!(app.refresh(&refresh).await.status(), 401);
    let (fresh, _) = app.login("alice").await;
    let activity = body_json(&app.activity(&fresh, "").await);
    assert_eq!(
        activity["events"].as_array().unwrap().len(),
        1,
        "{activity}"
    );
}

#[tokio::test]
async fn deleting_needs_a_live_token_and_a_body() {
    let app = TestApp::with_mail(&[]).await;
    app.register("alice").await;
    let (access, _) = app.login("alice").await;
    let no_token = app
        .account(
            "DELETE",
            "/api/auth/account",
            None,
            Some(&json!({"password": PASSWORD})),
        )
        .await;
    assert_error(&no_token, 401, "missing_token");
    let no_body = app
        .account("DELETE", "/api/auth/account", Some(&access), None)
        .await;
    assert_error(&no_body, 400, "invalid_json");
    assert!(app.store.get_user("alice").await.unwrap().is_some());
}

#[tokio::test]
async fn a_disabled_account_is_refused_everywhere_at_once() {
    let app = TestApp::with_mail(&[]).await;
    app.register("alice").await;
    let (access, refresh) = app.login("alice").await;
    assert_eq!(
        admin(&app, "disable", "alice").await,
        json!({"userId": "alice", "action": "disable", "done": true})
    );
    // The authorizer denies it in its one read.
    app.calls.take();
    let decision = authorizer_fn::handle_json(
        authorizer_v2_event(Some(&format!("Bearer {access}"))),
        &app.service,
    )
    .await;
    assert_eq!(decision["isAuthorized"], false);
    assert_eq!(app.calls.take(), ["BatchGetItem"]);
    assert_eq!(app.validate(&access).await.status(), 401);
    assert_eq!(app.refresh(&refresh).await.status(), 401);
    // The right password learns it is disabled; a wrong one learns nothing.
    assert_error(
        &login_with(&app, "alice", PASSWORD).await,
        403,
        "account_disabled",
    );
    assert_error(
        &login_with(&app, "alice", "wrong password").await,
        401,
        "invalid_credentials",
    );

    assert_eq!(admin(&app, "enable", "alice").await["done"], true);
    assert_eq!(
        app.validate(&access).await.status(),
        401,
        "old tokens stay dead"
    );
    let (again, _) = app.login("alice").await;
    assert_eq!(app.validate(&again).await.status(), 200);

    assert_eq!(admin(&app, "sign_out", "alice").await["done"], true);
    assert_eq!(app.validate(&again).await.status(), 401);
    assert_eq!(login_with(&app, "alice", PASSWORD).await.status(), 200);

    assert_eq!(
        admin(&app, "disable", "nobody").await["error"],
        "user_not_found"
    );
    assert_eq!(
        admin(&app, "delete", "alice").await["error"],
        "invalid_request"
    );
    assert_eq!(
        admin_fn::handle(
            json!({"userId": "alice"}),
            &admin_fn::Admin::new(app.store.clone())
        )
        .await["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn a_disabled_account_cannot_reset_its_password() {
    let app = TestApp::with_mail(&[]).await;
    let (email, _, _) = with_address(&app, "alice").await;
    admin(&app, "disable", "alice").await;
    let code = forgot_code(&app, &email).await;
    assert_error(
        &reset(&app, &email, &code, "new password 1").await,
        403,
        "account_disabled",
    );
    admin(&app, "enable", "alice").await;
    assert_eq!(
        reset(&app, &email, &code, "new password 1").await.status(),
        200
    );
}

/// The requests of each new operation, sorted within a round trip of
/// parallel ones (the README's and BENCHMARKS.md's table).
#[tokio::test]
async fn each_account_operation_costs_its_documented_round_trips() {
    let app = TestApp::with_mail(&[]).await;
    let calls = |app: &TestApp| {
        let mut calls = app.calls.take();
        calls.sort();
        calls
    };
    // Register with an address: counter ∥ nothing, seq, one transaction.
    app.calls.take();
    let email = fresh_address("alice");
    assert_eq!(app.register_with_email("alice", &email).await.status(), 201);
    assert_eq!(
        calls(&app),
        ["TransactWriteItems", "UpdateItem", "UpdateItem"]
    );
    let (access, _) = app.login("alice").await;
    let code = latest_code(&email);
    app.calls.take();

    // Verify: the decision, the try's claim, one transaction.
    assert_eq!(verify(&app, &access, &code).await.status(), 200);
    assert_eq!(
        calls(&app),
        ["BatchGetItem", "TransactWriteItems", "UpdateItem"]
    );
    // A wrong code (or none left): the decision, then the claim.
    verify(&app, &access, "000000").await;
    assert_eq!(calls(&app), ["BatchGetItem", "UpdateItem"]);

    // Forgot: GetItem ∥ two counter claims, then (an account's address) the
    // code's PutItem; an unknown address stops after the first round trip.
    forgot_code(&app, &email).await;
    assert_eq!(
        calls(&app),
        ["GetItem", "PutItem", "UpdateItem", "UpdateItem"]
    );
    assert_eq!(forgot(&app, &fresh_address("x")).await.status(), 202);
    assert_eq!(calls(&app), ["GetItem", "UpdateItem", "UpdateItem"]);

    // Reset: the code's try ∥ two counter claims, GetItem (user) ∥ argon2,
    // one transaction; a wrong code (or none, or no account) only the first.
    reset(&app, &fresh_address("x"), "123456", "new password 1").await;
    assert_eq!(calls(&app), ["UpdateItem", "UpdateItem", "UpdateItem"]);
    let code = latest_code(&email);
    let response = reset(&app, &email, &code, "new password 1").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        calls(&app),
        [
            "GetItem",
            "TransactWriteItems",
            "UpdateItem",
            "UpdateItem",
            "UpdateItem"
        ]
    );
    let (access, refresh) = token_pair(&response);

    // Logout-others: the decision, one transaction.
    let response = logout_others(&app, &access, &refresh).await;
    assert_eq!(calls(&app), ["BatchGetItem", "TransactWriteItems"]);
    let (access, _) = token_pair(&response);

    // Delete: the decision (with the hash), the attempt claim, two Queries
    // (sessions ∥ activity keys), one transaction.
    let deleted = app
        .account(
            "DELETE",
            "/api/auth/account",
            Some(&access),
            Some(&json!({"password": "new password 1"})),
        )
        .await;
    assert_eq!(deleted.status(), 204, "{}", body_text(&deleted));
    assert_eq!(
        calls(&app),
        [
            "BatchGetItem",
            "Query",
            "Query",
            "TransactWriteItems",
            "UpdateItem"
        ]
    );

    // Admin: one UpdateItem.
    app.register("bob").await;
    app.calls.take();
    admin(&app, "disable", "bob").await;
    assert_eq!(calls(&app), ["UpdateItem"]);
}

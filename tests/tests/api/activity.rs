//! The security activity trail: each event lands with the operation that
//! caused it, in the same transaction, and `GET /api/auth/activity` pages
//! through it newest first.

use std::time::Duration;

use integration_tests::*;
use serde_json::Value;
use tokengate::clock::Clock;

const LAPTOP: &str = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.7000.1 Safari/537.36";
const LAPTOP_UPDATED: &str = "Mozilla/5.0 (X11; Linux x86_64) Chrome/157.0.7100.2 Safari/537.36";
const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 19_1) Mobile Safari/604.1";

fn sid(token: &str) -> String {
    claims_of(token)["sid"].as_str().unwrap().to_string()
}

/// The caller's whole trail, page by page (`limit` per page).
async fn trail(app: &TestApp, access: &str, limit: u32) -> Vec<Value> {
    let mut events = Vec::new();
    let mut query = format!("limit={limit}");
    loop {
        let response = app.activity(access, &query).await;
        assert_eq!(response.status(), 200, "{}", body_text(&response));
        let page = body_json(&response);
        let got = page["events"].as_array().unwrap();
        assert!(got.len() <= limit as usize);
        events.extend(got.iter().cloned());
        match page["nextCursor"].as_str() {
            Some(cursor) => query = format!("limit={limit}&cursor={cursor}"),
            None => return events,
        }
    }
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// A second between events, so their order is their time's.
fn tick(app: &TestApp) {
    app.clock.advance(Duration::from_secs(1));
}

#[tokio::test]
async fn every_security_event_lands_in_the_trail_newest_first() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (_, laptop_refresh) = token_pair(&app.login_with_agent("alice", PASSWORD, LAPTOP).await);
    tick(&app);
    // A browser update is the same device.
    token_pair(
        &app.login_with_agent("alice", PASSWORD, LAPTOP_UPDATED)
            .await,
    );
    tick(&app);
    let (phone, _) = token_pair(&app.login_with_agent("alice", PASSWORD, PHONE).await);
    tick(&app);
    assert_error(
        &app.login_with_agent("alice", "not the password", PHONE)
            .await,
        401,
        "invalid_credentials",
    );
    tick(&app);
    // The laptop's refresh token, rotated and then replayed past the grace.
    token_pair(&app.refresh(&laptop_refresh).await);
    app.clock.advance(Duration::from_secs(60));
    assert_error(&app.refresh(&laptop_refresh).await, 401, "invalid_token");
    tick(&app);
    let (other, _) = token_pair(&app.login_with_agent("alice", PASSWORD, LAPTOP).await);
    tick(&app);
    assert_eq!(app.revoke(&phone, &sid(&other)).await.status(), 204);
    tick(&app);
    let (phone, _) = token_pair(
        &app.change_password(&phone, PASSWORD, "a brand new passphrase")
            .await,
    );
    tick(&app);
    assert_eq!(
        app.logout("/api/auth/logout-all", &phone).await.status(),
        200
    );
    tick(&app);
    let password = "a brand new passphrase";
    let (last, _) = token_pair(&app.login_with_agent("alice", password, PHONE).await);
    tick(&app);
    let (spare, _) = token_pair(&app.login_with_agent("alice", password, PHONE).await);
    tick(&app);
    assert_eq!(app.logout("/api/auth/logout", &spare).await.status(), 200);

    app.calls.take();
    let events = trail(&app, &last, 100).await;
    assert_eq!(
        app.calls.take(),
        ["BatchGetItem", "Query"],
        "one page, one Query"
    );
    assert_eq!(
        kinds(&events),
        [
            "signed_out",
            "signed_in",
            "signed_in",
            "signed_out_everywhere",
            "password_changed",
            "session_revoked",
            "signed_in",
            "refresh_replayed",
            "sign_in_failed",
            "signed_in",
            "signed_in",
            "signed_in",
        ]
    );
    let new_device: Vec<bool> = events
        .iter()
        .filter(|e| e["type"] == "signed_in")
        .map(|e| e["newDevice"].as_bool().unwrap())
        .collect();
    // Newest first: phone (known), phone (known), laptop (known), phone (new),
    // laptop after its update (known), laptop (new).
    assert_eq!(new_device, [false, false, false, true, false, true]);
    let failed = &events[8];
    assert_eq!(failed["userAgent"], PHONE);
    assert_eq!(failed["sourceIp"], TEST_SOURCE_IP);
    let times: Vec<u64> = events.iter().map(|e| e["at"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    let now = app.clock.now().secs;
    assert!(
        times[0] <= now && times[0] + 2 >= now,
        "{} vs {now}",
        times[0]
    );
    // Exactly the documented fields, and no session id or token anywhere.
    for event in &events {
        let mut fields: Vec<&str> = event
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        fields.sort();
        assert_eq!(
            fields,
            ["at", "id", "newDevice", "sourceIp", "type", "userAgent"]
        );
    }
}

#[tokio::test]
async fn recording_adds_no_round_trip_to_any_operation() {
    let app = TestApp::new().await;
    app.register("alice").await;
    app.calls.take();
    let (_, refresh) = token_pair(&app.login_with_agent("alice", PASSWORD, LAPTOP).await);
    let mut calls = app.calls.take();
    calls.sort();
    // The user read and the two claims, then one transaction (session,
    // counters, the new device's list and the event together).
    assert_eq!(
        calls,
        ["GetItem", "TransactWriteItems", "UpdateItem", "UpdateItem"]
    );
    let (_, refresh) = token_pair(&app.refresh(&refresh).await);
    assert_eq!(app.calls.take(), ["TransactWriteItems"]);
    token_pair(&app.refresh(&refresh).await);
    // Past the reuse grace.
    app.clock.advance(Duration::from_secs(60));
    app.calls.take();
    assert_error(&app.refresh(&refresh).await, 401, "invalid_token");
    // The failed rotation, then the revocation with its event: one
    // transaction, as the DeleteItem it replaced was one call.
    assert_eq!(
        app.calls.take(),
        ["TransactWriteItems", "TransactWriteItems"]
    );
    let (phone, _) = token_pair(&app.login_with_agent("alice", PASSWORD, PHONE).await);
    let (laptop, _) = token_pair(&app.login_with_agent("alice", PASSWORD, LAPTOP).await);
    app.calls.take();
    assert_eq!(app.revoke(&laptop, &sid(&phone)).await.status(), 204);
    assert_eq!(app.calls.take(), ["TransactWriteItems"]);
    assert_eq!(app.logout("/api/auth/logout", &laptop).await.status(), 200);
    assert_eq!(app.calls.take(), ["TransactWriteItems"]);
    let (laptop, _) = token_pair(&app.login_with_agent("alice", PASSWORD, LAPTOP).await);
    app.calls.take();
    assert_eq!(
        app.logout("/api/auth/logout-all", &laptop).await.status(),
        200
    );
    assert_eq!(app.calls.take(), ["TransactWriteItems"]);
}

#[tokio::test]
async fn a_known_device_signs_in_without_writing_the_user() {
    let app = TestApp::new().await;
    app.register("alice").await;
    token_pair(&app.login_with_agent("alice", PASSWORD, LAPTOP).await);
    let before = user_item(&app, "alice").await;
    assert_eq!(before["devices"].as_l().unwrap().len(), 1);
    token_pair(
        &app.login_with_agent("alice", PASSWORD, LAPTOP_UPDATED)
            .await,
    );
    assert_eq!(user_item(&app, "alice").await, before);
    token_pair(&app.login_with_agent("alice", PASSWORD, PHONE).await);
    assert_eq!(
        user_item(&app, "alice").await["devices"]
            .as_l()
            .unwrap()
            .len(),
        2
    );
}

async fn user_item(app: &TestApp, id: &str) -> tokengate::store::Item {
    app.store
        .client()
        .get_item()
        .table_name(app.store.table())
        .key(
            "pk",
            tokengate::store::codec::s(tokengate::store::user_key(id)),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap()
}

/// Every activity item in the table.
async fn activity_items(app: &TestApp) -> Vec<tokengate::store::Item> {
    let out = app
        .store
        .client()
        .scan()
        .table_name(app.store.table())
        .filter_expression("begins_with(pk, :prefix)")
        .expression_attribute_values(":prefix", tokengate::store::codec::s("ACTIVITY#"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.items.unwrap_or_default()
}

#[tokio::test]
async fn a_failed_sign_in_of_an_unknown_id_stores_nothing() {
    let app = TestApp::new().await;
    app.register("alice").await;
    assert_error(
        &app.login_with_agent("mallory", "whatever1", PHONE).await,
        401,
        "invalid_credentials",
    );
    assert!(activity_items(&app).await.is_empty());
    assert_error(
        &app.login_with_agent("alice", "whatever1", PHONE).await,
        401,
        "invalid_credentials",
    );
    let items = activity_items(&app).await;
    assert_eq!(items.len(), 1);
    // Kept AUDIT_RETENTION_DAYS (90) by DynamoDB's TTL.
    let expires: u64 = items[0]["expires_at"].as_n().unwrap().parse().unwrap();
    assert_eq!(expires, app.clock.now().secs + 90 * 86_400);
}

#[tokio::test]
async fn pages_follow_the_cursor_without_gaps_or_repeats() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let mut last = String::new();
    for _ in 0..5 {
        last = token_pair(&app.login_with_agent("alice", PASSWORD, LAPTOP).await).0;
        tick(&app);
    }
    let whole = trail(&app, &last, 100).await;
    assert_eq!(whole.len(), 5);
    for limit in [1, 2, 3] {
        assert_eq!(trail(&app, &last, limit).await, whole, "limit {limit}");
    }
    // The default page holds them all, and says it is the last.
    let page = body_json(&app.activity(&last, "").await);
    assert_eq!(page["events"].as_array().unwrap().len(), 5);
    assert_eq!(page["nextCursor"], Value::Null);
}

#[tokio::test]
async fn a_cursor_never_reaches_another_users_events() {
    let app = TestApp::new().await;
    app.register("alice").await;
    app.register("bob").await;
    let mut alice = String::new();
    for _ in 0..3 {
        alice = token_pair(&app.login_with_agent("alice", PASSWORD, LAPTOP).await).0;
        tick(&app);
    }
    let bob = token_pair(&app.login_with_agent("bob", PASSWORD, PHONE).await).0;
    let page = body_json(&app.activity(&alice, "limit=1").await);
    let cursor = page["nextCursor"].as_str().unwrap().to_string();
    // Alice's cursor in Bob's request positions Bob's own trail.
    let bobs = body_json(&app.activity(&bob, &format!("cursor={cursor}")).await);
    for event in bobs["events"].as_array().unwrap() {
        assert_eq!(event["userAgent"], PHONE, "{event}");
    }
    // And Bob's whole trail is his one sign-in.
    assert_eq!(kinds(&trail(&app, &bob, 10).await), ["signed_in"]);
}

#[tokio::test]
async fn bad_limits_and_cursors_are_400_and_no_token_is_401() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, _) = app.login("alice").await;
    for query in [
        "limit=0",
        "limit=101",
        "limit=ten",
        "limit=-1",
        "limit=",
        "cursor=",
        "cursor=abc",
        "cursor=12.not-a-uuid",
        "cursor=12.0b6f2c1e-8a8f-4c44-9d55-6a1b2c3d4e5f%23USER%23bob",
    ] {
        assert_error(&app.activity(&access, query).await, 400, "invalid_request");
    }
    let response =
        activity_fn::handle(event("GET", "/api/auth/activity", &[], None), &app.service).await;
    assert_error(&response, 401, "missing_token");
    assert_error(&app.activity("not.a.token", "").await, 401, "invalid_token");
    // A refresh token is no access token here either.
    let (_, refresh) = app.login("alice").await;
    assert_error(&app.activity(&refresh, "").await, 401, "invalid_token");
    // A signed-out token reads nothing.
    assert_eq!(app.logout("/api/auth/logout", &access).await.status(), 200);
    assert_error(&app.activity(&access, "").await, 401, "invalid_token");
}

#[tokio::test]
async fn events_past_their_retention_are_never_shown() {
    let app = TestApp::with_env(&[("AUDIT_RETENTION_DAYS", "1")]).await;
    app.register("alice").await;
    token_pair(&app.login_with_agent("alice", PASSWORD, LAPTOP).await);
    app.clock.advance(Duration::from_secs(86_400 + 1));
    // DynamoDB's TTL has not deleted the item (it never runs on a moved
    // clock); the listing judges it by the clock.
    assert_eq!(activity_items(&app).await.len(), 1);
    let (access, _) = token_pair(&app.login_with_agent("alice", PASSWORD, LAPTOP).await);
    assert_eq!(kinds(&trail(&app, &access, 10).await), ["signed_in"]);
}

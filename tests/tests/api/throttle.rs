use std::sync::Arc;
use std::time::Duration;
use tokengate::clock::Clock;

use integration_tests::*;

const IP: &str = "198.51.100.1";
const OTHER_IP: &str = "198.51.100.2";

fn retry_after(response: &lambda_http::Response<lambda_http::Body>) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_locked_account_refuses_even_the_right_password_without_argon2() {
    let app = TestApp::with_env(&[("LOGIN_MAX_FAILURES", "3")]).await;
    app.register("alice").await;
    app.register("bob").await;
    for _ in 0..3 {
        assert_error(
            &app.login_from("alice", "wrong password", IP).await,
            401,
            "invalid_credentials",
        );
    }

    let argon2_runs = app.service.passwords().verifications();
    app.calls.take();
    let locked = app.login_from("alice", PASSWORD, IP).await;
    assert_error(&locked, 429, "too_many_attempts");
    let wait = retry_after(&locked);
    assert!((1..=900).contains(&wait), "Retry-After {wait}");
    // Cheap rejection: no argon2; the read, the refused claim on the
    // account, the source's claim and, since the attempt never ran, its
    // give-back.
    assert_eq!(app.service.passwords().verifications(), argon2_runs);
    let mut calls = app.calls.take();
    calls.sort();
    assert_eq!(calls, ["GetItem", "UpdateItem", "UpdateItem", "UpdateItem"]);
    // From anywhere: the lock is on the account.
    assert_error(
        &app.login_from("alice", PASSWORD, OTHER_IP).await,
        429,
        "too_many_attempts",
    );
    // Other accounts from the same address are not affected.
    assert_eq!(app.login_from("bob", PASSWORD, IP).await.status(), 200);
}

#[tokio::test]
async fn a_failure_costs_a_read_and_one_claim_per_counter() {
    let app = TestApp::new().await;
    app.register("alice").await;
    app.calls.take();
    app.login_from("alice", "wrong password", IP).await;
    // The claims made before argon2 are the failure's count; after it, only
    // the account's activity record (a failed sign-in writes nothing else,
    // so it is the one event with a round trip of its own).
    let mut calls = app.calls.take();
    calls.sort();
    assert_eq!(
        calls,
        ["GetItem", "TransactWriteItems", "UpdateItem", "UpdateItem"]
    );
    // An unknown id costs the same calls, and stores nothing.
    app.login_from("nobody", "wrong password", IP).await;
    let mut calls = app.calls.take();
    calls.sort();
    assert_eq!(
        calls,
        ["GetItem", "TransactWriteItems", "UpdateItem", "UpdateItem"]
    );
}

#[tokio::test]
async fn unknown_accounts_are_counted_like_real_ones() {
    let app = TestApp::with_env(&[("LOGIN_MAX_FAILURES", "2")]).await;
    for _ in 0..2 {
        assert_error(
            &app.login_from("nobody", "whatever1", IP).await,
            401,
            "invalid_credentials",
        );
    }
    assert_error(
        &app.login_from("nobody", "whatever1", IP).await,
        429,
        "too_many_attempts",
    );
}

#[tokio::test]
async fn a_success_clears_the_account_but_not_the_address() {
    let app = TestApp::with_env(&[
        ("LOGIN_MAX_FAILURES", "3"),
        ("LOGIN_MAX_FAILURES_PER_IP", "5"),
    ])
    .await;
    app.register("alice").await;
    for _ in 0..2 {
        app.login_from("alice", "wrong password", IP).await;
    }
    app.calls.take();
    assert_eq!(app.login_from("alice", PASSWORD, IP).await.status(), 200);
    // Session put and counter delete in one transaction.
    assert_eq!(app.calls.take().last().unwrap(), "TransactWriteItems");
    // The account starts again from zero...
    for _ in 0..2 {
        assert_error(
            &app.login_from("alice", "wrong password", IP).await,
            401,
            "invalid_credentials",
        );
    }
    // ...but the address has 4 failures: one more and it is locked.
    assert_eq!(app.login_from("alice", PASSWORD, IP).await.status(), 200);
    assert_error(
        &app.login_from("alice", "wrong password", IP).await,
        401,
        "invalid_credentials",
    );
    assert_error(
        &app.login_from("alice", PASSWORD, IP).await,
        429,
        "too_many_attempts",
    );
    assert_eq!(
        app.login_from("alice", PASSWORD, OTHER_IP).await.status(),
        200
    );
}

#[tokio::test]
async fn one_address_spraying_many_accounts_is_locked_out() {
    let app = TestApp::with_env(&[("LOGIN_MAX_FAILURES_PER_IP", "3")]).await;
    app.register("alice").await;
    for id in ["carol", "dave", "erin"] {
        assert_error(
            &app.login_from(id, "password1", IP).await,
            401,
            "invalid_credentials",
        );
    }
    assert_error(
        &app.login_from("alice", PASSWORD, IP).await,
        429,
        "too_many_attempts",
    );
    assert_eq!(
        app.login_from("alice", PASSWORD, OTHER_IP).await.status(),
        200
    );
}

#[tokio::test]
async fn the_lock_ends_with_its_window() {
    let app = TestApp::with_env(&[
        ("LOGIN_MAX_FAILURES", "1"),
        ("LOGIN_FAILURE_WINDOW_SECS", "2"),
    ])
    .await;
    app.register("alice").await;
    // Move the service's clock to just after a window begins, so both
    // attempts fall in it; then past its end. No sleeping.
    let into_window = app.clock.now_millis() % 2000;
    app.clock.advance(Duration::from_millis(2050 - into_window));
    app.login_from("alice", "wrong password", IP).await;
    let locked = app.login_from("alice", PASSWORD, IP).await;
    assert_error(&locked, 429, "too_many_attempts");
    let wait = retry_after(&locked);
    assert_eq!(wait, 2, "Retry-After: the rest of the window, rounded down");
    app.clock.advance(Duration::from_millis(1_000));
    assert_error(
        &app.login_from("alice", PASSWORD, IP).await,
        429,
        "too_many_attempts",
    );
    app.clock.advance(Duration::from_millis(1_000));
    assert_eq!(app.login_from("alice", PASSWORD, IP).await.status(), 200);
}

#[tokio::test]
async fn parallel_guesses_cannot_overrun_the_account_limit() {
    let app = TestApp::with_env(&[("LOGIN_MAX_FAILURES", "3")]).await;
    app.register("alice").await;
    let argon2_runs = app.service.passwords().verifications();
    let attempts = (0..16).map(|i| {
        let app = &app;
        async move {
            let ip = format!("198.51.100.{}", 10 + i);
            app.login_from("alice", "wrong password", &ip)
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let guessed = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((guessed, throttled), (3, 13), "{statuses:?}");
    assert_eq!(app.service.passwords().verifications() - argon2_runs, 3);
}

#[tokio::test]
async fn an_ipv6_client_is_counted_by_its_64() {
    let app = TestApp::with_env(&[("LOGIN_MAX_FAILURES_PER_IP", "3")]).await;
    app.register("alice").await;
    for (i, id) in ["carol", "dave", "erin"].iter().enumerate() {
        let ip = format!("2001:db8:1:2::{}", i + 1);
        assert_error(
            &app.login_from(id, "password1", &ip).await,
            401,
            "invalid_credentials",
        );
    }
    assert_error(
        &app.login_from("alice", PASSWORD, "2001:db8:1:2:ffff:ffff:ffff:ffff")
            .await,
        429,
        "too_many_attempts",
    );
    assert_eq!(
        app.login_from("alice", PASSWORD, "2001:db8:1:3::1")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_blocked_source_does_not_fill_account_counters() {
    let app = TestApp::with_env(&[
        ("LOGIN_MAX_FAILURES", "2"),
        ("LOGIN_MAX_FAILURES_PER_IP", "1"),
    ])
    .await;
    app.register("alice").await;
    app.login_from("nobody", "password1", IP).await;
    for _ in 0..5 {
        assert_error(
            &app.login_from("alice", "wrong password", IP).await,
            429,
            "too_many_attempts",
        );
    }
    // Alice's own attempts from elsewhere are unaffected.
    assert_eq!(
        app.login_from("alice", PASSWORD, OTHER_IP).await.status(),
        200
    );
}

/// Twenty wrong logins at once from one address, against twenty accounts:
/// the source's slots are claimed before argon2, so no more than its limit
/// ever run, however they interleave.
#[tokio::test]
async fn a_burst_from_one_source_cannot_overrun_its_limit() {
    let app = TestApp::with_env(&[("LOGIN_MAX_FAILURES_PER_IP", "3")]).await;
    let argon2_runs = app.service.passwords().verifications();
    let attempts = (0..20).map(|i| {
        let id = format!("user-{i}");
        let app = &app;
        async move { app.login_from(&id, "wrong password", IP).await.status() }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let refused = statuses.iter().filter(|s| s.as_u16() == 401).count();
    let throttled = statuses.iter().filter(|s| s.as_u16() == 429).count();
    assert_eq!((refused, throttled), (3, 17), "{statuses:?}");
    assert_eq!(app.service.passwords().verifications() - argon2_runs, 3);
    // Another address is not affected.
    assert_error(
        &app.login_from("user-0", "wrong password", OTHER_IP).await,
        401,
        "invalid_credentials",
    );
}

#[tokio::test]
async fn registrations_per_source_are_limited_before_any_hashing() {
    let app = TestApp::with_env(&[("REGISTER_MAX_PER_IP", "2")]).await;
    for id in ["alice", "bob"] {
        assert_eq!(app.register_from(id, IP).await.status(), 201);
    }
    app.calls.take();
    let refused = app.register_from("carol", IP).await;
    assert_error(&refused, 429, "too_many_attempts");
    assert!((1..=900).contains(&retry_after(&refused)));
    // One refused claim: no hashing, no user.
    assert_eq!(app.calls.take(), ["UpdateItem"]);
    assert!(app.store.get_user("carol").await.unwrap().is_none());
    // The /64 of an IPv6 client is one source.
    assert_eq!(app.register_from("dave", "2001:db8::1").await.status(), 201);
    assert_eq!(app.register_from("erin", "2001:db8::2").await.status(), 201);
    assert_error(
        &app.register_from("frank", "2001:db8::3").await,
        429,
        "too_many_attempts",
    );
    assert_eq!(app.register_from("carol", OTHER_IP).await.status(), 201);
}

fn account_counter(app: &TestApp, id: &str) -> String {
    let window = tokengate::rules::Window::at(app.clock.now().secs, Duration::from_secs(900));
    tokengate::store::user_failures_key(id, window.index)
}

/// Single-session mode: a right password whose session loses the race with
/// a logout-all (the user's version moved between read and write) writes
/// nothing, and gives back the attempt it claimed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_that_loses_the_single_session_race_gives_its_attempt_back() {
    let app = Arc::new(TestApp::with_env(&[("SESSION_MODE", "single")]).await);
    app.register("alice").await;
    let (access, _) = app.login("alice").await;
    let mut held = app.faults.hold_next_transaction();
    let login = tokio::spawn({
        let app = app.clone();
        async move { app.login_from("alice", PASSWORD, IP).await }
    });
    held.reached().await;
    assert_eq!(
        app.logout("/api/auth/logout-all", &access).await.status(),
        200
    );
    held.release();
    let lost = login.await.unwrap();
    assert_error(&lost, 503, "service_unavailable");
    let counter = account_counter(&app, "alice");
    assert_eq!(app.store.attempts(&counter).await.unwrap(), Some(0));
    let window = tokengate::rules::Window::at(app.clock.now().secs, Duration::from_secs(900));
    let source = tokengate::store::ip_failures_key(IP, window.index);
    assert_eq!(app.store.attempts(&source).await.unwrap(), Some(0));
}

/// A password change with the right current password that does not happen
/// (the session ended meanwhile) is no failed attempt either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_that_does_not_happen_gives_its_attempt_back() {
    let app = Arc::new(TestApp::new().await);
    app.register("alice").await;
    let (access, _) = app.login("alice").await;
    let (other_access, _) = app.login("alice").await;
    let mut held = app.faults.hold_next_transaction();
    let change = tokio::spawn({
        let app = app.clone();
        async move {
            app.change_password(&access, PASSWORD, "a brand new passphrase")
                .await
        }
    });
    held.reached().await;
    assert_eq!(
        app.logout("/api/auth/logout-all", &other_access)
            .await
            .status(),
        200
    );
    held.release();
    assert_error(&change.await.unwrap(), 401, "invalid_token");
    let counter = account_counter(&app, "alice");
    assert_eq!(app.store.attempts(&counter).await.unwrap(), Some(0));
    // The password did not change.
    app.login("alice").await;
}

/// A claim on a counter that a login's transaction holds at that moment
/// gets `TransactionConflictException` (nothing written, and the SDK does not
/// retry it): the store sends it again, so the login goes on, counted once.
#[tokio::test]
async fn a_claim_that_collides_with_a_transaction_is_sent_again() {
    let app = TestApp::new().await;
    app.register("alice").await;
    app.faults.collide_counter_writes(2);
    let response = app.login_from("alice", "wrong password", IP).await;
    assert_eq!(response.status(), 401, "{}", body_text(&response));
    let counter = account_counter(&app, "alice");
    assert_eq!(app.store.attempts(&counter).await.unwrap(), Some(1));
    let window = tokengate::rules::Window::at(app.clock.now().secs, Duration::from_secs(900));
    let source = tokengate::store::ip_failures_key(IP, window.index);
    assert_eq!(app.store.attempts(&source).await.unwrap(), Some(1));
}

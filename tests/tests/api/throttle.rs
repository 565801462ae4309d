use std::time::Duration;

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
    // Cheap rejection: one read, no argon2, no write.
    assert_eq!(app.service.passwords().verifications(), argon2_runs);
    assert_eq!(app.calls.take(), ["BatchGetItem"]);
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
async fn a_failure_costs_one_read_and_one_update_per_counter() {
    let app = TestApp::new().await;
    app.register("alice").await;
    app.calls.take();
    app.login_from("alice", "wrong password", IP).await;
    let mut calls = app.calls.take();
    calls.sort();
    assert_eq!(calls, ["BatchGetItem", "UpdateItem", "UpdateItem"]);
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
    assert_eq!(app.calls.take(), ["BatchGetItem", "TransactWriteItems"]);
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
    // Start just after a window begins, so both attempts fall in it.
    let into_window = tokengate::token::now_millis() % 2000;
    tokio::time::sleep(Duration::from_millis(2050 - into_window)).await;
    app.login_from("alice", "wrong password", IP).await;
    let locked = app.login_from("alice", PASSWORD, IP).await;
    assert_error(&locked, 429, "too_many_attempts");
    let wait = retry_after(&locked);
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(app.login_from("alice", PASSWORD, IP).await.status(), 200);
}

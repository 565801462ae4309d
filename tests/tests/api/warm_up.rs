//! The cold-start warm-up: one read of a key that never exists, nothing
//! written, and never a reason for init to fail or hang.

use std::time::{Duration, Instant};

use integration_tests::*;

#[tokio::test]
async fn warm_up_is_one_get_item_that_finds_and_writes_nothing() {
    let app = TestApp::new().await;
    app.store.warm_up().await;
    assert_eq!(app.calls.take(), ["GetItem"]);
    let scan = app
        .store
        .client()
        .scan()
        .table_name(app.store.table())
        .send()
        .await
        .unwrap();
    assert_eq!(scan.count(), 0, "the warm-up left no item behind");
}

#[tokio::test]
async fn warm_up_against_a_missing_store_returns_promptly() {
    let down = service_with_store_down();
    let started = Instant::now();
    down.store().warm_up().await;
    assert!(started.elapsed() < Duration::from_secs(10));
    // The service still answers afterwards, closed.
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, _) = app.login("alice").await;
    let response = validate_fn::handle(get_with_bearer("/api/auth/validate", &access), &down).await;
    assert_error(&response, 503, "service_unavailable");
}

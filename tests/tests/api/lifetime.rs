//! A session's absolute lifetime: refreshes keep it alive while it is used,
//! but never past `createdAt` + `SESSION_MAX_LIFETIME_SECS`.

use std::time::Duration;

use integration_tests::*;
use tokengate::clock::Clock;

const DAY: u64 = 86_400;

fn refreshed(response: &lambda_http::Response<lambda_http::Body>) -> (String, u64) {
    assert_eq!(response.status(), 200, "{}", body_text(response));
    let body = body_json(response);
    (
        body["refreshToken"].as_str().unwrap().to_string(),
        body["refreshExpiresIn"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn a_refreshed_session_still_ends_at_its_maximum_lifetime() {
    // The defaults: 7 days idle, 30 days at most.
    let app = TestApp::new().await;
    app.register("alice").await;
    let login_at = app.clock.now().secs;
    let (_, mut refresh) = app.login("alice").await;
    // Used every 6 days: each refresh moves the idle timeout on ...
    for day in [6, 12, 18, 24] {
        app.clock.advance(Duration::from_secs(6 * DAY));
        let (next, expires_in) = refreshed(&app.refresh(&refresh).await);
        let ends_at = app.clock.now().secs + expires_in;
        assert_eq!(
            ends_at,
            (login_at + (day + 7) * DAY).min(login_at + 30 * DAY),
            "day {day}"
        );
        refresh = next;
    }
    // ... but from day 23 on it is the absolute limit that counts.
    let session = app
        .store
        .get_session(claims_of(&refresh)["sid"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.expires_at, login_at + 30 * DAY);
    app.clock.advance(Duration::from_secs(5 * DAY)); // day 29
    let (refresh, expires_in) = refreshed(&app.refresh(&refresh).await);
    assert_eq!(app.clock.now().secs + expires_in, login_at + 30 * DAY);
    app.clock.advance(Duration::from_secs(DAY)); // day 30
    assert_error(&app.refresh(&refresh).await, 401, "invalid_token");
}

#[tokio::test]
async fn the_sessions_list_shows_when_each_session_ends() {
    let app = TestApp::with_env(&[
        ("REFRESH_TOKEN_TTL_SECS", "3600"),
        ("SESSION_MAX_LIFETIME_SECS", "7200"),
    ])
    .await;
    app.register("alice").await;
    let created = app.clock.now().secs;
    let (_, refresh) = app.login("alice").await;
    app.clock.advance(Duration::from_secs(3000));
    let response = app.refresh(&refresh).await;
    let access = body_json(&response)["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let listed = body_json(&app.sessions(&access).await);
    let session = &listed["sessions"][0];
    assert_eq!(session["createdAt"], created);
    assert_eq!(session["lifetimeEndsAt"], created + 7200);
    // Refreshed at 3000 s: idle timeout at 6600 s, inside the limit.
    assert_eq!(session["expiresAt"], created + 6600);
}

//! Cookie transport and its CSRF defence, through the handlers on DynamoDB
//! Local. (Browsers themselves, CORS included, are in tests/browser.)

use integration_tests::*;
use lambda_http::{Body, Response};
use serde_json::json;

const APP_ORIGIN: &str = "https://app.example.com";
const COOKIE: &str = "__Secure-tokengate-refresh";

async fn app() -> TestApp {
    let app = TestApp::with_env(&[("CORS_ALLOWED_ORIGINS", APP_ORIGIN)]).await;
    app.register("alice").await;
    app
}

/// The headers a page on `origin` sends in cookie mode, plus `extra`.
fn cookie_mode<'a>(origin: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![("tokengate-transport", "cookie"), ("origin", origin)];
    headers.extend_from_slice(extra);
    headers
}

fn set_cookies(response: &Response<Body>) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// The refresh token a response set, asserting the cookie's attributes.
fn cookie_token(response: &Response<Body>) -> String {
    let cookies = set_cookies(response);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let cookie = &cookies[0];
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/auth"] {
        assert!(
            cookie.split("; ").any(|a| a == attribute),
            "{attribute} in {cookie}"
        );
    }
    let value = cookie
        .split("; ")
        .next()
        .and_then(|pair| pair.strip_prefix(&format!("{COOKIE}=")))
        .expect("the refresh cookie");
    assert!(!value.is_empty(), "{cookie}");
    value.to_string()
}

fn assert_clears_cookie(response: &Response<Body>) {
    let cookies = set_cookies(response);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert!(
        cookies[0].starts_with(&format!("{COOKIE}=;")) && cookies[0].contains("Max-Age=0"),
        "{cookies:?}"
    );
}

async fn login(app: &TestApp, headers: &[(&str, &str)]) -> Response<Body> {
    let body = json!({"id": "alice", "password": PASSWORD}).to_string();
    login_fn::handle(
        event("POST", "/api/auth/login", headers, Some(&body)),
        &app.service,
    )
    .await
}

async fn refresh(app: &TestApp, headers: &[(&str, &str)]) -> Response<Body> {
    refresh_fn::handle(
        event("POST", "/api/auth/refresh", headers, None),
        &app.service,
    )
    .await
}

async fn logout(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Response<Body> {
    logout_fn::handle(event("POST", path, headers, None), &app.service).await
}

/// Logs in in cookie mode: (access token, refresh cookie's token).
async fn cookie_login(app: &TestApp) -> (String, String) {
    let response = login(app, &cookie_mode(APP_ORIGIN, &[])).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let access = body_json(&response)["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    (access, cookie_token(&response))
}

fn session_id(access: &str) -> String {
    claims_of(access)["sid"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn login_in_cookie_mode_puts_the_refresh_token_in_the_cookie_only() {
    let app = app().await;
    let response = login(&app, &cookie_mode(APP_ORIGIN, &[])).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let body = body_json(&response);
    assert!(body.get("refreshToken").is_none(), "{body}");
    assert!(body["accessToken"].is_string());
    assert_eq!(body["tokenType"], "Bearer");
    let refresh_token = cookie_token(&response);
    assert!(!body_text(&response).contains(&refresh_token));
    assert!(set_cookies(&response)[0].contains("Max-Age=604800"));
    // The cookie holds a real refresh token of this session.
    let access = body["accessToken"].as_str().unwrap();
    assert_eq!(claims_of(&refresh_token)["sid"], claims_of(access)["sid"]);
    assert_eq!(app.validate(access).await.status(), 200);

    // Header mode is as before: no cookie, the token in the body.
    let response = login(&app, &[("origin", APP_ORIGIN)]).await;
    assert_eq!(response.status(), 200);
    assert!(set_cookies(&response).is_empty());
    assert!(body_json(&response)["refreshToken"].is_string());
}

#[tokio::test]
async fn cookie_mode_from_an_origin_not_allowed_is_refused_and_stores_nothing() {
    let app = app().await;
    app.calls.take();
    for headers in [
        cookie_mode("https://evil.example.com", &[]),
        cookie_mode("null", &[]),
        vec![("tokengate-transport", "cookie")],
    ] {
        let response = login(&app, &headers).await;
        assert_error(&response, 403, "csrf_rejected");
        assert!(set_cookies(&response).is_empty());
    }
    // Refused before the store is asked: no session, no throttle claim.
    assert!(app.calls.take().is_empty());
    let response = login(&app, &[("tokengate-transport", "pigeon")]).await;
    assert_error(&response, 400, "invalid_request");

    // Without CORS_ALLOWED_ORIGINS, cookie mode is off altogether.
    let closed = TestApp::new().await;
    closed.register("alice").await;
    assert_error(
        &login(&closed, &cookie_mode(APP_ORIGIN, &[])).await,
        403,
        "csrf_rejected",
    );
}

#[tokio::test]
async fn refresh_in_cookie_mode_rotates_the_cookie_in_one_round_trip() {
    let app = app().await;
    let (access, first) = cookie_login(&app).await;
    app.calls.take();
    let cookie = format!("{COOKIE}={first}");
    let response = refresh(&app, &cookie_mode(APP_ORIGIN, &[("cookie", &cookie)])).await;
    assert_eq!(app.calls.take(), ["TransactWriteItems"]);
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert!(body_json(&response).get("refreshToken").is_none());
    let second = cookie_token(&response);
    assert_ne!(first, second);
    assert_eq!(claims_of(&second)["sid"], session_id(&access).as_str());

    // Past the reuse grace, the first cookie is a replay: refused, cleared.
    app.clock.advance(std::time::Duration::from_secs(60));
    let replay = refresh(&app, &cookie_mode(APP_ORIGIN, &[("cookie", &cookie)])).await;
    assert_error(&replay, 401, "invalid_token");
    assert_clears_cookie(&replay);

    // No cookie at all in cookie mode: 401, nothing to clear.
    let none = refresh(&app, &cookie_mode(APP_ORIGIN, &[])).await;
    assert_error(&none, 401, "missing_token");
    assert!(set_cookies(&none).is_empty());
    // A Refresh-Token header does not count in cookie mode.
    let header = format!("Bearer {second}");
    let response = refresh(
        &app,
        &cookie_mode(APP_ORIGIN, &[("refresh-token", &header)]),
    )
    .await;
    assert_error(&response, 401, "missing_token");
}

/// A cross-site form POST (or a no-cors `fetch`) carries the cookie but
/// cannot add the transport header: refused, and the session is as it was.
#[tokio::test]
async fn a_cookie_without_the_transport_header_changes_nothing() {
    let app = app().await;
    let (access, token) = cookie_login(&app).await;
    let sid = session_id(&access);
    let before = app.store.get_session(&sid).await.unwrap().unwrap();
    let cookie = format!("{COOKIE}={token}");
    let forged = [
        ("cookie", cookie.as_str()),
        ("origin", "https://evil.example.com"),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    app.calls.take();
    let refused = refresh(&app, &forged).await;
    assert_error(&refused, 403, "csrf_rejected");
    assert!(set_cookies(&refused).is_empty(), "the cookie stays");
    // Logout is the access token's to authorize, which the forger lacks.
    for path in ["/api/auth/logout", "/api/auth/logout-all"] {
        let refused = logout(&app, path, &forged).await;
        assert_error(&refused, 401, "missing_token");
        assert!(set_cookies(&refused).is_empty(), "the cookie stays");
    }
    assert!(app.calls.take().is_empty(), "refused before the store");
    assert_eq!(app.store.get_session(&sid).await.unwrap().unwrap(), before);
    // Even from the allowed origin, the cookie needs the header.
    let same_origin = [("cookie", cookie.as_str()), ("origin", APP_ORIGIN)];
    assert_error(&refresh(&app, &same_origin).await, 403, "csrf_rejected");

    // The real client's refresh with that very cookie still works.
    let response = refresh(&app, &cookie_mode(APP_ORIGIN, &[("cookie", &cookie)])).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
}

#[tokio::test]
async fn logout_in_cookie_mode_clears_the_cookie() {
    let app = app().await;
    let (phone, phone_cookie) = cookie_login(&app).await;
    let (laptop, laptop_cookie) = cookie_login(&app).await;
    let bearer = format!("Bearer {phone}");
    let response = logout(
        &app,
        "/api/auth/logout",
        &cookie_mode(APP_ORIGIN, &[("authorization", &bearer)]),
    )
    .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_clears_cookie(&response);
    let phone_cookie = format!("{COOKIE}={phone_cookie}");
    let dead = refresh(&app, &cookie_mode(APP_ORIGIN, &[("cookie", &phone_cookie)])).await;
    assert_error(&dead, 401, "invalid_token");
    assert_eq!(app.validate(&laptop).await.status(), 200);

    // A refused logout (here a dead token; as well an expired one, whose
    // session lives on) leaves the cookie: it may still be the way to end it.
    let again = logout(
        &app,
        "/api/auth/logout",
        &cookie_mode(APP_ORIGIN, &[("authorization", &bearer)]),
    )
    .await;
    assert_error(&again, 401, "invalid_token");
    assert!(set_cookies(&again).is_empty());

    let laptop_bearer = format!("Bearer {laptop}");
    let response = logout(
        &app,
        "/api/auth/logout-all",
        &cookie_mode(APP_ORIGIN, &[("authorization", &laptop_bearer)]),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_clears_cookie(&response);
    let laptop_cookie = format!("{COOKIE}={laptop_cookie}");
    assert_error(
        &refresh(
            &app,
            &cookie_mode(APP_ORIGIN, &[("cookie", &laptop_cookie)]),
        )
        .await,
        401,
        "invalid_token",
    );
}

#[tokio::test]
async fn password_change_in_cookie_mode_sets_a_new_cookie() {
    let app = app().await;
    let (access, old) = cookie_login(&app).await;
    let bearer = format!("Bearer {access}");
    let body = json!({"currentPassword": PASSWORD, "newPassword": "a whole new passphrase"});
    let response = password_fn::handle(
        event(
            "POST",
            "/api/auth/password",
            &cookie_mode(APP_ORIGIN, &[("authorization", &bearer)]),
            Some(&body.to_string()),
        ),
        &app.service,
    )
    .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert!(body_json(&response).get("refreshToken").is_none());
    let new = cookie_token(&response);
    assert_ne!(new, old);
    let cookie = format!("{COOKIE}={new}");
    let response = refresh(&app, &cookie_mode(APP_ORIGIN, &[("cookie", &cookie)])).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
}

/// A sibling subdomain can plant a second cookie of the name for the parent
/// domain (sent first, with a longer path): neither is used.
#[tokio::test]
async fn a_planted_second_refresh_cookie_is_refused() {
    let app = app().await;
    let (_, real) = cookie_login(&app).await;
    let (_, planted) = cookie_login(&app).await;
    let both = format!("{COOKIE}={planted}; {COOKIE}={real}");
    let response = refresh(&app, &cookie_mode(APP_ORIGIN, &[("cookie", &both)])).await;
    assert_error(&response, 401, "invalid_token");
    // Clearing would remove only the real one and leave the planted one to
    // sign the browser in to the other account.
    assert!(set_cookies(&response).is_empty());
    // Neither session was touched: each cookie alone still refreshes.
    for token in [real, planted] {
        let one = format!("{COOKIE}={token}");
        let response = refresh(&app, &cookie_mode(APP_ORIGIN, &[("cookie", &one)])).await;
        assert_eq!(response.status(), 200, "{}", body_text(&response));
    }
}

#[tokio::test]
async fn cookie_mode_from_another_origin_changes_nothing_even_with_a_token() {
    let app = app().await;
    let (access, token) = cookie_login(&app).await;
    let bearer = format!("Bearer {access}");
    let cookie = format!("{COOKIE}={token}");
    let evil = cookie_mode(
        "https://evil.example.com",
        &[("authorization", &bearer), ("cookie", &cookie)],
    );
    for path in ["/api/auth/logout", "/api/auth/logout-all"] {
        assert_error(&logout(&app, path, &evil).await, 403, "csrf_rejected");
    }
    let body = json!({"currentPassword": PASSWORD, "newPassword": "a whole new passphrase"});
    let password = password_fn::handle(
        event("POST", "/api/auth/password", &evil, Some(&body.to_string())),
        &app.service,
    )
    .await;
    assert_error(&password, 403, "csrf_rejected");
    assert_eq!(app.validate(&access).await.status(), 200, "still signed in");

    // `Tokengate-Transport: header` ignores the cookie: the refresh token
    // must come the header way.
    let header_mode = [
        ("tokengate-transport", "header"),
        ("cookie", cookie.as_str()),
    ];
    assert_error(&refresh(&app, &header_mode).await, 401, "missing_token");
    let rt = format!("Bearer {token}");
    let with_header = [
        ("tokengate-transport", "header"),
        ("cookie", cookie.as_str()),
        ("refresh-token", rt.as_str()),
    ];
    let response = refresh(&app, &with_header).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert!(body_json(&response)["refreshToken"].is_string());
    assert!(set_cookies(&response).is_empty());
}

//! Requests for the handlers, built by [`gateway_events`] exactly as the
//! local gateway builds them, and helpers to read responses.

use serde_json::Value;

/// The headers a test client sends, plus `extra`.
fn header_map(extra: &[(&str, &str)]) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    let defaults = [
        ("content-type", "application/json"),
        ("user-agent", "tokengate-tests/1.0"),
    ];
    for (name, value) in defaults.iter().chain(extra) {
        let name = http::HeaderName::from_bytes(name.as_bytes()).expect("a header name");
        let value = http::HeaderValue::from_str(value).expect("a header value");
        headers.insert(name, value);
    }
    headers
}

/// The source address of every test request.
pub const TEST_SOURCE_IP: &str = "203.0.113.7";

/// Runs `build` on a request of a test client; a `?query` in `path` is
/// split off into the query string.
fn describe<T>(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    build: impl FnOnce(&gateway_events::Request) -> T,
) -> T {
    let headers = header_map(headers);
    let (path, query) = match path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path, None),
    };
    build(&gateway_events::Request {
        method,
        path,
        query,
        headers: &headers,
        body: body.unwrap_or_default().as_bytes(),
        source_ip: TEST_SOURCE_IP,
        scheme: "https",
    })
}

/// An API Gateway HTTP API (payload 2.0) event, parsed the way the Lambda
/// runtime parses it.
pub fn event_json(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Value {
    describe(method, path, headers, body, |request| {
        gateway_events::http_api_v2(request, &format!("{method} {}", request.path), &[])
    })
}

/// A REST API (payload 1.0) proxy event for `resource`, behind a Lambda
/// authorizer that answered `context` for `principal_id`.
pub fn rest_event_json(
    method: &str,
    path: &str,
    body: Option<&str>,
    authorizer: Option<(&str, &Value)>,
) -> Value {
    describe(method, path, &[], body, |request| {
        gateway_events::rest_v1(request, path, authorizer)
    })
}

pub fn to_request(event: &Value) -> lambda_http::Request {
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway event")
}

pub fn event(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> lambda_http::Request {
    to_request(&event_json(method, path, headers, body))
}

pub fn post(path: &str, body: &Value) -> lambda_http::Request {
    event("POST", path, &[], Some(&body.to_string()))
}

pub fn get_with_bearer(path: &str, token: &str) -> lambda_http::Request {
    event(
        "GET",
        path,
        &[("authorization", &format!("Bearer {token}"))],
        None,
    )
}

pub fn body_text(response: &lambda_http::Response<lambda_http::Body>) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

pub fn body_json(response: &lambda_http::Response<lambda_http::Body>) -> Value {
    serde_json::from_slice(response.body())
        .unwrap_or_else(|_| panic!("JSON body, got {:?}", body_text(response)))
}

/// Asserts an error response: status, JSON `error` code and no-store.
pub fn assert_error(response: &lambda_http::Response<lambda_http::Body>, status: u16, code: &str) {
    assert_eq!(response.status(), status, "body: {}", body_text(response));
    assert_eq!(
        body_json(response)["error"],
        code,
        "body: {}",
        body_text(response)
    );
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
}

/// A decoded token's claims, without verification (for assertions only).
pub fn claims_of(token: &str) -> Value {
    jsonwebtoken::dangerous::insecure_decode::<Value>(token)
        .expect("a JWT")
        .claims
}

/// An HTTP API (payload 2.0) REQUEST authorizer event for `GET /api/todos`.
pub fn authorizer_v2_event(authorization: Option<&str>) -> Value {
    let headers: Vec<(&str, &str)> = authorization
        .map(|value| ("authorization", value))
        .into_iter()
        .collect();
    describe("GET", "/api/todos", &headers, None, |request| {
        gateway_events::http_api_v2_authorizer(request, "GET /api/todos")
    })
}

/// The (access, refresh) tokens of a `200` token response.
pub fn token_pair(response: &lambda_http::Response<lambda_http::Body>) -> (String, String) {
    assert_eq!(response.status(), 200, "{}", body_text(response));
    let body = body_json(response);
    (
        body["accessToken"].as_str().unwrap().to_string(),
        body["refreshToken"].as_str().unwrap().to_string(),
    )
}

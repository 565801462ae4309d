//! API Gateway events, shaped as API Gateway sends them, from one request
//! description: the local gateway and the tests build every event here.
//!
//! - HTTP API (payload 2.0): [`http_api_v2`] for the integration,
//!   [`http_api_v2_authorizer`] for a `REQUEST` authorizer, with the
//!   authorizer's context under `requestContext.authorizer.lambda`.
//! - REST API (payload 1.0): [`rest_v1`] for a proxy integration, with the
//!   authorizer's context under `requestContext.authorizer`, every value a
//!   string (as REST APIs pass them).

use base64::Engine;
use http::HeaderMap;
use serde_json::{json, Map, Value};

/// A request as a client sent it to the gateway.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub source_ip: &'a str,
    /// `https` on AWS; the local gateway serves plain `http`.
    pub scheme: &'a str,
}

/// Where the request is said to have arrived.
const ACCOUNT_ID: &str = "123456789012";
const API_ID: &str = "abcdef1234";

/// HTTP APIs lowercase header names and join repeated headers with commas;
/// `Cookie` headers are not among them but in [`cookies`].
pub fn headers_json(headers: &HeaderMap) -> Map<String, Value> {
    let mut map = Map::new();
    for name in headers.keys().filter(|name| *name != http::header::COOKIE) {
        let joined = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        map.insert(name.as_str().to_ascii_lowercase(), Value::String(joined));
    }
    map
}

/// Payload 2.0's `cookies`: every cookie of every `Cookie` header, one entry each.
pub fn cookies(headers: &HeaderMap) -> Vec<Value> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| Value::String(c.to_string()))
        .collect()
}

/// The headers plus the `x-forwarded-*` ones API Gateway adds.
fn forwarded_headers(request: &Request) -> Map<String, Value> {
    let mut headers = headers_json(request.headers);
    headers.insert("x-forwarded-proto".into(), json!(request.scheme));
    headers.insert("x-forwarded-for".into(), json!(request.source_ip));
    headers
}

fn user_agent<'a>(request: &Request<'a>) -> &'a str {
    request
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn body(request: &Request) -> (Value, bool) {
    match std::str::from_utf8(request.body) {
        _ if request.body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_string()), false),
        Err(_) => (
            Value::String(base64::engine::general_purpose::STANDARD.encode(request.body)),
            true,
        ),
    }
}

fn v2_context(request: &Request, route_key: &str) -> Value {
    let now = now_millis();
    json!({
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": format!("{API_ID}.execute-api.eu-west-1.amazonaws.com"),
        "domainPrefix": API_ID,
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": user_agent(request)
        },
        "requestId": format!("local-{now:x}"),
        "routeKey": route_key,
        "stage": "$default",
        "time": "01/Dec/2026:10:00:00 +0000",
        "timeEpoch": now
    })
}

/// The payload 2.0 event an HTTP API sends to an integration. `route_key` is
/// `"<METHOD> <path template>"`; `path_params` fill the template.
pub fn http_api_v2(request: &Request, route_key: &str, path_params: &[(&str, String)]) -> Value {
    let (body, is_base64) = body(request);
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query.unwrap_or_default(),
        "cookies": cookies(request.headers),
        "headers": forwarded_headers(request),
        "requestContext": v2_context(request, route_key),
        "pathParameters": path_params.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<Map<_, _>>(),
        "body": body,
        "isBase64Encoded": is_base64
    })
}

/// Puts a Lambda authorizer's context where an HTTP API passes it on.
pub fn with_lambda_authorizer(mut event: Value, context: Value) -> Value {
    event["requestContext"]["authorizer"] = json!({ "lambda": context });
    event
}

/// The payload 2.0 `REQUEST` event an HTTP API sends to a Lambda authorizer
/// whose identity source is `$request.header.Authorization`.
pub fn http_api_v2_authorizer(request: &Request, route_key: &str) -> Value {
    let identity: Vec<&str> = request
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .into_iter()
        .collect();
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("arn:aws:execute-api:eu-west-1:{ACCOUNT_ID}:{API_ID}/$default/{}{}", request.method, request.path),
        "identitySource": identity,
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query.unwrap_or_default(),
        "cookies": cookies(request.headers),
        "headers": headers_json(request.headers),
        "queryStringParameters": {},
        "requestContext": v2_context(request, route_key),
        "pathParameters": {},
        "stageVariables": {}
    })
}

/// The payload 1.0 event a REST API sends to a Lambda proxy integration of
/// `resource`, behind a Lambda authorizer that answered `context` for
/// `principal_id` (REST APIs turn every context value into a string).
pub fn rest_v1(request: &Request, resource: &str, authorizer: Option<(&str, &Value)>) -> Value {
    let (body, is_base64) = body(request);
    let mut headers = Map::new();
    for (name, value) in request.headers {
        if let Ok(value) = value.to_str() {
            headers.insert(name.as_str().to_string(), json!(value));
        }
    }
    let mut context = json!({
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "resourceId": "abc123",
        "resourcePath": resource,
        "httpMethod": request.method,
        "path": format!("/prod{}", request.path),
        "protocol": "HTTP/1.1",
        "stage": "prod",
        "requestId": format!("local-{:x}", now_millis()),
        "requestTimeEpoch": now_millis(),
        "identity": {"sourceIp": request.source_ip, "userAgent": user_agent(request)}
    });
    if let Some((principal_id, fields)) = authorizer {
        let mut passed = Map::new();
        passed.insert("principalId".into(), json!(principal_id));
        passed.insert("integrationLatency".into(), json!(0));
        for (key, value) in fields.as_object().into_iter().flatten() {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            passed.insert(key.clone(), Value::String(text));
        }
        context["authorizer"] = Value::Object(passed);
    }
    json!({
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": {},
        "queryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64
    })
}

//! A local stand-in for API Gateway (HTTP API, payload 2.0).
//!
//! Each HTTP request becomes the event API Gateway would send, is parsed by
//! `lambda_http` exactly as in Lambda, and goes to the same handler function
//! the Lambda runs. Protected routes first run the real authorizer handler,
//! and its context reaches the function in `requestContext.authorizer.lambda`.

pub mod routes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use base64::Engine;
use http::{HeaderMap, Method, StatusCode};
use lambda_http::Body;
use serde_json::{json, Map, Value};
use tokengate::http::{error_response, json_response};
use tokengate::{AuthError, AuthService};

use routes::{Function, Match, PathParams};

/// API Gateway HTTP APIs accept request bodies up to 10 MB.
pub const MAX_GATEWAY_BODY_BYTES: usize = 10 * 1024 * 1024;

pub struct Gateway {
    pub auth: AuthService,
    pub todos: todos_fn::Todos,
    pub discovery: jwks_fn::Discovery,
}

/// A request as the gateway received it.
pub struct IncomingRequest {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub source_ip: String,
}

impl Gateway {
    pub fn new(
        auth: AuthService,
        todos: todos_fn::Todos,
        discovery: jwks_fn::Discovery,
    ) -> Arc<Self> {
        Arc::new(Gateway {
            auth,
            todos,
            discovery,
        })
    }

    /// Routes one request and logs one line for it (never a header value).
    pub async fn handle(&self, request: IncomingRequest) -> http::Response<String> {
        let started = Instant::now();
        let (method, path) = (request.method.clone(), request.path.clone());
        let response = self.dispatch(request).await;
        tracing::info!(
            %method,
            path = %path,
            status = response.status().as_u16(),
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        response
    }

    async fn dispatch(&self, request: IncomingRequest) -> http::Response<String> {
        let (route, params) = match routes::find(request.method.as_str(), &request.path) {
            Match::Found(route, params) => (route, params),
            Match::WrongMethod(allowed) => {
                let mut response = error_response(&AuthError::MethodNotAllowed);
                if let Ok(value) = http::HeaderValue::from_str(&allowed.join(", ")) {
                    response.headers_mut().insert(http::header::ALLOW, value);
                }
                return response;
            }
            Match::NotFound => return error_response(&AuthError::NotFound),
        };
        let route_key = format!("{} {}", route.method, route.path);
        let mut event = http_event(&request, &route_key, &params);

        if route.protected {
            // API Gateway answers 401 itself when the identity source
            // (the Authorization header) is missing, and 403 on a deny.
            if !request.headers.contains_key(http::header::AUTHORIZATION) {
                return gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized");
            }
            let decision =
                authorizer_fn::handle(authorizer_event(&request, &route_key), &self.auth).await;
            if decision["isAuthorized"] != Value::Bool(true) {
                return gateway_message(StatusCode::FORBIDDEN, "Forbidden");
            }
            event["requestContext"]["authorizer"] = json!({ "lambda": decision["context"] });
        }

        let lambda_request = match lambda_http::request::from_str(&event.to_string()) {
            Ok(r) => r,
            Err(_) => return error_response(&AuthError::Internal),
        };
        let response = match route.function {
            Function::Register => register_fn::handle(lambda_request, &self.auth).await,
            Function::Login => login_fn::handle(lambda_request, &self.auth).await,
            Function::Validate => validate_fn::handle(lambda_request, &self.auth).await,
            Function::Refresh => refresh_fn::handle(lambda_request, &self.auth).await,
            Function::Logout => logout_fn::handle(lambda_request, &self.auth).await,
            Function::Sessions => sessions_fn::handle(lambda_request, &self.auth).await,
            Function::Password => password_fn::handle(lambda_request, &self.auth).await,
            Function::Jwks => jwks_fn::handle(lambda_request, &self.discovery).await,
            Function::Todos => todos_fn::handle(lambda_request, &self.todos).await,
        };
        response.map(|body| match body {
            Body::Text(text) => text,
            other => String::from_utf8_lossy(&other).into_owned(),
        })
    }
}

/// API Gateway's own `{"message": ...}` responses.
fn gateway_message(status: StatusCode, message: &str) -> http::Response<String> {
    json_response(status, &json!({ "message": message }))
}

/// The headers plus the `x-forwarded-*` ones API Gateway adds (here the
/// scheme is plain http).
fn forwarded_headers(request: &IncomingRequest) -> Map<String, Value> {
    let mut headers = headers_json(&request.headers);
    headers.insert("x-forwarded-proto".into(), json!("http"));
    headers.insert("x-forwarded-for".into(), json!(request.source_ip));
    headers
}

fn headers_json(headers: &HeaderMap) -> Map<String, Value> {
    // HTTP APIs lowercase header names and join repeated headers with commas.
    let mut map = Map::new();
    for name in headers.keys() {
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

fn request_context(request: &IncomingRequest, route_key: &str) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let user_agent = request
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    json!({
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": "localhost",
        "domainPrefix": "localhost",
        "http": {
            "method": request.method.as_str(),
            "path": request.path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": user_agent
        },
        "requestId": uuid_like(now),
        "routeKey": route_key,
        "stage": "$default",
        "time": "",
        "timeEpoch": now
    })
}

fn uuid_like(now: u64) -> String {
    format!("local-{now:x}")
}

/// The payload 2.0 event API Gateway sends to an integration.
pub fn http_event(request: &IncomingRequest, route_key: &str, params: &PathParams) -> Value {
    let (body, is_base64) = match std::str::from_utf8(&request.body) {
        _ if request.body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_string()), false),
        Err(_) => (
            Value::String(base64::engine::general_purpose::STANDARD.encode(&request.body)),
            true,
        ),
    };
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query.clone().unwrap_or_default(),
        "headers": forwarded_headers(request),
        "requestContext": request_context(request, route_key),
        "pathParameters": params.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<Map<_, _>>(),
        "body": body,
        "isBase64Encoded": is_base64
    })
}

/// The payload 2.0 REQUEST event API Gateway sends to a Lambda authorizer
/// whose identity source is `$request.header.Authorization`.
pub fn authorizer_event(request: &IncomingRequest, route_key: &str) -> Value {
    let identity: Vec<&str> = request
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .into_iter()
        .collect();
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("arn:aws:execute-api:local:000000000000:local/$default/{}{}", request.method, request.path),
        "identitySource": identity,
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query.clone().unwrap_or_default(),
        "headers": headers_json(&request.headers),
        "requestContext": request_context(request, route_key),
    })
}

/// Serves the gateway on `listener` until `shutdown` completes.
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use http_body_util::{BodyExt, Full, Limited};
    use hyper::body::{Bytes, Incoming};
    use hyper_util::rt::TokioIo;

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let gateway = gateway.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let gateway = gateway.clone();
            async move {
                let (parts, body) = req.into_parts();
                let response = match Limited::new(body, MAX_GATEWAY_BODY_BYTES).collect().await {
                    Ok(collected) => {
                        gateway
                            .handle(IncomingRequest {
                                method: parts.method,
                                path: parts.uri.path().to_string(),
                                query: parts.uri.query().map(str::to_string),
                                headers: parts.headers,
                                body: collected.to_bytes().to_vec(),
                                source_ip: peer.ip().to_string(),
                            })
                            .await
                    }
                    Err(_) => {
                        tracing::info!(method = %parts.method, path = %parts.uri.path(), status = 413, "request");
                        error_response(&AuthError::PayloadTooLarge {
                            limit: MAX_GATEWAY_BODY_BYTES,
                        })
                    }
                };
                Ok::<_, std::convert::Infallible>(response.map(|b| Full::new(Bytes::from(b))))
            }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection closed with error");
            }
        });
    }
    // Let in-flight requests finish, but not forever.
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
    }
}

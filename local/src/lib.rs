//! A local stand-in for API Gateway (HTTP API, payload 2.0).
//!
//! Each HTTP request becomes the event API Gateway would send
//! ([`gateway_events`]), is parsed by `lambda_http` exactly as in Lambda, and
//! goes to the same handler function the Lambda runs, from the one route
//! table ([`routes::ROUTES`]). Protected routes first run the real authorizer
//! handler, and its context reaches the function in
//! `requestContext.authorizer.lambda`.
//!
//! Like an HTTP API with a `CorsConfiguration`, it answers CORS preflights
//! itself and adds the CORS headers for allowed origins
//! ([`tokengate::browser`]); unlike one, it can also serve the account page
//! ([`site`]).

pub mod metrics;
pub mod routes;
pub mod site;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderMap, Method, StatusCode};
use lambda_http::Body;
use serde_json::{json, Value};
use tokengate::http::{error_response, json_response};
use tokengate::{browser, ApiError, AuthService};

use routes::Match;
use site::StaticSite;

/// API Gateway HTTP APIs accept request bodies up to 10 MB.
pub const MAX_GATEWAY_BODY_BYTES: usize = 10 * 1024 * 1024;

pub struct Gateway {
    pub auth: AuthService,
    pub todos: todos_fn::Todos,
    pub discovery: jwks_fn::Published,
    /// The account page, when the server hosts it (`WEB_ROOT`).
    pub site: Option<StaticSite>,
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
        discovery: jwks_fn::Published,
        site: Option<StaticSite>,
    ) -> Arc<Self> {
        Arc::new(Gateway {
            auth,
            todos,
            discovery,
            site,
        })
    }

    /// Routes one request and logs one line for it (never a header value).
    pub async fn handle(&self, request: IncomingRequest) -> http::Response<String> {
        let started = Instant::now();
        let (method, path) = (request.method.clone(), request.path.clone());
        let origins = &self.auth.config().allowed_origins;
        // Kept for the CORS headers: dispatching consumes the request.
        let request_headers = request.headers.clone();
        let response = if method == Method::OPTIONS {
            // A preflight sets its own CORS headers, or none.
            browser::preflight(&request.headers, origins)
        } else {
            let mut response = self.dispatch(request).await;
            browser::add_cors_headers(&request_headers, response.headers_mut(), origins);
            response
        };
        tracing::info!(
            %method,
            path = %path,
            status = response.status().as_u16(),
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        crate::metrics::after_request();
        response
    }

    async fn dispatch(&self, request: IncomingRequest) -> http::Response<String> {
        let (route, params) = match routes::find(request.method.as_str(), &request.path) {
            Match::Found(route, params) => (route, params),
            Match::WrongMethod(allowed) => {
                let mut response = error_response(&ApiError::MethodNotAllowed);
                if let Ok(value) = http::HeaderValue::from_str(&allowed.join(", ")) {
                    response.headers_mut().insert(http::header::ALLOW, value);
                }
                return response;
            }
            Match::NotFound => {
                return match (&self.site, request.method == Method::GET) {
                    (Some(site), true) => site.serve(&request.path).await,
                    _ => None,
                }
                .unwrap_or_else(|| error_response(&ApiError::NotFound))
            }
        };
        let route_key = format!("{} {}", route.method, route.path);
        let described = request.describe();
        let mut event = gateway_events::http_api_v2(&described, &route_key, &params);

        if route.protected {
            // API Gateway answers 401 itself when the identity source
            // (the Authorization header) is missing, and 403 on a deny.
            if !request.headers.contains_key(http::header::AUTHORIZATION) {
                return gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized");
            }
            let authorizer_event = gateway_events::http_api_v2_authorizer(&described, &route_key);
            let decision = authorizer_fn::handle_json(authorizer_event, &self.auth).await;
            if decision["isAuthorized"] != Value::Bool(true) {
                return gateway_message(StatusCode::FORBIDDEN, "Forbidden");
            }
            event = gateway_events::with_lambda_authorizer(event, decision["context"].clone());
        }

        let lambda_request = match lambda_http::request::from_str(&event.to_string()) {
            Ok(r) => r,
            Err(_) => {
                return json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({"error": "internal_error", "message": "internal error"}),
                )
            }
        };
        let response = (route.handler)(self, lambda_request).await;
        response.map(|body| match body {
            Body::Text(text) => text,
            other => String::from_utf8_lossy(&other).into_owned(),
        })
    }
}

impl IncomingRequest {
    fn describe(&self) -> gateway_events::Request<'_> {
        gateway_events::Request {
            method: self.method.as_str(),
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
            body: &self.body,
            source_ip: &self.source_ip,
            scheme: "http",
        }
    }
}

/// API Gateway's own `{"message": ...}` responses.
fn gateway_message(status: StatusCode, message: &str) -> http::Response<String> {
    json_response(status, &json!({ "message": message }))
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
                        error_response(&ApiError::PayloadTooLarge {
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

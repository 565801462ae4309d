//! One way to start a function (feature `lambda`): logging and metrics
//! first, then the function's state built once at cold start, then the
//! runtime loop calling `handler` with each event and that state, and
//! writing the invocation's EMF metrics after it. A `main.rs` is then:
//!
//! ```ignore
//! #[tokio::main]
//! async fn main() -> Result<(), tokengate::lambda::Error> {
//!     tokengate::lambda::run_http(tokengate::AuthService::start(), validate_fn::handle).await
//! }
//! ```

use std::future::Future;

use lambda_http::{Body, Request, Response};
use lambda_runtime::LambdaEvent;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use lambda_runtime::Error;

use crate::metrics::{count, Emitter, Metric, MetricsSettings};

/// Installs logging and the EMF metrics emitter, awaits `init` (a failure
/// is logged, and fails the init phase), and keeps the state for the
/// process's life.
async fn start<S: 'static, E>(
    init: impl Future<Output = Result<S, E>>,
) -> Result<(&'static S, Emitter), Error>
where
    E: std::error::Error + Send + Sync + 'static,
{
    crate::telemetry::init();
    let emitter = MetricsSettings::read(&crate::env::Env::process(), "tokengate")
        .map_err(|e| e.to_string())
        .and_then(|settings| Emitter::install(&settings));
    let emitter = match emitter {
        Ok(emitter) => emitter,
        Err(e) => {
            tracing::error!(error = %e, "cold start failed");
            return Err(e.into());
        }
    };
    // Flushed with the first invocation's metrics.
    count(Metric::ColdStart);
    match init.await {
        // One state per process, for its whole life: leaked on purpose, so
        // every invocation borrows it without reference counting.
        Ok(state) => Ok((Box::leak(Box::new(state)), emitter)),
        Err(e) => {
            tracing::error!(error = %crate::error::display_chain(&e), "cold start failed");
            Err(Box::new(e))
        }
    }
}

/// Runs an API Gateway (HTTP API or REST) function.
pub async fn run_http<S, E, H, F>(
    init: impl Future<Output = Result<S, E>>,
    handler: H,
) -> Result<(), Error>
where
    S: Sync + 'static,
    E: std::error::Error + Send + Sync + 'static,
    H: Fn(Request, &'static S) -> F,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let (state, emitter) = start(init).await?;
    lambda_http::run(lambda_http::service_fn(move |request: Request| {
        use lambda_http::RequestExt;
        let request_id = request.lambda_context_ref().map(|c| c.request_id.clone());
        let response = handler(request, state);
        async move {
            let response = response.await;
            emitter.flush_to_stdout(request_id.as_deref());
            Ok::<_, Error>(response)
        }
    }))
    .await
}

/// Runs a function of any other event type (the authorizer).
pub async fn run_events<S, E, T, R, H, F>(
    init: impl Future<Output = Result<S, E>>,
    handler: H,
) -> Result<(), Error>
where
    S: Sync + 'static,
    E: std::error::Error + Send + Sync + 'static,
    T: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    H: Fn(T, &'static S) -> F,
    F: Future<Output = R> + Send + 'static,
{
    let (state, emitter) = start(init).await?;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<T>| {
        let request_id = event.context.request_id.clone();
        let response = handler(event.payload, state);
        async move {
            let response = response.await;
            emitter.flush_to_stdout(Some(&request_id));
            Ok::<_, Error>(response)
        }
    }))
    .await
}

/// A handler's result as the response Lambda returns: errors through the
/// one mapping, [`crate::http::error_response`].
pub fn respond(result: Result<http::Response<String>, crate::ApiError>) -> Response<Body> {
    crate::http::respond(result).map(Body::from)
}

/// The caller's user agent and source address as API Gateway saw them.
pub fn client_info(request: &lambda_http::Request) -> crate::ClientInfo {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    let source_ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.identity.source_ip.clone(),
        _ => None,
    };
    let user_agent = request
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    crate::ClientInfo {
        user_agent,
        source_ip,
    }
}

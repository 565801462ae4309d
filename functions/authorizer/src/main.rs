// The runtime, the auth service and the SDK nest futures deeper than the
// default limit lets rustc compute their layout.
#![recursion_limit = "256"]

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use tokengate::AuthService;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tokengate::telemetry::init();
    // Cold start: config, keys, validation rules and the DynamoDB client
    // are built once, and the connection is opened before the first request.
    let service = AuthService::from_env().await?;
    service.store().warm_up().await;
    run(service_fn(|event: LambdaEvent<Value>| {
        let service = &service;
        async move { Ok::<_, Error>(authorizer_fn::handle(event.payload, service).await) }
    }))
    .await
}

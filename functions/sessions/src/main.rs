use lambda_http::{run, service_fn, Error, Request};
use tokengate::AuthService;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tokengate::telemetry::init();
    // Cold start: config, keys, validation rules and the DynamoDB client
    // are built once, and the connection is opened before the first request.
    let service = AuthService::from_env().await?;
    service.store().warm_up().await;
    run(service_fn(|request: Request| {
        let service = &service;
        async move { Ok::<_, Error>(sessions_fn::handle(request, service).await) }
    }))
    .await
}

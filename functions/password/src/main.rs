use lambda_http::{run, service_fn, Error, Request};
use tokengate::AuthService;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tokengate::telemetry::init();
    // Cold start: config, keys and the DynamoDB client are built once.
    let service = AuthService::from_env().await?;
    run(service_fn(|request: Request| {
        let service = &service;
        async move { Ok::<_, Error>(password_fn::handle(request, service).await) }
    }))
    .await
}

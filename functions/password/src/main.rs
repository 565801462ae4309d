use lambda_http::{run, service_fn, Error, Request};
use tokengate::AuthService;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    // Cold start: config, keys and the DynamoDB client are built once.
    let service = AuthService::from_env().await?;
    run(service_fn(|request: Request| {
        let service = &service;
        async move { Ok::<_, Error>(password_fn::handle(request, service).await) }
    }))
    .await
}

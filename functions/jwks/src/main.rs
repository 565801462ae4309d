use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tokengate::telemetry::init();
    // Cold start: the documents are built once; no DynamoDB, no secret.
    let discovery = jwks_fn::Discovery::from_env()?;
    run(service_fn(|request: Request| {
        let discovery = &discovery;
        async move { Ok::<_, Error>(jwks_fn::handle(request, discovery).await) }
    }))
    .await
}

#[tokio::main]
async fn main() -> Result<(), tokengate::lambda::Error> {
    // The documents are built once; no DynamoDB, no secret.
    let discovery = async { jwks_fn::Discovery::from_env() };
    tokengate::lambda::run_http(discovery, jwks_fn::handle).await
}

#[tokio::main]
async fn main() -> Result<(), tokengate::lambda::Error> {
    // No DynamoDB; public keys only (from the environment, or the key
    // secret that holds nothing else).
    tokengate::lambda::run_http(jwks_fn::Published::from_env(), jwks_fn::handle).await
}

#[tokio::main]
async fn main() -> Result<(), tokengate::lambda::Error> {
    tokengate::lambda::run_http(tokengate::AuthService::start(), refresh_fn::handle).await
}

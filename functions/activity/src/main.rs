#[tokio::main]
async fn main() -> Result<(), tokengate::lambda::Error> {
    tokengate::lambda::run_http(tokengate::AuthService::start(), activity_fn::handle).await
}

// The runtime, the auth service and the SDK nest futures deeper than the
// default limit lets rustc compute their layout.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), tokengate::lambda::Error> {
    tokengate::lambda::run_events(tokengate::AuthService::start(), authorizer_fn::handle).await
}

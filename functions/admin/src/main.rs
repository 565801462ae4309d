#[tokio::main]
async fn main() -> Result<(), tokengate::lambda::Error> {
    tokengate::lambda::run_events(admin_fn::Admin::start(), admin_fn::handle).await
}

#[tokio::main]
async fn main() -> Result<(), tokengate::lambda::Error> {
    tokengate::lambda::run_http(todos_fn::Todos::start(), todos_fn::handle).await
}

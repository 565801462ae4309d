use lambda_http::{run, service_fn, Error, Request};
use todos_fn::Todos;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tokengate::telemetry::init();
    let todos = Todos::from_env().await?;
    // Open the connection to DynamoDB during init, not on the first request.
    todos.warm_up().await;
    run(service_fn(|request: Request| {
        let todos = &todos;
        async move { Ok::<_, Error>(todos_fn::handle(request, todos).await) }
    }))
    .await
}

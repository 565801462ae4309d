//! `make dev`'s server: the whole API on one port, against DynamoDB Local.

use std::net::SocketAddr;

use tokengate::store::Store;
use tokengate::AuthService;
use tokengate_local::site::StaticSite;
use tokengate_local::{serve, Gateway};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tokengate::password::return_hash_memory_to_the_os();
    tracing_subscriber::fmt()
        .with_env_filter(tokengate::telemetry::filter(
            tokengate::telemetry::level_from_env(),
        ))
        .with_target(false)
        .init();

    // EMF metrics as on AWS, tallied for the summary at exit.
    let metrics = tokengate_local::metrics::LocalMetrics::install()
        .map_err(|e| format!("configuration: {e}"))?;

    let auth = AuthService::from_env()
        .await
        .map_err(|e| format!("configuration: {e}"))?;
    // `make dev`: each message's code on this terminal too (never in a Lambda).
    let auth = match (auth.mailer().cloned(), std::env::var_os("MAIL_ECHO")) {
        (Some(mailer), Some(_)) => auth.with_mailer(mailer.echoing()),
        _ => auth,
    };
    let todos_table =
        std::env::var("TODOS_TABLE_NAME").unwrap_or_else(|_| "tokengate-todos".into());
    let client = auth.store().client().clone();
    // Local runs own their tables: create them on first start.
    Store::new(client.clone(), auth.config().table_name.clone())
        .ensure_table()
        .await
        .map_err(|e| {
            let cause = tokengate::error::display_chain(&e);
            format!("creating table {}: {cause}", auth.config().table_name)
        })?;
    todos_fn::ensure_table(&client, &todos_table)
        .await
        .map_err(|e| {
            let cause = tokengate::error::display_chain(&e);
            format!("creating table {todos_table}: {cause}")
        })?;
    let todos = todos_fn::Todos {
        client,
        table: todos_table,
    };

    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT must be a port number, got {p:?}"))?,
        Err(_) => 3000,
    };
    let address: SocketAddr = format!("{host}:{port}").parse()?;
    let listener = tokio::net::TcpListener::bind(address).await?;
    let url = format!("http://{}", listener.local_addr()?);
    println!(
        "\ntokengate is listening on {url}\n\n\
         Try it:\n  \
         curl -s -X POST {url}/api/auth/register -H 'content-type: application/json' \\\n    \
         -d '{{\"id\":\"alice\",\"password\":\"correct horse battery\",\"name\":\"Alice\"}}'\n  \
         curl -s -X POST {url}/api/auth/login -H 'content-type: application/json' \\\n    \
         -d '{{\"id\":\"alice\",\"password\":\"correct horse battery\"}}'\n"
    );

    let discovery = jwks_fn::Published::from_env()
        .await
        .map_err(|e| format!("configuration: {e}"))?;
    // `make dev` serves the account page from web/.
    let web_root = std::env::var("WEB_ROOT")
        .ok()
        .filter(|root| !root.trim().is_empty());
    if web_root.is_some() {
        println!("The account page: {url}/ (sign up, sign in, your devices)\n");
    }
    let site = web_root.map(StaticSite::new);
    serve(
        Gateway::new(auth, todos, discovery, site),
        listener,
        shutdown_signal(),
    )
    .await;
    tracing::info!("stopped");
    println!("\nmetrics: {}", metrics.finish());
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[tokio::main]
async fn main() -> Result<(), tokengate::lambda::Error> {
    // Argon2's 19 MiB block goes back to the OS after each hash.
    tokengate::password::return_hash_memory_to_the_os();
    tokengate::lambda::run_http(tokengate::AuthService::start(), account_fn::handle).await
}

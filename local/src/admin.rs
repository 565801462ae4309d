//! `tokengate-admin ACTION USER_ID`: the admin function's handler, run from
//! a terminal against the table in `TABLE_NAME` (DynamoDB Local with
//! `DYNAMODB_ENDPOINT`). On AWS, operators invoke the admin function itself.

use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(action), Some(user_id), None) = (args.next(), args.next(), args.next()) else {
        return Err("usage: tokengate-admin disable|enable|sign_out USER_ID".into());
    };
    let admin = admin_fn::Admin::start()
        .await
        .map_err(|e| format!("configuration: {e}"))?;
    let answer = admin_fn::handle(json!({"action": action, "userId": user_id}), &admin).await;
    println!("{answer}");
    if answer.get("error").is_some() {
        std::process::exit(1);
    }
    Ok(())
}

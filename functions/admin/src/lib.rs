//! The operators' function: not on the API, invoked with IAM
//! (`lambda:InvokeFunction`), e.g.
//! `aws lambda invoke --function-name <AdminFunction> --cli-binary-format raw-in-base64-out --payload '{"action":"disable","userId":"alice"}' out.json`.
//!
//! `{"action": "disable" | "enable" | "sign_out", "userId": "<id>"}` ->
//! `{"userId", "action", "done": true}`, or `{"error", "message"}`.
//! - `disable`: login, refresh and every access decision refuse the account
//!   at once (every token dies: version bump);
//! - `enable`: it may log in again;
//! - `sign_out`: every token and session dies; the account stays usable.
//!
//! It holds no key: only the table, and UpdateItem on user items.

use serde::Deserialize;
use serde_json::{json, Value};
use tokengate::config::{ConfigError, Env};
use tokengate::input::UserId;
use tokengate::store::{AdminAction, Store};
use tokengate::ApiError;

/// What the function runs with: the table, through a client built once.
pub struct Admin {
    store: Store,
}

impl Admin {
    pub fn new(store: Store) -> Self {
        Admin { store }
    }

    /// `TABLE_NAME` (and `DYNAMODB_ENDPOINT` locally) from the environment.
    pub async fn start() -> Result<Self, ConfigError> {
        let env = Env::process();
        let table = env.required("TABLE_NAME")?;
        let endpoint = env.get("DYNAMODB_ENDPOINT");
        let client = tokengate::store::dynamodb_client(endpoint.as_deref()).await;
        let store = Store::new(client, table);
        store.warm_up().await;
        Ok(Admin { store })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Request {
    action: String,
    user_id: UserId,
}

fn action(name: &str) -> Option<AdminAction> {
    match name {
        "disable" => Some(AdminAction::Disable),
        "enable" => Some(AdminAction::Enable),
        "sign_out" => Some(AdminAction::SignOut),
        _ => None,
    }
}

pub async fn handle(event: Value, admin: &Admin) -> Value {
    match run(event, admin).await {
        Ok(done) => done,
        Err(e) => {
            e.log();
            json!({ "error": e.code(), "message": e.to_string() })
        }
    }
}

async fn run(event: Value, admin: &Admin) -> Result<Value, ApiError> {
    let request: Request = serde_json::from_value(event).map_err(|_| {
        ApiError::InvalidField(
            "expected {\"action\": \"disable\" | \"enable\" | \"sign_out\", \"userId\": \"<id>\"}"
                .to_string(),
        )
    })?;
    let Some(what) = action(&request.action) else {
        return Err(ApiError::InvalidField(
            "`action` must be disable, enable or sign_out".to_string(),
        ));
    };
    tokengate::service::administer(&admin.store, request.user_id.as_str(), what).await?;
    Ok(json!({
        "userId": request.user_id.as_str(),
        "action": request.action,
        "done": true,
    }))
}

//! A sample protected function: `POST /api/todos` {title} and `GET /api/todos`.
//!
//! This is all it takes to sit behind tokengate: the API Gateway authorizer
//! has already checked the token, so the function reads the caller it passed
//! on ([`Caller::from_request`], behind an HTTP API or a REST API alike) and
//! never parses a JWT. Without that context it refuses (401) and logs why.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use tokengate::http::{json_response, parse_body};
use tokengate::lambda::respond;
use tokengate::store::StoreError;
use tokengate::{ApiError, AuthError, Caller};

pub struct Todos {
    pub client: Client,
    pub table: String,
}

#[derive(Deserialize)]
struct NewTodo {
    title: String,
}

impl Todos {
    pub async fn from_env() -> Result<Self, tokengate::config::ConfigError> {
        let env = tokengate::config::Env::process();
        let table = env.required("TODOS_TABLE_NAME")?;
        let endpoint = env.get("DYNAMODB_ENDPOINT");
        let client = tokengate::store::dynamodb_client(endpoint.as_deref()).await;
        Ok(Todos { client, table })
    }

    /// Cold start: the client, and the connection opened before the first
    /// request.
    pub async fn start() -> Result<Self, tokengate::config::ConfigError> {
        let todos = Self::from_env().await?;
        todos.warm_up().await;
        Ok(todos)
    }

    /// [`tokengate::store::warm_up`] on the todos table (key: both halves
    /// [`tokengate::store::WARM_UP_KEY`]).
    pub async fn warm_up(&self) {
        let key = tokengate::store::WARM_UP_KEY;
        let key = [("user_id", key), ("todo_id", key)]
            .map(|(name, value)| (name.to_string(), AttributeValue::S(value.to_string())));
        tokengate::store::warm_up(&self.client, &self.table, key.into()).await
    }
}

pub async fn handle(request: Request, todos: &Todos) -> Response<Body> {
    respond(route(&request, todos).await)
}

async fn route(request: &Request, todos: &Todos) -> Result<http::Response<String>, ApiError> {
    let caller = Caller::from_request(request)?;
    match *request.method() {
        Method::POST => create(request, todos, &caller.user_id).await,
        Method::GET => list(todos, &caller.user_id).await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}

async fn create(
    request: &Request,
    todos: &Todos,
    user_id: &str,
) -> Result<http::Response<String>, ApiError> {
    let body: NewTodo = parse_body(request.body())?;
    let title = body.title.trim();
    if !(1..=200).contains(&title.chars().count()) {
        return Err(AuthError::InvalidInput("`title` must be 1-200 characters".into()).into());
    }
    // UUID v7 ids sort by creation time, so a Query lists todos in order.
    let id = uuid::Uuid::now_v7().to_string();
    let created_at = tokengate::clock::now_secs();
    todos
        .client
        .put_item()
        .table_name(&todos.table)
        .item("user_id", AttributeValue::S(user_id.into()))
        .item("todo_id", AttributeValue::S(id.clone()))
        .item("title", AttributeValue::S(title.into()))
        .item("created_at", AttributeValue::N(created_at.to_string()))
        .send()
        .await
        .map_err(StoreError::from)?;
    let todo = json!({"id": id, "userId": user_id, "title": title, "createdAt": created_at});
    Ok(json_response(StatusCode::CREATED, &todo))
}

async fn list(todos: &Todos, user_id: &str) -> Result<http::Response<String>, ApiError> {
    let items: Vec<_> = todos
        .client
        .query()
        .table_name(&todos.table)
        .key_condition_expression("user_id = :u")
        .expression_attribute_values(":u", AttributeValue::S(user_id.into()))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(StoreError::from)?;
    let text = |item: &std::collections::HashMap<String, AttributeValue>, k: &str| {
        item.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let todos: Vec<Value> = items
        .iter()
        .map(|item| {
            let created_at: u64 = item
                .get("created_at")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or_default();
            json!({"id": text(item, "todo_id"), "userId": user_id, "title": text(item, "title"), "createdAt": created_at})
        })
        .collect();
    Ok(json_response(StatusCode::OK, &json!({ "todos": todos })))
}

/// Creates the todos table unless it exists (local runs and tests; on AWS
/// the template does).
pub async fn ensure_table(client: &Client, table: &str) -> Result<(), StoreError> {
    if tokengate::store::table_exists(client, table).await? {
        return Ok(());
    }
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType as T,
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(T::S)
            .build()
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("user_id").expect("fields set"))
        .attribute_definitions(attr("todo_id").expect("fields set"))
        .key_schema(key("user_id", KeyType::Hash).expect("fields set"))
        .key_schema(key("todo_id", KeyType::Range).expect("fields set"))
        .send()
        .await?;
    Ok(())
}

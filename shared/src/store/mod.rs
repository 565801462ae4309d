//! Users, sessions, login-failure counters and security activity in one
//! DynamoDB table, split by aggregate: [`users`], [`sessions`], [`throttle`],
//! [`activity`]; [`codec`] holds the
//! item layout. The rules these writes enforce are in [`crate::rules`], with
//! the condition expressions the writes use.
//!
//! DynamoDB deletes items whose `expires_at` has passed lazily (days later
//! on AWS), so every read here is judged against the clock, and every
//! conditional write re-checks expiry itself.

mod account;
mod activity;
pub mod codec;
mod sessions;
mod throttle;
mod users;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, TransactWriteItem};
use aws_sdk_dynamodb::Client;

pub use account::{AccountKeys, AdminAction, NewUser, NewUserItem, ACCOUNT_PROJECTION};
pub use activity::ActivityPage;
pub use codec::{
    activity_key, email_key, forgot_email_key, forgot_ip_key, ip_failures_key, register_key,
    reset_code_key, reset_email_key, reset_ip_key, session_key, user_failures_key, user_key,
    verify_code_key, Item, ACTIVITY_INDEX, DECISION_ATTRIBUTES, PK, TTL_ATTRIBUTE, USER_INDEX,
    WARM_UP_KEY,
};
pub use sessions::{ClaimCheck, RevokeOutcome};

/// Transactions that collide with a concurrent one are retried this often.
const MAX_CONFLICT_RETRIES: u32 = 8;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(thiserror::Error)]
pub enum StoreError {
    /// The request did not reach DynamoDB or DynamoDB failed it. The source
    /// says why; its `Display` chain holds no item data.
    #[error("dynamodb request failed")]
    Unavailable(#[source] BoxError),
    /// An item exists but does not have the shape this code writes.
    #[error("stored item is malformed: attribute `{0}`")]
    Corrupt(&'static str),
    #[error("item already exists")]
    AlreadyExists,
}

// By hand: a derived `Debug` would print the SDK error's raw response, which
// can hold whole items (password hashes). This prints the `Display` chain.
impl std::fmt::Debug for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::error::display_chain(self))
    }
}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(err: SdkError<E, R>) -> Self {
        StoreError::Unavailable(Box::new(err))
    }
}

impl StoreError {
    fn unavailable(why: &'static str) -> Self {
        StoreError::Unavailable(why.into())
    }
}

/// Timeouts and retries of the DynamoDB client.
#[derive(Debug, Clone, Copy)]
pub struct Resilience {
    pub connect_timeout: Duration,
    pub attempt_timeout: Duration,
    pub operation_timeout: Duration,
    /// Attempts per operation, the first included.
    pub max_attempts: u32,
}

impl Resilience {
    /// What every function runs with (reasoning in the README):
    /// - connect 1 s: opening TCP + TLS to DynamoDB takes milliseconds in a
    ///   region; one that takes a second is not going to work;
    /// - attempt 1 s: DynamoDB answers in single-digit ms; an attempt this
    ///   slow is a stuck connection, better retried on a new one;
    /// - operation 2.5 s, retries and back-off included: well inside the
    ///   authorizer's 5 s Lambda timeout (and API Gateway's 10 s for
    ///   authorizers), so an outage is a prompt 503 or deny, never a timeout;
    /// - 3 attempts in standard mode: throttling and transient errors are
    ///   retried with jittered back-off (50 ms initial, 500 ms at most).
    pub const DEFAULT: Resilience = Resilience {
        connect_timeout: Duration::from_secs(1),
        attempt_timeout: Duration::from_millis(1000),
        operation_timeout: Duration::from_millis(2500),
        max_attempts: 3,
    };

    pub fn apply(
        self,
        builder: aws_sdk_dynamodb::config::Builder,
    ) -> aws_sdk_dynamodb::config::Builder {
        use aws_sdk_dynamodb::config::retry::RetryConfig;
        use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
        builder
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(self.connect_timeout)
                    .operation_attempt_timeout(self.attempt_timeout)
                    .operation_timeout(self.operation_timeout)
                    .build(),
            )
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(self.max_attempts)
                    .with_initial_backoff(Duration::from_millis(50))
                    .with_max_backoff(Duration::from_millis(500)),
            )
    }
}

/// Builds a DynamoDB client from the standard AWS environment, with an
/// optional endpoint override (DynamoDB Local). Called once, at cold start.
pub async fn dynamodb_client(endpoint: Option<&str>) -> Client {
    let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut builder =
        Resilience::DEFAULT.apply(aws_sdk_dynamodb::config::Builder::from(&sdk_config));
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    Client::from_conf(builder.build())
}

/// Opens the client's connection to DynamoDB during init: one `GetItem` of
/// `key` (an item that never exists) in `table`. Resolving credentials and
/// the endpoint, the TCP connect and the TLS handshake then happen while
/// Lambda initialises the function, not during the first request. A failure
/// is logged and otherwise ignored: requests still fail closed on their own.
pub async fn warm_up(client: &Client, table: &str, key: Item) {
    let read = client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .send();
    match tokio::time::timeout(Duration::from_secs(2), read).await {
        Ok(Ok(_)) => tracing::debug!("DynamoDB connection warmed up"),
        Ok(Err(e)) => {
            let error = crate::error::display_chain(&StoreError::from(e));
            tracing::warn!(%error, "DynamoDB warm-up failed")
        }
        Err(_) => tracing::warn!("DynamoDB warm-up timed out"),
    }
}

/// Whether `table` exists (local set-up; on AWS the template owns tables).
pub async fn table_exists(client: &Client, table: &str) -> Result<bool, StoreError> {
    match client.describe_table().table_name(table).send().await {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether an SDK error is a failed condition (of a single-item write).
fn is_condition_failure<E, R>(err: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .is_some_and(|e| e.code() == Some("ConditionalCheckFailedException"))
}

/// Whether a single-item write collided with a transaction on the same item
/// (`TransactionConflictException`): nothing was written, and the SDK does
/// not retry it.
fn is_transaction_conflict<E, R>(err: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .is_some_and(|e| e.code() == Some("TransactionConflictException"))
}

/// Sends a single-item write built by `send`, again (up to
/// [`MAX_CONFLICT_RETRIES`] times) while it collides with a transaction on
/// the same item: a counter claimed while a login's transaction gives back
/// or clears it is not an outage.
async fn send_through_conflicts<T, E, R, F>(send: impl Fn() -> F) -> Result<T, SdkError<E, R>>
where
    F: std::future::Future<Output = Result<T, SdkError<E, R>>>,
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    let mut attempt = 0;
    loop {
        match send().await {
            Err(e) if is_transaction_conflict(&e) && attempt < MAX_CONFLICT_RETRIES => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt))).await;
            }
            other => return other,
        }
    }
}

/// Which transaction item failed its condition, per DynamoDB's cancellation
/// reasons (in request order).
enum TransactFailure {
    /// A concurrent transaction touched the same items; nothing was
    /// written: retry as a new request.
    Conflict,
    /// This very request (its client token) is still being applied: ask
    /// again with the same token.
    InProgress,
    /// Item `index` failed its condition; `item` is its old image if asked for.
    ConditionFailed { index: usize, item: Option<Item> },
}

fn classify_transaction_error(
    err: SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> Result<TransactFailure, StoreError> {
    if let SdkError::ServiceError(service) = &err {
        if let TransactWriteItemsError::TransactionCanceledException(cancel) = service.err() {
            let reasons = cancel.cancellation_reasons();
            if let Some((index, reason)) = reasons
                .iter()
                .enumerate()
                .find(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
            {
                return Ok(TransactFailure::ConditionFailed {
                    index,
                    item: reason.item().cloned(),
                });
            }
            if reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"))
            {
                return Ok(TransactFailure::Conflict);
            }
        }
        if let TransactWriteItemsError::TransactionInProgressException(_) = service.err() {
            return Ok(TransactFailure::InProgress);
        }
    }
    Err(err.into())
}

/// The table, through one client built at cold start.
#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// [`warm_up`] on this store's table.
    pub async fn warm_up(&self) {
        warm_up(
            &self.client,
            &self.table,
            HashMap::from([(PK.to_string(), codec::s(WARM_UP_KEY))]),
        )
        .await
    }

    /// Creates the table, its GSI and its TTL setting (local runs and tests;
    /// on AWS the SAM template does this).
    pub async fn create_table(&self) -> Result<(), StoreError> {
        codec::create_table(&self.client, &self.table).await
    }

    /// Creates the table unless it exists already.
    pub async fn ensure_table(&self) -> Result<(), StoreError> {
        if table_exists(&self.client, &self.table).await? {
            return Ok(());
        }
        self.create_table().await
    }

    /// Items by `pk`, in ONE strongly consistent BatchGetItem (at most 100
    /// distinct keys), with only the `projection`'s attributes if given. Absent items are
    /// absent from the map.
    async fn get_many(
        &self,
        pks: &[&str],
        projection: Option<&codec::ReadProjection>,
    ) -> Result<HashMap<String, Item>, StoreError> {
        let mut keys = KeysAndAttributes::builder().consistent_read(true);
        if let Some(projection) = projection {
            keys = keys
                .projection_expression(projection.expression.clone())
                .set_expression_attribute_names(Some(projection.names.clone()));
        }
        for pk in pks {
            keys = keys.keys(HashMap::from([(PK.to_string(), codec::s(*pk))]));
        }
        let out = self
            .client
            .batch_get_item()
            .request_items(&self.table, keys.build().expect("keys set"))
            .send()
            .await?;
        // Throttled keys come back unprocessed: not knowing is not "absent".
        if out.unprocessed_keys().is_some_and(|u| !u.is_empty()) {
            return Err(StoreError::unavailable("unprocessed keys"));
        }
        // The items are taken out of the response, not copied.
        let items = out
            .responses
            .and_then(|mut r| r.remove(&self.table))
            .unwrap_or_default();
        let mut found = HashMap::with_capacity(items.len());
        for item in items {
            match item.get(PK) {
                Some(AttributeValue::S(pk)) => found.insert(pk.clone(), item),
                _ => return Err(StoreError::Corrupt(PK)),
            };
        }
        Ok(found)
    }

    /// Runs a transaction built by `items`, retrying only when it collided
    /// with a concurrent transaction. `Ok(None)`: committed; otherwise the
    /// index of the first item whose condition failed, and its old image if
    /// the item asked for one.
    ///
    /// Every send carries a client request token, so the SDK's own retries
    /// (a timeout, a 5xx) and a re-send after `TransactionInProgressException`
    /// (the same request is still being applied) are the same request to
    /// DynamoDB: if the first attempt landed, the re-send reports success
    /// instead of running again and failing its own conditions (a refresh
    /// that mistook its own retry for a replay, and revoked the session).
    /// Only a definite cancellation (a conflict: nothing was written) gets a
    /// new token.
    async fn transact(
        &self,
        items: impl Fn() -> Vec<TransactWriteItem>,
    ) -> Result<Option<(usize, Option<Item>)>, StoreError> {
        let mut attempt = 0;
        let mut token = uuid::Uuid::new_v4().to_string();
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items()))
                .client_request_token(&token)
                .send()
                .await;
            let retry = match result {
                Ok(_) => return Ok(None),
                Err(e) => match classify_transaction_error(e)? {
                    TransactFailure::ConditionFailed { index, item } => {
                        return Ok(Some((index, item)))
                    }
                    TransactFailure::Conflict => true,
                    TransactFailure::InProgress => false,
                },
            };
            if attempt >= MAX_CONFLICT_RETRIES {
                return Err(StoreError::unavailable("transaction conflict persisted"));
            }
            attempt += 1;
            if retry {
                token = uuid::Uuid::new_v4().to_string();
            }
            tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt))).await;
        }
    }
}

//! Users and sessions in one DynamoDB table.
//!
//! | item    | `pk`             | attributes                                                        |
//! |---------|------------------|-------------------------------------------------------------------|
//! | user    | `USER#<id>`      | id, seq, name, password_hash, token_version, created_at           |
//! | session | `SESSION#<sid>`  | sid, user_id, token_version, generation, rotated_at_ms, expires_at (TTL), created_at, refreshed_at, user_agent, source_ip |
//! | counter | `COUNTER#users`  | value (last `seq` handed out)                                     |
//! | failures | `LOGINFAIL#USER#<id>#<window>`, `LOGINFAIL#IP#<ip>#<window>` | failures, expires_at (TTL: the window's end) |
//!
//! A session's `token_version` is the user's version when it was created (or
//! last re-keyed): once the user's version moves on (logout-all, password
//! change) the item lingers until its TTL but no longer counts as live.
//!
//! The GSI `by_user` (hash `user_id`, range `created_at`) holds only session
//! items, so "list my sessions" is one Query. DynamoDB deletes items whose
//! `expires_at` has passed lazily (days later on AWS), so every read here
//! checks expiry itself and every conditional write re-checks it.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TimeToLiveSpecification,
    TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;

pub const PK: &str = "pk";
pub const TTL_ATTRIBUTE: &str = "expires_at";
pub const USER_INDEX: &str = "by_user";
const USER_COUNTER_KEY: &str = "COUNTER#users";
/// Transactions that collide with a concurrent one are retried this often.
const MAX_CONFLICT_RETRIES: u32 = 8;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The request did not reach DynamoDB or DynamoDB failed it.
    #[error("dynamodb request failed: {0}")]
    Unavailable(String),
    /// An item exists but does not have the shape this code writes.
    #[error("stored item is malformed: {0}")]
    Corrupt(&'static str),
    #[error("item already exists")]
    AlreadyExists,
}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    fn from(err: SdkError<E, R>) -> Self {
        // The code/message of a service error, or the kind of transport
        // failure: enough to debug, never request data.
        let detail = match &err {
            SdkError::ServiceError(e) => format!(
                "{}: {}",
                e.err().code().unwrap_or("unknown"),
                e.err().message().unwrap_or("")
            ),
            SdkError::TimeoutError(_) => "timeout".to_string(),
            SdkError::DispatchFailure(_) => "dispatch failure (connection)".to_string(),
            SdkError::ResponseError(_) => "unreadable response".to_string(),
            SdkError::ConstructionFailure(_) => "request construction failed".to_string(),
            _ => "unknown sdk error".to_string(),
        };
        StoreError::Unavailable(detail)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub seq: u64,
    pub name: String,
    pub password_hash: String,
    pub token_version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub session_id: String,
    pub user_id: String,
    pub token_version: u64,
    pub generation: u64,
    pub rotated_at_ms: u64,
    pub expires_at: u64,
    pub created_at: u64,
    pub refreshed_at: u64,
    pub user_agent: Option<String>,
    pub source_ip: Option<String>,
}

impl SessionRecord {
    /// TTL deletion is lazy: an item past `expires_at` may still be read.
    pub fn is_live(&self, now: u64) -> bool {
        self.expires_at > now
    }
}

pub struct NewSession<'a> {
    pub session_id: &'a str,
    pub user_id: &'a str,
    /// The user's token version this session belongs to.
    pub token_version: u64,
    pub now: u64,
    pub expires_at: u64,
    pub user_agent: Option<&'a str>,
    pub source_ip: Option<&'a str>,
}

/// What a token claims about its session, checked by every conditional write.
#[derive(Debug, Clone, Copy)]
pub struct SessionClaim<'a> {
    pub session_id: &'a str,
    pub user_id: &'a str,
    pub generation: u64,
    pub version: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The session moved to `generation`, now expiring at `expires_at`.
    Rotated { generation: u64, expires_at: u64 },
    /// The user's token version no longer matches (logout-all happened).
    VersionChanged,
    /// The session did not match the claim; `current` is what is stored now
    /// (`None`: gone).
    Stale { current: Option<SessionRecord> },
}

/// Whether a conditional write on a session found it as the token claims.
#[derive(Debug, PartialEq, Eq)]
pub enum ClaimCheck {
    Done,
    Rejected,
}

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The partition key of user `id`'s item.
pub fn user_key(id: &str) -> String {
    format!("USER#{id}")
}

/// The partition key of session `sid`'s item.
pub fn session_key(sid: &str) -> String {
    format!("SESSION#{sid}")
}

/// The failed-login counter of account `id` in fixed window `window`.
pub fn user_failures_key(id: &str, window: u64) -> String {
    format!("LOGINFAIL#USER#{id}#{window}")
}

/// The failed-login counter of source address `ip` in fixed window `window`.
pub fn ip_failures_key(ip: &str, window: u64) -> String {
    format!("LOGINFAIL#IP#{ip}#{window}")
}

/// What a login reads, in one round trip.
#[derive(Debug, Default)]
pub struct LoginState {
    pub user: Option<UserRecord>,
    pub ip_failures: u64,
}

/// How revoking one of the caller's other sessions ended.
#[derive(Debug, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked,
    /// The caller's own token no longer holds (session ended, version moved).
    CallerRejected,
    /// No live session of the caller's with that id.
    NotFound,
}

type Item = HashMap<String, AttributeValue>;

fn get_s(item: &Item, name: &'static str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(StoreError::Corrupt(name)),
    }
}

fn get_opt_s(item: &Item, name: &'static str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

fn get_n(item: &Item, name: &'static str) -> Result<u64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| StoreError::Corrupt(name)),
        _ => Err(StoreError::Corrupt(name)),
    }
}

impl UserRecord {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        Ok(UserRecord {
            id: get_s(item, "id")?,
            seq: get_n(item, "seq")?,
            name: get_s(item, "name")?,
            password_hash: get_s(item, "password_hash")?,
            token_version: get_n(item, "token_version")?,
        })
    }
}

impl SessionRecord {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        Ok(SessionRecord {
            session_id: get_s(item, "sid")?,
            user_id: get_s(item, "user_id")?,
            token_version: get_n(item, "token_version")?,
            generation: get_n(item, "generation")?,
            rotated_at_ms: get_n(item, "rotated_at_ms")?,
            expires_at: get_n(item, TTL_ATTRIBUTE)?,
            created_at: get_n(item, "created_at")?,
            refreshed_at: get_n(item, "refreshed_at")?,
            user_agent: get_opt_s(item, "user_agent"),
            source_ip: get_opt_s(item, "source_ip"),
        })
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

/// The partition key the cold-start warm-up reads: no item ever has it, and
/// the template grants each function `GetItem` on this key only.
pub const WARM_UP_KEY: &str = "WARMUP";

/// Opens the client's connection to DynamoDB during init: one `GetItem` of
/// `key` (an item that never exists) in `table`. Resolving credentials and
/// the endpoint, the TCP connect and the TLS handshake then happen while
/// Lambda initialises the function, not during the first request. A failure
/// is logged and otherwise ignored: requests still fail closed on their own.
pub async fn warm_up(client: &Client, table: &str, key: HashMap<String, AttributeValue>) {
    let read = client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .send();
    match tokio::time::timeout(Duration::from_secs(2), read).await {
        Ok(Ok(_)) => tracing::debug!("DynamoDB connection warmed up"),
        Ok(Err(e)) => tracing::warn!(error = %StoreError::from(e), "DynamoDB warm-up failed"),
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

/// Which transaction item failed its condition, per DynamoDB's cancellation
/// reasons (in request order).
enum TransactFailure {
    /// A concurrent transaction touched the same items: retry.
    Conflict,
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
            return Ok(TransactFailure::Conflict);
        }
    }
    Err(err.into())
}

/// A put guarded by `attribute_not_exists(pk)`: a failed condition means
/// the item was already there.
fn conditional_put_outcome<T>(
    result: Result<T, SdkError<PutItemError, aws_sdk_dynamodb::config::http::HttpResponse>>,
) -> Result<(), StoreError> {
    match result {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Err(StoreError::AlreadyExists)
        }
        Err(e) => Err(e.into()),
    }
}

/// The condition every write that acts on a token re-checks on its session.
const SESSION_CLAIM_CONDITION: &str =
    "attribute_exists(pk) AND user_id = :uid AND generation = :gen AND expires_at > :now";

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
            HashMap::from([(PK.to_string(), s(WARM_UP_KEY))]),
        )
        .await
    }

    /// Creates the table, its GSI and its TTL setting (local runs and tests;
    /// on AWS the SAM template does this).
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .expect("key schema fields set")
        };
        let attr = |name: &str, kind: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(kind)
                .build()
                .expect("attribute fields set")
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(PK, ScalarAttributeType::S))
            .attribute_definitions(attr("user_id", ScalarAttributeType::S))
            .attribute_definitions(attr("created_at", ScalarAttributeType::N))
            .key_schema(key(PK, KeyType::Hash))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(USER_INDEX)
                    .key_schema(key("user_id", KeyType::Hash))
                    .key_schema(key("created_at", KeyType::Range))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .expect("index fields set"),
            )
            .send()
            .await?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()
                    .expect("ttl fields set"),
            )
            .send()
            .await?;
        Ok(())
    }

    /// Creates the table unless it exists already.
    pub async fn ensure_table(&self) -> Result<(), StoreError> {
        if table_exists(&self.client, &self.table).await? {
            return Ok(());
        }
        self.create_table().await
    }

    /// Hands out the next user `seq` (an atomic counter: unique, increasing).
    pub async fn next_user_seq(&self) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(USER_COUNTER_KEY))
            .update_expression("ADD #v :one")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await?;
        out.attributes()
            .ok_or(StoreError::Corrupt("value"))
            .and_then(|item| get_n(item, "value"))
    }

    /// Stores a new user; never overwrites an existing one.
    pub async fn put_user(
        &self,
        id: &str,
        seq: u64,
        name: &str,
        password_hash: &str,
        now: u64,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(user_key(id)))
            .item("id", s(id))
            .item("seq", n(seq))
            .item("name", s(name))
            .item("password_hash", s(password_hash))
            .item("token_version", n(0))
            .item("created_at", n(now))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        conditional_put_outcome(result)
    }

    pub async fn get_user(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(user_key(id)))
            .consistent_read(true)
            .send()
            .await?;
        out.item().map(UserRecord::from_item).transpose()
    }

    /// Creates a session and deletes the account's attempt counter
    /// `clear_failures`, in one transaction. With `bump_version_from`, the same
    /// transaction moves the user's token version from that value to the next,
    /// signing out every other session (single-session mode); it fails with
    /// `AlreadyExists` if the version moved meanwhile.
    pub async fn create_session(
        &self,
        session: NewSession<'_>,
        bump_version_from: Option<u64>,
        clear_failures: &str,
    ) -> Result<(), StoreError> {
        let mut item = HashMap::from([
            (PK.to_string(), s(session_key(session.session_id))),
            ("sid".to_string(), s(session.session_id)),
            ("user_id".to_string(), s(session.user_id)),
            ("token_version".to_string(), n(session.token_version)),
            ("generation".to_string(), n(1)),
            ("rotated_at_ms".to_string(), n(0)),
            (TTL_ATTRIBUTE.to_string(), n(session.expires_at)),
            ("created_at".to_string(), n(session.now)),
            ("refreshed_at".to_string(), n(session.now)),
        ]);
        if let Some(ua) = session.user_agent {
            item.insert("user_agent".to_string(), s(ua));
        }
        if let Some(ip) = session.source_ip {
            item.insert("source_ip".to_string(), s(ip));
        }
        // A session id is a fresh UUID: a collision is refused, not merged.
        let not_exists = "attribute_not_exists(pk)";

        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(not_exists)
            .build()
            .expect("put fields set");
        let mut items = vec![
            TransactWriteItem::builder().put(put).build(),
            self.delete_by_key(clear_failures),
        ];
        if let Some(from) = bump_version_from {
            let bump = Update::builder()
                .table_name(&self.table)
                .key(PK, s(user_key(session.user_id)))
                .update_expression("SET token_version = :next")
                .condition_expression("token_version = :from")
                .expression_attribute_values(":from", n(from))
                .expression_attribute_values(":next", n(from + 1))
                .build()
                .expect("update fields set");
            items.push(TransactWriteItem::builder().update(bump).build());
        }
        // A concurrent failed login bumping the same counter is a conflict:
        // retried, not an error.
        match self.transact(|| items.clone()).await? {
            None => Ok(()),
            Some(_) => Err(StoreError::AlreadyExists),
        }
    }

    /// Items by `pk`, in ONE strongly consistent BatchGetItem (at most 100
    /// distinct keys). Absent items are absent from the map.
    async fn get_many(&self, pks: &[&str]) -> Result<HashMap<String, Item>, StoreError> {
        let mut keys = KeysAndAttributes::builder().consistent_read(true);
        for pk in pks {
            keys = keys.keys(HashMap::from([(PK.to_string(), s(*pk))]));
        }
        let out = self
            .client
            .batch_get_item()
            .request_items(&self.table, keys.build().expect("keys set"))
            .send()
            .await?;
        // Throttled keys come back unprocessed: not knowing is not "absent".
        if out.unprocessed_keys().is_some_and(|u| !u.is_empty()) {
            return Err(StoreError::Unavailable("unprocessed keys".to_string()));
        }
        let mut found = HashMap::new();
        for item in out
            .responses()
            .and_then(|r| r.get(&self.table))
            .into_iter()
            .flatten()
        {
            match item.get(PK) {
                Some(AttributeValue::S(pk)) => found.insert(pk.clone(), item.clone()),
                _ => return Err(StoreError::Corrupt(PK)),
            };
        }
        Ok(found)
    }

    /// A login's user and its source's failure count, in one round trip (none
    /// if there is nothing to read).
    pub async fn load_login_state(
        &self,
        user_id: Option<&str>,
        ip_failures: Option<&str>,
    ) -> Result<LoginState, StoreError> {
        let user_pk = user_id.map(user_key);
        let pks: Vec<&str> = [user_pk.as_deref(), ip_failures]
            .into_iter()
            .flatten()
            .collect();
        if pks.is_empty() {
            return Ok(LoginState::default());
        }
        let items = self.get_many(&pks).await?;
        Ok(LoginState {
            user: user_pk
                .and_then(|pk| items.get(&pk))
                .map(UserRecord::from_item)
                .transpose()?,
            ip_failures: ip_failures
                .and_then(|k| items.get(k))
                .map_or(Ok(0), |item| get_n(item, "failures"))?,
        })
    }

    /// Claims one password attempt against counter `key` before argon2 runs:
    /// `ADD failures 1` unless it already reached `max`. Concurrent attempts
    /// cannot all slip under the limit: DynamoDB serialises the condition.
    /// `false`: the limit is reached, nothing was written. The counter lives
    /// until `window_end`; a successful attempt deletes it.
    pub async fn reserve_attempt(
        &self,
        key: &str,
        max: u64,
        window_end: u64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(key))
            .update_expression("ADD failures :one SET expires_at = :end")
            .condition_expression("attribute_not_exists(failures) OR failures < :max")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":end", n(window_end))
            .expression_attribute_values(":max", n(max))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Gives back an attempt claimed by [`Store::reserve_attempt`] that never
    /// ran (refused for another reason).
    pub async fn release_attempt(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(key))
            .update_expression("ADD failures :minus_one")
            .condition_expression("failures > :zero")
            .expression_attribute_values(":minus_one", AttributeValue::N("-1".to_string()))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await
            .map(|_| ())
            .or_else(|e| {
                // Already cleared by a concurrent success: nothing to give back.
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception())
                {
                    Ok(())
                } else {
                    Err(e.into())
                }
            })
    }

    /// Counts one failure against counter `key` (one UpdateItem), which lives
    /// until `window_end`.
    pub async fn record_failure(&self, key: &str, window_end: u64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(key))
            .update_expression("ADD failures :one SET expires_at = :end")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":end", n(window_end))
            .send()
            .await?;
        Ok(())
    }

    /// The session and its user, in ONE strongly consistent round trip.
    pub async fn load_session_and_user(
        &self,
        session_id: &str,
        user_id: &str,
    ) -> Result<(Option<SessionRecord>, Option<UserRecord>), StoreError> {
        let session_pk = session_key(session_id);
        let user_pk = user_key(user_id);
        let items = self.get_many(&[&session_pk, &user_pk]).await?;
        Ok((
            items
                .get(&session_pk)
                .map(SessionRecord::from_item)
                .transpose()?,
            items.get(&user_pk).map(UserRecord::from_item).transpose()?,
        ))
    }

    pub async fn get_session(&self, session_id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(session_key(session_id)))
            .consistent_read(true)
            .send()
            .await?;
        out.item().map(SessionRecord::from_item).transpose()
    }

    /// An unconditional delete of item `pk`, as part of a transaction.
    fn delete_by_key(&self, pk: &str) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(PK, s(pk))
            .build()
            .expect("delete fields set");
        TransactWriteItem::builder().delete(delete).build()
    }

    fn session_claim_check(&self, claim: SessionClaim<'_>, now: u64) -> ConditionCheck {
        ConditionCheck::builder()
            .table_name(&self.table)
            .key(PK, s(session_key(claim.session_id)))
            .condition_expression(SESSION_CLAIM_CONDITION)
            .expression_attribute_values(":uid", s(claim.user_id))
            .expression_attribute_values(":gen", n(claim.generation))
            .expression_attribute_values(":now", n(now))
            .build()
            .expect("condition check fields set")
    }

    fn user_version_check(&self, claim: SessionClaim<'_>) -> ConditionCheck {
        ConditionCheck::builder()
            .table_name(&self.table)
            .key(PK, s(user_key(claim.user_id)))
            .condition_expression("token_version = :ver")
            .expression_attribute_values(":ver", n(claim.version))
            .build()
            .expect("condition check fields set")
    }

    /// Runs a transaction built by `items`, retrying only when it collided
    /// with a concurrent transaction. `Ok(None)`: committed.
    async fn transact(
        &self,
        items: impl Fn() -> Vec<TransactWriteItem>,
    ) -> Result<Option<(usize, Option<Item>)>, StoreError> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items()))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(None),
                Err(e) => match classify_transaction_error(e)? {
                    TransactFailure::ConditionFailed { index, item } => {
                        return Ok(Some((index, item)))
                    }
                    TransactFailure::Conflict if attempt < MAX_CONFLICT_RETRIES => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt))).await;
                    }
                    TransactFailure::Conflict => {
                        return Err(StoreError::Unavailable(
                            "transaction conflict persisted".to_string(),
                        ))
                    }
                },
            }
        }
    }

    /// Advances the session one generation, in one conditional transaction:
    /// the session must be at the claimed generation, unexpired, and the
    /// user's token version unchanged. However many refreshes race with the
    /// same token, exactly one succeeds.
    pub async fn rotate_refresh(
        &self,
        claim: SessionClaim<'_>,
        now: u64,
        now_ms: u64,
        new_expires_at: u64,
    ) -> Result<RotateOutcome, StoreError> {
        let next = claim.generation + 1;
        let rotate = || {
            let update = Update::builder()
                .table_name(&self.table)
                .key(PK, s(session_key(claim.session_id)))
                .update_expression(
                    "SET generation = :next, rotated_at_ms = :now_ms, refreshed_at = :now, expires_at = :exp",
                )
                .condition_expression(SESSION_CLAIM_CONDITION)
                .expression_attribute_values(":uid", s(claim.user_id))
                .expression_attribute_values(":gen", n(claim.generation))
                .expression_attribute_values(":next", n(next))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":now_ms", n(now_ms))
                .expression_attribute_values(":exp", n(new_expires_at))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .expect("update fields set");
            vec![
                TransactWriteItem::builder().update(update).build(),
                TransactWriteItem::builder()
                    .condition_check(self.user_version_check(claim))
                    .build(),
            ]
        };
        match self.transact(rotate).await? {
            None => Ok(RotateOutcome::Rotated {
                generation: next,
                expires_at: new_expires_at,
            }),
            Some((1, _)) => Ok(RotateOutcome::VersionChanged),
            Some((_, Some(old))) => Ok(RotateOutcome::Stale {
                current: Some(SessionRecord::from_item(&old)?),
            }),
            // No old image: the session is gone (or the image was not sent).
            Some((_, None)) => Ok(RotateOutcome::Stale {
                current: self.get_session(claim.session_id).await?,
            }),
        }
    }

    /// Deletes a session unconditionally (revocation after refresh reuse).
    pub async fn delete_session(&self, session_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(session_key(session_id)))
            .send()
            .await?;
        Ok(())
    }

    /// Logout: deletes the session if, and only if, the token's claim on it
    /// still holds (one round trip).
    pub async fn end_session(
        &self,
        claim: SessionClaim<'_>,
        now: u64,
    ) -> Result<ClaimCheck, StoreError> {
        let items = || {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key(PK, s(session_key(claim.session_id)))
                .condition_expression(SESSION_CLAIM_CONDITION)
                .expression_attribute_values(":uid", s(claim.user_id))
                .expression_attribute_values(":gen", n(claim.generation))
                .expression_attribute_values(":now", n(now))
                .build()
                .expect("delete fields set");
            vec![
                TransactWriteItem::builder().delete(delete).build(),
                TransactWriteItem::builder()
                    .condition_check(self.user_version_check(claim))
                    .build(),
            ]
        };
        Ok(match self.transact(items).await? {
            None => ClaimCheck::Done,
            Some(_) => ClaimCheck::Rejected,
        })
    }

    /// Logout everywhere: `ADD token_version 1` on the user, if the token's
    /// claim on its session and version still holds (one round trip).
    pub async fn bump_token_version(
        &self,
        claim: SessionClaim<'_>,
        now: u64,
    ) -> Result<ClaimCheck, StoreError> {
        let items = || {
            let bump = Update::builder()
                .table_name(&self.table)
                .key(PK, s(user_key(claim.user_id)))
                .update_expression("ADD token_version :one")
                .condition_expression("token_version = :ver")
                .expression_attribute_values(":ver", n(claim.version))
                .expression_attribute_values(":one", n(1))
                .build()
                .expect("update fields set");
            vec![
                TransactWriteItem::builder().update(bump).build(),
                TransactWriteItem::builder()
                    .condition_check(self.session_claim_check(claim, now))
                    .build(),
            ]
        };
        Ok(match self.transact(items).await? {
            None => ClaimCheck::Done,
            Some(_) => ClaimCheck::Rejected,
        })
    }

    /// The user's live sessions (unexpired, current token version), newest
    /// first: one Query on the `by_user` index (more only past 1 MB of them).
    pub async fn list_sessions(
        &self,
        user_id: &str,
        token_version: u64,
        now: u64,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let mut sessions = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(USER_INDEX)
                .key_condition_expression("user_id = :uid")
                .filter_expression("expires_at > :now AND token_version = :ver")
                .expression_attribute_values(":uid", s(user_id))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":ver", n(token_version))
                .scan_index_forward(false)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in out.items() {
                sessions.push(SessionRecord::from_item(item)?);
            }
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(sessions),
            }
        }
    }

    /// Deletes the caller's other session `target`, in one transaction that
    /// also re-checks the caller's own claim: `target` must be a live session
    /// of the same user at the same token version.
    pub async fn revoke_other_session(
        &self,
        claim: SessionClaim<'_>,
        target: &str,
        now: u64,
    ) -> Result<RevokeOutcome, StoreError> {
        let items = || {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key(PK, s(session_key(target)))
                .condition_expression(
                    "attribute_exists(pk) AND user_id = :uid AND token_version = :ver AND expires_at > :now",
                )
                .expression_attribute_values(":uid", s(claim.user_id))
                .expression_attribute_values(":ver", n(claim.version))
                .expression_attribute_values(":now", n(now))
                .build()
                .expect("delete fields set");
            // The caller's checks come first: the first failed item decides.
            vec![
                TransactWriteItem::builder()
                    .condition_check(self.session_claim_check(claim, now))
                    .build(),
                TransactWriteItem::builder()
                    .condition_check(self.user_version_check(claim))
                    .build(),
                TransactWriteItem::builder().delete(delete).build(),
            ]
        };
        Ok(match self.transact(items).await? {
            None => RevokeOutcome::Revoked,
            Some((2, _)) => RevokeOutcome::NotFound,
            Some(_) => RevokeOutcome::CallerRejected,
        })
    }

    /// Stores a new password hash and moves the user to the next token
    /// version (every other session ends), while this session moves to the
    /// next generation at that version, and the account's attempt counter is
    /// cleared: one transaction, conditional on the token's claim.
    pub async fn change_password(
        &self,
        claim: SessionClaim<'_>,
        password_hash: &str,
        now: u64,
        failures_key: &str,
    ) -> Result<ClaimCheck, StoreError> {
        let items = || {
            let user = Update::builder()
                .table_name(&self.table)
                .key(PK, s(user_key(claim.user_id)))
                .update_expression("SET password_hash = :hash, token_version = :next")
                .condition_expression("token_version = :ver")
                .expression_attribute_values(":hash", s(password_hash))
                .expression_attribute_values(":ver", n(claim.version))
                .expression_attribute_values(":next", n(claim.version + 1))
                .build()
                .expect("update fields set");
            let session = Update::builder()
                .table_name(&self.table)
                .key(PK, s(session_key(claim.session_id)))
                .update_expression(
                    "SET generation = :next_gen, token_version = :next, rotated_at_ms = :zero, refreshed_at = :now",
                )
                .condition_expression(SESSION_CLAIM_CONDITION)
                .expression_attribute_values(":uid", s(claim.user_id))
                .expression_attribute_values(":gen", n(claim.generation))
                .expression_attribute_values(":next_gen", n(claim.generation + 1))
                .expression_attribute_values(":next", n(claim.version + 1))
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":now", n(now))
                .build()
                .expect("update fields set");
            vec![
                TransactWriteItem::builder().update(user).build(),
                TransactWriteItem::builder().update(session).build(),
                self.delete_by_key(failures_key),
            ]
        };
        Ok(match self.transact(items).await? {
            None => ClaimCheck::Done,
            Some(_) => ClaimCheck::Rejected,
        })
    }
}

//! The table's layout: keys, item shapes and their conversion to records.
//!
//! | item    | `pk`             | attributes                                                        |
//! |---------|------------------|-------------------------------------------------------------------|
//! | user    | `USER#<id>`      | id, seq, name, password_hash, token_version, created_at, devices, email, email_verified, disabled |
//! | e-mail  | `EMAIL#<address>` | user_id: the one account that holds the address                  |
//! | codes   | `CODE#VERIFY#<user id>`, `CODE#RESET#<address>` | user_id, email, code_hash, attempts, expires_at (TTL) |
//! | session | `SESSION#<sid>`  | sid, user_id, token_version, generation, rotated_at_ms, expires_at (TTL), created_at, refreshed_at, user_agent, source_ip |
//! | counter | `COUNTER#users`  | value (last `seq` handed out)                                     |
//! | failures | `LOGINFAIL#USER#<id>#<window>`, `LOGINFAIL#IP#<ip>#<window>` | failures, expires_at (TTL: the window's end) |
//! | registrations | `REGISTER#IP#<ip>#<window>` | failures (registrations counted), expires_at (TTL) |
//! | reset requests | `FORGOT#EMAIL#<address>#<window>`, `FORGOT#IP#<ip>#<window>` | failures (requests counted), expires_at (TTL) |
//! | reset attempts | `RESETFAIL#EMAIL#<address>#<window>`, `RESETFAIL#IP#<ip>#<window>` | failures (attempts counted), expires_at (TTL) |
//! | activity | `ACTIVITY#<user id>#<event id>` | activity_user, event_id, at_ms, kind, source_ip, user_agent, new_device, expires_at (TTL) |
//!
//! A session's `token_version` is the user's version when it was created (or
//! last re-keyed): once the user's version moves on (logout-all, password
//! change) the item lingers until its TTL but no longer counts as live.
//!
//! The GSI `by_user` (hash `user_id`, range `created_at`) holds only session
//! items, so "list my sessions" is one Query. The GSI `by_activity` (hash
//! `activity_user`, range `at_ms`) holds only activity items, so a page of
//! "my activity", newest first, is one Query too. A user item's `devices`
//! lists the account's recent devices ([`crate::rules::activity::device_key`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use super::StoreError;
use crate::model::{
    ActivityKind, ActivityRecord, CodeRecord, NewSession, SessionRecord, UserRecord,
};
use crate::rules::account::initial_token_version;

pub const PK: &str = "pk";
pub const TTL_ATTRIBUTE: &str = "expires_at";
pub const USER_INDEX: &str = "by_user";
pub const ACTIVITY_INDEX: &str = "by_activity";
pub const USER_COUNTER_KEY: &str = "COUNTER#users";
/// The partition key the cold-start warm-up reads: no item ever has it, and
/// the template grants each function `GetItem` on this key only.
pub const WARM_UP_KEY: &str = "WARMUP";

pub type Item = HashMap<String, AttributeValue>;

/// A projection expression and its attribute names, built once.
pub struct ReadProjection {
    pub expression: String,
    pub names: HashMap<String, String>,
}

impl ReadProjection {
    /// Only `attributes`, each through a placeholder (some, like `name`,
    /// are reserved words).
    pub fn of(attributes: &[&str]) -> Self {
        let placeholders: Vec<String> = (0..attributes.len()).map(|i| format!("#a{i}")).collect();
        ReadProjection {
            expression: placeholders.join(", "),
            names: placeholders
                .into_iter()
                .zip(attributes.iter().map(|a| a.to_string()))
                .collect(),
        }
    }
}

/// [`DECISION_ATTRIBUTES`] as a projection, for every decision read.
pub static DECISION_PROJECTION: std::sync::LazyLock<ReadProjection> =
    std::sync::LazyLock::new(|| ReadProjection::of(DECISION_ATTRIBUTES));

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: u64) -> AttributeValue {
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

/// The registration counter of source address `ip` in fixed window `window`.
pub fn register_key(ip: &str, window: u64) -> String {
    format!("REGISTER#IP#{ip}#{window}")
}

/// The item that reserves address `email` for one account.
pub fn email_key(email: &str) -> String {
    format!("EMAIL#{email}")
}

/// The address-verification code of user `user_id`.
pub fn verify_code_key(user_id: &str) -> String {
    format!("CODE#VERIFY#{user_id}")
}

/// The password-reset code sent to `email`.
pub fn reset_code_key(email: &str) -> String {
    format!("CODE#RESET#{email}")
}

/// The reset-request counter of address `email` in window `window`.
pub fn forgot_email_key(email: &str, window: u64) -> String {
    format!("FORGOT#EMAIL#{email}#{window}")
}

/// The reset-request counter of source `ip` in window `window`.
pub fn forgot_ip_key(ip: &str, window: u64) -> String {
    format!("FORGOT#IP#{ip}#{window}")
}

/// The reset-attempt counter of address `email` in window `window`.
pub fn reset_email_key(email: &str, window: u64) -> String {
    format!("RESETFAIL#EMAIL#{email}#{window}")
}

/// The reset-attempt counter of source `ip` in window `window`.
pub fn reset_ip_key(ip: &str, window: u64) -> String {
    format!("RESETFAIL#IP#{ip}#{window}")
}

/// The partition key of user `user_id`'s activity event `event_id`.
pub fn activity_key(user_id: &str, event_id: &str) -> String {
    format!("ACTIVITY#{user_id}#{event_id}")
}

/// What an access decision reads of the session and the user items: all
/// they need, never `password_hash`. The template allows the authorizer and
/// validate nothing else (`dynamodb:Attributes`), so a bug there cannot
/// leak a hash.
pub const DECISION_ATTRIBUTES: &[&str] = &[
    PK,
    "id",
    "seq",
    "name",
    "token_version",
    "sid",
    "user_id",
    "generation",
    "rotated_at_ms",
    TTL_ATTRIBUTE,
    "created_at",
    "refreshed_at",
    "user_agent",
    "source_ip",
    "disabled",
];

/// What `GET /api/auth/account` reads: the decision's attributes and the
/// account's address, never `password_hash`.
pub const ACCOUNT_ATTRIBUTES: &[&str] = &["email", "email_verified"];

pub fn get_s(item: &Item, name: &'static str) -> Result<String, StoreError> {
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

pub fn get_n(item: &Item, name: &'static str) -> Result<u64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| StoreError::Corrupt(name)),
        _ => Err(StoreError::Corrupt(name)),
    }
}

/// A user item; `password_hash` is `None` when it was not read (a decision
/// read, [`DECISION_ATTRIBUTES`]).
pub fn user_from_item(item: &Item) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: get_s(item, "id")?,
        seq: get_n(item, "seq")?,
        name: get_s(item, "name")?,
        password_hash: get_opt_s(item, "password_hash"),
        token_version: get_n(item, "token_version")?,
        devices: match item.get("devices") {
            Some(AttributeValue::L(list)) => {
                list.iter().filter_map(|v| v.as_s().ok().cloned()).collect()
            }
            _ => Vec::new(),
        },
        email: get_opt_s(item, "email"),
        email_verified: matches!(item.get("email_verified"), Some(AttributeValue::Bool(true))),
        disabled: matches!(item.get("disabled"), Some(AttributeValue::Bool(true))),
        created_at: get_n(item, "created_at").unwrap_or(0),
    })
}

/// A one-time code's item.
pub fn code_item(pk: String, code: &CodeRecord) -> Item {
    HashMap::from([
        (PK.to_string(), s(pk)),
        ("user_id".to_string(), s(&code.user_id)),
        ("email".to_string(), s(&code.email)),
        ("code_hash".to_string(), s(&code.code_hash)),
        ("attempts".to_string(), n(code.attempts)),
        (TTL_ATTRIBUTE.to_string(), n(code.expires_at)),
    ])
}

pub fn code_from_item(item: &Item) -> Result<CodeRecord, StoreError> {
    Ok(CodeRecord {
        user_id: get_s(item, "user_id")?,
        email: get_s(item, "email")?,
        code_hash: get_s(item, "code_hash")?,
        attempts: get_n(item, "attempts")?,
        expires_at: get_n(item, TTL_ATTRIBUTE)?,
    })
}

/// An activity event's item.
pub fn activity_item(event: &ActivityRecord) -> Item {
    let mut item = HashMap::from([
        (
            PK.to_string(),
            s(activity_key(&event.user_id, &event.event_id)),
        ),
        ("activity_user".to_string(), s(&event.user_id)),
        ("event_id".to_string(), s(&event.event_id)),
        ("at_ms".to_string(), n(event.at_ms)),
        ("kind".to_string(), s(event.kind.as_str())),
        (TTL_ATTRIBUTE.to_string(), n(event.expires_at)),
    ]);
    if let Some(ip) = &event.source_ip {
        item.insert("source_ip".to_string(), s(ip));
    }
    if let Some(ua) = &event.user_agent {
        item.insert("user_agent".to_string(), s(ua));
    }
    if event.new_device {
        item.insert("new_device".to_string(), AttributeValue::Bool(true));
    }
    item
}

pub fn activity_from_item(item: &Item) -> Result<ActivityRecord, StoreError> {
    Ok(ActivityRecord {
        user_id: get_s(item, "activity_user")?,
        event_id: get_s(item, "event_id")?,
        kind: ActivityKind::parse(&get_s(item, "kind")?).ok_or(StoreError::Corrupt("kind"))?,
        at_ms: get_n(item, "at_ms")?,
        expires_at: get_n(item, TTL_ATTRIBUTE)?,
        source_ip: get_opt_s(item, "source_ip"),
        user_agent: get_opt_s(item, "user_agent"),
        new_device: matches!(item.get("new_device"), Some(AttributeValue::Bool(true))),
    })
}

/// A new user's item, at its first token version
/// ([`initial_token_version`]), with its (unverified) address if it has one.
pub fn user_item(
    id: &str,
    seq: u64,
    name: &str,
    password_hash: &str,
    email: Option<&str>,
    now: u64,
) -> Item {
    let mut item = HashMap::from([
        (PK.to_string(), s(user_key(id))),
        ("id".to_string(), s(id)),
        ("seq".to_string(), n(seq)),
        ("name".to_string(), s(name)),
        ("password_hash".to_string(), s(password_hash)),
        ("token_version".to_string(), n(initial_token_version(seq))),
        ("created_at".to_string(), n(now)),
    ]);
    if let Some(email) = email {
        item.insert("email".to_string(), s(email));
        item.insert("email_verified".to_string(), AttributeValue::Bool(false));
    }
    item
}

pub fn session_from_item(item: &Item) -> Result<SessionRecord, StoreError> {
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

/// A new session's item, at generation 1.
pub fn session_item(session: &NewSession<'_>) -> Item {
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
    item
}

/// Creates the table, its GSI and its TTL setting, as template.yaml does.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
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
    let index = |name: &str, hash: &str, range: &str| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(hash, KeyType::Hash))
            .key_schema(key(range, KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .expect("index fields set")
    };
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(PK, ScalarAttributeType::S))
        .attribute_definitions(attr("user_id", ScalarAttributeType::S))
        .attribute_definitions(attr("created_at", ScalarAttributeType::N))
        .attribute_definitions(attr("activity_user", ScalarAttributeType::S))
        .attribute_definitions(attr("at_ms", ScalarAttributeType::N))
        .key_schema(key(PK, KeyType::Hash))
        .global_secondary_indexes(index(USER_INDEX, "user_id", "created_at"))
        .global_secondary_indexes(index(ACTIVITY_INDEX, "activity_user", "at_ms"))
        .send()
        .await?;
    client
        .update_time_to_live()
        .table_name(table)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_survives_the_round_trip_through_its_item() {
        let new = NewSession {
            session_id: "s-1",
            user_id: "alice",
            token_version: 3,
            now: 100,
            expires_at: 200,
            user_agent: Some("ua"),
            source_ip: None,
        };
        let record = session_from_item(&session_item(&new)).unwrap();
        assert_eq!(
            (record.session_id.as_str(), record.user_id.as_str()),
            ("s-1", "alice")
        );
        assert_eq!((record.token_version, record.generation), (3, 1));
        assert_eq!((record.expires_at, record.created_at), (200, 100));
        assert_eq!(record.user_agent.as_deref(), Some("ua"));
        assert_eq!(record.source_ip, None);
    }

    #[test]
    fn malformed_items_name_the_attribute() {
        let mut item = user_item("alice", 1, "Alice", "h", None, 5);
        item.insert("seq".into(), s("one"));
        assert!(matches!(
            user_from_item(&item),
            Err(StoreError::Corrupt("seq"))
        ));
        item.remove("name");
        item.insert("seq".into(), n(1));
        assert!(!DECISION_ATTRIBUTES.contains(&"password_hash"));
        assert!(matches!(
            user_from_item(&item),
            Err(StoreError::Corrupt("name"))
        ));
    }
}

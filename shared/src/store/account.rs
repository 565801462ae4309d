//! The account lifecycle's writes: a user with an address, one-time codes,
//! address verification, password reset, sign-out of other devices,
//! deletion and the operators' disable / enable / sign-out. Each state
//! change is one conditional write or transaction.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, Put, TransactWriteItem, Update, WriteRequest,
};

use super::codec::{
    code_from_item, code_item, email_key, get_s, n, s, session_item, session_key, user_item,
    user_key, Item, ReadProjection, ACCOUNT_ATTRIBUTES, DECISION_ATTRIBUTES, PK, USER_INDEX,
};
use super::sessions::claim_check;
use super::{is_condition_failure, ClaimCheck, Store, StoreError, ACTIVITY_INDEX};
use crate::model::{
    ActivityRecord, CodeRecord, NewSession, SessionClaim, SessionRecord, UserRecord,
};
use crate::rules::account::{CLAIM_ATTEMPT_CONDITION, MAX_CODE_ATTEMPTS, USABLE_CODE_CONDITION};
use crate::rules::session::USER_VERSION_CONDITION;

/// Items one transaction may touch.
const MAX_TRANSACTION_ITEMS: usize = 100;
/// Deletes one BatchWriteItem may carry.
const MAX_BATCH_WRITES: usize = 25;

/// The decision's attributes and the account's: what the account view and
/// the address verification read, never `password_hash`.
pub static ACCOUNT_PROJECTION: std::sync::LazyLock<ReadProjection> =
    std::sync::LazyLock::new(|| {
        let mut attributes = DECISION_ATTRIBUTES.to_vec();
        attributes.extend_from_slice(ACCOUNT_ATTRIBUTES);
        ReadProjection::of(&attributes)
    });

/// How creating a user ended.
#[derive(Debug, PartialEq, Eq)]
pub enum NewUser {
    Created,
    IdTaken,
    EmailTaken,
}

/// A user to create.
pub struct NewUserItem<'a> {
    pub id: &'a str,
    pub seq: u64,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub now: u64,
    /// Its address and the verification code sent to it (stored hashed).
    pub email: Option<(&'a str, &'a CodeRecord)>,
}

/// What an operator does to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    /// Refused everywhere, every token dead (version bump).
    Disable,
    Enable,
    /// Every token dead (version bump); the account stays usable.
    SignOut,
}

/// The keys an account deletion removes besides its user item.
pub struct AccountKeys {
    /// The address item, the code items and the account's counters.
    pub fixed: Vec<String>,
}

impl Store {
    /// Stores a new user; never overwrites one, and never takes an address
    /// another account holds. With an address: one transaction of the user
    /// item, the address item and the verification code's item.
    pub async fn create_user(&self, user: NewUserItem<'_>) -> Result<NewUser, StoreError> {
        let item = user_item(
            user.id,
            user.seq,
            user.name,
            user.password_hash,
            user.email.map(|(email, _)| email),
            user.now,
        );
        let Some((email, code)) = user.email else {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            return match result {
                Ok(_) => Ok(NewUser::Created),
                Err(e) if is_condition_failure(&e) => Ok(NewUser::IdTaken),
                Err(e) => Err(e.into()),
            };
        };
        let items = || {
            let put = |item: Item, condition: Option<&str>| {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .set_condition_expression(condition.map(str::to_string))
                    .build()
                    .expect("put fields set");
                TransactWriteItem::builder().put(put).build()
            };
            let address = HashMap::from([
                (PK.to_string(), s(email_key(email))),
                ("user_id".to_string(), s(user.id)),
            ]);
            vec![
                put(item.clone(), Some("attribute_not_exists(pk)")),
                put(address, Some("attribute_not_exists(pk)")),
                put(
                    code_item(super::codec::verify_code_key(user.id), code),
                    None,
                ),
            ]
        };
        Ok(match self.transact(items).await? {
            None => NewUser::Created,
            Some((0, _)) => NewUser::IdTaken,
            Some(_) => NewUser::EmailTaken,
        })
    }

    /// Which account holds address `email`, if any (consistent read).
    pub async fn email_owner(&self, email: &str) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(email_key(email)))
            .consistent_read(true)
            .send()
            .await?;
        out.item().map(|item| get_s(item, "user_id")).transpose()
    }

    /// Stores a code at `pk`, replacing the one before (its attempts too).
    pub async fn put_code(&self, pk: &str, code: &CodeRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(code_item(pk.to_string(), code)))
            .send()
            .await?;
        Ok(())
    }

    pub async fn get_code(&self, pk: &str) -> Result<Option<CodeRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .consistent_read(true)
            .send()
            .await?;
        out.item().map(code_from_item).transpose()
    }

    /// Claims one try of the code at `pk` before it is judged: `ADD
    /// attempts 1` if it is live with tries left ([`CLAIM_ATTEMPT_CONDITION`]).
    /// DynamoDB serialises the condition, so concurrent guesses get at most
    /// [`MAX_CODE_ATTEMPTS`] tries between them. The code as claimed, or
    /// `None`: no live code (none, used, expired or out of tries). One
    /// conditional write whether an item exists or not.
    pub async fn claim_code_attempt(
        &self,
        pk: &str,
        now: u64,
    ) -> Result<Option<CodeRecord>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .update_expression("ADD attempts :one")
            .condition_expression(CLAIM_ATTEMPT_CONDITION)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(MAX_CODE_ATTEMPTS))
            .expression_attribute_values(":now", n(now))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes().map(code_from_item).transpose(),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The session and the user with its address: ONE strongly consistent
    /// round trip, never the password hash.
    pub async fn load_account(
        &self,
        session_id: &str,
        user_id: &str,
    ) -> Result<(Option<SessionRecord>, Option<UserRecord>), StoreError> {
        let session_pk = session_key(session_id);
        let user_pk = user_key(user_id);
        let items = self
            .get_many(&[&session_pk, &user_pk], Some(&ACCOUNT_PROJECTION))
            .await?;
        Ok((
            items
                .get(&session_pk)
                .map(super::codec::session_from_item)
                .transpose()?,
            items
                .get(&user_pk)
                .map(super::codec::user_from_item)
                .transpose()?,
        ))
    }

    fn code_use(&self, pk: &str, hash: &str, user_id: &str, now: u64) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(PK, s(pk))
            .condition_expression(format!("{USABLE_CODE_CONDITION} AND user_id = :code_uid"))
            .expression_attribute_values(":hash", s(hash))
            .expression_attribute_values(":max", n(MAX_CODE_ATTEMPTS))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":code_uid", s(user_id))
            .build()
            .expect("delete fields set");
        TransactWriteItem::builder().delete(delete).build()
    }

    /// Marks the address verified and uses up its code, while the caller's
    /// claim holds and the account still has that address: one
    /// transaction. `Ok(None)`: done; else the failed item (0: the code).
    pub async fn verify_email(
        &self,
        claim: SessionClaim<'_>,
        code_pk: &str,
        code_hash: &str,
        email: &str,
        now: u64,
        event: &ActivityRecord,
    ) -> Result<Option<usize>, StoreError> {
        let items = || {
            let user = Update::builder()
                .table_name(&self.table)
                .key(PK, s(user_key(claim.user_id)))
                .update_expression("SET email_verified = :yes")
                .condition_expression(format!("{USER_VERSION_CONDITION} AND email = :email"))
                .expression_attribute_values(":ver", n(claim.version))
                .expression_attribute_values(":email", s(email))
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .build()
                .expect("update fields set");
            vec![
                self.code_use(code_pk, code_hash, claim.user_id, now),
                TransactWriteItem::builder().update(user).build(),
                self.session_claim_check(claim, now),
                self.activity_put(event),
            ]
        };
        Ok(self.transact(items).await?.map(|(index, _)| index))
    }

    /// A password reset: uses up the code, stores the new hash and moves
    /// the user to `next_version` from `version` (every session ends), marks
    /// the address verified (the code proved it), creates the new
    /// `session`, clears the account's login failures and records `event`:
    /// one transaction. Refused for a disabled account or one that no
    /// longer has `email`. `Ok(None)`: done; else the failed item (0: the
    /// code, 1: the user).
    #[allow(clippy::too_many_arguments)]
    pub async fn reset_password(
        &self,
        code_pk: &str,
        code_hash: &str,
        email: &str,
        version: u64,
        password_hash: &str,
        session: NewSession<'_>,
        clear_failures: &str,
        event: &ActivityRecord,
    ) -> Result<Option<usize>, StoreError> {
        let user_id = session.user_id;
        let now = session.now;
        let session = session_item(&session);
        let items = || {
            let user = Update::builder()
                .table_name(&self.table)
                .key(PK, s(user_key(user_id)))
                .update_expression(
                    "SET password_hash = :hash, token_version = :next, email_verified = :yes",
                )
                .condition_expression(format!(
                    "{USER_VERSION_CONDITION} AND email = :email AND attribute_not_exists(disabled)"
                ))
                .expression_attribute_values(":hash", s(password_hash))
                .expression_attribute_values(":ver", n(version))
                .expression_attribute_values(":next", n(version + 1))
                .expression_attribute_values(":email", s(email))
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .build()
                .expect("update fields set");
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(session.clone()))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .expect("put fields set");
            vec![
                self.code_use(code_pk, code_hash, user_id, now),
                TransactWriteItem::builder().update(user).build(),
                TransactWriteItem::builder().put(put).build(),
                self.delete_by_key(clear_failures),
                self.activity_put(event),
            ]
        };
        Ok(self.transact(items).await?.map(|(index, _)| index))
    }

    /// Sign out other devices: moves the user to the next token version
    /// (every session ends) while the caller's session moves to the next
    /// generation at that version, and records `event`: one transaction,
    /// conditional on the caller's claim.
    pub async fn logout_others(
        &self,
        claim: SessionClaim<'_>,
        now: u64,
        event: &ActivityRecord,
    ) -> Result<ClaimCheck, StoreError> {
        let items = || {
            let user = Update::builder()
                .table_name(&self.table)
                .key(PK, s(user_key(claim.user_id)))
                .update_expression("SET token_version = :next")
                .condition_expression(USER_VERSION_CONDITION)
                .expression_attribute_values(":ver", n(claim.version))
                .expression_attribute_values(":next", n(claim.version + 1))
                .build()
                .expect("update fields set");
            vec![
                TransactWriteItem::builder().update(user).build(),
                self.rekeyed_session(claim, now),
                self.activity_put(event),
            ]
        };
        claim_check(self.transact(items).await?, 1)
    }

    /// The `pk` of every item an index holds for `user_id` (`index`'s hash
    /// key is `hash`): sessions (`by_user`) or activity (`by_activity`).
    async fn keys_on_index(
        &self,
        index: &str,
        hash: &str,
        user_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#h = :uid")
                .expression_attribute_names("#h", hash)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":uid", s(user_id))
                .projection_expression("#pk")
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in out.items() {
                keys.push(get_s(item, PK)?);
            }
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(keys),
            }
        }
    }

    /// Deletes the account: its user item (conditional on the caller's
    /// version, so every token dies in that instant), the `keys` items, its
    /// sessions and its activity. One transaction takes the user item, the
    /// fixed keys and as many sessions and events as fit; the rest (an
    /// account with more than ~90 sessions and events) follow in batches.
    /// Should those fail, what is left ends by its TTL and is never seen by
    /// a new account of the same id: its token versions start higher, and
    /// its activity listing starts at its creation.
    /// `Rejected`: the claim no longer held, nothing was deleted.
    pub async fn delete_account(
        &self,
        claim: SessionClaim<'_>,
        keys: &AccountKeys,
    ) -> Result<ClaimCheck, StoreError> {
        let (sessions, events) = tokio::try_join!(
            self.keys_on_index(USER_INDEX, "user_id", claim.user_id),
            self.keys_on_index(ACTIVITY_INDEX, "activity_user", claim.user_id),
        )?;
        let mut rest: Vec<String> = sessions.into_iter().chain(events).collect();
        let room = MAX_TRANSACTION_ITEMS - 1 - keys.fixed.len();
        let now_keys: Vec<String> = rest.drain(..rest.len().min(room)).collect();
        let items = || {
            let user = Delete::builder()
                .table_name(&self.table)
                .key(PK, s(user_key(claim.user_id)))
                .condition_expression(USER_VERSION_CONDITION)
                .expression_attribute_values(":ver", n(claim.version))
                .build()
                .expect("delete fields set");
            let mut items = vec![TransactWriteItem::builder().delete(user).build()];
            items.extend(
                keys.fixed
                    .iter()
                    .chain(&now_keys)
                    .map(|pk| self.delete_by_key(pk)),
            );
            items
        };
        if self.transact(items).await?.is_some() {
            return Ok(ClaimCheck::Rejected(None));
        }
        // The account is gone: a failure from here on is logged, not the
        // caller's (who could not retry with dead tokens anyway).
        if let Err(e) = self.delete_in_batches(rest).await {
            crate::metrics::count(crate::metrics::Metric::StoreErrors);
            let error = crate::error::display_chain(&e);
            tracing::error!(%error, user_id = claim.user_id, "deleted account's items left to their TTL");
        }
        Ok(ClaimCheck::Done)
    }

    /// Deletes items by `pk`, 25 per BatchWriteItem, re-sending what
    /// DynamoDB left unprocessed.
    async fn delete_in_batches(&self, keys: Vec<String>) -> Result<(), StoreError> {
        for chunk in keys.chunks(MAX_BATCH_WRITES) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|pk| {
                    let delete = DeleteRequest::builder()
                        .key(PK, s(pk))
                        .build()
                        .expect("key set");
                    WriteRequest::builder().delete_request(delete).build()
                })
                .collect();
            for attempt in 0.. {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                if attempt >= 8 {
                    return Err(StoreError::unavailable("deletes left unprocessed"));
                }
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt.min(5))).await;
            }
        }
        Ok(())
    }

    /// An operator's action on account `user_id`: one conditional
    /// UpdateItem. `false`: no such account.
    pub async fn administer(&self, user_id: &str, action: AdminAction) -> Result<bool, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(user_key(user_id)))
            .condition_expression("attribute_exists(pk)");
        let update = match action {
            AdminAction::Disable => update
                .update_expression("SET disabled = :yes ADD token_version :one")
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .expression_attribute_values(":one", n(1)),
            AdminAction::Enable => update.update_expression("REMOVE disabled"),
            AdminAction::SignOut => update
                .update_expression("ADD token_version :one")
                .expression_attribute_values(":one", n(1)),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

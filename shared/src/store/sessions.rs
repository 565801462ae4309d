//! The session aggregate: each write acting on a token is one conditional
//! transaction that re-checks the token's claim
//! ([`SESSION_CLAIM_CONDITION`], [`USER_VERSION_CONDITION`]).

use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::codec::{
    n, s, session_from_item, session_item, session_key, user_from_item, user_key,
    DECISION_PROJECTION, PK, USER_INDEX,
};
use super::{Store, StoreError};
use crate::model::{ActivityRecord, NewSession, SessionClaim, SessionRecord, UserRecord};
use crate::rules::session::{
    Rotation, LISTED_SESSION_FILTER, REVOCABLE_SESSION_CONDITION, SESSION_CLAIM_CONDITION,
    USER_VERSION_CONDITION,
};

/// Whether a conditional write on a session found it as the token claims.
#[derive(Debug, PartialEq, Eq)]
pub enum ClaimCheck {
    Done,
    /// The claim did not hold. When it was the session's own condition that
    /// failed, the session as it is stored (`None`: gone, or not asked for).
    Rejected(Option<SessionRecord>),
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

impl Store {
    /// An unconditional delete of item `pk`, as part of a transaction.
    pub(super) fn delete_by_key(&self, pk: &str) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(PK, s(pk))
            .build()
            .expect("delete fields set");
        TransactWriteItem::builder().delete(delete).build()
    }

    pub(super) fn session_claim_check(
        &self,
        claim: SessionClaim<'_>,
        now: u64,
    ) -> TransactWriteItem {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key(PK, s(session_key(claim.session_id)))
            .condition_expression(SESSION_CLAIM_CONDITION)
            .expression_attribute_values(":uid", s(claim.user_id))
            .expression_attribute_values(":gen", n(claim.generation))
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("condition check fields set");
        TransactWriteItem::builder().condition_check(check).build()
    }

    /// An update of the claimed session, conditional on the claim
    /// ([`SESSION_CLAIM_CONDITION`]): `:uid`, `:gen` and `:now` are set.
    pub(super) fn claimed_session_update(
        &self,
        claim: SessionClaim<'_>,
        now: u64,
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(&self.table)
            .key(PK, s(session_key(claim.session_id)))
            .condition_expression(SESSION_CLAIM_CONDITION)
            .expression_attribute_values(":uid", s(claim.user_id))
            .expression_attribute_values(":gen", n(claim.generation))
            .expression_attribute_values(":now", n(now))
    }

    /// The claimed session moved to the next generation at the user's next
    /// token version (conditional on the claim), as part of the transaction
    /// that bumps the version: the caller's session goes on, every other
    /// one ends.
    pub(super) fn rekeyed_session(&self, claim: SessionClaim<'_>, now: u64) -> TransactWriteItem {
        let session = self
            .claimed_session_update(claim, now)
            .update_expression(
                "SET generation = :next_gen, token_version = :next, rotated_at_ms = :zero, refreshed_at = :now",
            )
            .expression_attribute_values(":next_gen", n(claim.generation + 1))
            .expression_attribute_values(":next", n(claim.version + 1))
            .expression_attribute_values(":zero", n(0))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("update fields set");
        TransactWriteItem::builder().update(session).build()
    }

    fn user_version_check(&self, claim: SessionClaim<'_>) -> TransactWriteItem {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key(PK, s(user_key(claim.user_id)))
            .condition_expression(USER_VERSION_CONDITION)
            .expression_attribute_values(":ver", n(claim.version))
            .build()
            .expect("condition check fields set");
        TransactWriteItem::builder().condition_check(check).build()
    }

    /// Creates a session, deletes the account's attempt counter
    /// `clear_failures`, gives back the slot the login claimed in the
    /// source's counter `give_back` (key, window end) and records the
    /// sign-in `event`, in one transaction. With `bump_version_from`, the
    /// same transaction moves the user's token version from that value to
    /// the next, signing out every other session (single-session mode); it
    /// fails with `AlreadyExists` if the version moved meanwhile. With
    /// `devices`, it stores the account's new list of recent devices.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_session(
        &self,
        session: NewSession<'_>,
        bump_version_from: Option<u64>,
        clear_failures: &str,
        give_back: Option<(&str, u64)>,
        event: &ActivityRecord,
        devices: Option<&[String]>,
    ) -> Result<(), StoreError> {
        // A session id is a fresh UUID: a collision is refused, not merged.
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(session_item(&session)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("put fields set");
        let mut items = vec![
            TransactWriteItem::builder().put(put).build(),
            self.delete_by_key(clear_failures),
        ];
        if let Some((key, window_end)) = give_back {
            // Unconditional (a condition could only fail the login); should
            // the counter be gone, the item it creates still ends with the
            // window.
            let give_back = Update::builder()
                .table_name(&self.table)
                .key(PK, s(key))
                .update_expression(
                    "ADD failures :minus_one SET expires_at = if_not_exists(expires_at, :end)",
                )
                .expression_attribute_values(
                    ":minus_one",
                    aws_sdk_dynamodb::types::AttributeValue::N("-1".into()),
                )
                .expression_attribute_values(":end", n(window_end))
                .build()
                .expect("update fields set");
            items.push(TransactWriteItem::builder().update(give_back).build());
        }
        // One update of the user item for both (a transaction may touch an
        // item once).
        let user = Update::builder()
            .table_name(&self.table)
            .key(PK, s(user_key(session.user_id)));
        let user = match (bump_version_from, devices) {
            (None, None) => None,
            (Some(from), devices) => Some(
                user.update_expression(match devices {
                    Some(_) => "SET token_version = :next, devices = :devices",
                    None => "SET token_version = :next",
                })
                .condition_expression("token_version = :from")
                .expression_attribute_values(":from", n(from))
                .expression_attribute_values(":next", n(from + 1)),
            ),
            // Never creates a user item a deletion removed meanwhile.
            (None, Some(_)) => Some(
                user.update_expression("SET devices = :devices")
                    .condition_expression("attribute_exists(pk)"),
            ),
        };
        if let Some(mut user) = user {
            if let Some(devices) = devices {
                let list = devices.iter().map(|d| s(d.as_str())).collect();
                user = user.expression_attribute_values(
                    ":devices",
                    aws_sdk_dynamodb::types::AttributeValue::L(list),
                );
            }
            let update = user.build().expect("update fields set");
            items.push(TransactWriteItem::builder().update(update).build());
        } else {
            // Nothing to update on the user: it must still exist, or a login
            // racing the account's deletion would leave a session behind.
            let exists = ConditionCheck::builder()
                .table_name(&self.table)
                .key(PK, s(user_key(session.user_id)))
                .condition_expression("attribute_exists(pk)")
                .build()
                .expect("condition check fields set");
            items.push(TransactWriteItem::builder().condition_check(exists).build());
        }
        items.push(self.activity_put(event));
        // A concurrent failed login bumping the same counter is a conflict:
        // retried, not an error.
        match self.transact(|| items.clone()).await? {
            None => Ok(()),
            Some(_) => Err(StoreError::AlreadyExists),
        }
    }

    /// The session and its user, in ONE strongly consistent round trip:
    /// only [`super::DECISION_ATTRIBUTES`] (no password hash) unless
    /// `with_password_hash`.
    pub async fn load_session_and_user(
        &self,
        session_id: &str,
        user_id: &str,
        with_password_hash: bool,
    ) -> Result<(Option<SessionRecord>, Option<UserRecord>), StoreError> {
        let session_pk = session_key(session_id);
        let user_pk = user_key(user_id);
        let projection = (!with_password_hash).then_some(&*DECISION_PROJECTION);
        let items = self.get_many(&[&session_pk, &user_pk], projection).await?;
        Ok((
            items.get(&session_pk).map(session_from_item).transpose()?,
            items.get(&user_pk).map(user_from_item).transpose()?,
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
        out.item().map(session_from_item).transpose()
    }

    /// Advances the session one generation, in one conditional transaction:
    /// the session must be at the claimed generation, unexpired, and the
    /// user's token version unchanged. However many refreshes race with the
    /// same token, exactly one commits.
    pub async fn rotate_refresh(
        &self,
        claim: SessionClaim<'_>,
        now: u64,
        now_ms: u64,
        new_expires_at: u64,
    ) -> Result<Rotation, StoreError> {
        let rotate = || {
            let update = self
                .claimed_session_update(claim, now)
                .update_expression(
                    "SET generation = :next, rotated_at_ms = :now_ms, refreshed_at = :now, expires_at = :exp",
                )
                .expression_attribute_values(":next", n(claim.generation + 1))
                .expression_attribute_values(":now_ms", n(now_ms))
                .expression_attribute_values(":exp", n(new_expires_at))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .expect("update fields set");
            // The user's version first: when both conditions fail, the first
            // failed item decides, and a moved version (logout-all, password
            // change) must win over the session's state, or a replay inside
            // the reuse grace would be re-issued tokens that are dead.
            vec![
                self.user_version_check(claim),
                TransactWriteItem::builder().update(update).build(),
            ]
        };
        Ok(match self.transact(rotate).await? {
            None => Rotation::Committed,
            Some((0, _)) => Rotation::VersionChanged,
            Some((_, Some(old))) => Rotation::Stale(Some(session_from_item(&old)?)),
            // No old image: the session is gone (or the image was not sent).
            Some((_, None)) => Rotation::Stale(self.get_session(claim.session_id).await?),
        })
    }

    /// Deletes a session unconditionally (revocation after refresh reuse)
    /// and records `event`, in one transaction.
    pub async fn revoke_replayed_session(
        &self,
        session_id: &str,
        event: &ActivityRecord,
    ) -> Result<(), StoreError> {
        let items = || {
            vec![
                self.delete_by_key(&session_key(session_id)),
                self.activity_put(event),
            ]
        };
        // Neither item has a condition: only a conflict could stop it, and
        // `transact` retries those.
        self.transact(items).await?;
        Ok(())
    }

    /// Logout: deletes the session if, and only if, the token's claim on it
    /// still holds (one round trip). Refused on the session's own condition,
    /// it hands back the session as stored.
    pub async fn end_session(
        &self,
        claim: SessionClaim<'_>,
        now: u64,
        event: &ActivityRecord,
    ) -> Result<ClaimCheck, StoreError> {
        let items = || {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key(PK, s(session_key(claim.session_id)))
                .condition_expression(SESSION_CLAIM_CONDITION)
                .expression_attribute_values(":uid", s(claim.user_id))
                .expression_attribute_values(":gen", n(claim.generation))
                .expression_attribute_values(":now", n(now))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .expect("delete fields set");
            vec![
                self.user_version_check(claim),
                TransactWriteItem::builder().delete(delete).build(),
                self.activity_put(event),
            ]
        };
        claim_check(self.transact(items).await?, 1)
    }

    /// Logout everywhere: `ADD token_version 1` on the user, if the token's
    /// claim on its session and version still holds (one round trip).
    /// Refused on the session's condition, it hands back the session.
    pub async fn bump_token_version(
        &self,
        claim: SessionClaim<'_>,
        now: u64,
        event: &ActivityRecord,
    ) -> Result<ClaimCheck, StoreError> {
        let items = || {
            let bump = Update::builder()
                .table_name(&self.table)
                .key(PK, s(user_key(claim.user_id)))
                .update_expression("ADD token_version :one")
                .condition_expression(USER_VERSION_CONDITION)
                .expression_attribute_values(":ver", n(claim.version))
                .expression_attribute_values(":one", n(1))
                .build()
                .expect("update fields set");
            vec![
                TransactWriteItem::builder().update(bump).build(),
                self.session_claim_check(claim, now),
                self.activity_put(event),
            ]
        };
        claim_check(self.transact(items).await?, 1)
    }

    /// The user's live sessions ([`crate::rules::session::is_listed`]),
    /// newest first: one Query on the `by_user` index (more only past 1 MB).
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
                .filter_expression(LISTED_SESSION_FILTER)
                .expression_attribute_values(":uid", s(user_id))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":ver", n(token_version))
                .scan_index_forward(false)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in out.items() {
                sessions.push(session_from_item(item)?);
            }
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(sessions),
            }
        }
    }

    /// Deletes the caller's other session `target`, in one transaction that
    /// also re-checks the caller's own claim: `target` must be revocable by
    /// them ([`crate::rules::session::may_revoke`]).
    pub async fn revoke_other_session(
        &self,
        claim: SessionClaim<'_>,
        target: &str,
        now: u64,
        event: &ActivityRecord,
    ) -> Result<RevokeOutcome, StoreError> {
        let items = || {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key(PK, s(session_key(target)))
                .condition_expression(REVOCABLE_SESSION_CONDITION)
                .expression_attribute_values(":uid", s(claim.user_id))
                .expression_attribute_values(":ver", n(claim.version))
                .expression_attribute_values(":now", n(now))
                .build()
                .expect("delete fields set");
            // The caller's checks come first: the first failed item decides.
            vec![
                self.session_claim_check(claim, now),
                self.user_version_check(claim),
                TransactWriteItem::builder().delete(delete).build(),
                self.activity_put(event),
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
        event: &ActivityRecord,
    ) -> Result<ClaimCheck, StoreError> {
        let items = || {
            let user = Update::builder()
                .table_name(&self.table)
                .key(PK, s(user_key(claim.user_id)))
                .update_expression("SET password_hash = :hash, token_version = :next")
                .condition_expression(USER_VERSION_CONDITION)
                .expression_attribute_values(":hash", s(password_hash))
                .expression_attribute_values(":ver", n(claim.version))
                .expression_attribute_values(":next", n(claim.version + 1))
                .build()
                .expect("update fields set");
            vec![
                TransactWriteItem::builder().update(user).build(),
                self.rekeyed_session(claim, now),
                self.delete_by_key(failures_key),
                self.activity_put(event),
            ]
        };
        claim_check(self.transact(items).await?, 1)
    }
}

/// A transaction's outcome as a [`ClaimCheck`]; `session_index` is the
/// session's item, whose old image (if it failed) is handed back.
pub(super) fn claim_check(
    failed: Option<(usize, Option<super::Item>)>,
    session_index: usize,
) -> Result<ClaimCheck, StoreError> {
    Ok(match failed {
        None => ClaimCheck::Done,
        Some((index, Some(old))) if index == session_index => {
            ClaimCheck::Rejected(Some(session_from_item(&old)?))
        }
        Some(_) => ClaimCheck::Rejected(None),
    })
}

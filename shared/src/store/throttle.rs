//! The login-failure counters: one item per account or source and window,
//! gone by TTL when the window ends.

use super::codec::{n, s, PK};
use super::{is_condition_failure, send_through_conflicts, Store, StoreError};
use crate::rules::throttle::CLAIM_CONDITION;
use aws_sdk_dynamodb::types::AttributeValue;

impl Store {
    /// Claims one password attempt against counter `key` before argon2 runs:
    /// `ADD failures 1` unless it already reached `max`
    /// ([`crate::rules::throttle::may_claim`]). DynamoDB serialises the
    /// condition, so concurrent attempts cannot all slip under the limit.
    /// `false`: the limit is reached, nothing was written. The counter lives
    /// until `window_end`; a successful attempt deletes it.
    pub async fn reserve_attempt(
        &self,
        key: &str,
        max: u64,
        window_end: u64,
    ) -> Result<bool, StoreError> {
        let result = send_through_conflicts(|| {
            self.client
                .update_item()
                .table_name(&self.table)
                .key(PK, s(key))
                .update_expression("ADD failures :one SET expires_at = :end")
                .condition_expression(CLAIM_CONDITION)
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":end", n(window_end))
                .expression_attribute_values(":max", n(max))
                .send()
        })
        .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives back an attempt claimed by [`Store::reserve_attempt`] that never
    /// ran (refused for another reason).
    pub async fn release_attempt(&self, key: &str) -> Result<(), StoreError> {
        let result = send_through_conflicts(|| {
            self.client
                .update_item()
                .table_name(&self.table)
                .key(PK, s(key))
                .update_expression("ADD failures :minus_one")
                .condition_expression("failures > :zero")
                .expression_attribute_values(":minus_one", AttributeValue::N("-1".to_string()))
                .expression_attribute_values(":zero", n(0))
                .send()
        })
        .await;
        match result {
            // Already cleared by a concurrent success: nothing to give back.
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// What counter `key` holds now (`None`: no counter), read consistently.
    /// Not on any request's path: for operators and tests.
    pub async fn attempts(&self, key: &str) -> Result<Option<i64>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(key))
            .consistent_read(true)
            .send()
            .await?;
        match out.item().and_then(|item| item.get("failures")) {
            None => Ok(None),
            Some(AttributeValue::N(v)) => v
                .parse()
                .map(Some)
                .map_err(|_| StoreError::Corrupt("failures")),
            Some(_) => Err(StoreError::Corrupt("failures")),
        }
    }
}

//! The activity aggregate: a user's security events, each its own item
//! with a TTL. Events are written inside the transaction of the operation
//! they record ([`Store::activity_put`]); a failed sign-in, which writes
//! nothing else, is the one event with a round trip of its own.

use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};

use super::codec::{activity_from_item, activity_item, activity_key, n, s, user_key, PK};
use super::{Store, StoreError, ACTIVITY_INDEX};
use crate::model::ActivityRecord;
use crate::rules::activity::Cursor;

/// One page of a user's trail, newest first.
#[derive(Debug)]
pub struct ActivityPage {
    pub events: Vec<ActivityRecord>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

impl Store {
    /// Puts `event`, as part of a transaction. Unconditional: its key is a
    /// fresh UUID, and a condition here could only fail the operation it
    /// records.
    pub(super) fn activity_put(&self, event: &ActivityRecord) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(activity_item(event)))
            .build()
            .expect("put fields set");
        TransactWriteItem::builder().put(put).build()
    }

    /// Records a failed sign-in in the account's trail if the account
    /// exists: one transaction (the user's existence checked, the event
    /// put) whatever the id, so an unknown id costs what a known one does
    /// and stores nothing. `Ok(false)`: no such user.
    pub async fn record_failed_sign_in(&self, event: &ActivityRecord) -> Result<bool, StoreError> {
        let items = || {
            let exists = ConditionCheck::builder()
                .table_name(&self.table)
                .key(PK, s(user_key(&event.user_id)))
                .condition_expression("attribute_exists(pk)")
                .build()
                .expect("condition check fields set");
            vec![
                TransactWriteItem::builder().condition_check(exists).build(),
                self.activity_put(event),
            ]
        };
        Ok(self.transact(items).await?.is_none())
    }

    /// Up to `limit` of the user's events newer than `oldest_ms` and not
    /// expired at `now`, newest first, after `after` if given: one Query on
    /// [`ACTIVITY_INDEX`]. The start key is rebuilt from the caller's own
    /// user id, so a cursor cannot reach another user's events. A page may
    /// hold fewer than `limit` events and still have a next one (events past
    /// their TTL that DynamoDB has yet to delete are filtered out).
    pub async fn list_activity(
        &self,
        user_id: &str,
        after: Option<&Cursor>,
        limit: u32,
        oldest_ms: u64,
        now: u64,
    ) -> Result<ActivityPage, StoreError> {
        // A cursor at or before the oldest event shown has nothing after it
        // (and DynamoDB refuses a start key outside the key condition).
        if after.is_some_and(|cursor| cursor.at_ms <= oldest_ms) {
            return Ok(ActivityPage {
                events: Vec::new(),
                next: None,
            });
        }
        let start = after.map(|cursor| {
            std::collections::HashMap::from([
                (PK.to_string(), s(activity_key(user_id, &cursor.event_id))),
                ("activity_user".to_string(), s(user_id)),
                ("at_ms".to_string(), n(cursor.at_ms)),
            ])
        });
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(ACTIVITY_INDEX)
            .key_condition_expression("activity_user = :uid AND at_ms > :oldest")
            .filter_expression("expires_at > :now")
            .expression_attribute_values(":uid", s(user_id))
            .expression_attribute_values(":oldest", n(oldest_ms))
            .expression_attribute_values(":now", n(now))
            .scan_index_forward(false)
            .limit(limit as i32)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        let events = out
            .items()
            .iter()
            .map(activity_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = match out.last_evaluated_key() {
            Some(key) if !key.is_empty() => Some(Cursor {
                at_ms: super::codec::get_n(key, "at_ms")?,
                event_id: match key.get(PK).and_then(|pk| pk.as_s().ok()) {
                    Some(pk) => pk
                        .rsplit('#')
                        .next()
                        .ok_or(StoreError::Corrupt(PK))?
                        .to_string(),
                    None => return Err(StoreError::Corrupt(PK)),
                },
            }),
            _ => None,
        };
        Ok(ActivityPage { events, next })
    }
}

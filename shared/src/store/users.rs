//! The user aggregate: its item and the `seq` counter (creating one is in
//! [`super::account`]).

use aws_sdk_dynamodb::types::ReturnValue;

use super::codec::{get_n, n, s, user_from_item, user_key, PK, USER_COUNTER_KEY};
use super::{Store, StoreError};
use crate::model::UserRecord;

impl Store {
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

    pub async fn get_user(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(user_key(id)))
            .consistent_read(true)
            .send()
            .await?;
        out.item().map(user_from_item).transpose()
    }
}

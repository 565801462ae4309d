//! The caller's security activity trail.

use super::{ActivityPageView, ActivityView, AuthService, Authorized};
use crate::error::AuthError;
use crate::rules::activity::{Cursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// What `GET /api/auth/activity` asks for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityQuery {
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl ActivityQuery {
    /// `limit` 1 to [`MAX_PAGE_SIZE`] (default [`DEFAULT_PAGE_SIZE`]), and a
    /// `cursor` from an earlier page.
    pub fn new(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, AuthError> {
        let limit = match limit {
            None => DEFAULT_PAGE_SIZE,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                .ok_or_else(|| {
                    AuthError::InvalidInput(format!(
                        "`limit` must be a whole number from 1 to {MAX_PAGE_SIZE}"
                    ))
                })?,
        };
        let after = match cursor {
            None => None,
            Some(text) => Some(Cursor::parse(text).ok_or_else(|| {
                AuthError::InvalidInput(
                    "`cursor` must be a `nextCursor` from an earlier page".to_string(),
                )
            })?),
        };
        Ok(ActivityQuery { limit, after })
    }
}

impl AuthService {
    /// A page of the caller's activity, newest first: the access decision,
    /// then one Query. Nothing older than `AUDIT_RETENTION_DAYS` is shown,
    /// whether or not DynamoDB's TTL has deleted it yet, nor older than the
    /// account (a deleted account of the same id may have left events).
    pub async fn activity(
        &self,
        access_token: &str,
        query: &ActivityQuery,
    ) -> Result<ActivityPageView, AuthError> {
        let Authorized { user, .. } = self.authorize(access_token).await?;
        let now = self.clock().now();
        let retention_ms = self.inner.config.audit_retention.as_millis() as u64;
        let page = self
            .inner
            .store
            .list_activity(
                &user.id,
                query.after.as_ref(),
                query.limit,
                now.millis
                    .saturating_sub(retention_ms)
                    .max((user.created_at * 1000).saturating_sub(1)),
                now.secs,
            )
            .await?;
        Ok(ActivityPageView {
            events: page
                .events
                .into_iter()
                .map(|event| ActivityView {
                    id: event.event_id,
                    kind: event.kind.as_str(),
                    at: event.at_ms / 1000,
                    source_ip: event.source_ip,
                    user_agent: event.user_agent,
                    new_device: event.new_device,
                })
                .collect(),
            next_cursor: page.next.map(|cursor| cursor.encode()),
        })
    }
}

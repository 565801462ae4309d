//! What a signed-in caller does with their sessions: refresh, list, revoke,
//! change the password, log out.

use uuid::Uuid;

use super::{claim, AuthService, Authorized, ClientInfo, SessionView, TokenPair, UserRead};
use crate::error::AuthError;
use crate::input::{NewPassword, Password};
use crate::metrics::{count, Metric};
use crate::model::{ActivityKind, SessionClaim};
use crate::rules::session::{is_superseded_claim, session_expiry};
use crate::rules::{refresh_outcome, RefreshOutcome, Rejection};
use crate::store::{ClaimCheck, RevokeOutcome};
use crate::telemetry::session_tag;
use crate::token::{Claims, SessionRef, TokenKind};

/// The session a token names, as minted for `generation`.
fn session_ref(claims: &Claims, generation: u64) -> SessionRef<'_> {
    SessionRef {
        user_id: &claims.sub,
        session_id: &claims.sid,
        generation,
        version: claims.ver,
        auth_time: claims.auth_time,
    }
}

impl AuthService {
    /// Rotates the refresh token (one conditional transaction);
    /// [`refresh_outcome`] says what a rotation that did not commit means.
    /// The session's new expiry never passes its maximum lifetime.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        let claims = self.verify(TokenKind::Refresh, refresh_token).await?;
        let now = self.clock().now();
        let config = &self.inner.config;
        let expires_at = session_expiry(
            now.secs,
            claims.auth_time,
            config.session_ttl,
            config.session_max_lifetime,
        );
        let rotation = self
            .inner
            .store
            .rotate_refresh(claim(&claims), now.secs, now.millis, expires_at)
            .await?;
        let session = session_tag(&claims.sid);
        match refresh_outcome(claim(&claims), &rotation, now, config.refresh_reuse_grace) {
            RefreshOutcome::Rotate => {
                let generation = claims.gen + 1;
                tracing::info!(%session, generation, "refresh rotated");
                count(Metric::RefreshRotated);
                self.mint_pair(session_ref(&claims, generation), now.secs, expires_at)
            }
            RefreshOutcome::Reissue {
                generation,
                expires_at,
            } => {
                tracing::info!(%session, "refresh reused within grace");
                count(Metric::RefreshReissued);
                self.mint_pair(session_ref(&claims, generation), now.secs, expires_at)
            }
            RefreshOutcome::RevokeReplay => {
                tracing::warn!(
                    %session,
                    user_id = %claims.sub,
                    presented_generation = claims.gen,
                    source_ip = client.source_ip.as_deref(),
                    "refresh token reuse detected; session revoked"
                );
                let event = self.event(ActivityKind::RefreshReplayed, &claims.sub, client, false);
                self.inner
                    .store
                    .revoke_replayed_session(&claims.sid, &event)
                    .await?;
                count(Metric::RefreshReplayRevoked);
                Err(AuthError::invalid_token(Rejection::ReplayRevoked))
            }
            RefreshOutcome::Dead(reason) => Err(AuthError::invalid_token(reason)),
        }
    }

    /// The caller's live sessions: the access decision, then one Query.
    pub async fn list_sessions(&self, access_token: &str) -> Result<Vec<SessionView>, AuthError> {
        let Authorized { claims, user, .. } = self.authorize(access_token).await?;
        let now = self.clock().now().secs;
        let max_lifetime = self.inner.config.session_max_lifetime.as_secs();
        let sessions = self
            .inner
            .store
            .list_sessions(&user.id, user.token_version, now)
            .await?;
        Ok(sessions
            .into_iter()
            .map(|session| SessionView {
                current: session.session_id == claims.sid,
                session_id: session.session_id,
                created_at: session.created_at,
                refreshed_at: session.refreshed_at,
                expires_at: session.expires_at,
                lifetime_ends_at: session.created_at.saturating_add(max_lifetime),
                user_agent: session.user_agent,
                source_ip: session.source_ip,
            })
            .collect())
    }

    /// Revokes one of the caller's sessions. Another user's session and an
    /// unknown id are the same `SessionNotFound`, and change nothing.
    pub async fn revoke_session(
        &self,
        access_token: &str,
        session_id: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let claims = self.verify(TokenKind::Access, access_token).await?;
        // Session ids are UUIDs, stored hyphenated and lowercase.
        let Ok(target) = Uuid::parse_str(session_id).map(|id| id.hyphenated().to_string()) else {
            // Still answer 401 to a revoked caller, as for any other id.
            self.authorize(access_token).await?;
            return Err(AuthError::SessionNotFound);
        };
        if target == claims.sid {
            return self.logout(access_token, client).await;
        }
        let now = self.clock().now().secs;
        let event = self.event(ActivityKind::SessionRevoked, &claims.sub, client, false);
        match self
            .inner
            .store
            .revoke_other_session(claim(&claims), &target, now, &event)
            .await?
        {
            RevokeOutcome::Revoked => {
                tracing::info!(
                    user_id = %claims.sub,
                    revoked_session = %session_tag(&target),
                    "session revoked"
                );
                count(Metric::SessionRevoked);
                Ok(())
            }
            RevokeOutcome::NotFound => Err(AuthError::SessionNotFound),
            RevokeOutcome::CallerRejected => Err(AuthError::invalid_token(Rejection::SessionGone)),
        }
    }

    /// Changes the password: every other session ends (version bump) and
    /// this one continues with a fresh pair. A wrong current password counts
    /// as a failed login for the account; a change that does not happen for
    /// any other reason gives its attempt back.
    pub async fn change_password(
        &self,
        access_token: &str,
        current_password: &Password,
        new_password: Password,
        client: &ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        let Authorized {
            claims,
            session,
            user,
        } = self
            .authorize_reading(access_token, UserRead::WithPasswordHash)
            .await?;
        let new_password = NewPassword::try_from(new_password)
            .map_err(|rule| AuthError::InvalidInput(format!("`newPassword` {rule}")))?;
        let now = self.clock().now().secs;
        let counter = self
            .check_password_attempt(&user, current_password, "password change")
            .await?;
        let hash = self.hash_password(new_password.expose()).await?;
        let event = self.event(ActivityKind::PasswordChanged, &user.id, client, false);
        let changed = self
            .inner
            .store
            .change_password(claim(&claims), &hash, now, &counter, &event)
            .await?;
        if let ClaimCheck::Rejected(_) = changed {
            // The session or version moved meanwhile: no change, and the
            // (correct) password was no failed attempt.
            self.release(Some(&counter)).await?;
            return Err(AuthError::invalid_token(Rejection::SessionGone));
        }
        tracing::info!(
            user_id = %user.id,
            session = %session_tag(&claims.sid),
            "password changed; other sessions ended"
        );
        count(Metric::PasswordChanged);
        self.mint_pair(
            SessionRef {
                generation: claims.gen + 1,
                version: claims.ver + 1,
                ..session_ref(&claims, 0)
            },
            now,
            session.expires_at,
        )
    }

    /// Ends this device's session: its access and refresh tokens stop at once.
    /// A superseded token of the live session ends it too
    /// ([`is_superseded_claim`]): its owner is cutting off a thief.
    pub async fn logout(&self, access_token: &str, client: &ClientInfo) -> Result<(), AuthError> {
        let claims = self.verify(TokenKind::Access, access_token).await?;
        let now = self.clock().now().secs;
        let store = &self.inner.store;
        let event = self.event(ActivityKind::SignedOut, &claims.sub, client, false);
        self.write_claim(&claims, now, "logout", |claim| {
            store.end_session(claim, now, &event)
        })
        .await?;
        tracing::info!(session = %session_tag(&claims.sid), "logout");
        count(Metric::Logout);
        Ok(())
    }

    /// Ends every session of the user, on every device; with a superseded
    /// token of a live session too, while the token's version is current.
    pub async fn logout_all(
        &self,
        access_token: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let claims = self.verify(TokenKind::Access, access_token).await?;
        let now = self.clock().now().secs;
        let store = &self.inner.store;
        let event = self.event(
            ActivityKind::SignedOutEverywhere,
            &claims.sub,
            client,
            false,
        );
        self.write_claim(&claims, now, "logout everywhere", |claim| {
            store.bump_token_version(claim, now, &event)
        })
        .await?;
        tracing::info!(user_id = %claims.sub, "logout everywhere");
        count(Metric::LogoutAll);
        Ok(())
    }

    /// Runs `write` (conditional on the token's claim); refused on a
    /// superseded token of the live session, runs it once more at the
    /// session's current generation. `Ok` only if a write was done.
    async fn write_claim<'c, F, Fut>(
        &self,
        claims: &'c Claims,
        now: u64,
        action: &'static str,
        write: F,
    ) -> Result<(), AuthError>
    where
        F: Fn(SessionClaim<'c>) -> Fut,
        Fut: std::future::Future<Output = Result<ClaimCheck, crate::store::StoreError>>,
    {
        let outcome = match write(claim(claims)).await? {
            ClaimCheck::Rejected(Some(current))
                if is_superseded_claim(claim(claims), &current, now) =>
            {
                self.warn_superseded(claims, action);
                write(SessionClaim {
                    generation: current.generation,
                    ..claim(claims)
                })
                .await?
            }
            outcome => outcome,
        };
        match outcome {
            ClaimCheck::Done => Ok(()),
            ClaimCheck::Rejected(_) => Err(AuthError::invalid_token(Rejection::SessionGone)),
        }
    }

    fn warn_superseded(&self, claims: &Claims, action: &'static str) {
        tracing::warn!(
            user_id = %claims.sub,
            session = %session_tag(&claims.sid),
            presented_generation = claims.gen,
            action,
            "a superseded token of a live session signs out: someone else refreshed it"
        );
    }
}

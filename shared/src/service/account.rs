//! The account lifecycle: the account view, address verification,
//! password reset by mail, sign-out of other devices, deletion, and the
//! operators' disable / enable / sign-out.

use serde::Serialize;
use uuid::Uuid;

use super::{claim, AuthService, Authorized, ClientInfo, TokenPair, UserRead};
use crate::error::{AuthError, InternalError};
use crate::input::{Email, NewPassword, OneTimeCode, Password};
use crate::mail::MailMessage;
use crate::metrics::{count, Metric};
use crate::model::{ActivityKind, CodeRecord, NewSession};
use crate::rules::account::{
    check_code, code_hash, new_code, CodePurpose, CodeRejection, RESET_CODE_TTL,
};
use crate::rules::session::session_expiry;
use crate::rules::throttle::{throttle_source, Window, MAX_SOURCE_IP_CHARS};
use crate::rules::Rejection;
use crate::store::{
    email_key, forgot_email_key, forgot_ip_key, reset_code_key, reset_email_key, reset_ip_key,
    user_failures_key, verify_code_key, AccountKeys, AdminAction, ClaimCheck, StoreError,
};
use crate::telemetry::session_tag;
use crate::token::{SessionRef, TokenKind};

/// The caller's account, as `GET /api/auth/account` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub seq: u64,
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub email_verified: bool,
}

impl AuthService {
    /// The access decision, with the account's address: one round trip.
    async fn authorize_account(&self, access_token: &str) -> Result<Authorized, AuthError> {
        self.authorize_reading(access_token, UserRead::WithAddress)
            .await
    }

    /// The caller's account: the access decision's one read.
    pub async fn account(&self, access_token: &str) -> Result<AccountView, AuthError> {
        let Authorized { user, .. } = self.authorize_account(access_token).await?;
        Ok(AccountView {
            seq: user.seq,
            id: user.id,
            name: user.name,
            email: user.email,
            email_verified: user.email_verified,
        })
    }

    /// Verifies the caller's address with the code mailed to it: the
    /// decision, a claim of one of the code's tries, then one transaction
    /// that uses the code up.
    pub async fn verify_email(
        &self,
        access_token: &str,
        code: &OneTimeCode,
        client: &ClientInfo,
    ) -> Result<AccountView, AuthError> {
        let Authorized { claims, user, .. } = self.authorize_account(access_token).await?;
        let now = self.clock().now().secs;
        let code_pk = verify_code_key(&user.id);
        let hash = code_hash(CodePurpose::VerifyEmail, &user.id, code.expose());
        let claimed = self.inner.store.claim_code_attempt(&code_pk, now).await?;
        let Some(email) = user.email.clone() else {
            return reject_code(CodeRejection::NoCode);
        };
        check_code(claimed.as_ref(), Some(&email), &hash).or_else(reject_code)?;
        let event = self.event(ActivityKind::EmailVerified, &user.id, client, false);
        match self
            .inner
            .store
            .verify_email(claim(&claims), &code_pk, &hash, &email, now, &event)
            .await?
        {
            None => {}
            // Used by a concurrent request.
            Some(0) => return reject_code(CodeRejection::NoCode),
            Some(_) => return Err(AuthError::invalid_token(Rejection::SessionGone)),
        }
        tracing::info!(user_id = %user.id, "e-mail address verified");
        count(Metric::EmailVerified);
        Ok(AccountView {
            seq: user.seq,
            id: user.id,
            name: user.name,
            email: Some(email),
            email_verified: true,
        })
    }

    /// A password-reset request: the same 202 whether `email` has an
    /// account or not, never sooner than `FORGOT_MIN_RESPONSE_MS`. Each
    /// request counts against the address's and the source's limits. For
    /// an account's address, a new code (replacing the last) is stored
    /// hashed and mailed.
    pub async fn forgot_password(
        &self,
        email: &Email,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let answer_at = tokio::time::Instant::now() + self.inner.config.forgot_min_response;
        // The work runs on its own task: should it outlast the floor (a slow
        // SES), the answer still leaves at the floor, and the work finishes.
        let work = {
            let (service, email, client) = (self.clone(), email.clone(), client.clone());
            tokio::spawn(async move { service.request_reset(&email, &client).await })
        };
        match tokio::time::timeout_at(answer_at, work).await {
            // A refusal (throttled, the store down) comes before anything
            // depends on the address: it need not wait.
            Ok(Ok(Err(refused))) => Err(refused),
            Ok(Ok(Ok(()))) => {
                tokio::time::sleep_until(answer_at).await;
                Ok(())
            }
            Ok(Err(e)) => Err(InternalError::Task(e).into()),
            Err(_) => {
                tracing::warn!("reset request outlasted FORGOT_MIN_RESPONSE_MS; answered at it");
                Ok(())
            }
        }
    }

    async fn request_reset(&self, email: &Email, client: &ClientInfo) -> Result<(), AuthError> {
        let store = &self.inner.store;
        let config = &self.inner.config;
        let now = self.clock().now().secs;
        let window = Window::at(now, config.login_throttle.window);
        let address_counter = forgot_email_key(email.as_str(), window.index);
        let source_counter = source(client).map(|ip| forgot_ip_key(&ip, window.index));
        let (owner, address, source) = tokio::join!(
            store.email_owner(email.as_str()),
            store.reserve_attempt(
                &address_counter,
                config.forgot_max_per_email,
                window.ends_at
            ),
            self.claim_slot(
                source_counter.as_deref(),
                config.login_throttle.max_failures_per_ip,
                window
            ),
        );
        if !(address? && source?) {
            tracing::warn!(
                source_ip = client.source_ip.as_deref(),
                "reset request throttled"
            );
            return Err(AuthError::TooManyAttempts {
                retry_after_secs: window.retry_after(now),
            });
        }
        count(Metric::PasswordResetRequested);
        let Some(user_id) = owner? else {
            return Ok(());
        };
        let code = new_code();
        let record = CodeRecord {
            user_id: user_id.clone(),
            email: email.as_str().to_string(),
            code_hash: code_hash(CodePurpose::ResetPassword, email.as_str(), &code),
            attempts: 0,
            expires_at: now.saturating_add(RESET_CODE_TTL.as_secs()),
        };
        // Past this point the answer is 202 whatever happens: a failure
        // that only an account's address can meet would tell it apart.
        if let Err(e) = store
            .put_code(&reset_code_key(email.as_str()), &record)
            .await
        {
            count(Metric::StoreErrors);
            let error = crate::error::display_chain(&e);
            tracing::error!(%error, user_id = %user_id, "reset code not stored");
            return Ok(());
        }
        tracing::info!(user_id = %user_id, "password reset code issued");
        let message = MailMessage::ResetPassword {
            code,
            valid_for: RESET_CODE_TTL,
        };
        self.send_mail(email, &message).await;
        Ok(())
    }

    /// Claims a slot in counter `key` (none: nothing to claim).
    async fn claim_slot(
        &self,
        key: Option<&str>,
        max: u64,
        window: Window,
    ) -> Result<bool, StoreError> {
        match key {
            Some(key) => {
                self.inner
                    .store
                    .reserve_attempt(key, max, window.ends_at)
                    .await
            }
            None => Ok(true),
        }
    }

    /// Sets a new password with the code mailed to `email`: every session
    /// ends (version bump) and a new one starts, with a fresh pair. Each
    /// attempt counts against the address's and the source's limits (as
    /// logins do); a wrong code also against the code, which dies after
    /// [`crate::rules::account::MAX_CODE_ATTEMPTS`]. Unknown address, no
    /// code, wrong, expired or used code: one answer, at one cost.
    pub async fn reset_password(
        &self,
        email: &Email,
        code: &OneTimeCode,
        new_password: NewPassword,
        client: &ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        self.keys_due().await;
        let store = &self.inner.store;
        let config = &self.inner.config;
        let now = self.clock().now().secs;
        let window = Window::at(now, config.login_throttle.window);
        let address_counter = reset_email_key(email.as_str(), window.index);
        let source_counter = source(client).map(|ip| reset_ip_key(&ip, window.index));
        let code_pk = reset_code_key(email.as_str());
        // The code's try is claimed with the address's and the source's:
        // one conditional write each, whether a code (or an account) exists.
        let (claimed, address, source) = tokio::join!(
            store.claim_code_attempt(&code_pk, now),
            store.reserve_attempt(
                &address_counter,
                config.login_throttle.max_failures_per_user,
                window.ends_at
            ),
            self.claim_slot(
                source_counter.as_deref(),
                config.login_throttle.max_failures_per_ip,
                window
            ),
        );
        if !(address? && source?) {
            tracing::warn!(
                source_ip = client.source_ip.as_deref(),
                "password reset throttled"
            );
            return Err(AuthError::TooManyAttempts {
                retry_after_secs: window.retry_after(now),
            });
        }
        let claimed = claimed?;
        let hash = code_hash(CodePurpose::ResetPassword, email.as_str(), code.expose());
        check_code(claimed.as_ref(), Some(email.as_str()), &hash).or_else(reject_code)?;
        let Some(record) = claimed else {
            return reject_code(CodeRejection::NoCode);
        };
        // The code is right: read the account while argon2 runs.
        let (user, password_hash) = tokio::join!(
            store.get_user(&record.user_id),
            self.hash_password(new_password.expose())
        );
        let (user, password_hash) = (user?, password_hash?);
        let Some(user) = user.filter(|u| u.email.as_deref() == Some(email.as_str())) else {
            // Deleted, or moved to another address, since the code was sent.
            return reject_code(CodeRejection::OtherAddress);
        };
        if user.disabled {
            tracing::warn!(user_id = %user.id, "password reset of a disabled account");
            return Err(AuthError::AccountDisabled);
        }
        let session_id = Uuid::new_v4().to_string();
        let expires_at = session_expiry(now, now, config.session_ttl, config.session_max_lifetime);
        let version = user.token_version + 1;
        let source_ip = super::bounded(client.source_ip.as_deref(), MAX_SOURCE_IP_CHARS);
        let user_agent = super::bounded(client.user_agent.as_deref(), super::MAX_USER_AGENT_CHARS);
        let event = self.event(ActivityKind::PasswordReset, &user.id, client, false);
        let failed = store
            .reset_password(
                &code_pk,
                &hash,
                email.as_str(),
                user.token_version,
                &password_hash,
                NewSession {
                    session_id: &session_id,
                    user_id: &user.id,
                    token_version: version,
                    now,
                    expires_at,
                    user_agent: user_agent.as_deref(),
                    source_ip: source_ip.as_deref(),
                },
                &user_failures_key(&user.id, window.index),
                &event,
            )
            .await?;
        match failed {
            None => {}
            // Used by a concurrent reset.
            Some(0) => return reject_code(CodeRejection::NoCode),
            // The account moved meanwhile (disabled, signed out, deleted):
            // nothing was written and the code still works; retry.
            Some(_) => {
                return Err(AuthError::Unavailable(StoreError::Unavailable(
                    "the account changed during the reset".into(),
                )))
            }
        }
        tracing::info!(
            user_id = %user.id,
            session = %session_tag(&session_id),
            "password reset; every other session ended"
        );
        count(Metric::PasswordReset);
        self.mint_pair(
            SessionRef {
                user_id: &user.id,
                session_id: &session_id,
                generation: 1,
                version,
                auth_time: now,
            },
            now,
            expires_at,
        )
    }

    /// Ends every session but the caller's (version bump, this session
    /// re-keyed to the new version): the decision's read, then one
    /// transaction. Returns this session's new pair, so it takes the
    /// session's current refresh token too: an access token alone (stolen,
    /// or in a page's script) must never buy a refresh token.
    pub async fn logout_others(
        &self,
        access_token: &str,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        let refresh = self.verify(TokenKind::Refresh, refresh_token).await?;
        let Authorized {
            claims, session, ..
        } = self.authorize(access_token).await?;
        let same_pair = (&refresh.sub, &refresh.sid, refresh.gen, refresh.ver)
            == (&claims.sub, &claims.sid, claims.gen, claims.ver);
        if !same_pair {
            return Err(AuthError::invalid_token(Rejection::Token(
                "the refresh token is not this session's current one",
            )));
        }
        let now = self.clock().now().secs;
        let event = self.event(ActivityKind::SignedOutOthers, &claims.sub, client, false);
        if let ClaimCheck::Rejected(_) = self
            .inner
            .store
            .logout_others(claim(&claims), now, &event)
            .await?
        {
            return Err(AuthError::invalid_token(Rejection::SessionGone));
        }
        tracing::info!(
            user_id = %claims.sub,
            session = %session_tag(&claims.sid),
            "other sessions ended"
        );
        count(Metric::LogoutOthers);
        self.mint_pair(
            SessionRef {
                user_id: &claims.sub,
                session_id: &claims.sid,
                generation: claims.gen + 1,
                version: claims.ver + 1,
                auth_time: claims.auth_time,
            },
            now,
            session.expires_at,
        )
    }

    /// Deletes the caller's account, with its password: the user item, its
    /// address and codes, its counters, its sessions and its activity.
    /// Every token dies with the user item; the id can be registered again.
    /// A wrong password counts as a failed login for the account.
    pub async fn delete_account(
        &self,
        access_token: &str,
        password: &Password,
    ) -> Result<(), AuthError> {
        let Authorized { claims, user, .. } = self
            .authorize_reading(access_token, UserRead::WithPasswordHash)
            .await?;
        let window = Window::at(
            self.clock().now().secs,
            self.inner.config.login_throttle.window,
        );
        let counter = self
            .check_password_attempt(&user, password, "account deletion")
            .await?;
        let mut fixed = vec![
            verify_code_key(&user.id),
            counter.clone(),
            user_failures_key(&user.id, window.index.saturating_sub(1)),
        ];
        if let Some(email) = user.email.as_deref() {
            fixed.push(email_key(email));
            fixed.push(reset_code_key(email));
            // This window's counters and the last one's (TTL deletes days
            // late); they name the address.
            for index in [window.index, window.index.saturating_sub(1)] {
                fixed.push(forgot_email_key(email, index));
                fixed.push(reset_email_key(email, index));
            }
        }
        fixed.dedup();
        match self
            .inner
            .store
            .delete_account(claim(&claims), &AccountKeys { fixed })
            .await?
        {
            ClaimCheck::Done => {}
            ClaimCheck::Rejected(_) => {
                // The version moved meanwhile: nothing deleted, and the
                // (right) password was no failed attempt.
                self.release(Some(&counter)).await?;
                return Err(AuthError::invalid_token(Rejection::VersionMoved));
            }
        }
        tracing::info!(user_id = %user.id, "account deleted");
        count(Metric::AccountDeleted);
        Ok(())
    }
}

/// An operator's action on account `user_id`: one conditional write. Needs
/// only the store (the admin function holds no key).
pub async fn administer(
    store: &crate::store::Store,
    user_id: &str,
    action: AdminAction,
) -> Result<(), AuthError> {
    if !store.administer(user_id, action).await? {
        return Err(AuthError::UserNotFound);
    }
    tracing::warn!(user_id, action = ?action, "account administered");
    if action == AdminAction::Disable {
        count(Metric::AccountDisabled);
    }
    Ok(())
}

/// Refuses a code: one answer whatever the reason (logged by the response).
fn reject_code<T>(reason: CodeRejection) -> Result<T, AuthError> {
    count(Metric::CodeRejected);
    Err(AuthError::invalid_code(reason))
}

/// The request's source address as the counters key it (bounded).
fn source(client: &ClientInfo) -> Option<String> {
    client.source_ip.as_deref().map(throttle_source)
}

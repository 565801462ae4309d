//! Register and login.

use uuid::Uuid;

use super::{AuthService, ClientInfo, TokenPair, UserView};
use crate::config::SessionMode;
use crate::error::AuthError;
use crate::input::{DisplayName, FieldRule, NewPassword, Password, UserId};
use crate::model::NewSession;
use crate::rules::session::session_expiry;
use crate::rules::throttle::{
    plausible_login, source_blocked, throttle_source, Window, MAX_SOURCE_IP_CHARS,
};
use crate::store::{ip_failures_key, user_failures_key, StoreError};
use crate::token::SessionRef;

/// Longest user agent kept on a session.
const MAX_USER_AGENT_CHARS: usize = 256;

/// A registration, every field validated.
#[derive(Debug)]
pub struct RegisterInput {
    pub id: UserId,
    pub password: NewPassword,
    pub name: DisplayName,
}

impl RegisterInput {
    /// Checks `id`, then `password`, then `name` (the order the API
    /// documents); the error names the first field that breaks its rule.
    pub fn new(id: String, password: Password, name: String) -> Result<Self, AuthError> {
        fn named(field: &'static str) -> impl Fn(FieldRule) -> AuthError {
            move |rule| AuthError::InvalidInput(format!("`{field}` {rule}"))
        }
        Ok(RegisterInput {
            id: UserId::try_from(id).map_err(named("id"))?,
            password: NewPassword::try_from(password).map_err(named("password"))?,
            name: DisplayName::try_from(name).map_err(named("name"))?,
        })
    }
}

impl AuthService {
    pub async fn register(&self, input: RegisterInput) -> Result<UserView, AuthError> {
        let hash = self.hash_password(input.password.expose()).await?;
        let store = &self.inner.store;
        let seq = store.next_user_seq().await?;
        let now = self.clock().now().secs;
        let (id, name) = (input.id.as_str(), input.name.as_str());
        match store.put_user(id, seq, name, &hash, now).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists) => return Err(AuthError::UserExists),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user_id = %id, seq, "user registered");
        Ok(UserView {
            seq,
            id: input.id.into_string(),
            name: input.name.as_str().to_string(),
        })
    }

    /// Unknown id and wrong password take the same path (argon2 against a
    /// dummy hash) and give the same error. Each attempt first claims a slot
    /// in the account's failure counter (conditional, so parallel attempts
    /// cannot overrun the limit) while the user and the source's counter are
    /// read; past either limit the login is refused before argon2 runs.
    pub async fn login(
        &self,
        id: &str,
        password: &Password,
        client: ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        let now = self.clock().now().secs;
        let limits = self.inner.config.login_throttle;
        let window = Window::at(now, limits.window);
        let store = &self.inner.store;
        // An id that could never have been registered is an unknown user: no
        // read, but still the same argon2 work below.
        let plausible = plausible_login(id, password.expose());
        let user_counter = plausible.then(|| user_failures_key(id, window.index));
        let source_ip = client
            .source_ip
            .as_deref()
            .map(|ip| ip.chars().take(MAX_SOURCE_IP_CHARS).collect::<String>());
        let ip_counter = client
            .source_ip
            .as_deref()
            .map(|ip| ip_failures_key(&throttle_source(ip), window.index));

        // Both in one round trip of latency.
        let reserve = async {
            match &user_counter {
                Some(key) => {
                    store
                        .reserve_attempt(key, limits.max_failures_per_user, window.ends_at)
                        .await
                }
                None => Ok(true),
            }
        };
        let (state, reserved) = tokio::join!(
            store.load_login_state(plausible.then_some(id), ip_counter.as_deref()),
            reserve
        );
        let (state, reserved) = (state?, reserved?);
        let throttled = AuthError::TooManyAttempts {
            retry_after_secs: window.retry_after(now),
        };
        if !reserved {
            tracing::warn!(scope = "account", "login throttled");
            return Err(throttled);
        }
        if source_blocked(state.ip_failures, limits.max_failures_per_ip) {
            tracing::warn!(scope = "source", "login throttled");
            // A blocked source must not keep filling accounts' counters.
            if let Some(key) = &user_counter {
                store.release_attempt(key).await?;
            }
            return Err(throttled);
        }

        let user = state.user;
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let verified = self.verify_password(stored, password.expose()).await?;
        let (Some(user), Some(user_counter)) = (user.filter(|_| verified), user_counter) else {
            // The account's attempt is already counted; count the source's.
            if let Some(key) = &ip_counter {
                store.record_failure(key, window.ends_at).await?;
            }
            return Err(AuthError::InvalidCredentials);
        };

        let session_id = Uuid::new_v4().to_string();
        let expires_at = session_expiry(now, self.inner.config.session_ttl);
        let (bump_from, version) = match self.inner.config.session_mode {
            SessionMode::Multi => (None, user.token_version),
            SessionMode::Single => (Some(user.token_version), user.token_version + 1),
        };
        let user_agent = client
            .user_agent
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect::<String>());
        let created = store
            .create_session(
                NewSession {
                    session_id: &session_id,
                    user_id: &user.id,
                    token_version: version,
                    now,
                    expires_at,
                    user_agent: user_agent.as_deref(),
                    source_ip: source_ip.as_deref(),
                },
                bump_from,
                // A success clears the account's counter (never the source's).
                &user_counter,
            )
            .await;
        match created {
            Ok(()) => {}
            // Single-session mode raced another login or logout-all: retry
            // from the start is the client's call; nothing was written.
            Err(e @ StoreError::AlreadyExists) => return Err(AuthError::Unavailable(e)),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user_id = %user.id, session_id = %session_id, "login");
        self.mint_pair(
            SessionRef {
                user_id: &user.id,
                session_id: &session_id,
                generation: 1,
                version,
            },
            now,
            expires_at,
        )
    }
}

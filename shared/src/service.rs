//! The auth operations, free of any Lambda or HTTP type.
//!
//! Every decision fails closed: a store error is `Unavailable` (503), never
//! a pass; anything unexpected about a token is `InvalidToken` (401).

use std::sync::Arc;

use serde::Serialize;
use uuid::Uuid;

use crate::config::{Config, SessionMode};
use crate::error::AuthError;
use crate::password::Passwords;
use crate::store::{
    ip_failures_key, user_failures_key, ClaimCheck, NewSession, RevokeOutcome, RotateOutcome,
    SessionClaim, SessionRecord, Store, StoreError, UserRecord,
};
use crate::token::{now_millis, now_secs, Claims, SessionRef, TokenError, TokenKeys, TokenKind};

/// Longest user agent kept on a session.
const MAX_USER_AGENT_CHARS: usize = 256;
/// Longest source address used in a counter key (IPv6 is at most 45).
const MAX_SOURCE_IP_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub seq: u64,
    pub id: String,
    pub name: String,
}

/// Who made an authenticated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: UserView,
    pub session_id: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
}

/// One of the caller's live sessions, as `GET /api/auth/sessions` lists it.
/// Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub session_id: String,
    pub created_at: u64,
    pub refreshed_at: u64,
    pub user_agent: Option<String>,
    pub source_ip: Option<String>,
    /// Whether this is the session of the token that asked.
    pub current: bool,
}

/// Where a login came from, kept on the session for "my sessions".
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub source_ip: Option<String>,
}

pub struct RegisterInput {
    pub id: String,
    pub password: String,
    pub name: String,
}

impl From<StoreError> for AuthError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(detail) => {
                tracing::error!(%detail, "dynamodb unavailable");
                AuthError::Unavailable
            }
            StoreError::Corrupt(field) => {
                tracing::error!(field, "malformed item in table");
                AuthError::Internal
            }
            StoreError::AlreadyExists => AuthError::UserExists,
        }
    }
}

impl From<TokenError> for AuthError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Rejected(why) => {
                tracing::info!(reason = why, "token rejected");
                AuthError::InvalidToken
            }
            TokenError::Signing(e) => {
                tracing::error!(error = %e, "token signing failed");
                AuthError::Internal
            }
            TokenError::NoSigningKey => {
                tracing::error!("asked to mint tokens without JWT_PRIVATE_KEY");
                AuthError::Internal
            }
        }
    }
}

fn invalid(field: &str, rule: &str) -> AuthError {
    AuthError::InvalidInput(format!("`{field}` {rule}"))
}

fn validate_password(field: &str, password: &str) -> Result<(), AuthError> {
    if (8..=128).contains(&password.chars().count()) {
        Ok(())
    } else {
        Err(invalid(field, "must be 8-128 characters"))
    }
}

/// Checks the register rules; the message names the field (never its value).
pub fn validate_registration(input: &RegisterInput) -> Result<(), AuthError> {
    let id_len = input.id.chars().count();
    if !(3..=64).contains(&id_len)
        || !input
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
    {
        return Err(invalid(
            "id",
            "must be 3-64 characters of letters, digits, '.', '_', '@' or '-'",
        ));
    }
    validate_password("password", &input.password)?;
    let name = input.name.trim();
    if !(1..=100).contains(&name.chars().count()) || name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            "must be 1-100 characters without control characters",
        ));
    }
    Ok(())
}

#[derive(Clone)]
pub struct AuthService {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    store: Store,
    tokens: TokenKeys,
    passwords: Passwords,
}

impl AuthService {
    pub fn new(config: Config, client: aws_sdk_dynamodb::Client) -> Self {
        let store = Store::new(client, config.table_name.clone());
        let tokens = TokenKeys::from_config(&config);
        AuthService {
            inner: Arc::new(Inner {
                config,
                store,
                tokens,
                passwords: Passwords::default(),
            }),
        }
    }

    /// Reads the config and builds the client: what a Lambda does at cold start.
    pub async fn from_env() -> Result<Self, crate::config::ConfigError> {
        let config = Config::from_env()?;
        let client = crate::store::dynamodb_client(config.dynamodb_endpoint.as_deref()).await;
        Ok(Self::new(config, client))
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn tokens(&self) -> &TokenKeys {
        &self.inner.tokens
    }

    pub fn passwords(&self) -> &Passwords {
        &self.inner.passwords
    }

    /// Runs argon2 off the async threads (it is CPU-bound for tens of ms).
    async fn verify_password(
        &self,
        stored: Option<String>,
        password: &str,
    ) -> Result<bool, AuthError> {
        let passwords = self.inner.passwords.clone();
        let password = password.to_string();
        tokio::task::spawn_blocking(move || passwords.verify(stored.as_deref(), &password))
            .await
            .map_err(|_| AuthError::Internal)
    }

    async fn hash_password(&self, password: &str) -> Result<String, AuthError> {
        let passwords = self.inner.passwords.clone();
        let password = password.to_string();
        tokio::task::spawn_blocking(move || passwords.hash(&password))
            .await
            .map_err(|_| AuthError::Internal)?
            .map_err(|_| AuthError::Internal)
    }

    /// The current failed-login window: its number and when it ends.
    fn failure_window(&self, now: u64) -> (u64, u64) {
        let length = self.inner.config.login_throttle.window.as_secs().max(1);
        let window = now / length;
        (window, (window + 1) * length)
    }

    pub async fn register(&self, input: RegisterInput) -> Result<UserView, AuthError> {
        validate_registration(&input)?;
        let name = input.name.trim().to_string();
        let hash = self.hash_password(&input.password).await?;
        let store = &self.inner.store;
        let seq = store.next_user_seq().await?;
        store
            .put_user(&input.id, seq, &name, &hash, now_secs())
            .await?;
        tracing::info!(user_id = %input.id, seq, "user registered");
        Ok(UserView {
            seq,
            id: input.id,
            name,
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
        password: &str,
        client: ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        let now = now_secs();
        let (window, window_end) = self.failure_window(now);
        let limits = self.inner.config.login_throttle;
        let store = &self.inner.store;
        // An id that could never have been registered is an unknown user: no
        // read, but still the same argon2 work below.
        let plausible = (1..=64).contains(&id.len()) && password.len() <= 1024;
        let user_counter = plausible.then(|| user_failures_key(id, window));
        let source_ip = client
            .source_ip
            .as_deref()
            .map(|ip| ip.chars().take(MAX_SOURCE_IP_CHARS).collect::<String>());
        let ip_counter = source_ip
            .as_deref()
            .map(|ip| ip_failures_key(&throttle_source(ip), window));

        // Both in one round trip of latency.
        let reserve = async {
            match &user_counter {
                Some(key) => {
                    store
                        .reserve_attempt(key, limits.max_failures_per_user, window_end)
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
            retry_after_secs: window_end.saturating_sub(now).max(1),
        };
        if !reserved {
            tracing::warn!(scope = "account", "login throttled");
            return Err(throttled);
        }
        if state.ip_failures >= limits.max_failures_per_ip {
            tracing::warn!(scope = "source", "login throttled");
            // A blocked source must not keep filling accounts' counters.
            if let Some(key) = &user_counter {
                store.release_attempt(key).await?;
            }
            return Err(throttled);
        }

        let user = state.user;
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let verified = self.verify_password(stored, password).await?;
        let (Some(user), Some(user_counter)) = (user.filter(|_| verified), user_counter) else {
            tracing::info!("login failed");
            // The account's attempt is already counted; count the source's.
            if let Some(key) = &ip_counter {
                store.record_failure(key, window_end).await?;
            }
            return Err(AuthError::InvalidCredentials);
        };

        let session_id = Uuid::new_v4().to_string();
        let expires_at = now + self.inner.tokens.refresh_ttl().as_secs();
        let (bump_from, version) = match self.inner.config.session_mode {
            SessionMode::Multi => (None, user.token_version),
            SessionMode::Single => (Some(user.token_version), user.token_version + 1),
        };
        let user_agent = client
            .user_agent
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect::<String>());
        let created = self
            .inner
            .store
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
            Err(StoreError::AlreadyExists) => return Err(AuthError::Unavailable),
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

    fn mint_pair(
        &self,
        session: SessionRef<'_>,
        now: u64,
        session_expires_at: u64,
    ) -> Result<TokenPair, AuthError> {
        let tokens = &self.inner.tokens;
        let access = tokens.mint(TokenKind::Access, session, now, session_expires_at)?;
        let refresh = tokens.mint(TokenKind::Refresh, session, now, session_expires_at)?;
        Ok(TokenPair {
            access_token: access.token,
            refresh_token: refresh.token,
            token_type: "Bearer",
            expires_in: access.expires_at.saturating_sub(now),
            refresh_expires_in: refresh.expires_at.saturating_sub(now),
        })
    }

    fn claim(claims: &Claims) -> SessionClaim<'_> {
        SessionClaim {
            session_id: &claims.sid,
            user_id: &claims.sub,
            generation: claims.gen,
            version: claims.ver,
        }
    }

    /// The whole access decision: token checks, then ONE consistent read of
    /// session and user.
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, AuthError> {
        let Authorized { session, user, .. } = self.authorize(access_token).await?;
        Ok(Principal {
            user: UserView {
                seq: user.seq,
                id: user.id,
                name: user.name,
            },
            session_id: session.session_id,
        })
    }

    /// Verifies an access token and reads its session and user in one round
    /// trip.
    async fn authorize(&self, access_token: &str) -> Result<Authorized, AuthError> {
        let claims = self.inner.tokens.verify(TokenKind::Access, access_token)?;
        let (session, user) = self
            .inner
            .store
            .load_session_and_user(&claims.sid, &claims.sub)
            .await?;
        let now = now_secs();
        match (session, user) {
            (Some(session), Some(user)) if token_matches(&claims, &session, &user, now) => {
                Ok(Authorized {
                    claims,
                    session,
                    user,
                })
            }
            _ => {
                tracing::info!(session_id = %claims.sid, "access token revoked or session ended");
                Err(AuthError::InvalidToken)
            }
        }
    }

    /// Rotates the refresh token (one conditional transaction). A refresh
    /// token replayed after its rotation revokes the whole session, unless
    /// it is the immediately previous one within the reuse grace, which gets
    /// the current generation's tokens again.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AuthError> {
        let claims = self
            .inner
            .tokens
            .verify(TokenKind::Refresh, refresh_token)?;
        let now = now_secs();
        let now_ms = now_millis();
        let new_expires_at = now + self.inner.tokens.refresh_ttl().as_secs();
        let outcome = self
            .inner
            .store
            .rotate_refresh(Self::claim(&claims), now, now_ms, new_expires_at)
            .await?;
        let session_ref = |generation| SessionRef {
            user_id: &claims.sub,
            session_id: &claims.sid,
            generation,
            version: claims.ver,
        };
        match outcome {
            RotateOutcome::Rotated {
                generation,
                expires_at,
            } => {
                tracing::info!(session_id = %claims.sid, generation, "refresh rotated");
                self.mint_pair(session_ref(generation), now, expires_at)
            }
            RotateOutcome::VersionChanged => Err(AuthError::InvalidToken),
            RotateOutcome::Stale { current: None } => Err(AuthError::InvalidToken),
            RotateOutcome::Stale {
                current: Some(session),
            } => {
                // A token of an older version (logout-all, password change)
                // is dead, not a replay: the session it names has moved on
                // legitimately, and stays.
                if session.user_id != claims.sub
                    || !session.is_live(now)
                    || session.token_version != claims.ver
                {
                    return Err(AuthError::InvalidToken);
                }
                let grace_ms = self.inner.config.refresh_reuse_grace.as_millis() as u64;
                let in_grace = session.generation == claims.gen + 1
                    && now_ms.saturating_sub(session.rotated_at_ms) <= grace_ms
                    && grace_ms > 0;
                if in_grace {
                    tracing::info!(session_id = %claims.sid, "refresh reused within grace");
                    return self.mint_pair(
                        session_ref(session.generation),
                        now,
                        session.expires_at,
                    );
                }
                // A rotated refresh token came back: someone holds a copy.
                // Revoke the session so neither copy keeps working.
                tracing::warn!(
                    session_id = %claims.sid,
                    user_id = %claims.sub,
                    presented_generation = claims.gen,
                    current_generation = session.generation,
                    "refresh token reuse detected; session revoked"
                );
                self.inner.store.delete_session(&claims.sid).await?;
                Err(AuthError::InvalidToken)
            }
        }
    }

    /// The caller's live sessions: the access decision, then one Query.
    pub async fn list_sessions(&self, access_token: &str) -> Result<Vec<SessionView>, AuthError> {
        let Authorized { claims, user, .. } = self.authorize(access_token).await?;
        let sessions = self
            .inner
            .store
            .list_sessions(&user.id, user.token_version, now_secs())
            .await?;
        Ok(sessions
            .into_iter()
            .map(|session| SessionView {
                current: session.session_id == claims.sid,
                session_id: session.session_id,
                created_at: session.created_at,
                refreshed_at: session.refreshed_at,
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
    ) -> Result<(), AuthError> {
        let claims = self.inner.tokens.verify(TokenKind::Access, access_token)?;
        // Session ids are UUIDs, stored hyphenated and lowercase.
        let Ok(target) = Uuid::parse_str(session_id).map(|id| id.hyphenated().to_string()) else {
            // Still answer 401 to a revoked caller, as for any other id.
            self.authorize(access_token).await?;
            return Err(AuthError::SessionNotFound);
        };
        if target == claims.sid {
            return self.logout(access_token).await;
        }
        match self
            .inner
            .store
            .revoke_other_session(Self::claim(&claims), &target, now_secs())
            .await?
        {
            RevokeOutcome::Revoked => {
                tracing::info!(user_id = %claims.sub, revoked_session_id = %target, "session revoked");
                Ok(())
            }
            RevokeOutcome::NotFound => Err(AuthError::SessionNotFound),
            RevokeOutcome::CallerRejected => Err(AuthError::InvalidToken),
        }
    }

    /// Changes the password: every other session ends (version bump) and
    /// this one continues with a fresh pair. A wrong current password counts
    /// as a failed login for the account.
    pub async fn change_password(
        &self,
        access_token: &str,
        current_password: &str,
        new_password: &str,
    ) -> Result<TokenPair, AuthError> {
        let Authorized {
            claims,
            session,
            user,
        } = self.authorize(access_token).await?;
        validate_password("newPassword", new_password)?;
        let now = now_secs();
        let (window, window_end) = self.failure_window(now);
        let counter = user_failures_key(&user.id, window);
        let max = self.inner.config.login_throttle.max_failures_per_user;
        if !self
            .inner
            .store
            .reserve_attempt(&counter, max, window_end)
            .await?
        {
            tracing::warn!(user_id = %user.id, "password change throttled");
            return Err(AuthError::TooManyAttempts {
                retry_after_secs: window_end.saturating_sub(now).max(1),
            });
        }
        if !self
            .verify_password(Some(user.password_hash.clone()), current_password)
            .await?
        {
            // The attempt stays counted.
            tracing::info!(user_id = %user.id, "password change with a wrong current password");
            return Err(AuthError::WrongCurrentPassword);
        }
        let hash = self.hash_password(new_password).await?;
        let changed = self
            .inner
            .store
            .change_password(Self::claim(&claims), &hash, now, &counter)
            .await?;
        if changed == ClaimCheck::Rejected {
            return Err(AuthError::InvalidToken);
        }
        tracing::info!(user_id = %user.id, session_id = %claims.sid, "password changed; other sessions ended");
        self.mint_pair(
            SessionRef {
                user_id: &claims.sub,
                session_id: &claims.sid,
                generation: claims.gen + 1,
                version: claims.ver + 1,
            },
            now,
            session.expires_at,
        )
    }

    /// Ends this device's session: its access and refresh tokens stop at once.
    pub async fn logout(&self, access_token: &str) -> Result<(), AuthError> {
        let claims = self.inner.tokens.verify(TokenKind::Access, access_token)?;
        match self
            .inner
            .store
            .end_session(Self::claim(&claims), now_secs())
            .await?
        {
            ClaimCheck::Done => {
                tracing::info!(session_id = %claims.sid, "logout");
                Ok(())
            }
            ClaimCheck::Rejected => Err(AuthError::InvalidToken),
        }
    }

    /// Ends every session of the user, on every device.
    pub async fn logout_all(&self, access_token: &str) -> Result<(), AuthError> {
        let claims = self.inner.tokens.verify(TokenKind::Access, access_token)?;
        match self
            .inner
            .store
            .bump_token_version(Self::claim(&claims), now_secs())
            .await?
        {
            ClaimCheck::Done => {
                tracing::info!(user_id = %claims.sub, "logout everywhere");
                Ok(())
            }
            ClaimCheck::Rejected => Err(AuthError::InvalidToken),
        }
    }
}

/// The source a failed login is counted against: an IPv4 address, or the
/// /64 of an IPv6 one (a single client usually holds a whole /64).
fn throttle_source(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(v4) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

/// An access token that passed, with what was read to decide it.
struct Authorized {
    claims: Claims,
    session: SessionRecord,
    user: UserRecord,
}

/// The store half of an access decision.
fn token_matches(claims: &Claims, session: &SessionRecord, user: &UserRecord, now: u64) -> bool {
    session.user_id == claims.sub
        && session.generation == claims.gen
        && session.is_live(now)
        && user.id == claims.sub
        && user.token_version == claims.ver
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(id: &str, password: &str, name: &str) -> RegisterInput {
        RegisterInput {
            id: id.into(),
            password: password.into(),
            name: name.into(),
        }
    }

    #[test]
    fn ipv6_sources_are_counted_per_64() {
        assert_eq!(throttle_source("203.0.113.7"), "203.0.113.7");
        assert_eq!(throttle_source("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(
            throttle_source("2001:0db8:0001:0002:ffff:ffff:ffff:ffff"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(throttle_source("::ffff:198.51.100.1"), "198.51.100.1");
        assert_eq!(throttle_source("not-an-ip"), "not-an-ip");
    }

    fn field_of(err: AuthError) -> String {
        match err {
            AuthError::InvalidInput(m) => m,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn registration_rules_name_the_field() {
        assert!(validate_registration(&input("alice", "password1", "Alice")).is_ok());
        assert!(validate_registration(&input("a.b_c@d-e", "12345678", "A")).is_ok());
        for (id, pw, name, field) in [
            ("ab", "password1", "A", "`id`"),
            (&"a".repeat(65), "password1", "A", "`id`"),
            ("has space", "password1", "A", "`id`"),
            ("ünicode", "password1", "A", "`id`"),
            ("alice", "short", "A", "`password`"),
            ("alice", &"p".repeat(129), "A", "`password`"),
            ("alice", "password1", "", "`name`"),
            ("alice", "password1", "   ", "`name`"),
            ("alice", "password1", &"n".repeat(101), "`name`"),
            ("alice", "password1", "bad\nname", "`name`"),
        ] {
            let msg = field_of(validate_registration(&input(id, pw, name)).unwrap_err());
            assert!(msg.starts_with(field), "{msg} should name {field}");
            assert!(
                !msg.contains(pw) || pw.len() < 3,
                "message echoes the password"
            );
        }
    }
}

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
    ClaimCheck, NewSession, RotateOutcome, SessionClaim, SessionRecord, Store, StoreError,
    UserRecord,
};
use crate::token::{now_millis, now_secs, Claims, SessionRef, TokenError, TokenKeys, TokenKind};

/// Longest user agent kept on a session.
const MAX_USER_AGENT_CHARS: usize = 256;

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
        }
    }
}

fn invalid(field: &str, rule: &str) -> AuthError {
    AuthError::InvalidInput(format!("`{field}` {rule}"))
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
    if !(8..=128).contains(&input.password.chars().count()) {
        return Err(invalid("password", "must be 8-128 characters"));
    }
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

    pub async fn register(&self, input: RegisterInput) -> Result<UserView, AuthError> {
        validate_registration(&input)?;
        let name = input.name.trim().to_string();
        let passwords = self.inner.passwords.clone();
        let password = input.password;
        let hash = tokio::task::spawn_blocking(move || passwords.hash(&password))
            .await
            .map_err(|_| AuthError::Internal)?
            .map_err(|_| AuthError::Internal)?;
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
    /// dummy hash) and give the same error.
    pub async fn login(
        &self,
        id: &str,
        password: &str,
        client: ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        // An id that could never have been registered is an unknown user: no
        // read, but still the same argon2 work below.
        let plausible = (1..=64).contains(&id.len()) && password.len() <= 1024;
        let user = if plausible {
            self.inner.store.get_user(id).await?
        } else {
            None
        };
        let passwords = self.inner.passwords.clone();
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let password = password.to_string();
        let verified =
            tokio::task::spawn_blocking(move || passwords.verify(stored.as_deref(), &password))
                .await
                .map_err(|_| AuthError::Internal)?;
        let Some(user) = user.filter(|_| verified) else {
            tracing::info!("login failed");
            return Err(AuthError::InvalidCredentials);
        };

        let now = now_secs();
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
                    now,
                    expires_at,
                    user_agent: user_agent.as_deref(),
                    source_ip: client.source_ip.as_deref(),
                },
                bump_from,
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
        let claims = self.inner.tokens.verify(TokenKind::Access, access_token)?;
        let (session, user) = self
            .inner
            .store
            .load_session_and_user(&claims.sid, &claims.sub)
            .await?;
        let now = now_secs();
        match (session, user) {
            (Some(session), Some(user)) if token_matches(&claims, &session, &user, now) => {
                Ok(Principal {
                    user: UserView {
                        seq: user.seq,
                        id: user.id,
                        name: user.name,
                    },
                    session_id: session.session_id,
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
                if session.user_id != claims.sub || !session.is_live(now) {
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

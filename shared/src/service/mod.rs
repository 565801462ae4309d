//! The auth operations, free of any Lambda or HTTP type: thin sequences of
//! "read or write the store, ask the rules what it means".
//!
//! Every decision fails closed: a store error is `Unavailable`, never a
//! pass; anything unexpected about a token is `InvalidToken`.

mod account;
mod activity;
mod login;
mod sessions;

use std::sync::Arc;

use serde::Serialize;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError, Env};
use crate::error::{AuthError, InternalError};
use crate::input::Password;
use crate::keys::KeyConfig;
use crate::mail::{MailMessage, Mailer};
use crate::model::{ActivityKind, ActivityRecord, SessionClaim, SessionRecord, UserRecord};
use crate::password::Passwords;
use crate::rules::check_access;
use crate::rules::throttle::{Window, MAX_SOURCE_IP_CHARS};
use crate::secrets::{key_variables, KeySecret, Reloading};
use crate::store::user_failures_key;
use crate::store::Store;
use crate::token::{Claims, SessionRef, TokenKeys, TokenKind};

pub use account::{administer, AccountView};
pub use activity::ActivityQuery;
pub use login::RegisterInput;

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
    /// When it ends unless refreshed: the idle timeout after the last
    /// refresh, or the absolute limit, whichever comes first.
    pub expires_at: u64,
    /// When it ends however often it is refreshed: `createdAt` + the
    /// maximum session lifetime.
    pub lifetime_ends_at: u64,
    pub user_agent: Option<String>,
    pub source_ip: Option<String>,
    /// Whether this is the session of the token that asked.
    pub current: bool,
}

/// One event of the caller's security activity, as
/// `GET /api/auth/activity` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Unix seconds.
    pub at: u64,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// On `signed_in`: the device was not among the account's recent ones.
    pub new_device: bool,
}

/// A page of the caller's activity, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityPageView {
    pub events: Vec<ActivityView>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// Where a login came from, kept on the session for "my sessions".
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub source_ip: Option<String>,
}

#[derive(Clone)]
pub struct AuthService {
    inner: Arc<Inner>,
    /// Where verification and reset codes go; `None`: nowhere (logged).
    mailer: Option<Mailer>,
}

struct Inner {
    config: Config,
    store: Store,
    /// The keys in use; re-read from Secrets Manager when they come from there.
    tokens: Reloading<TokenKeys>,
    passwords: Passwords,
    clock: Arc<dyn Clock>,
}

/// An access token that passed, with what was read to decide it.
struct Authorized {
    claims: Claims,
    session: SessionRecord,
    user: UserRecord,
}

impl AuthService {
    pub fn new(config: Config, client: aws_sdk_dynamodb::Client) -> Self {
        Self::with_clock(config, client, Arc::new(SystemClock))
    }

    /// A service judging time by `clock` (tests move it).
    pub fn with_clock(
        config: Config,
        client: aws_sdk_dynamodb::Client,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let tokens = Reloading::fixed(TokenKeys::from_config(&config));
        Self::assemble(config, client, clock, tokens)
    }

    /// A service whose keys come from `secret` (its key variables over those
    /// of `env`), read now and every `KEYS_REFRESH_SECS`; every other
    /// setting from `env`.
    pub async fn with_key_secret(
        env: &Env<'_>,
        secret: KeySecret,
        client: aws_sdk_dynamodb::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let values = secret.values().await?;
        let base = key_variables(env);
        let with_keys = Env::new(|name| values.get(name).cloned().or_else(|| env.get(name)));
        let config = Config::read(&with_keys)?;
        let every = env.seconds(
            "KEYS_REFRESH_SECS",
            crate::config::DEFAULT_KEYS_REFRESH_SECS,
            crate::config::limits::KEYS_REFRESH_SECS,
        )?;
        let settings = config.clone();
        let build = move |env: &Env<'_>| Ok(TokenKeys::new(&KeyConfig::read(env)?, &settings));
        let tokens = Reloading::from_secret(secret, base, every, clock.now().millis, build).await?;
        Ok(Self::assemble(config, client, clock, tokens))
    }

    fn assemble(
        config: Config,
        client: aws_sdk_dynamodb::Client,
        clock: Arc<dyn Clock>,
        tokens: Reloading<TokenKeys>,
    ) -> Self {
        let store = Store::new(client, config.table_name.clone());
        AuthService {
            inner: Arc::new(Inner {
                config,
                store,
                tokens,
                passwords: Passwords::default(),
                clock,
            }),
            mailer: None,
        }
    }

    /// The same service, mailing codes through `mailer`.
    pub fn with_mailer(mut self, mailer: Mailer) -> Self {
        self.mailer = Some(mailer);
        self
    }

    pub fn mailer(&self) -> Option<&Mailer> {
        self.mailer.as_ref()
    }

    /// Sends `message` to `to`; a failure is logged and counted, never the
    /// request's failure (nor, for a reset request, visible to the client).
    async fn send_mail(&self, to: &crate::input::Email, message: &MailMessage) {
        let sent = match &self.mailer {
            Some(mailer) => mailer.send(to, message).await,
            None => Err(crate::mail::MailError::NoSender),
        };
        match sent {
            Ok(()) => crate::metrics::count(crate::metrics::Metric::MailSent),
            Err(e) => {
                crate::metrics::count(crate::metrics::Metric::MailFailed);
                let error = crate::error::display_chain(&e);
                tracing::error!(%error, message = ?message, "mail not sent");
            }
        }
    }

    /// Reads the config (keys from `KEYS_SECRET_ARN`'s secret if set) and
    /// builds the clients.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let env = Env::process();
        let endpoint = env.get("DYNAMODB_ENDPOINT");
        let client = crate::store::dynamodb_client(endpoint.as_deref()).await;
        let service = match KeySecret::from_env(&env).await {
            Some(secret) => {
                Self::with_key_secret(&env, secret, client, Arc::new(SystemClock)).await?
            }
            None => Self::new(Config::read(&env)?, client),
        };
        // Only the functions that send mail are given a sender.
        Ok(match service.config().mail_from.clone() {
            Some(from) => {
                let ses = Mailer::client(None).await;
                let app = service.config().mail_app_name.clone();
                service.with_mailer(Mailer::new(ses, Some(from), app))
            }
            None => service,
        })
    }

    /// What a function does at cold start: config, keys, validation rules
    /// and the DynamoDB client are built once, and the connection is opened
    /// before the first request.
    pub async fn start() -> Result<Self, ConfigError> {
        let service = Self::from_env().await?;
        service.store().warm_up().await;
        Ok(service)
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The keys in use now.
    pub fn tokens(&self) -> Arc<TokenKeys> {
        self.inner.tokens.current()
    }

    /// Re-reads the keys if they come from Secrets Manager and are due.
    async fn keys_due(&self) {
        self.inner
            .tokens
            .refresh_if_due(self.clock().now().millis)
            .await
    }

    pub fn passwords(&self) -> &Passwords {
        &self.inner.passwords
    }

    pub fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
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
            .map_err(|e| InternalError::Task(e).into())
    }

    async fn hash_password(&self, password: &str) -> Result<String, AuthError> {
        let passwords = self.inner.passwords.clone();
        let password = password.to_string();
        tokio::task::spawn_blocking(move || passwords.hash(&password))
            .await
            .map_err(InternalError::Task)?
            .map_err(|_| InternalError::Hashing.into())
    }

    /// A security event of `user_id`'s, now, kept for `AUDIT_RETENTION_DAYS`.
    fn event(
        &self,
        kind: ActivityKind,
        user_id: &str,
        client: &ClientInfo,
        new_device: bool,
    ) -> ActivityRecord {
        let now = self.clock().now();
        ActivityRecord {
            user_id: user_id.to_string(),
            event_id: uuid::Uuid::new_v4().to_string(),
            kind,
            at_ms: now.millis,
            expires_at: now
                .secs
                .saturating_add(self.inner.config.audit_retention.as_secs()),
            source_ip: bounded(client.source_ip.as_deref(), MAX_SOURCE_IP_CHARS),
            user_agent: bounded(client.user_agent.as_deref(), MAX_USER_AGENT_CHARS),
            new_device,
        }
    }

    fn mint_pair(
        &self,
        session: SessionRef<'_>,
        now: u64,
        session_expires_at: u64,
    ) -> Result<TokenPair, AuthError> {
        let tokens = self.tokens();
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

    /// Verifies a token of `kind` at the service's current time, with the
    /// keys of that time.
    async fn verify(&self, kind: TokenKind, token: &str) -> Result<Claims, AuthError> {
        self.keys_due().await;
        let now = self.clock().now().secs;
        Ok(self.tokens().verify(kind, token, now)?)
    }

    /// The whole access decision: token checks, then ONE consistent read of
    /// session and user.
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, AuthError> {
        let Authorized { session, user, .. } = self.authorize(access_token).await?;
        // (`authorize` never reads the password hash.)
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
    /// trip, without the password hash; [`check_access`] decides.
    async fn authorize(&self, access_token: &str) -> Result<Authorized, AuthError> {
        self.authorize_reading(access_token, UserRead::Decision)
            .await
    }

    /// [`AuthService::authorize`], reading `read` of the user.
    async fn authorize_reading(
        &self,
        access_token: &str,
        read: UserRead,
    ) -> Result<Authorized, AuthError> {
        let claims = self.verify(TokenKind::Access, access_token).await?;
        let store = &self.inner.store;
        let (session, user) = match read {
            UserRead::Decision => {
                store
                    .load_session_and_user(&claims.sid, &claims.sub, false)
                    .await?
            }
            UserRead::WithAddress => store.load_account(&claims.sid, &claims.sub).await?,
            UserRead::WithPasswordHash => {
                store
                    .load_session_and_user(&claims.sid, &claims.sub, true)
                    .await?
            }
        };
        let now = self.clock().now().secs;
        let (session, user) =
            check_access(claim(&claims), session, user, now).map_err(AuthError::invalid_token)?;
        Ok(Authorized {
            claims,
            session,
            user,
        })
    }

    /// Checks `password` against `user`'s as an attempt on the account
    /// (`action` names it in the log): a slot in its failed-login counter is
    /// claimed before argon2 runs (refused past the limit), and a wrong
    /// password keeps it. The counter's key, to clear or give back.
    async fn check_password_attempt(
        &self,
        user: &UserRecord,
        password: &Password,
        action: &'static str,
    ) -> Result<String, AuthError> {
        let now = self.clock().now().secs;
        let window = Window::at(now, self.inner.config.login_throttle.window);
        let counter = user_failures_key(&user.id, window.index);
        let max = self.inner.config.login_throttle.max_failures_per_user;
        if !self
            .inner
            .store
            .reserve_attempt(&counter, max, window.ends_at)
            .await?
        {
            tracing::warn!(user_id = %user.id, action, "password check throttled");
            return Err(AuthError::TooManyAttempts {
                retry_after_secs: window.retry_after(now),
            });
        }
        if !self
            .verify_password(user.password_hash.clone(), password.expose())
            .await?
        {
            // The attempt stays counted.
            tracing::warn!(user_id = %user.id, action, "wrong current password");
            return Err(AuthError::WrongCurrentPassword);
        }
        Ok(counter)
    }
}

/// What an access decision reads of the user besides the decision's
/// attributes.
#[derive(Clone, Copy)]
enum UserRead {
    Decision,
    /// Its address (the account view, verification).
    WithAddress,
    /// Its password hash (a password change, a deletion).
    WithPasswordHash,
}

/// Longest user agent kept on a session or an event.
const MAX_USER_AGENT_CHARS: usize = 256;

/// `text`, cut to `max` characters.
fn bounded(text: Option<&str>, max: usize) -> Option<String> {
    text.map(|t| t.chars().take(max).collect())
}

/// What a verified token claims about its session.
fn claim(claims: &Claims) -> SessionClaim<'_> {
    SessionClaim {
        session_id: &claims.sid,
        user_id: &claims.sub,
        generation: claims.gen,
        version: claims.ver,
    }
}

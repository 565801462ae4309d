//! Register and login.

use uuid::Uuid;

use super::{bounded, AuthService, ClientInfo, TokenPair, UserView, MAX_USER_AGENT_CHARS};
use crate::config::SessionMode;
use crate::error::AuthError;
use crate::input::{DisplayName, Email, FieldRule, NewPassword, Password, UserId};
use crate::mail::MailMessage;
use crate::metrics::{count, Metric};
use crate::model::CodeRecord;
use crate::model::{ActivityKind, NewSession};
use crate::rules::account::{code_hash, new_code, CodePurpose, VERIFY_CODE_TTL};
use crate::rules::activity::{device_key, remember_device};
use crate::rules::session::session_expiry;
use crate::rules::throttle::{plausible_login, throttle_source, Window, MAX_SOURCE_IP_CHARS};
use crate::store::{ip_failures_key, register_key, user_failures_key, StoreError};
use crate::store::{NewUser, NewUserItem};
use crate::telemetry::session_tag;
use crate::token::SessionRef;

/// A registration, every field validated.
#[derive(Debug)]
pub struct RegisterInput {
    pub id: UserId,
    pub password: NewPassword,
    pub name: DisplayName,
    /// Optional: where codes (verification, password reset) go.
    pub email: Option<Email>,
}

impl RegisterInput {
    /// Checks `id`, then `password`, then `name`, then `email` (the order
    /// the API documents); the error names the first field that breaks its
    /// rule.
    pub fn new(id: String, password: Password, name: String) -> Result<Self, AuthError> {
        Self::with_email(id, password, name, None)
    }

    pub fn with_email(
        id: String,
        password: Password,
        name: String,
        email: Option<String>,
    ) -> Result<Self, AuthError> {
        fn named(field: &'static str) -> impl Fn(FieldRule) -> AuthError {
            move |rule| AuthError::InvalidInput(format!("`{field}` {rule}"))
        }
        Ok(RegisterInput {
            id: UserId::try_from(id).map_err(named("id"))?,
            password: NewPassword::try_from(password).map_err(named("password"))?,
            name: DisplayName::try_from(name).map_err(named("name"))?,
            email: email
                .map(Email::try_from)
                .transpose()
                .map_err(named("email"))?,
        })
    }
}

impl AuthService {
    /// Registers a user. Each source address may register
    /// `REGISTER_MAX_PER_IP` accounts per throttle window: the slot is
    /// claimed (one conditional write) before any hashing, so a flood costs
    /// a 429, not argon2 work.
    pub async fn register(
        &self,
        input: RegisterInput,
        client: &ClientInfo,
    ) -> Result<UserView, AuthError> {
        let store = &self.inner.store;
        let now = self.clock().now().secs;
        if let Some(ip) = client.source_ip.as_deref() {
            let window = Window::at(now, self.inner.config.login_throttle.window);
            let counter = register_key(&throttle_source(ip), window.index);
            let max = self.inner.config.register_max_per_ip;
            if !store.reserve_attempt(&counter, max, window.ends_at).await? {
                tracing::warn!(source_ip = %ip, "registration throttled");
                count(Metric::RegisterThrottled);
                return Err(AuthError::TooManyAttempts {
                    retry_after_secs: window.retry_after(now),
                });
            }
        }
        let hash = self.hash_password(input.password.expose()).await?;
        let seq = store.next_user_seq().await?;
        let (id, name) = (input.id.as_str(), input.name.as_str());
        // With an address: its verification code, stored (hashed) with the
        // user, mailed once the user exists.
        let code = input.email.as_ref().map(|email| {
            let code = new_code();
            let record = CodeRecord {
                user_id: id.to_string(),
                email: email.as_str().to_string(),
                code_hash: code_hash(CodePurpose::VerifyEmail, id, &code),
                attempts: 0,
                expires_at: now.saturating_add(VERIFY_CODE_TTL.as_secs()),
            };
            (email, code, record)
        });
        let created = store
            .create_user(NewUserItem {
                id,
                seq,
                name,
                password_hash: &hash,
                now,
                email: code
                    .as_ref()
                    .map(|(email, _, record)| (email.as_str(), record)),
            })
            .await?;
        match created {
            NewUser::Created => {}
            NewUser::IdTaken => return Err(AuthError::UserExists),
            NewUser::EmailTaken => return Err(AuthError::EmailExists),
        }
        tracing::info!(user_id = %id, seq, with_email = code.is_some(), "user registered");
        count(Metric::Registered);
        if let Some((email, code, _)) = code {
            // The account exists either way; a lost message is logged.
            self.send_mail(email, &MailMessage::VerifyEmail { code })
                .await;
        }
        Ok(UserView {
            seq,
            id: input.id.into_string(),
            name: input.name.as_str().to_string(),
        })
    }

    /// Unknown id and wrong password take the same path (argon2 against a
    /// dummy hash) and give the same error. Each attempt first claims a slot
    /// in the account's and in the source's failure counter (conditional
    /// writes, so parallel attempts cannot overrun either limit) while the
    /// user is read; past either limit the login is refused before argon2
    /// runs, and gives back what it claimed. A failure keeps both slots; a
    /// success clears the account's counter and gives the source's slot
    /// back, in the transaction that creates the session.
    pub async fn login(
        &self,
        id: &str,
        password: &Password,
        client: ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        // Minting below uses the keys of now.
        self.keys_due().await;
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
        let source_counter = source_ip
            .as_deref()
            .map(|ip| ip_failures_key(&throttle_source(ip), window.index));
        let claim = |key: Option<String>, max: u64| async move {
            match key {
                Some(key) => store.reserve_attempt(&key, max, window.ends_at).await,
                None => Ok(true),
            }
        };
        let read_user = async {
            match plausible {
                true => store.get_user(id).await,
                false => Ok(None),
            }
        };
        // All three in one round trip of latency.
        let (user, account_claimed, source_claimed) = tokio::join!(
            read_user,
            claim(user_counter.clone(), limits.max_failures_per_user),
            claim(source_counter.clone(), limits.max_failures_per_ip),
        );
        // Whatever fails, a slot that was granted is given back: the attempt
        // never ran.
        let granted = |claimed: &Result<bool, StoreError>| matches!(claimed, Ok(true));
        let give_back = [
            (granted(&account_claimed), user_counter.as_deref()),
            (granted(&source_claimed), source_counter.as_deref()),
        ];
        let refusal = match (user, account_claimed, source_claimed) {
            (Ok(user), Ok(true), Ok(true)) => Ok(user),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Err(AuthError::from(e)),
            (_, account, _) => {
                let scope = if matches!(account, Ok(true)) {
                    "source"
                } else {
                    "account"
                };
                tracing::warn!(scope, source_ip = source_ip.as_deref(), "login throttled");
                count(Metric::LoginThrottled);
                Err(AuthError::TooManyAttempts {
                    retry_after_secs: window.retry_after(now),
                })
            }
        };
        let user = match refusal {
            Ok(user) => user,
            Err(refused) => {
                self.give_back(&give_back).await?;
                return Err(refused);
            }
        };

        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let verified = self.verify_password(stored, password.expose()).await?;
        let (Some(user), Some(user_counter)) = (user.filter(|_| verified), &user_counter) else {
            // Both slots stay counted: this was a failure.
            tracing::warn!(source_ip = source_ip.as_deref(), "login failed");
            count(Metric::LoginFailed);
            if plausible {
                // Into the account's trail if there is one; the same
                // transaction whether there is or not.
                let event = self.event(ActivityKind::SignInFailed, id, &client, false);
                if let Err(e) = store.record_failed_sign_in(&event).await {
                    // The answer stays "invalid credentials": losing the
                    // record of a refused attempt must not let it through
                    // or tell the client more.
                    count(Metric::StoreErrors);
                    let error = crate::error::display_chain(&e);
                    tracing::error!(%error, "failed sign-in not recorded");
                }
            }
            return Err(AuthError::InvalidCredentials);
        };

        if user.disabled {
            // Only the right password learns this; the attempt stays counted.
            tracing::warn!(user_id = %user.id, "login to a disabled account");
            count(Metric::LoginFailed);
            return Err(AuthError::AccountDisabled);
        }

        let session_id = Uuid::new_v4().to_string();
        let config = &self.inner.config;
        let expires_at = session_expiry(now, now, config.session_ttl, config.session_max_lifetime);
        let (bump_from, version) = match config.session_mode {
            SessionMode::Multi => (None, user.token_version),
            SessionMode::Single => (Some(user.token_version), user.token_version + 1),
        };
        let user_agent = bounded(client.user_agent.as_deref(), MAX_USER_AGENT_CHARS);
        let devices = device_key(user_agent.as_deref())
            .and_then(|device| remember_device(&user.devices, &device));
        let new_device = devices.is_some();
        let event = self.event(ActivityKind::SignedIn, &user.id, &client, new_device);
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
                user_counter,
                source_counter.as_deref().map(|key| (key, window.ends_at)),
                &event,
                devices.as_deref(),
            )
            .await;
        match created {
            Ok(()) => {}
            // Single-session mode raced another login or logout-all: nothing
            // was written, so the attempt gives back its slots; retrying is
            // the client's call.
            Err(e @ StoreError::AlreadyExists) => {
                let claimed = [
                    (true, Some(user_counter.as_str())),
                    (true, source_counter.as_deref()),
                ];
                self.give_back(&claimed).await?;
                return Err(AuthError::Unavailable(e));
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(
            user_id = %user.id,
            session = %session_tag(&session_id),
            source_ip = source_ip.as_deref(),
            new_device,
            "login"
        );
        count(Metric::LoginSucceeded);
        if new_device {
            count(Metric::NewDevice);
        }
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

    /// Gives back every granted slot (`(granted, counter)`), each tried even
    /// if another fails; the first failure is the result.
    async fn give_back(&self, slots: &[(bool, Option<&str>)]) -> Result<(), AuthError> {
        let mut result = Ok(());
        for (granted, key) in slots {
            if *granted {
                if let Err(e) = self.release(*key).await {
                    result = result.and(Err(e));
                }
            }
        }
        result
    }

    /// Gives back the attempt slot claimed in counter `key`, if any.
    pub(super) async fn release(&self, key: Option<&str>) -> Result<(), AuthError> {
        if let Some(key) = key {
            self.inner.store.release_attempt(key).await?;
        }
        Ok(())
    }
}

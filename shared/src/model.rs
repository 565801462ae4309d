//! The stored records and what a token claims about them: plain values,
//! shared by the rules (which judge them) and the store (which reads and
//! writes them).

/// A user item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub seq: u64,
    pub name: String,
    /// `None` when the read left it out (access decisions never read it).
    pub password_hash: Option<String>,
    /// Moves on at logout-all and password change: every session of an
    /// older version is dead.
    pub token_version: u64,
    /// The account's recent devices, newest first (empty when the read
    /// left them out).
    pub devices: Vec<String>,
    /// Its e-mail address (lower-cased), if it has one and the read asked.
    pub email: Option<String>,
    pub email_verified: bool,
    /// Disabled by an operator: no login, refresh or access decision
    /// accepts it.
    pub disabled: bool,
    /// When it registered (Unix seconds; 0 when unknown): its activity
    /// starts there, whatever an earlier account of the same id left.
    pub created_at: u64,
}

/// A one-time code sent by mail: to verify an address, or to reset a
/// password. Only its hash is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    pub user_id: String,
    /// The address it was sent to.
    pub email: String,
    pub code_hash: String,
    /// Wrong codes tried against it so far.
    pub attempts: u64,
    /// Unix seconds; also the DynamoDB TTL attribute.
    pub expires_at: u64,
}

/// A session item: one login on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub session_id: String,
    pub user_id: String,
    /// The user's token version when the session was created (or re-keyed).
    pub token_version: u64,
    /// Moves on at each refresh: only the newest refresh token is current.
    pub generation: u64,
    /// When the current generation began (ms); 0 when no refresh made it.
    pub rotated_at_ms: u64,
    /// Unix seconds; also the DynamoDB TTL attribute.
    pub expires_at: u64,
    pub created_at: u64,
    pub refreshed_at: u64,
    pub user_agent: Option<String>,
    pub source_ip: Option<String>,
}

/// What a verified token claims about its session, checked by every read
/// and conditional write that acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionClaim<'a> {
    pub session_id: &'a str,
    pub user_id: &'a str,
    pub generation: u64,
    pub version: u64,
}

/// A session to create at login.
pub struct NewSession<'a> {
    pub session_id: &'a str,
    pub user_id: &'a str,
    /// The user's token version this session belongs to.
    pub token_version: u64,
    pub now: u64,
    pub expires_at: u64,
    pub user_agent: Option<&'a str>,
    pub source_ip: Option<&'a str>,
}

/// What happened, in a user's security activity trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    /// A login; `new_device` when its device was not among the account's
    /// recent ones.
    SignedIn,
    /// A login with the account's id and a wrong password.
    SignInFailed,
    /// A rotated refresh token came back: its session was revoked.
    RefreshReplayed,
    /// The user ended one of their other sessions.
    SessionRevoked,
    PasswordChanged,
    /// This device signed out.
    SignedOut,
    /// Every session ended (logout-all).
    SignedOutEverywhere,
    /// Every session but the caller's ended (logout-others).
    SignedOutOthers,
    /// The password was set with a code sent by mail.
    PasswordReset,
    EmailVerified,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 10] = [
        ActivityKind::SignedIn,
        ActivityKind::SignInFailed,
        ActivityKind::RefreshReplayed,
        ActivityKind::SessionRevoked,
        ActivityKind::PasswordChanged,
        ActivityKind::SignedOut,
        ActivityKind::SignedOutEverywhere,
        ActivityKind::SignedOutOthers,
        ActivityKind::PasswordReset,
        ActivityKind::EmailVerified,
    ];

    /// Its name in the item and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::SignedIn => "signed_in",
            ActivityKind::SignInFailed => "sign_in_failed",
            ActivityKind::RefreshReplayed => "refresh_replayed",
            ActivityKind::SessionRevoked => "session_revoked",
            ActivityKind::PasswordChanged => "password_changed",
            ActivityKind::SignedOut => "signed_out",
            ActivityKind::SignedOutEverywhere => "signed_out_everywhere",
            ActivityKind::SignedOutOthers => "signed_out_others",
            ActivityKind::PasswordReset => "password_reset",
            ActivityKind::EmailVerified => "email_verified",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// One event of a user's security activity trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRecord {
    pub user_id: String,
    /// A UUID: with `at_ms`, the event's place in the trail.
    pub event_id: String,
    pub kind: ActivityKind,
    /// Unix milliseconds.
    pub at_ms: u64,
    /// Unix seconds; also the DynamoDB TTL attribute.
    pub expires_at: u64,
    /// Where the request that caused it came from.
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub new_device: bool,
}

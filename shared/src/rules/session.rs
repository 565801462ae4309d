//! Is this session valid, and why not; what a refresh that did not rotate
//! means. The clock is a parameter: `now` in Unix seconds (`Now` where
//! milliseconds matter).

use std::time::Duration;

use crate::clock::Now;
use crate::model::{SessionClaim, SessionRecord, UserRecord};

/// Why a token is not accepted. Logged, never shown to the client, who
/// always gets the same `invalid_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The JWT itself failed (signature, key, kind, time): which check.
    Token(&'static str),
    /// No such session (logged out, revoked, or never existed).
    SessionGone,
    /// The session's time ran out (DynamoDB's TTL deletes lazily).
    SessionExpired,
    /// The session or user belongs to someone else than the token's subject.
    OtherUser,
    /// The session has moved to another refresh generation.
    GenerationMoved,
    /// No such user (deleted).
    UserGone,
    /// The user's token version moved on (logout-all, password change).
    VersionMoved,
    /// An operator disabled the account.
    Disabled,
    /// A rotated refresh token came back; the session was revoked.
    ReplayRevoked,
}

impl Rejection {
    /// Its name as a metric dimension: short, fixed, snake case.
    pub fn metric_reason(self) -> &'static str {
        match self {
            Rejection::Token(_) => "bad_token",
            Rejection::SessionGone => "session_gone",
            Rejection::SessionExpired => "session_expired",
            Rejection::OtherUser => "other_user",
            Rejection::GenerationMoved => "generation_moved",
            Rejection::UserGone => "user_gone",
            Rejection::VersionMoved => "version_moved",
            Rejection::Disabled => "disabled",
            Rejection::ReplayRevoked => "replay_revoked",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Token(why) => why,
            Rejection::SessionGone => "session gone",
            Rejection::SessionExpired => "session expired",
            Rejection::OtherUser => "session of another user",
            Rejection::GenerationMoved => "refresh generation moved on",
            Rejection::UserGone => "user gone",
            Rejection::VersionMoved => "token version moved on",
            Rejection::Disabled => "account disabled",
            Rejection::ReplayRevoked => "refresh token replayed; session revoked",
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A session counts until `expires_at`, never on the TTL's say-so: DynamoDB
/// deletes expired items days late, so every read checks this.
pub fn is_live(expires_at: u64, now: u64) -> bool {
    expires_at > now
}

/// When a session created at `created_at` and refreshed (or created) at
/// `now` ends: `idle` after its last use, and never later than
/// `max_lifetime` after its login, however often it was refreshed.
pub fn session_expiry(now: u64, created_at: u64, idle: Duration, max_lifetime: Duration) -> u64 {
    now.saturating_add(idle.as_secs())
        .min(created_at.saturating_add(max_lifetime.as_secs()))
}

/// Whether a token of `claim` that the session's write refused is a
/// superseded token of a session that is still live: validly signed, its
/// user's version current, but a refresh generation behind. Someone else
/// rotated the session with this session's refresh token (the owner's
/// client never keeps an old pair), so logout and logout-all with it end
/// the session instead of refusing: the owner must be able to cut off a
/// thief who is one rotation ahead.
pub fn is_superseded_claim(claim: SessionClaim<'_>, current: &SessionRecord, now: u64) -> bool {
    current.user_id == claim.user_id
        && is_live(current.expires_at, now)
        && current.token_version == claim.version
        && current.generation > claim.generation
}

/// [`check_session`] as a condition on the session item: every write that
/// acts on a token (refresh, logout, logout-all, revoke, password change)
/// re-checks it, so a decision read a moment earlier cannot be raced.
/// Values: `:uid`, `:gen`, `:now`.
pub const SESSION_CLAIM_CONDITION: &str =
    "attribute_exists(pk) AND user_id = :uid AND generation = :gen AND expires_at > :now";

/// [`check_user`] as a condition on the user item. Value: `:ver`.
pub const USER_VERSION_CONDITION: &str = "token_version = :ver";

/// The session half of an access decision.
pub fn check_session(
    claim: SessionClaim<'_>,
    session: &SessionRecord,
    now: u64,
) -> Result<(), Rejection> {
    if session.user_id != claim.user_id {
        Err(Rejection::OtherUser)
    } else if !is_live(session.expires_at, now) {
        Err(Rejection::SessionExpired)
    } else if session.generation != claim.generation {
        Err(Rejection::GenerationMoved)
    } else {
        Ok(())
    }
}

/// The user half of an access decision.
pub fn check_user(claim: SessionClaim<'_>, user: &UserRecord) -> Result<(), Rejection> {
    if user.id != claim.user_id {
        Err(Rejection::OtherUser)
    } else if user.token_version != claim.version {
        Err(Rejection::VersionMoved)
    } else if user.disabled {
        // Disabling also moves the version; this holds should it not have.
        Err(Rejection::Disabled)
    } else {
        Ok(())
    }
}

/// The whole store half of an access decision: the session and user a
/// verified token names, as read (in one round trip) at `now`. Hands both
/// back when the token holds.
pub fn check_access(
    claim: SessionClaim<'_>,
    session: Option<SessionRecord>,
    user: Option<UserRecord>,
    now: u64,
) -> Result<(SessionRecord, UserRecord), Rejection> {
    let session = session.ok_or(Rejection::SessionGone)?;
    let user = user.ok_or(Rejection::UserGone)?;
    check_session(claim, &session, now)?;
    check_user(claim, &user)?;
    Ok((session, user))
}

/// Which sessions "my sessions" lists: live, at the user's current version.
/// [`LISTED_SESSION_FILTER`] is the same rule as a Query filter.
pub fn is_listed(session: &SessionRecord, user_version: u64, now: u64) -> bool {
    is_live(session.expires_at, now) && session.token_version == user_version
}

/// [`is_listed`] as a filter. Values: `:now`, `:ver`.
pub const LISTED_SESSION_FILTER: &str = "expires_at > :now AND token_version = :ver";

/// Whether the caller (`claim`) may revoke `target`: one of their own live
/// sessions at their version. [`REVOCABLE_SESSION_CONDITION`] enforces it.
pub fn may_revoke(claim: SessionClaim<'_>, target: &SessionRecord, now: u64) -> bool {
    target.user_id == claim.user_id && is_listed(target, claim.version, now)
}

/// [`may_revoke`] as a condition on the target session item. Values:
/// `:uid`, `:ver`, `:now`.
pub const REVOCABLE_SESSION_CONDITION: &str =
    "attribute_exists(pk) AND user_id = :uid AND token_version = :ver AND expires_at > :now";

/// What the rotation's conditional write (session at the claimed
/// generation per [`SESSION_CLAIM_CONDITION`], user per
/// [`USER_VERSION_CONDITION`]) answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// It committed: the session moved to the next generation.
    Committed,
    /// The user's version no longer matched.
    VersionChanged,
    /// The session was not as claimed; what is stored now (`None`: gone).
    Stale(Option<SessionRecord>),
}

/// What a refresh ends in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// New pair for the next generation.
    Rotate,
    /// The previous generation's token inside the reuse grace (a client
    /// retrying, or racing itself): the current generation's pair again.
    Reissue { generation: u64, expires_at: u64 },
    /// A rotated refresh token came back: someone holds a copy. Revoke the
    /// session so neither copy keeps working.
    RevokeReplay,
    /// The token is dead; nothing changes.
    Dead(Rejection),
}

/// Judges a refresh by what its rotation found.
pub fn refresh_outcome(
    claim: SessionClaim<'_>,
    rotation: &Rotation,
    now: Now,
    reuse_grace: Duration,
) -> RefreshOutcome {
    let session = match rotation {
        Rotation::Committed => return RefreshOutcome::Rotate,
        Rotation::VersionChanged => return RefreshOutcome::Dead(Rejection::VersionMoved),
        Rotation::Stale(None) => return RefreshOutcome::Dead(Rejection::SessionGone),
        Rotation::Stale(Some(session)) => session,
    };
    if session.user_id != claim.user_id {
        return RefreshOutcome::Dead(Rejection::OtherUser);
    }
    if !is_live(session.expires_at, now.secs) {
        return RefreshOutcome::Dead(Rejection::SessionExpired);
    }
    // A token of an older version (logout-all, password change) is dead,
    // not a replay: its session moved on legitimately, and stays. (The
    // user's own version was checked by the rotation, first.)
    if session.token_version != claim.version {
        return RefreshOutcome::Dead(Rejection::VersionMoved);
    }
    let grace_ms = reuse_grace.as_millis() as u64;
    let in_grace = grace_ms > 0
        && session.generation == claim.generation + 1
        && now.millis.saturating_sub(session.rotated_at_ms) <= grace_ms;
    if in_grace {
        RefreshOutcome::Reissue {
            generation: session.generation,
            expires_at: session.expires_at,
        }
    } else {
        RefreshOutcome::RevokeReplay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn claim() -> SessionClaim<'static> {
        SessionClaim {
            session_id: "s",
            user_id: "alice",
            generation: 3,
            version: 7,
        }
    }

    fn session() -> SessionRecord {
        SessionRecord {
            session_id: "s".into(),
            user_id: "alice".into(),
            token_version: 7,
            generation: 3,
            rotated_at_ms: NOW * 1000 - 60_000,
            expires_at: NOW + 100,
            created_at: NOW - 1000,
            refreshed_at: NOW - 60,
            user_agent: None,
            source_ip: None,
        }
    }

    fn user() -> UserRecord {
        UserRecord {
            id: "alice".into(),
            seq: 1,
            name: "Alice".into(),
            password_hash: None,
            token_version: 7,
            devices: Vec::new(),
            email: None,
            email_verified: false,
            disabled: false,
            created_at: NOW - 10_000,
        }
    }

    #[test]
    fn liveness_is_checked_against_the_clock_not_the_ttl() {
        assert!(is_live(NOW + 1, NOW));
        assert!(!is_live(NOW, NOW), "expires_at itself is already over");
        assert!(!is_live(NOW - 1, NOW));
        let (minute, day) = (Duration::from_secs(60), Duration::from_secs(86_400));
        assert_eq!(session_expiry(NOW, NOW, minute, day), NOW + 60);
        assert_eq!(
            session_expiry(u64::MAX - 1, u64::MAX - 1, minute, day),
            u64::MAX
        );
    }

    #[test]
    fn refreshes_never_extend_a_session_past_its_maximum_lifetime() {
        let (week, month) = (
            Duration::from_secs(7 * 86_400),
            Duration::from_secs(30 * 86_400),
        );
        let login = NOW;
        // Idle timeout first while the session is young ...
        assert_eq!(
            session_expiry(login, login, week, month),
            login + 7 * 86_400
        );
        let day_20 = login + 20 * 86_400;
        assert_eq!(
            session_expiry(day_20, login, week, month),
            login + 27 * 86_400
        );
        // ... then the absolute limit, whatever the refresh.
        let day_25 = login + 25 * 86_400;
        assert_eq!(
            session_expiry(day_25, login, week, month),
            login + 30 * 86_400
        );
        let day_29 = login + 29 * 86_400;
        assert_eq!(
            session_expiry(day_29, login, week, month),
            login + 30 * 86_400
        );
    }

    #[test]
    fn a_superseded_token_of_a_live_session_is_recognised() {
        let rotated = SessionRecord {
            generation: 4,
            ..session()
        };
        assert!(is_superseded_claim(claim(), &rotated, NOW));
        assert!(
            !is_superseded_claim(claim(), &session(), NOW),
            "current token"
        );
        let mut theirs = rotated.clone();
        theirs.user_id = "mallory".into();
        assert!(!is_superseded_claim(claim(), &theirs, NOW));
        assert!(
            !is_superseded_claim(claim(), &rotated, NOW + 100),
            "expired"
        );
        let rekeyed = SessionRecord {
            token_version: 8,
            ..rotated
        };
        assert!(
            !is_superseded_claim(claim(), &rekeyed, NOW),
            "older version"
        );
    }

    #[test]
    fn access_decision_every_branch() {
        let decide = |s, u, now| check_access(claim(), s, u, now).map(|_| ());
        let (s, u) = (session(), user());
        assert_eq!(decide(Some(s.clone()), Some(u.clone()), NOW), Ok(()));
        assert_eq!(
            decide(None, Some(u.clone()), NOW),
            Err(Rejection::SessionGone)
        );
        assert_eq!(decide(Some(s.clone()), None, NOW), Err(Rejection::UserGone));
        let expired = SessionRecord {
            expires_at: NOW,
            ..session()
        };
        assert_eq!(
            decide(Some(expired.clone()), Some(u.clone()), NOW),
            Err(Rejection::SessionExpired)
        );
        // The same session, read a second earlier, was fine.
        assert_eq!(
            decide(Some(expired.clone()), Some(u.clone()), NOW - 1),
            Ok(())
        );
        let rotated = SessionRecord {
            generation: 4,
            ..session()
        };
        assert_eq!(
            decide(Some(rotated.clone()), Some(u.clone()), NOW),
            Err(Rejection::GenerationMoved)
        );
        let theirs = SessionRecord {
            user_id: "mallory".into(),
            ..session()
        };
        assert_eq!(
            decide(Some(theirs.clone()), Some(u.clone()), NOW),
            Err(Rejection::OtherUser)
        );
        let other_user = UserRecord {
            id: "mallory".into(),
            ..user()
        };
        assert_eq!(
            decide(Some(s.clone()), Some(other_user.clone()), NOW),
            Err(Rejection::OtherUser)
        );
        let bumped = UserRecord {
            token_version: 8,
            ..user()
        };
        assert_eq!(
            decide(Some(s.clone()), Some(bumped.clone()), NOW),
            Err(Rejection::VersionMoved)
        );
        let disabled = UserRecord {
            disabled: true,
            ..user()
        };
        assert_eq!(
            decide(Some(s.clone()), Some(disabled), NOW),
            Err(Rejection::Disabled)
        );
    }

    #[test]
    fn listing_and_revoking() {
        let s = session();
        assert!(is_listed(&s, 7, NOW));
        assert!(!is_listed(&s, 8, NOW), "older version");
        assert!(!is_listed(&s, 7, NOW + 100), "expired");
        assert!(may_revoke(claim(), &s, NOW));
        let theirs = SessionRecord {
            user_id: "mallory".into(),
            ..session()
        };
        assert!(!may_revoke(claim(), &theirs, NOW));
        assert!(!may_revoke(claim(), &s, NOW + 100));
    }

    fn at(secs: u64, millis_into_it: u64) -> Now {
        Now {
            secs,
            millis: secs * 1000 + millis_into_it,
        }
    }

    const GRACE: Duration = Duration::from_secs(10);

    #[test]
    fn refresh_rotates_when_the_write_committed() {
        assert_eq!(
            refresh_outcome(claim(), &Rotation::Committed, at(NOW, 0), GRACE),
            RefreshOutcome::Rotate
        );
    }

    #[test]
    fn refresh_of_a_dead_session_changes_nothing() {
        let dead = |rotation, why| {
            assert_eq!(
                refresh_outcome(claim(), &rotation, at(NOW, 0), GRACE),
                RefreshOutcome::Dead(why)
            )
        };
        dead(Rotation::VersionChanged, Rejection::VersionMoved);
        dead(Rotation::Stale(None), Rejection::SessionGone);
        let stale = |s: SessionRecord| Rotation::Stale(Some(s));
        dead(
            stale(SessionRecord {
                user_id: "mallory".into(),
                ..session()
            }),
            Rejection::OtherUser,
        );
        dead(
            stale(SessionRecord {
                expires_at: NOW,
                ..session()
            }),
            Rejection::SessionExpired,
        );
        // After logout-all/password change: the session moved on
        // legitimately; not a replay, so it is not revoked.
        dead(
            stale(SessionRecord {
                token_version: 8,
                generation: 4,
                ..session()
            }),
            Rejection::VersionMoved,
        );
    }

    #[test]
    fn refresh_reuse_within_the_grace_reissues_and_after_it_revokes() {
        let now = at(NOW, 500);
        let just_rotated = |ms_ago: u64, generation| SessionRecord {
            generation,
            rotated_at_ms: now.millis - ms_ago,
            ..session()
        };
        let outcome = |s, grace| refresh_outcome(claim(), &Rotation::Stale(Some(s)), now, grace);
        assert_eq!(
            outcome(just_rotated(10_000, 4), GRACE),
            RefreshOutcome::Reissue {
                generation: 4,
                expires_at: NOW + 100
            },
            "exactly at the grace's end still counts"
        );
        assert_eq!(
            outcome(just_rotated(10_001, 4), GRACE),
            RefreshOutcome::RevokeReplay
        );
        assert_eq!(
            outcome(just_rotated(0, 5), GRACE),
            RefreshOutcome::RevokeReplay,
            "two generations behind is never a retry"
        );
        assert_eq!(
            outcome(just_rotated(0, 4), Duration::ZERO),
            RefreshOutcome::RevokeReplay,
            "grace 0 means every reuse revokes"
        );
    }
}

//! The account lifecycle's rules: one-time codes sent by mail (how they are
//! made, stored and judged) and where a new account's token versions start.
//! The clock is a parameter: `now` in Unix seconds.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::model::CodeRecord;

/// Wrong codes a code survives: the fifth wrong one kills it.
pub const MAX_CODE_ATTEMPTS: u64 = 5;
/// How long a password-reset code works.
pub const RESET_CODE_TTL: Duration = Duration::from_secs(15 * 60);
/// How long an address-verification code works.
pub const VERIFY_CODE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// What a code is for: part of its hash, so a code of one kind can never
/// pass for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    VerifyEmail,
    ResetPassword,
}

impl CodePurpose {
    fn as_str(self) -> &'static str {
        match self {
            CodePurpose::VerifyEmail => "verify-email",
            CodePurpose::ResetPassword => "reset-password",
        }
    }
}

/// A fresh 6-digit code from the OS's CSPRNG (a v4 UUID's 122 random bits,
/// reduced mod 10^6: the bias is below 2^-100).
pub fn new_code() -> String {
    let random = uuid::Uuid::new_v4().as_u128() & ((1u128 << 122) - 1);
    format!("{:06}", random % 1_000_000)
}

/// What is stored for `code`: SHA-256 over its purpose, the account (or
/// address) it was sent for and the code, hex. Never the code itself; the
/// subject in the hash means a hash copied onto another item does not work
/// there.
pub fn code_hash(purpose: CodePurpose, subject: &str, code: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [purpose.as_str(), subject, code] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why a presented code does not count. Logged, never shown: the client
/// always gets the same `invalid_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRejection {
    /// No code was sent (or it was used, or its item is gone).
    NoCode,
    Expired,
    /// Tried wrong [`MAX_CODE_ATTEMPTS`] times already.
    Exhausted,
    /// Sent for another address than the one it is presented with.
    OtherAddress,
    Wrong,
}

impl CodeRejection {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeRejection::NoCode => "no code",
            CodeRejection::Expired => "code expired",
            CodeRejection::Exhausted => "code tried too often",
            CodeRejection::OtherAddress => "code of another address",
            CodeRejection::Wrong => "wrong code",
        }
    }

    /// Whether the attempt counts against the code (a wrong guess at a
    /// live code does; the others have nothing left to count on).
    pub fn counts_attempt(self) -> bool {
        self == CodeRejection::Wrong
    }
}

/// Is `presented` the code `record` was made for, at `now`, and why not.
/// `expected_hash` is [`code_hash`] of the presented code.
pub fn check_code(
    record: Option<&CodeRecord>,
    email: Option<&str>,
    expected_hash: &str,
    now: u64,
) -> Result<(), CodeRejection> {
    let record = record.ok_or(CodeRejection::NoCode)?;
    if record.expires_at <= now {
        Err(CodeRejection::Expired)
    } else if record.attempts >= MAX_CODE_ATTEMPTS {
        Err(CodeRejection::Exhausted)
    } else if email.is_some_and(|email| email != record.email) {
        Err(CodeRejection::OtherAddress)
    } else if !same_bytes(record.code_hash.as_bytes(), expected_hash.as_bytes()) {
        Err(CodeRejection::Wrong)
    } else {
        Ok(())
    }
}

/// [`check_code`] as the condition on the code item of the write that uses
/// it: a code is used once however many requests race with it. Values:
/// `:hash`, `:max`, `:now`.
pub const USABLE_CODE_CONDITION: &str =
    "code_hash = :hash AND attempts < :max AND expires_at > :now";

/// The condition on counting a wrong guess: only at a live code. Values:
/// `:max`, `:now`.
pub const LIVE_CODE_CONDITION: &str = "attempts < :max AND expires_at > :now";

/// Compares without stopping at the first difference.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Token versions of one incarnation of an id stay below the next one's
/// start, as long as it was bumped fewer than 2^20 times.
pub const VERSION_SPACE_BITS: u32 = 20;

/// The token version a new account starts at: `seq` × 2^20. `seq` is never
/// handed out twice, so an id that is deleted and registered again starts
/// above every version its earlier incarnation used: no token, session or
/// write conditioned on an old version can pass for the new account.
pub fn initial_token_version(seq: u64) -> u64 {
    seq.saturating_mul(1 << VERSION_SPACE_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn record(code: &str) -> CodeRecord {
        CodeRecord {
            user_id: "alice".into(),
            email: "alice@example.com".into(),
            code_hash: code_hash(CodePurpose::ResetPassword, "alice@example.com", code),
            attempts: 0,
            expires_at: NOW + 60,
        }
    }

    fn check(
        record: Option<&CodeRecord>,
        email: &str,
        code: &str,
        now: u64,
    ) -> Result<(), CodeRejection> {
        let hash = code_hash(CodePurpose::ResetPassword, email, code);
        check_code(record, Some(email), &hash, now)
    }

    #[test]
    fn codes_are_six_digits_and_differ() {
        let codes: Vec<String> = (0..50).map(|_| new_code()).collect();
        assert!(codes
            .iter()
            .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())));
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert!(distinct.len() > 40, "{codes:?}");
    }

    #[test]
    fn the_hash_binds_purpose_subject_and_code() {
        let h = code_hash(CodePurpose::ResetPassword, "a@example.com", "123456");
        assert_eq!(h.len(), 64);
        assert!(!h.contains("123456"));
        assert_ne!(
            h,
            code_hash(CodePurpose::VerifyEmail, "a@example.com", "123456")
        );
        assert_ne!(
            h,
            code_hash(CodePurpose::ResetPassword, "b@example.com", "123456")
        );
        assert_ne!(
            h,
            code_hash(CodePurpose::ResetPassword, "a@example.com", "123457")
        );
    }

    #[test]
    fn a_code_counts_once_live_untried_and_right() {
        let r = record("123456");
        let email = "alice@example.com";
        assert_eq!(check(Some(&r), email, "123456", NOW), Ok(()));
        assert_eq!(
            check(None, email, "123456", NOW),
            Err(CodeRejection::NoCode)
        );
        assert_eq!(
            check(Some(&r), email, "654321", NOW),
            Err(CodeRejection::Wrong)
        );
        assert_eq!(
            check(Some(&r), email, "123456", NOW + 60),
            Err(CodeRejection::Expired)
        );
        let tried = CodeRecord {
            attempts: MAX_CODE_ATTEMPTS,
            ..r.clone()
        };
        assert_eq!(
            check(Some(&tried), email, "123456", NOW),
            Err(CodeRejection::Exhausted)
        );
        assert_eq!(
            check(Some(&r), "mallory@example.com", "123456", NOW),
            Err(CodeRejection::OtherAddress)
        );
        assert!(CodeRejection::Wrong.counts_attempt());
        assert!(!CodeRejection::Expired.counts_attempt());
    }

    #[test]
    fn incarnations_of_an_id_never_share_a_version() {
        assert_eq!(initial_token_version(0), 0);
        let first = initial_token_version(7);
        let bumped_a_lot = first + (1 << VERSION_SPACE_BITS) - 1;
        assert!(bumped_a_lot < initial_token_version(8));
        assert_eq!(initial_token_version(u64::MAX), u64::MAX);
    }
}

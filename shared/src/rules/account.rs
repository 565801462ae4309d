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
    /// No live code to try: none was sent, or it was used, expired or tried
    /// [`MAX_CODE_ATTEMPTS`] times (the attempt's claim found none).
    NoCode,
    /// Sent for another address than the one it is presented with.
    OtherAddress,
    Wrong,
}

impl CodeRejection {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeRejection::NoCode => "no live code",
            CodeRejection::OtherAddress => "code of another address",
            CodeRejection::Wrong => "wrong code",
        }
    }
}

/// Is the presented code (`expected_hash`, its [`code_hash`]) the one
/// `claimed` was made for, and why not. `claimed` is the code as the
/// attempt's claim left it ([`CLAIM_ATTEMPT_CONDITION`]): the try is
/// counted before it is judged, so parallel guesses cannot outrun the limit.
pub fn check_code(
    claimed: Option<&CodeRecord>,
    email: Option<&str>,
    expected_hash: &str,
) -> Result<(), CodeRejection> {
    let record = claimed.ok_or(CodeRejection::NoCode)?;
    if email.is_some_and(|email| email != record.email) {
        Err(CodeRejection::OtherAddress)
    } else if !same_bytes(record.code_hash.as_bytes(), expected_hash.as_bytes()) {
        Err(CodeRejection::Wrong)
    } else {
        Ok(())
    }
}

/// The condition on claiming one try of a code (`ADD attempts 1`): it is
/// live and has tries left. A missing item fails it, so an unknown address
/// costs the same one write. Values: `:max`, `:now`.
pub const CLAIM_ATTEMPT_CONDITION: &str = "attempts < :max AND expires_at > :now";

/// The condition on the code item of the write that uses it (after its try
/// was claimed): a code is used once however many requests race with it.
/// Values: `:hash`, `:max`, `:now`.
pub const USABLE_CODE_CONDITION: &str =
    "code_hash = :hash AND attempts <= :max AND expires_at > :now";

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

    fn check(record: Option<&CodeRecord>, email: &str, code: &str) -> Result<(), CodeRejection> {
        let hash = code_hash(CodePurpose::ResetPassword, email, code);
        check_code(record, Some(email), &hash)
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
    fn a_claimed_code_counts_when_it_is_the_right_one_for_the_address() {
        let r = record("123456");
        let email = "alice@example.com";
        assert_eq!(check(Some(&r), email, "123456"), Ok(()));
        assert_eq!(check(None, email, "123456"), Err(CodeRejection::NoCode));
        assert_eq!(check(Some(&r), email, "654321"), Err(CodeRejection::Wrong));
        assert_eq!(
            check(Some(&r), "mallory@example.com", "123456"),
            Err(CodeRejection::OtherAddress)
        );
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

//! Argon2id password hashing with OWASP's parameters (m=19456 KiB, t=2, p=1).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub const M_COST_KIB: u32 = 19_456;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;

/// A hash of a random, discarded password with the same parameters as real
/// ones: verifying against it when the user does not exist makes "unknown
/// user" cost the same time as "wrong password". A constant so that cold
/// start pays nothing for it; a test keeps its parameters in step.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$dG9rZW5nYXRlLWR1bW15LXNhbHQ$/YaIsqBdl3rvhjHFzXJfXeHEwrsH8qeNM2Oe9zhG5hA";

/// Makes glibc give argon2's memory back to the OS after every hash.
///
/// Each hash or verification allocates one 19 MiB block. glibc's mmap
/// threshold adapts upwards after such a block is freed, so later ones come
/// from the thread's heap arena and stay there: peak RSS grew with every
/// blocking thread that ever hashed (the password function reached 146 MiB
/// after four invocations, 32 MiB with a fixed threshold; see BENCHMARKS.md).
/// A fixed 1 MiB threshold maps each such block on its own and unmaps it on
/// free. Call once, first thing in `main`, in processes that hash passwords.
pub fn return_hash_memory_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator, under its own lock; it
    // touches no memory of ours and may be called at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError;

#[derive(Clone)]
pub struct Passwords {
    argon2: Argon2<'static>,
    /// Verifications run so far (shared by clones): lets tests prove that a
    /// throttled login costs no argon2 work.
    verifications: Arc<AtomicU64>,
}

impl Default for Passwords {
    fn default() -> Self {
        let params = Params::new(M_COST_KIB, T_COST, P_COST, None).expect("valid argon2 params");
        Passwords {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            verifications: Arc::default(),
        }
    }
}

impl Passwords {
    /// Hashes `password` into a PHC string. CPU-bound (tens of ms): call it
    /// from `spawn_blocking` in async code.
    pub fn hash(&self, password: &str) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| HashError)
    }

    /// Verifies `password` against `stored`, or against the dummy hash when
    /// there is no user, so both paths do the same work. Never true for `None`.
    pub fn verify(&self, stored: Option<&str>, password: &str) -> bool {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let hash = stored.unwrap_or(DUMMY_HASH);
        let ok = match PasswordHash::new(hash) {
            Ok(parsed) => self
                .argon2
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => {
                tracing::error!("stored password hash is not a valid PHC string");
                false
            }
        };
        ok && stored.is_some()
    }
}

impl Passwords {
    /// How many verifications this instance (and its clones) has run.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let p = Passwords::default();
        let hash = p.hash("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(p.verify(Some(&hash), "correct horse battery"));
        assert!(!p.verify(Some(&hash), "correct horse battery!"));
    }

    #[test]
    fn salts_differ() {
        let p = Passwords::default();
        assert_ne!(
            p.hash("same password").unwrap(),
            p.hash("same password").unwrap()
        );
    }

    #[test]
    fn dummy_hash_matches_real_parameters() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        let real = Passwords::default().hash("x").unwrap();
        let real = PasswordHash::new(&real).unwrap();
        assert_eq!(parsed.algorithm, real.algorithm);
        assert_eq!(parsed.version, real.version);
        assert_eq!(parsed.params, real.params);
        assert_eq!(
            parsed.hash.map(|h| h.len()),
            real.hash.map(|h| h.len()),
            "same output length, same work"
        );
    }

    #[test]
    fn no_user_never_verifies() {
        let p = Passwords::default();
        assert!(!p.verify(None, ""));
        assert!(!p.verify(None, "anything at all"));
    }

    #[test]
    fn garbage_hash_fails_closed() {
        assert!(!Passwords::default().verify(Some("not-a-phc-string"), "pw"));
    }
}

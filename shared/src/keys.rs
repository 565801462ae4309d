//! Which key signs tokens and which keys verify them.
//!
//! One current key (HS256 secret, Ed25519 or P-256) plus any number of
//! verification-only keys from earlier (or upcoming) rotations. With
//! EdDSA/ES256 a function that only verifies gets the current *public* key
//! (`JWT_PUBLIC_KEY`) and cannot sign: only login, refresh and password change
//! hold the private key. Every key has a `kid`
//! derived from the key itself (the RFC 7638 thumbprint of its JWK, shortened),
//! so a key keeps its `kid` when it moves from "current" to "previous" and
//! tokens it signed keep verifying until they expire. Each key pins its own
//! algorithm: a token is checked only with the key its `kid` names, and only
//! if its `alg` is that key's algorithm.

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use crate::env::{ConfigError, Env};

/// Shortest HS256 secret accepted (RFC 7518 §3.2: key >= hash output size).
pub const MIN_SECRET_BYTES: usize = 32;

/// Characters of the JWK thumbprint kept as `kid` (96 bits).
const KID_CHARS: usize = 16;

/// A key that verifies tokens (every signing key is one too).
#[derive(Clone)]
pub struct VerificationKey {
    pub kid: String,
    pub algorithm: Algorithm,
    pub decoding: DecodingKey,
    /// The public JWK; `None` for HMAC secrets, which are never published.
    pub public_jwk: Option<Jwk>,
    /// A retired key's last moment (Unix seconds): from then on it verifies
    /// nothing and is no longer published (`JWT_PREVIOUS_NOT_AFTER`).
    pub not_after: Option<u64>,
}

impl VerificationKey {
    /// Whether the key still verifies at `now`.
    pub fn usable_at(&self, now: u64) -> bool {
        self.not_after.is_none_or(|end| now < end)
    }
}

/// The private half of the current key.
#[derive(Clone)]
pub struct SigningKey {
    pub algorithm: Algorithm,
    pub encoding: EncodingKey,
}

/// All key material, parsed and checked at cold start.
#[derive(Clone)]
pub struct KeyConfig {
    /// The current key; new tokens carry its `kid`.
    pub current: VerificationKey,
    /// `None`: this function only verifies.
    pub signing: Option<SigningKey>,
    /// Verification-only keys of other rotations.
    pub previous: Vec<VerificationKey>,
}

fn invalid(name: &'static str, expected: &'static str) -> ConfigError {
    // Never echo key material back: the value is replaced.
    ConfigError::redacted(name, expected)
}

/// PEM from an environment variable, where newlines may arrive as `\n`.
fn pem_text(raw: &str) -> String {
    raw.trim().replace("\\n", "\n")
}

fn kid_of(jwk: &Jwk) -> Option<String> {
    let thumbprint = jwk.thumbprint(ThumbprintHash::SHA256).ok()?;
    Some(thumbprint.chars().take(KID_CHARS).collect())
}

fn published(mut jwk: Jwk, kid: &str, algorithm: Algorithm) -> Jwk {
    jwk.common.key_id = Some(kid.to_string());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(algorithm.into());
    jwk
}

/// ES256 is P-256 only: a P-384 key must not be published as ES256.
fn is_ed25519_or_p256(jwk: &Jwk) -> bool {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(p) => p.curve == EllipticCurve::P256,
        AlgorithmParameters::OctetKeyPair(p) => p.curve == EllipticCurve::Ed25519,
        _ => false,
    }
}

impl VerificationKey {
    fn hmac(secret: &[u8], name: &'static str) -> Result<Self, ConfigError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(if name == "JWT_SECRET" {
                ConfigError::SecretTooShort {
                    got: secret.len(),
                    min: MIN_SECRET_BYTES,
                }
            } else {
                invalid(name, "at least 32 bytes")
            });
        }
        let jwk = Jwk::from_encoding_key(&EncodingKey::from_secret(secret), Algorithm::HS256)
            .map_err(|_| invalid(name, "an HMAC secret"))?;
        Ok(VerificationKey {
            kid: kid_of(&jwk).ok_or_else(|| invalid(name, "an HMAC secret"))?,
            algorithm: Algorithm::HS256,
            decoding: DecodingKey::from_secret(secret),
            public_jwk: None,
            not_after: None,
        })
    }

    /// A verification key from the public JWK of an asymmetric key.
    fn public(jwk: Jwk, algorithm: Algorithm, name: &'static str) -> Result<Self, ConfigError> {
        let kid = kid_of(&jwk).ok_or_else(|| invalid(name, "an Ed25519 or P-256 key"))?;
        let decoding =
            DecodingKey::from_jwk(&jwk).map_err(|_| invalid(name, "an Ed25519 or P-256 key"))?;
        Ok(VerificationKey {
            public_jwk: Some(published(jwk, &kid, algorithm)),
            kid,
            algorithm,
            decoding,
            not_after: None,
        })
    }

    /// Public keys in PEM (`-----BEGIN PUBLIC KEY-----`), Ed25519 or P-256.
    fn from_public_pems(raw: &str, name: &'static str) -> Result<Vec<Self>, ConfigError> {
        const END: &str = "-----END PUBLIC KEY-----";
        let text = pem_text(raw);
        let mut keys = Vec::new();
        for block in text
            .split_inclusive(END)
            .map(str::trim)
            .filter(|b| !b.is_empty())
        {
            let (decoding, algorithm) = DecodingKey::from_ed_pem(block.as_bytes())
                .map(|k| (k, Algorithm::EdDSA))
                .or_else(|_| {
                    DecodingKey::from_ec_pem(block.as_bytes()).map(|k| (k, Algorithm::ES256))
                })
                .map_err(|_| invalid(name, "PEM public keys (Ed25519 or P-256)"))?;
            let jwk = Jwk::from_decoding_key(&decoding, Some(algorithm))
                .map_err(|_| invalid(name, "PEM public keys (Ed25519 or P-256)"))?;
            if !is_ed25519_or_p256(&jwk) {
                return Err(invalid(name, "PEM public keys (Ed25519 or P-256)"));
            }
            keys.push(Self::public(jwk, algorithm, name)?);
        }
        Ok(keys)
    }
}

/// `JWT_ALGORITHM`: `HS256` (default), `EdDSA` or `ES256`.
fn algorithm(env: &Env) -> Result<Algorithm, ConfigError> {
    Ok(
        match env.choice("JWT_ALGORITHM", &["HS256", "EdDSA", "ES256"])? {
            "EdDSA" => Algorithm::EdDSA,
            "ES256" => Algorithm::ES256,
            _ => Algorithm::HS256,
        },
    )
}

/// `JWT_PREVIOUS_NOT_AFTER`: Unix seconds after which the previous keys
/// stop verifying: one number for all of them, or `kid=seconds` pairs,
/// comma-separated, for one key each (a kid is in the JWKS and the logs).
fn retire(previous: &mut [VerificationKey], raw: &str) -> Result<(), ConfigError> {
    const EXPECTED: &str = "Unix seconds, or kid=seconds pairs naming previous keys";
    let seconds = |v: &str| {
        v.trim().parse::<u64>().map_err(|_| ConfigError::Invalid {
            name: "JWT_PREVIOUS_NOT_AFTER",
            expected: EXPECTED.into(),
            value: raw.to_string(),
        })
    };
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            None => {
                let end = seconds(part)?;
                previous.iter_mut().for_each(|k| k.not_after = Some(end));
            }
            Some((kid, end)) => {
                let end = seconds(end)?;
                let key = previous
                    .iter_mut()
                    .find(|k| k.kid == kid.trim())
                    .ok_or_else(|| ConfigError::Invalid {
                        name: "JWT_PREVIOUS_NOT_AFTER",
                        expected: EXPECTED.into(),
                        value: raw.to_string(),
                    })?;
                key.not_after = Some(end);
            }
        }
    }
    Ok(())
}

impl KeyConfig {
    /// Reads `JWT_ALGORITHM` (`HS256` default, `EdDSA`, `ES256`), then
    /// `JWT_SECRET` (HS256) or `JWT_PRIVATE_KEY` (PKCS#8 PEM) and/or
    /// `JWT_PUBLIC_KEY` (PEM; alone: verify only), and the verification-only
    /// `JWT_PREVIOUS_PUBLIC_KEYS` (PEM) and `JWT_PREVIOUS_SECRET`.
    pub fn read(env: &Env) -> Result<Self, ConfigError> {
        let get = |name: &'static str| env.get(name);
        let algorithm = algorithm(env)?;
        let (current, signing) = match algorithm {
            Algorithm::HS256 => {
                let secret = get("JWT_SECRET").ok_or(ConfigError::Missing("JWT_SECRET"))?;
                let current = VerificationKey::hmac(secret.as_bytes(), "JWT_SECRET")?;
                let encoding = EncodingKey::from_secret(secret.as_bytes());
                (
                    current,
                    Some(SigningKey {
                        algorithm,
                        encoding,
                    }),
                )
            }
            _ => Self::asymmetric(algorithm, &get)?,
        };

        let mut previous = match get("JWT_PREVIOUS_PUBLIC_KEYS") {
            Some(pems) => VerificationKey::from_public_pems(&pems, "JWT_PREVIOUS_PUBLIC_KEYS")?,
            None => Vec::new(),
        };
        if let Some(secret) = get("JWT_PREVIOUS_SECRET") {
            previous.push(VerificationKey::hmac(
                secret.as_bytes(),
                "JWT_PREVIOUS_SECRET",
            )?);
        }
        // The current key wins over a previous one with the same kid.
        previous.retain(|k| k.kid != current.kid);
        if let Some(raw) = get("JWT_PREVIOUS_NOT_AFTER") {
            retire(&mut previous, &raw)?;
        }
        Ok(KeyConfig {
            current,
            signing,
            previous,
        })
    }

    /// For tests: [`KeyConfig::read`] through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(&Env::new(lookup))
    }

    /// The current EdDSA/ES256 key: from the private key (which then signs),
    /// or from the public key alone (verify only). Given both, they must be
    /// the two halves of one key.
    fn asymmetric(
        algorithm: Algorithm,
        get: &impl Fn(&'static str) -> Option<String>,
    ) -> Result<(VerificationKey, Option<SigningKey>), ConfigError> {
        let (private_expected, public_expected) = if algorithm == Algorithm::EdDSA {
            (
                "an Ed25519 private key in PKCS#8 PEM (`make keygen ALG=EdDSA`)",
                "an Ed25519 public key in PEM",
            )
        } else {
            (
                "a P-256 private key in PKCS#8 PEM (`make keygen ALG=ES256`)",
                "a P-256 public key in PEM",
            )
        };
        let public = match get("JWT_PUBLIC_KEY") {
            Some(pem) => {
                let mut keys = VerificationKey::from_public_pems(&pem, "JWT_PUBLIC_KEY")?;
                match (keys.pop(), keys.is_empty()) {
                    (Some(key), true) if key.algorithm == algorithm => Some(key),
                    _ => return Err(invalid("JWT_PUBLIC_KEY", public_expected)),
                }
            }
            None => None,
        };
        let Some(private) = get("JWT_PRIVATE_KEY") else {
            return match public {
                Some(key) => Ok((key, None)),
                None => Err(ConfigError::Missing("JWT_PRIVATE_KEY")),
            };
        };
        let pem = pem_text(&private);
        let encoding = match algorithm {
            Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
            _ => EncodingKey::from_ec_pem(pem.as_bytes()),
        }
        .map_err(|_| invalid("JWT_PRIVATE_KEY", private_expected))?;
        let jwk = Jwk::from_encoding_key(&encoding, algorithm)
            .map_err(|_| invalid("JWT_PRIVATE_KEY", private_expected))?;
        if !is_ed25519_or_p256(&jwk) {
            return Err(invalid("JWT_PRIVATE_KEY", private_expected));
        }
        let current = VerificationKey::public(jwk, algorithm, "JWT_PRIVATE_KEY")?;
        if public.is_some_and(|p| p.kid != current.kid) {
            return Err(invalid(
                "JWT_PUBLIC_KEY",
                "the public half of JWT_PRIVATE_KEY (or unset)",
            ));
        }
        Ok((
            current,
            Some(SigningKey {
                algorithm,
                encoding,
            }),
        ))
    }

    /// The keys to publish, without reading any secret, each with its
    /// not-after (the publisher filters at the time it serves): in HS256
    /// mode only the previous public keys (a symmetric key is never
    /// published), else the current key's public half as well. For the JWKS
    /// function.
    pub fn publishable(env: &Env) -> Result<Vec<(Jwk, Option<u64>)>, ConfigError> {
        let keys = match algorithm(env)? {
            Algorithm::HS256 => {
                let mut previous = match env.get("JWT_PREVIOUS_PUBLIC_KEYS") {
                    Some(pems) => {
                        VerificationKey::from_public_pems(&pems, "JWT_PREVIOUS_PUBLIC_KEYS")?
                    }
                    None => Vec::new(),
                };
                if let Some(raw) = env.get("JWT_PREVIOUS_NOT_AFTER") {
                    retire(&mut previous, &raw)?;
                }
                previous
            }
            _ => {
                let keys = Self::read(env)?;
                keys.verification_keys().cloned().collect()
            }
        };
        Ok(keys
            .into_iter()
            .filter_map(|k| k.public_jwk.map(|jwk| (jwk, k.not_after)))
            .collect())
    }

    /// [`KeyConfig::publishable`] as the key set published now.
    pub fn public_jwks(env: &Env) -> Result<JwkSet, ConfigError> {
        let now = crate::clock::now_secs();
        Ok(JwkSet {
            keys: Self::publishable(env)?
                .into_iter()
                .filter(|(_, end)| end.is_none_or(|end| now < end))
                .map(|(jwk, _)| jwk)
                .collect(),
        })
    }

    /// Every key that verifies, the current one first.
    pub fn verification_keys(&self) -> impl Iterator<Item = &VerificationKey> {
        std::iter::once(&self.current).chain(&self.previous)
    }

    /// The public keys, as RFC 7517 JWKs: never a private or symmetric key,
    /// nor a retired one past its not-after.
    pub fn jwks(&self) -> JwkSet {
        let now = crate::clock::now_secs();
        JwkSet {
            keys: self
                .verification_keys()
                .filter(|k| k.usable_at(now))
                .filter_map(|k| k.public_jwk.clone())
                .collect(),
        }
    }
}

// Hand-written so key material never reaches a log line through `{:?}`.
impl std::fmt::Debug for KeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.previous.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("KeyConfig")
            .field("algorithm", &self.current.algorithm)
            .field("kid", &self.current.kid)
            .field("signs", &self.signing.is_some())
            .field("previous_kids", &kids)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const ED_A: &str = include_str!("../../tests/fixtures/keys/ed25519-a.pem");
    const ED_A_PUB: &str = include_str!("../../tests/fixtures/keys/ed25519-a.pub.pem");
    const ED_B_PUB: &str = include_str!("../../tests/fixtures/keys/ed25519-b.pub.pem");
    const P256_A: &str = include_str!("../../tests/fixtures/keys/p256-a.pem");
    const P256_A_PUB: &str = include_str!("../../tests/fixtures/keys/p256-a.pub.pem");
    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn keys(vars: &[(&str, &str)]) -> Result<KeyConfig, ConfigError> {
        let map: HashMap<&str, String> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
        KeyConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn hs256_is_the_default_and_never_published() {
        let k = keys(&[("JWT_SECRET", SECRET)]).unwrap();
        assert_eq!(k.current.algorithm, Algorithm::HS256);
        assert!(k.signing.is_some());
        assert_eq!(k.current.kid.len(), KID_CHARS);
        assert!(k.jwks().keys.is_empty());
        let again = keys(&[("JWT_SECRET", SECRET)]).unwrap();
        assert_eq!(k.current.kid, again.current.kid);
        let other = keys(&[("JWT_SECRET", &"x".repeat(32))]).unwrap();
        assert_ne!(k.current.kid, other.current.kid);
    }

    #[test]
    fn asymmetric_keys_publish_their_public_half_only() {
        for (alg, pem, name) in [("EdDSA", ED_A, "EdDSA"), ("ES256", P256_A, "ES256")] {
            let k = keys(&[("JWT_ALGORITHM", alg), ("JWT_PRIVATE_KEY", pem)]).unwrap();
            let jwks = serde_json::to_value(k.jwks()).unwrap();
            let key = &jwks["keys"][0];
            assert_eq!(key["alg"], name);
            assert_eq!(key["use"], "sig");
            assert_eq!(key["kid"], k.current.kid.as_str());
            assert!(key.get("d").is_none() && key.get("k").is_none(), "{key}");
        }
    }

    #[test]
    fn a_key_keeps_its_kid_from_current_to_previous() {
        let current = keys(&[("JWT_ALGORITHM", "EdDSA"), ("JWT_PRIVATE_KEY", ED_A)]).unwrap();
        let both = format!("{P256_A_PUB}{ED_A_PUB}");
        let rotated = keys(&[
            ("JWT_ALGORITHM", "ES256"),
            ("JWT_PRIVATE_KEY", P256_A),
            // Escaped newlines, as an environment variable may carry them.
            (
                "JWT_PREVIOUS_PUBLIC_KEYS",
                &format!("{ED_B_PUB}{both}").replace('\n', "\\n"),
            ),
            ("JWT_PREVIOUS_SECRET", SECRET),
        ])
        .unwrap();
        let kids: Vec<&str> = rotated
            .verification_keys()
            .map(|k| k.kid.as_str())
            .collect();
        assert_eq!(kids.len(), 4, "current P-256 listed once: {kids:?}");
        assert!(kids.contains(&current.current.kid.as_str()));
        // Three public keys published, the HMAC secret not.
        assert_eq!(rotated.jwks().keys.len(), 3);
    }

    #[test]
    fn bad_key_material_is_refused_without_echoing_it() {
        for vars in [
            vec![("JWT_ALGORITHM", "EdDSA"), ("JWT_PRIVATE_KEY", "not a pem")],
            vec![("JWT_ALGORITHM", "EdDSA"), ("JWT_PRIVATE_KEY", P256_A)],
            vec![("JWT_ALGORITHM", "ES256"), ("JWT_PRIVATE_KEY", ED_A)],
            vec![
                ("JWT_SECRET", SECRET),
                ("JWT_PREVIOUS_PUBLIC_KEYS", "garbage"),
            ],
            vec![("JWT_SECRET", SECRET), ("JWT_PREVIOUS_SECRET", "short")],
        ] {
            let err = keys(&vars).unwrap_err();
            assert!(
                matches!(err, ConfigError::Invalid { .. }),
                "{vars:?}: {err}"
            );
            assert!(!err.to_string().contains("PRIVATE KEY-----\nM"), "{err}");
        }
        assert_eq!(
            keys(&[("JWT_ALGORITHM", "ES256")]).unwrap_err(),
            ConfigError::Missing("JWT_PRIVATE_KEY")
        );
        assert!(matches!(
            keys(&[("JWT_ALGORITHM", "RS256"), ("JWT_SECRET", SECRET)]),
            Err(ConfigError::Invalid { .. })
        ));
    }

    #[test]
    fn a_public_key_alone_verifies_but_cannot_sign() {
        let signer = keys(&[("JWT_ALGORITHM", "EdDSA"), ("JWT_PRIVATE_KEY", ED_A)]).unwrap();
        let verifier = keys(&[("JWT_ALGORITHM", "EdDSA"), ("JWT_PUBLIC_KEY", ED_A_PUB)]).unwrap();
        assert!(verifier.signing.is_none());
        assert_eq!(verifier.current.kid, signer.current.kid);
        assert_eq!(verifier.jwks(), signer.jwks());
        // Both halves given: they must match.
        let both = [
            ("JWT_ALGORITHM", "EdDSA"),
            ("JWT_PRIVATE_KEY", ED_A),
            ("JWT_PUBLIC_KEY", ED_A_PUB),
        ];
        assert!(keys(&both).unwrap().signing.is_some());
        for vars in [
            vec![
                ("JWT_ALGORITHM", "EdDSA"),
                ("JWT_PRIVATE_KEY", ED_A),
                ("JWT_PUBLIC_KEY", ED_B_PUB),
            ],
            vec![("JWT_ALGORITHM", "EdDSA"), ("JWT_PUBLIC_KEY", P256_A_PUB)],
            vec![("JWT_ALGORITHM", "ES256"), ("JWT_PUBLIC_KEY", ED_A_PUB)],
        ] {
            assert!(
                matches!(keys(&vars), Err(ConfigError::Invalid { .. })),
                "{vars:?}"
            );
        }
    }

    #[test]
    fn retired_keys_carry_their_not_after() {
        let base = [
            ("JWT_ALGORITHM", "EdDSA"),
            ("JWT_PRIVATE_KEY", ED_A),
            ("JWT_PREVIOUS_PUBLIC_KEYS", P256_A_PUB),
            ("JWT_PREVIOUS_SECRET", SECRET),
        ];
        let mut all = base.to_vec();
        all.push(("JWT_PREVIOUS_NOT_AFTER", "1000"));
        let k = keys(&all).unwrap();
        assert!(k.previous.iter().all(|p| p.not_after == Some(1000)));
        assert!(k.previous[0].usable_at(999) && !k.previous[0].usable_at(1000));
        assert!(
            k.current.not_after.is_none(),
            "the current key never retires"
        );
        // Past its not-after, a key is no longer published.
        assert_eq!(k.jwks().keys.len(), 1);

        let p256 = keys(&base).unwrap().previous[0].kid.clone();
        let mut one = base.to_vec();
        let pair = format!("{p256}=2000");
        one.push(("JWT_PREVIOUS_NOT_AFTER", &pair));
        let k = keys(&one).unwrap();
        let ends: Vec<Option<u64>> = k.previous.iter().map(|p| p.not_after).collect();
        assert_eq!(ends, [Some(2000), None]);
        for bad in ["soon", "nokid=5", "=5"] {
            let mut vars = base.to_vec();
            vars.push(("JWT_PREVIOUS_NOT_AFTER", bad));
            assert!(
                matches!(keys(&vars), Err(ConfigError::Invalid { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_public_set_needs_no_secret() {
        let map: HashMap<&str, String> =
            HashMap::from([("JWT_PREVIOUS_PUBLIC_KEYS", ED_A_PUB.to_string())]);
        let jwks = KeyConfig::public_jwks(&Env::new(|k| map.get(k).cloned())).unwrap();
        assert_eq!(jwks.keys.len(), 1);
    }
}

//! Which key signs tokens and which keys verify them.
//!
//! One current signing key (HS256 secret, Ed25519 or P-256) plus any number
//! of verification-only keys from earlier rotations. Every key has a `kid`
//! derived from the key itself (the RFC 7638 thumbprint of its JWK, shortened),
//! so a key keeps its `kid` when it moves from "current" to "previous" and
//! tokens it signed keep verifying until they expire. Each key pins its own
//! algorithm: a token is checked only with the key its `kid` names, and only
//! if its `alg` is that key's algorithm.

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use crate::config::{ConfigError, MIN_SECRET_BYTES};

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
}

/// The key that signs new tokens.
#[derive(Clone)]
pub struct SigningKey {
    pub algorithm: Algorithm,
    pub encoding: EncodingKey,
    pub verification: VerificationKey,
}

/// All key material, parsed and checked at cold start.
#[derive(Clone)]
pub struct KeyConfig {
    pub signing: SigningKey,
    /// Verification-only keys of earlier rotations.
    pub previous: Vec<VerificationKey>,
}

fn invalid(name: &'static str, expected: &'static str) -> ConfigError {
    // Never echo key material back: the value is replaced.
    ConfigError::Invalid {
        name,
        expected,
        value: "<redacted>".to_string(),
    }
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

impl VerificationKey {
    fn hmac(secret: &[u8], name: &'static str) -> Result<Self, ConfigError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(if name == "JWT_SECRET" {
                ConfigError::SecretTooShort(secret.len())
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
            keys.push(Self::public(jwk, algorithm, name)?);
        }
        Ok(keys)
    }
}

impl KeyConfig {
    /// Reads `JWT_ALGORITHM` (`HS256` default, `EdDSA`, `ES256`), then
    /// `JWT_SECRET` (HS256) or `JWT_PRIVATE_KEY` (PKCS#8 PEM), and the
    /// verification-only `JWT_PREVIOUS_PUBLIC_KEYS` (PEM) and
    /// `JWT_PREVIOUS_SECRET`.
    pub fn from_lookup(get: impl Fn(&'static str) -> Option<String>) -> Result<Self, ConfigError> {
        let algorithm = match get("JWT_ALGORITHM").as_deref().map(str::trim) {
            None | Some("HS256") => Algorithm::HS256,
            Some("EdDSA") => Algorithm::EdDSA,
            Some("ES256") => Algorithm::ES256,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "JWT_ALGORITHM",
                    expected: "`HS256`, `EdDSA` or `ES256`",
                    value: other.to_string(),
                })
            }
        };
        let signing = match algorithm {
            Algorithm::HS256 => {
                let secret = get("JWT_SECRET").ok_or(ConfigError::Missing("JWT_SECRET"))?;
                let verification = VerificationKey::hmac(secret.as_bytes(), "JWT_SECRET")?;
                SigningKey {
                    algorithm,
                    encoding: EncodingKey::from_secret(secret.as_bytes()),
                    verification,
                }
            }
            _ => {
                let pem = pem_text(
                    &get("JWT_PRIVATE_KEY").ok_or(ConfigError::Missing("JWT_PRIVATE_KEY"))?,
                );
                let expected = if algorithm == Algorithm::EdDSA {
                    "an Ed25519 private key in PKCS#8 PEM (`make keygen ALG=EdDSA`)"
                } else {
                    "a P-256 private key in PKCS#8 PEM (`make keygen ALG=ES256`)"
                };
                let encoding = match algorithm {
                    Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
                    _ => EncodingKey::from_ec_pem(pem.as_bytes()),
                }
                .map_err(|_| invalid("JWT_PRIVATE_KEY", expected))?;
                let jwk = Jwk::from_encoding_key(&encoding, algorithm)
                    .map_err(|_| invalid("JWT_PRIVATE_KEY", expected))?;
                SigningKey {
                    algorithm,
                    encoding,
                    verification: VerificationKey::public(jwk, algorithm, "JWT_PRIVATE_KEY")?,
                }
            }
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
        previous.retain(|k| k.kid != signing.verification.kid);
        Ok(KeyConfig { signing, previous })
    }

    /// The published key set without reading any secret: in HS256 mode only
    /// the previous public keys (a symmetric key is never published), else
    /// the current key's public half as well. For the JWKS function.
    pub fn public_jwks_from_lookup(
        get: impl Fn(&'static str) -> Option<String>,
    ) -> Result<JwkSet, ConfigError> {
        match get("JWT_ALGORITHM").as_deref().map(str::trim) {
            None | Some("HS256") => {
                let previous = match get("JWT_PREVIOUS_PUBLIC_KEYS") {
                    Some(pems) => {
                        VerificationKey::from_public_pems(&pems, "JWT_PREVIOUS_PUBLIC_KEYS")?
                    }
                    None => Vec::new(),
                };
                Ok(JwkSet {
                    keys: previous.into_iter().filter_map(|k| k.public_jwk).collect(),
                })
            }
            _ => Ok(Self::from_lookup(get)?.jwks()),
        }
    }

    /// Every key that verifies, the current one first.
    pub fn verification_keys(&self) -> impl Iterator<Item = &VerificationKey> {
        std::iter::once(&self.signing.verification).chain(&self.previous)
    }

    /// The public keys, as RFC 7517 JWKs: never a private or symmetric key.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self
                .verification_keys()
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
            .field("algorithm", &self.signing.algorithm)
            .field("kid", &self.signing.verification.kid)
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
        assert_eq!(k.signing.algorithm, Algorithm::HS256);
        assert_eq!(k.signing.verification.kid.len(), KID_CHARS);
        assert!(k.jwks().keys.is_empty());
        let again = keys(&[("JWT_SECRET", SECRET)]).unwrap();
        assert_eq!(k.signing.verification.kid, again.signing.verification.kid);
        let other = keys(&[("JWT_SECRET", &"x".repeat(32))]).unwrap();
        assert_ne!(k.signing.verification.kid, other.signing.verification.kid);
    }

    #[test]
    fn asymmetric_keys_publish_their_public_half_only() {
        for (alg, pem, name) in [("EdDSA", ED_A, "EdDSA"), ("ES256", P256_A, "ES256")] {
            let k = keys(&[("JWT_ALGORITHM", alg), ("JWT_PRIVATE_KEY", pem)]).unwrap();
            let jwks = serde_json::to_value(k.jwks()).unwrap();
            let key = &jwks["keys"][0];
            assert_eq!(key["alg"], name);
            assert_eq!(key["use"], "sig");
            assert_eq!(key["kid"], k.signing.verification.kid.as_str());
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
        assert!(kids.contains(&current.signing.verification.kid.as_str()));
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
    fn the_public_set_needs_no_secret() {
        let map: HashMap<&str, String> =
            HashMap::from([("JWT_PREVIOUS_PUBLIC_KEYS", ED_A_PUB.to_string())]);
        let jwks = KeyConfig::public_jwks_from_lookup(|k| map.get(k).cloned()).unwrap();
        assert_eq!(jwks.keys.len(), 1);
    }
}

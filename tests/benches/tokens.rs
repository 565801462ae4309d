//! `cargo bench -p integration-tests --bench tokens`
//!
//! Minting and verifying one access token per algorithm, next to the bare
//! primitive on the same signing input (HMAC-SHA256, Ed25519, ECDSA P-256
//! from aws-lc-rs, the library jsonwebtoken itself uses), in the same run.
//! `scripts/bench-report.py` reads criterion's estimates and prints the
//! ratios.

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING, ED25519,
};
use aws_lc_rs::{hmac, rand::SystemRandom};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use integration_tests::{config_with, fixture_key, TEST_SECRET};
use tokengate::clock::now_secs;
use tokengate::token::{SessionRef, TokenKeys, TokenKind};

/// The bare primitive for one algorithm, keyed once like a real verifier.
// Three of these live on the stack for the whole run; boxing the HMAC key
// would only add an indirection to the very thing measured.
#[allow(clippy::large_enum_variant)]
enum Primitive {
    Hmac(hmac::Key),
    Ed25519(Ed25519KeyPair),
    P256(EcdsaKeyPair, SystemRandom),
}

impl Primitive {
    fn for_algorithm(alg: &str, pem: &str) -> Self {
        match alg {
            "HS256" => Primitive::Hmac(hmac::Key::new(hmac::HMAC_SHA256, TEST_SECRET.as_bytes())),
            "EdDSA" => Primitive::Ed25519(Ed25519KeyPair::from_pkcs8(&pem_der(pem)).unwrap()),
            _ => Primitive::P256(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pem_der(pem)).unwrap(),
                SystemRandom::new(),
            ),
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Primitive::Hmac(key) => hmac::sign(key, message).as_ref().to_vec(),
            Primitive::Ed25519(pair) => pair.sign(message).as_ref().to_vec(),
            Primitive::P256(pair, rng) => pair.sign(rng, message).unwrap().as_ref().to_vec(),
        }
    }

    fn verify(&self, message: &[u8], signature: &[u8]) {
        match self {
            Primitive::Hmac(key) => hmac::verify(key, message, signature).unwrap(),
            Primitive::Ed25519(pair) => UnparsedPublicKey::new(&ED25519, pair.public_key())
                .verify(message, signature)
                .unwrap(),
            Primitive::P256(pair, _) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key())
                    .verify(message, signature)
                    .unwrap()
            }
        }
    }
}

/// A decoding key and minimal validation (signature, `exp`) for `alg`.
fn library_rules(alg: &str, pem: &str) -> (jsonwebtoken::DecodingKey, jsonwebtoken::Validation) {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let (algorithm, decoding) = match alg {
        "HS256" => (
            Algorithm::HS256,
            DecodingKey::from_secret(TEST_SECRET.as_bytes()),
        ),
        "EdDSA" => {
            let pair = Ed25519KeyPair::from_pkcs8(&pem_der(pem)).unwrap();
            (
                Algorithm::EdDSA,
                DecodingKey::from_ed_der(pair.public_key().as_ref()),
            )
        }
        _ => {
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pem_der(pem)).unwrap();
            (
                Algorithm::ES256,
                DecodingKey::from_ec_der(pair.public_key().as_ref()),
            )
        }
    };
    let mut validation = Validation::new(algorithm);
    validation.validate_aud = false;
    (decoding, validation)
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

fn tokens(c: &mut Criterion) {
    let session = SessionRef {
        user_id: "alice",
        session_id: "7d5e1f3a-0000-4000-8000-000000000000",
        generation: 1,
        version: 0,
        auth_time: 1_800_000_000,
    };
    for (alg, key) in [
        ("HS256", None),
        ("EdDSA", Some("ed25519-a.pem")),
        ("ES256", Some("p256-a.pem")),
    ] {
        let pem = key.map(fixture_key).unwrap_or_default();
        let config = config_with(
            "bench",
            &[("JWT_ALGORITHM", alg), ("JWT_PRIVATE_KEY", &pem)],
        );
        let keys = TokenKeys::from_config(&config);
        let now = now_secs();
        let token = keys
            .mint(TokenKind::Access, session, now, now + 3600)
            .unwrap()
            .token;
        // The JWS signing input and signature of that very token.
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        let primitive = Primitive::for_algorithm(alg, &pem);
        primitive.verify(signing_input.as_bytes(), &signature);

        let mut group = c.benchmark_group(alg);
        group.bench_function("sign", |b| {
            b.iter(|| keys.mint(TokenKind::Access, black_box(session), now, now + 3600))
        });
        group.bench_function("primitive_sign", |b| {
            b.iter(|| primitive.sign(black_box(signing_input.as_bytes())))
        });
        group.bench_function("verify", |b| {
            b.iter(|| {
                keys.verify(TokenKind::Access, black_box(&token), now)
                    .expect("a valid token")
            })
        });
        // jsonwebtoken's own decode with plain rules: what the library costs
        // before tokengate's key lookup and token-use checks.
        let (decoding, validation) = library_rules(alg, &pem);
        group.bench_function("library_verify", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<serde_json::Value>(black_box(&token), &decoding, &validation)
                    .expect("a valid token")
            })
        });
        group.bench_function("primitive_verify", |b| {
            b.iter(|| primitive.verify(black_box(signing_input.as_bytes()), &signature))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // Short enough that `make bench` stays well under its budget, long
    // enough for stable medians of microsecond operations.
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = tokens
}
criterion_main!(benches);

//! `cargo bench -p integration-tests --bench tokens`
//!
//! What minting and verifying one access token costs per algorithm (the
//! crypto and claim checks; no DynamoDB), median of 15 batches.

use std::time::{Duration, Instant};

use integration_tests::{config_with, fixture_key};
use tokengate::token::{now_secs, SessionRef, TokenKeys, TokenKind};

const BATCH: u32 = 200;

fn median_per_op(mut run: impl FnMut()) -> Duration {
    let mut batches: Vec<Duration> = (0..15)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..BATCH {
                run();
            }
            started.elapsed() / BATCH
        })
        .collect();
    batches.sort();
    batches[batches.len() / 2]
}

fn main() {
    let session = SessionRef {
        user_id: "alice",
        session_id: "7d5e1f3a-0000-4000-8000-000000000000",
        generation: 1,
        version: 0,
    };
    println!("per token, median of 15 batches of {BATCH} (this machine)");
    println!("  algorithm      sign        verify");
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
        let sign = median_per_op(|| {
            keys.mint(TokenKind::Access, session, now, now + 3600)
                .unwrap();
        });
        let verify = median_per_op(|| {
            keys.verify(TokenKind::Access, &token).unwrap();
        });
        println!(
            "  {alg:<10} {:>8.1} µs  {:>8.1} µs",
            sign.as_secs_f64() * 1e6,
            verify.as_secs_f64() * 1e6
        );
    }
}

//! `cargo bench -p integration-tests --bench login_timing`
//!
//! Login timing on DynamoDB Local: an unknown id and a wrong password must
//! cost the same (argon2 against a dummy hash), so the time of a failed login
//! tells nothing about whether the account exists. Prints medians over 20
//! alternating tries of each and exits non-zero if they differ by 20% or
//! more. Also prints what a successful login, a validate and one argon2id
//! hash cost here, for sizing; and the password-reset request for an
//! account's address and an unknown one, without its time floor (what the
//! floor hides) and with the default `FORGOT_MIN_RESPONSE_MS` (which must
//! differ by less than the same limit).

use std::time::{Duration, Instant};

use integration_tests::*;
use serde_json::json;

const TRIES: usize = 20;
const LIMIT: f64 = 0.20;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn timed_login(app: &TestApp, id: &str, password: &str, expect: u16) -> Duration {
    let request = post("/api/auth/login", &json!({"id": id, "password": password}));
    let started = Instant::now();
    let response = login_fn::handle(request, &app.service).await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), expect, "{}", body_text(&response));
    elapsed
}

async fn timed_forgot(app: &TestApp, email: &str) -> Duration {
    let request = post("/api/auth/password/forgot", &json!({ "email": email }));
    let started = Instant::now();
    let response = account_fn::handle(request, &app.service).await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 202, "{}", body_text(&response));
    elapsed
}

/// Medians of forgot for an account's address and an unknown one, with the
/// floor at `floor_ms`.
async fn forgot_medians(floor_ms: &str) -> (Duration, Duration) {
    let app = TestApp::with_mail(&[
        ("FORGOT_MIN_RESPONSE_MS", floor_ms),
        ("FORGOT_MAX_PER_EMAIL", "100000"),
        ("LOGIN_MAX_FAILURES_PER_IP", "100000"),
        ("REGISTER_MAX_PER_IP", "100000"),
    ])
    .await;
    let email = fresh_address("alice");
    assert_eq!(app.register_with_email("alice", &email).await.status(), 201);
    let unknown_address = fresh_address("nobody");
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..TRIES {
        known.push(timed_forgot(&app, &email).await);
        unknown.push(timed_forgot(&app, &unknown_address).await);
    }
    (median(known), median(unknown))
}

#[tokio::main]
async fn main() {
    // Throttling would (rightly) cut the failures short: lift it here.
    let app = TestApp::with_env(&[
        ("LOGIN_MAX_FAILURES", "100000"),
        ("LOGIN_MAX_FAILURES_PER_IP", "100000"),
        ("REGISTER_MAX_PER_IP", "100000"),
    ])
    .await;
    app.register("alice").await;
    for _ in 0..3 {
        timed_login(&app, "alice", "wrong password", 401).await;
        timed_login(&app, "nobody-here", "wrong password", 401).await;
    }

    let (mut unknown, mut wrong, mut success, mut validate) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..TRIES {
        unknown.push(timed_login(&app, "nobody-here", "wrong password", 401).await);
        wrong.push(timed_login(&app, "alice", "wrong password", 401).await);
        success.push(timed_login(&app, "alice", PASSWORD, 200).await);
    }
    let (access, _) = app.login("alice").await;
    for _ in 0..TRIES {
        let started = Instant::now();
        assert_eq!(app.validate(&access).await.status(), 200);
        validate.push(started.elapsed());
    }
    let passwords = tokengate::password::Passwords::default();
    let hashing: Vec<Duration> = (0..5)
        .map(|_| {
            let started = Instant::now();
            passwords.hash("correct horse battery").unwrap();
            started.elapsed()
        })
        .collect();

    let (raw_known, raw_unknown) = forgot_medians("0").await;
    let default_floor = tokengate::config::DEFAULT_FORGOT_MIN_RESPONSE_MS.to_string();
    let (known, unknown_address) = forgot_medians(&default_floor).await;
    let forgot_difference =
        (ms(known) - ms(unknown_address)).abs() / ms(known).min(ms(unknown_address));

    let (unknown, wrong) = (median(unknown), median(wrong));
    let difference = (ms(unknown) - ms(wrong)).abs() / ms(unknown).min(ms(wrong));
    println!("median over {TRIES} tries (DynamoDB Local, this machine)");
    println!("  login, unknown id        {:8.1} ms", ms(unknown));
    println!("  login, wrong password    {:8.1} ms", ms(wrong));
    println!(
        "  difference               {:8.1} %  (limit {:.0} %)",
        difference * 100.0,
        LIMIT * 100.0
    );
    println!(
        "  login, success           {:8.1} ms",
        ms(median(success.clone()))
    );
    println!(
        "  validate                 {:8.1} ms",
        ms(median(validate.clone()))
    );
    println!(
        "  argon2id hash (OWASP)    {:8.1} ms",
        ms(median(hashing.clone()))
    );
    println!(
        "  forgot, no floor: account {:8.1} ms, unknown {:8.1} ms",
        ms(raw_known),
        ms(raw_unknown)
    );
    println!(
        "  forgot, {default_floor} ms floor: account {:8.1} ms, unknown {:8.1} ms, difference {:.1} %",
        ms(known),
        ms(unknown_address),
        forgot_difference * 100.0
    );
    write_bench_result(
        "login_timing",
        &serde_json::json!({
            "tries": TRIES,
            "unknown_id_ms": ms(unknown),
            "wrong_password_ms": ms(wrong),
            "difference_pct": difference * 100.0,
            "limit_pct": LIMIT * 100.0,
            "success_ms": ms(median(success)),
            "validate_ms": ms(median(validate)),
            "argon2id_hash_ms": ms(median(hashing)),
            "forgot_raw_account_ms": ms(raw_known),
            "forgot_raw_unknown_ms": ms(raw_unknown),
            "forgot_floor_ms": tokengate::config::DEFAULT_FORGOT_MIN_RESPONSE_MS,
            "forgot_account_ms": ms(known),
            "forgot_unknown_ms": ms(unknown_address),
            "forgot_difference_pct": forgot_difference * 100.0,
        }),
    );
    if forgot_difference >= LIMIT {
        eprintln!(
            "reset requests for an account's address and an unknown one differ by {:.1} %",
            forgot_difference * 100.0
        );
        std::process::exit(1);
    }
    if difference >= LIMIT {
        eprintln!(
            "unknown-id and wrong-password logins differ by {:.1} %",
            difference * 100.0
        );
        std::process::exit(1);
    }
}

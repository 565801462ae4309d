//! The rules' functions and the DynamoDB conditions written beside them say
//! the same thing: the same records through both, on DynamoDB Local.

use std::time::Duration;

use integration_tests::*;
use tokengate::clock::Clock;
use tokengate::model::SessionClaim;
use tokengate::rules::session::{is_listed, may_revoke};
use tokengate::rules::throttle::may_claim;
use tokengate::store::RevokeOutcome;

fn claim_of(token: &str) -> (String, String, u64, u64) {
    let claims = claims_of(token);
    (
        claims["sid"].as_str().unwrap().to_string(),
        claims["sub"].as_str().unwrap().to_string(),
        claims["gen"].as_u64().unwrap(),
        claims["ver"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn listing_and_revoking_agree_with_their_conditions() {
    let app = TestApp::with_env(&[
        ("ACCESS_TOKEN_TTL_SECS", "60"),
        ("REFRESH_TOKEN_TTL_SECS", "60"),
    ])
    .await;
    app.register("alice").await;
    app.register("bob").await;
    let (expired, _) = app.login("alice").await;
    app.clock.advance(Duration::from_secs(30));
    let (old_version, _) = app.login("alice").await;
    assert_eq!(
        app.logout("/api/auth/logout-all", &old_version)
            .await
            .status(),
        200
    );
    let (current, _) = app.login("alice").await;
    let (bobs, _) = app.login("bob").await;
    app.clock.advance(Duration::from_secs(31));
    let (fresh, _) = app.login("alice").await;
    let now = app.clock.now().secs;

    let (sid, user_id, generation, version) = claim_of(&current);
    let claim = SessionClaim {
        session_id: &sid,
        user_id: &user_id,
        generation,
        version,
    };
    let mut records = Vec::new();
    for token in [&expired, &old_version, &fresh] {
        let sid = claim_of(token).0;
        records.push(
            app.store
                .get_session(&sid)
                .await
                .unwrap()
                .expect("still in the table"),
        );
    }
    records.push(app.store.get_session(&sid).await.unwrap().unwrap());

    // The Query's filter and `is_listed` pick the same sessions.
    let mut by_rule: Vec<String> = records
        .iter()
        .filter(|s| is_listed(s, version, now))
        .map(|s| s.session_id.clone())
        .collect();
    let mut by_query: Vec<String> = app
        .store
        .list_sessions("alice", version, now)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.session_id)
        .collect();
    by_rule.sort();
    by_query.sort();
    assert_eq!(by_query, by_rule);
    assert_eq!(by_query.len(), 2, "current and fresh");

    // The revoke's condition and `may_revoke` agree on every target.
    let bob_record = app
        .store
        .get_session(&claim_of(&bobs).0)
        .await
        .unwrap()
        .unwrap();
    let mut revoked = 0;
    let event = tokengate::model::ActivityRecord {
        user_id: claim.user_id.to_string(),
        event_id: uuid::Uuid::new_v4().to_string(),
        kind: tokengate::model::ActivityKind::SessionRevoked,
        at_ms: now * 1000,
        expires_at: now + 86_400,
        source_ip: None,
        user_agent: None,
        new_device: false,
    };
    for target in records.iter().chain([&bob_record]) {
        if target.session_id == sid {
            continue;
        }
        let expected = may_revoke(claim, target, now);
        let outcome = app
            .store
            .revoke_other_session(claim, &target.session_id, now, &event)
            .await
            .unwrap();
        let expected_outcome = if expected {
            RevokeOutcome::Revoked
        } else {
            RevokeOutcome::NotFound
        };
        assert_eq!(outcome, expected_outcome, "{}", target.session_id);
        revoked += usize::from(expected);
    }
    assert_eq!(revoked, 1, "only the fresh session was revocable");
}

#[tokio::test]
async fn claiming_an_attempt_agrees_with_may_claim() {
    let app = TestApp::new().await;
    let key = "LOGINFAIL#USER#contract#1";
    let max = 3;
    let mut claimed = 0;
    for _ in 0..5 {
        let failures = app.store.attempts(key).await.unwrap().map(|f| f as u64);
        let expected = may_claim(failures, max);
        let got = app
            .store
            .reserve_attempt(key, max, u64::MAX / 2)
            .await
            .unwrap();
        assert_eq!(got, expected, "at {failures:?} failures");
        claimed += u64::from(got);
    }
    assert_eq!(claimed, max);
}

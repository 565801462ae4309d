//! `cargo bench -p integration-tests --bench decision`
//!
//! What the authorizer adds on top of the one DynamoDB round trip it cannot
//! avoid: its whole decision (event bytes parsed, token verified, one
//! BatchGetItem, response serialised) against a bare BatchGetItem of the same
//! two items with the same client, interleaved in one run against DynamoDB
//! Local, p50 and p99. A third series, `AuthService::authenticate` alone
//! (verify, round trip, checks; no event), splits the overhead between the
//! Lambda event handling and the decision itself.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use integration_tests::*;
use serde_json::{json, Value};
use tokengate::store::{session_key, user_key};

const WARM_UP: usize = 200;
const SAMPLES: usize = 3000;

#[tokio::main]
async fn main() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, _) = app.login("alice").await;
    let event = authorizer_v2_event(Some(&format!("Bearer {access}"))).to_string();
    let sid = claims_of(&access)["sid"].as_str().unwrap().to_string();

    // As the Lambda runtime does it: the event bytes straight into the
    // authorizer's event type, the response straight to bytes.
    let decision = || async {
        let started = Instant::now();
        let parsed: authorizer_fn::AuthorizerEvent =
            serde_json::from_slice(event.as_bytes()).expect("event JSON");
        let response = authorizer_fn::handle(parsed, &app.service).await;
        let bytes = serde_json::to_vec(&response).expect("response JSON");
        let elapsed = started.elapsed();
        let response: Value = serde_json::from_slice(&bytes).expect("response JSON");
        assert!(response["isAuthorized"] == json!(true), "{response}");
        elapsed
    };
    // The decision without the event: verify, the round trip, the checks.
    let authenticate = || async {
        let started = Instant::now();
        let principal = app.service.authenticate(&access).await;
        let elapsed = started.elapsed();
        assert!(principal.is_ok());
        elapsed
    };
    // The same request as the decision's: consistent, and only the
    // decision's attributes (never the password hash).
    let mut keys = KeysAndAttributes::builder();
    for (i, attribute) in tokengate::store::DECISION_ATTRIBUTES.iter().enumerate() {
        keys = keys.expression_attribute_names(format!("#a{i}"), *attribute);
    }
    let projection: Vec<String> = (0..tokengate::store::DECISION_ATTRIBUTES.len())
        .map(|i| format!("#a{i}"))
        .collect();
    let keys = keys
        .projection_expression(projection.join(", "))
        .keys(HashMap::from([(
            "pk".to_string(),
            AttributeValue::S(session_key(&sid)),
        )]))
        .keys(HashMap::from([(
            "pk".to_string(),
            AttributeValue::S(user_key("alice")),
        )]))
        .consistent_read(true)
        .build()
        .unwrap();
    let client = app.store.client();
    let bare = || async {
        let started = Instant::now();
        let out = client
            .batch_get_item()
            .request_items(app.store.table(), keys.clone())
            .send()
            .await
            .expect("BatchGetItem");
        let elapsed = started.elapsed();
        assert_eq!(out.responses().unwrap()[app.store.table()].len(), 2);
        elapsed
    };

    for _ in 0..WARM_UP {
        decision().await;
        authenticate().await;
        bare().await;
    }
    let (mut decisions, mut authentications, mut bares) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..SAMPLES {
        // Rotate which goes first so none always follows another.
        for j in 0..3 {
            match (i + j) % 3 {
                0 => decisions.push(decision().await),
                1 => authentications.push(authenticate().await),
                _ => bares.push(bare().await),
            }
        }
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let (d50, d99) = (
        quantile(&mut decisions, 0.5),
        quantile(&mut decisions, 0.99),
    );
    let (b50, b99) = (quantile(&mut bares, 0.5), quantile(&mut bares, 0.99));
    let (a50, a99) = (
        quantile(&mut authentications, 0.5),
        quantile(&mut authentications, 0.99),
    );
    let overhead = |d: Duration, b: Duration| (us(d) - us(b)) / us(b) * 100.0;
    println!("authorizer decision vs bare BatchGetItem, {SAMPLES} interleaved samples each");
    println!("               p50          p99");
    println!("  decision {:>9.0} µs {:>9.0} µs", us(d50), us(d99));
    println!("  authenticate {:>5.0} µs {:>9.0} µs", us(a50), us(a99));
    println!("  bare     {:>9.0} µs {:>9.0} µs", us(b50), us(b99));
    println!(
        "  overhead {:>9.1} %  {:>9.1} %   (target <= 5 % at p50)",
        overhead(d50, b50),
        overhead(d99, b99)
    );
    write_bench_result(
        "decision",
        &json!({
            "samples": SAMPLES,
            "decision_us": {"p50": us(d50), "p99": us(d99)},
            "authenticate_us": {"p50": us(a50), "p99": us(a99)},
            "bare_us": {"p50": us(b50), "p99": us(b99)},
            "overhead_pct": {"p50": overhead(d50, b50), "p99": overhead(d99, b99)},
        }),
    );
}

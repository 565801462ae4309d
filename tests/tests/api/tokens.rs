//! Tokens that must never pass: each is sent to validate and must get 401.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use integration_tests::*;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

fn sign(header: Header, claims: &Value, secret: &[u8]) -> String {
    encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// The `kid` of the test secret: forgeries carry it, so that each is refused
/// for the flaw it shows, not for an unknown key.
fn test_kid() -> String {
    tokengate::keys::KeyConfig::from_lookup(|k| (k == "JWT_SECRET").then(|| TEST_SECRET.into()))
        .unwrap()
        .current
        .kid
}

fn typed(alg: Algorithm) -> Header {
    let mut header = Header::new(alg);
    header.typ = Some("at+jwt".into());
    header.kid = Some(test_kid());
    header
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    )
}

/// A live session's valid access token and its claims.
async fn live() -> (TestApp, String, Value) {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, _) = app.login("alice").await;
    assert_eq!(app.validate(&access).await.status(), 200);
    let claims = claims_of(&access);
    (app, access, claims)
}

async fn assert_rejected(app: &TestApp, token: &str, what: &str) {
    let response = app.validate(token).await;
    assert_eq!(response.status(), 401, "{what}: {}", body_text(&response));
    assert_eq!(body_json(&response)["error"], "invalid_token", "{what}");
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains(r#"error="invalid_token""#), "{what}");
}

fn with(claims: &Value, key: &str, value: Value) -> Value {
    let mut c = claims.clone();
    c[key] = value;
    c
}

fn without(claims: &Value, key: &str) -> Value {
    let mut c = claims.clone();
    c.as_object_mut().unwrap().remove(key);
    c
}

#[tokio::test]
async fn re_signed_valid_claims_pass_so_the_negatives_below_mean_something() {
    let (app, _, claims) = live().await;
    let token = sign(typed(Algorithm::HS256), &claims, TEST_SECRET.as_bytes());
    assert_eq!(app.validate(&token).await.status(), 200);
}

#[tokio::test]
async fn claim_negatives() {
    let (app, _, claims) = live().await;
    let key = TEST_SECRET.as_bytes();
    let now = claims["iat"].as_u64().unwrap();
    let cases = [
        ("expired", with(&claims, "exp", json!(now - 120))),
        ("wrong issuer", with(&claims, "iss", json!("someone-else"))),
        ("wrong audience", with(&claims, "aud", json!("another-api"))),
        ("nbf in the future", with(&claims, "nbf", json!(now + 3600))),
        ("exp missing", without(&claims, "exp")),
        ("iss missing", without(&claims, "iss")),
        ("aud missing", without(&claims, "aud")),
        ("sub missing", without(&claims, "sub")),
        (
            "token_use refresh",
            with(&claims, "token_use", json!("refresh")),
        ),
        ("token_use missing", without(&claims, "token_use")),
        ("other session generation", with(&claims, "gen", json!(2))),
        ("other token version", with(&claims, "ver", json!(1))),
        (
            "other user, same session",
            with(&claims, "sub", json!("mallory")),
        ),
        (
            "unknown session",
            with(&claims, "sid", json!(uuid::Uuid::new_v4().to_string())),
        ),
    ];
    for (what, forged) in cases {
        let token = sign(typed(Algorithm::HS256), &forged, key);
        assert_rejected(&app, &token, what).await;
    }
}

#[tokio::test]
async fn signature_and_format_negatives() {
    let (app, access, claims) = live().await;
    let parts: Vec<&str> = access.split('.').collect();

    // Tampered payload, original signature.
    let tampered_payload = B64.encode(with(&claims, "sub", json!("admin")).to_string());
    let tampered = format!("{}.{}.{}", parts[0], tampered_payload, parts[2]);
    assert_rejected(&app, &tampered, "tampered payload").await;

    for alg in ["none", "None", "NONE", "nOnE"] {
        let token = unsigned(
            &json!({"alg": alg, "typ": "at+jwt", "kid": test_kid()}),
            &claims,
        );
        assert_rejected(&app, &token, &format!("alg {alg}")).await;
    }
    let stripped = format!("{}.{}.", parts[0], parts[1]);
    assert_rejected(&app, &stripped, "stripped signature").await;
    assert_rejected(&app, &format!("{}.{}", parts[0], parts[1]), "two segments").await;
    assert_rejected(&app, &access[..access.len() - 5], "truncated").await;
    assert_rejected(&app, "garbage", "garbage").await;
    assert_rejected(&app, "a.b.c", "not base64 json").await;
    assert_rejected(&app, "!!!.@@@.###", "invalid base64").await;
    assert_rejected(&app, &"a".repeat(9 * 1024), "oversize").await;

    // Right key, other algorithms: the algorithm is pinned by the server.
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = sign(typed(alg), &claims, TEST_SECRET.as_bytes());
        assert_rejected(&app, &token, &format!("{alg:?}")).await;
    }
    // Weak or empty secrets.
    for secret in ["", "secret", "password", "tokengate"] {
        let token = sign(typed(Algorithm::HS256), &claims, secret.as_bytes());
        assert_rejected(&app, &token, &format!("secret {secret:?}")).await;
    }
    // Header tricks on a correctly signed token: never fetched, never trusted,
    // and the typ must say access token.
    let mut jku = typed(Algorithm::HS256);
    jku.jku = Some("http://127.0.0.1:1/keys".into());
    jku.typ = Some("JWT".into());
    let token = sign(jku, &claims, TEST_SECRET.as_bytes());
    assert_rejected(&app, &token, "typ JWT").await;
}

#[tokio::test]
async fn array_payload_and_wrong_types_are_rejected() {
    let (app, _, claims) = live().await;
    let header =
        B64.encode(json!({"alg": "HS256", "typ": "at+jwt", "kid": test_kid()}).to_string());
    let payload = B64.encode(json!([claims]).to_string());
    let message = format!("{header}.{payload}");
    use jsonwebtoken::crypto::sign as raw_sign;
    let signature = raw_sign(
        message.as_bytes(),
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
        Algorithm::HS256,
    )
    .unwrap();
    assert_rejected(&app, &format!("{message}.{signature}"), "array payload").await;

    let token = sign(
        typed(Algorithm::HS256),
        &with(&claims, "gen", json!("1")),
        TEST_SECRET.as_bytes(),
    );
    assert_rejected(&app, &token, "generation as string").await;
}

/// A token with this exact header, HMAC-SHA256-signed with `secret`.
fn sign_raw(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let message = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(secret),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{message}.{signature}")
}

#[tokio::test]
async fn key_selection_headers_are_never_followed() {
    let (app, access, claims) = live().await;
    let attacker = b"attacker-controlled-key-0123456789abcdef";
    let header = |extra: Value| {
        let mut h = json!({"alg": "HS256", "typ": "at+jwt", "kid": test_kid()});
        h.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        h
    };
    let cases: [(&str, Value, &[u8]); 8] = [
        // kid pointing at an empty file: the "key" would be empty.
        (
            "kid traversal",
            json!({"kid": "../../../../../../dev/null"}),
            b"",
        ),
        ("kid absolute path", json!({"kid": "/dev/null"}), b""),
        (
            "kid SQL injection",
            json!({"kid": "x' UNION SELECT 'attacker-controlled-key-0123456789abcdef'--"}),
            attacker,
        ),
        (
            "kid command injection",
            json!({"kid": "key|curl 127.0.0.1:1"}),
            attacker,
        ),
        (
            "jku",
            json!({"jku": "http://127.0.0.1:1/jwks.json"}),
            attacker,
        ),
        (
            "x5u",
            json!({"x5u": "http://127.0.0.1:1/cert.pem"}),
            attacker,
        ),
        (
            "embedded jwk",
            json!({"jwk": {"kty": "oct", "k": B64.encode(attacker)}}),
            attacker,
        ),
        (
            "embedded RSA jwk, HS256",
            json!({"jwk": {"kty": "RSA", "n": "sXch", "e": "AQAB"}}),
            attacker,
        ),
    ];
    for (what, extra, key) in cases {
        let token = sign_raw(&header(extra), &claims, key);
        assert_rejected(&app, &token, what).await;
    }

    let parts: Vec<&str> = access.split('.').collect();
    for (what, signature) in [
        ("null signature", "null"),
        (
            "zero signature",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
        ("signature of another token", "x"),
    ] {
        let token = format!("{}.{}.{signature}", parts[0], parts[1]);
        assert_rejected(&app, &token, what).await;
    }
    // 60 KB, correctly signed: refused for its size before any parsing.
    let padded = with(&claims, "pad", json!("p".repeat(60 * 1024)));
    let big = sign_raw(&header(json!({})), &padded, TEST_SECRET.as_bytes());
    assert!(big.len() > 60 * 1024);
    assert_rejected(&app, &big, "60 KB token").await;
}

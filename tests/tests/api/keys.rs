//! Asymmetric signing, `kid`-pinned verification, rotation and the JWKS.

use std::io::Write;
use std::process::{Command, Stdio};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use integration_tests::*;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tokengate::AuthService;

async fn validate_on(service: &AuthService, token: &str) -> u16 {
    validate_with(service, token).await.status().as_u16()
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

fn discovery(overrides: &[(&str, &str)]) -> jwks_fn::Published {
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    jwks_fn::Published::fixed(
        jwks_fn::Discovery::from_lookup(|name| {
            overrides
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
        .unwrap(),
    )
}

async fn fetch(
    discovery: &jwks_fn::Published,
    path: &str,
) -> lambda_http::Response<lambda_http::Body> {
    let mut event = event_json(
        "GET",
        path,
        &[("host", "auth.example.com"), ("x-forwarded-proto", "https")],
        None,
    );
    event["rawPath"] = json!(path);
    jwks_fn::handle(to_request(&event), discovery).await
}

async fn jwks_of(discovery: &jwks_fn::Published) -> Value {
    body_json(&fetch(discovery, "/.well-known/jwks.json").await)
}

#[tokio::test]
async fn every_algorithm_signs_with_a_kid_and_verifies() {
    for (alg, key) in [
        ("HS256", None),
        ("EdDSA", Some("ed25519-a.pem")),
        ("ES256", Some("p256-a.pem")),
    ] {
        let pem = key.map(fixture_key).unwrap_or_default();
        let app = TestApp::with_env(&[("JWT_ALGORITHM", alg), ("JWT_PRIVATE_KEY", &pem)]).await;
        app.register("alice").await;
        let (access, refresh) = app.login("alice").await;
        let header = jsonwebtoken::decode_header(&access).unwrap();
        assert_eq!(format!("{:?}", header.alg), alg);
        assert_eq!(header.kid.as_deref().map(str::len), Some(16), "{alg}");
        assert_eq!(app.validate(&access).await.status(), 200, "{alg}");
        let decision = authorizer_fn::handle_json(
            authorizer_v2_event(Some(&format!("Bearer {access}"))),
            &app.service,
        )
        .await;
        assert_eq!(decision["isAuthorized"], true, "{alg}");
        let rotated = app.refresh(&refresh).await;
        assert_eq!(rotated.status(), 200, "{alg}");
        // A token of one kind is still never the other.
        assert_error(&app.refresh(&access).await, 401, "invalid_token");
    }
}

#[tokio::test]
async fn rotating_the_signing_key_logs_nobody_out() {
    let key_a = fixture_key("ed25519-a.pem");
    let key_b = fixture_key("ed25519-b.pem");
    let app = TestApp::with_env(&[("JWT_ALGORITHM", "EdDSA"), ("JWT_PRIVATE_KEY", &key_a)]).await;
    app.register("alice").await;
    let (access, refresh) = app.login("alice").await;

    // Deploy 2: key B signs, key A only verifies.
    let rotated = app.service_with(&[
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_PRIVATE_KEY", &key_b),
        (
            "JWT_PREVIOUS_PUBLIC_KEYS",
            &fixture_key("ed25519-a.pub.pem"),
        ),
    ]);
    assert_eq!(validate_on(&rotated, &access).await, 200);
    let response = refresh_with(&rotated, &refresh).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let new_access = body_json(&response)["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(kid(&new_access), kid(&access), "the new key signs");
    assert_eq!(validate_on(&rotated, &new_access).await, 200);

    // Deploy 3: key A retired. Its tokens (the old generation anyway) fail
    // on the key alone; the refreshed session goes on.
    let retired = app.service_with(&[("JWT_ALGORITHM", "EdDSA"), ("JWT_PRIVATE_KEY", &key_b)]);
    let second = app.login("alice").await.0;
    assert_eq!(kid(&second), kid(&access));
    assert_eq!(validate_on(&retired, &second).await, 401, "retired kid");
    assert_eq!(validate_on(&retired, &new_access).await, 200);
}

#[tokio::test]
async fn verifying_functions_need_only_the_public_key() {
    let app = TestApp::with_env(&[
        ("JWT_ALGORITHM", "ES256"),
        ("JWT_PRIVATE_KEY", &fixture_key("p256-a.pem")),
    ])
    .await;
    app.register("alice").await;
    let (access, _) = app.login("alice").await;
    let verifier = app.service_with(&[
        ("JWT_ALGORITHM", "ES256"),
        ("JWT_PUBLIC_KEY", &fixture_key("p256-a.pub.pem")),
    ]);
    assert_eq!(validate_on(&verifier, &access).await, 200);
    let decision = authorizer_fn::handle_json(
        authorizer_v2_event(Some(&format!("Bearer {access}"))),
        &verifier,
    )
    .await;
    assert_eq!(decision["isAuthorized"], true);
    // It cannot mint: a login through it fails (500), it never signs.
    let login = login_fn::handle(
        post(
            "/api/auth/login",
            &json!({"id": "alice", "password": PASSWORD}),
        ),
        &verifier,
    )
    .await;
    assert_error(&login, 500, "internal_error");
}

#[tokio::test]
async fn moving_from_hs256_to_eddsa_keeps_sessions() {
    let app = TestApp::new().await;
    app.register("alice").await;
    let (access, refresh) = app.login("alice").await;
    let migrated = app.service_with(&[
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_PRIVATE_KEY", &fixture_key("ed25519-a.pem")),
        ("JWT_PREVIOUS_SECRET", TEST_SECRET),
    ]);
    assert_eq!(validate_on(&migrated, &access).await, 200);
    // The HS256 refresh token keeps the session going: the new pair is EdDSA.
    let response = refresh_with(&migrated, &refresh).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let new_access = body_json(&response)["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let header = jsonwebtoken::decode_header(&new_access).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(validate_on(&migrated, &new_access).await, 200);
    // Without the previous secret the HS256 token is just an unknown key.
    let strict = app.service_with(&[
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_PRIVATE_KEY", &fixture_key("ed25519-a.pem")),
    ]);
    assert_eq!(validate_on(&strict, &access).await, 401);
}

fn sign_raw(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

#[tokio::test]
async fn key_confusion_and_forged_signatures_are_refused() {
    let ed_pem = fixture_key("ed25519-a.pem");
    let p256_pem = fixture_key("p256-a.pem");
    let ed = TestApp::with_env(&[("JWT_ALGORITHM", "EdDSA"), ("JWT_PRIVATE_KEY", &ed_pem)]).await;
    ed.register("alice").await;
    let (access, _) = ed.login("alice").await;
    let claims = claims_of(&access);
    let ed_kid = kid(&access);
    let ed_jwk = jwks_of(&discovery(&[
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_PRIVATE_KEY", &ed_pem),
    ]))
    .await["keys"][0]
        .clone();

    // Sanity: re-signed with the real key and kid, the claims pass.
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": ed_kid});
    let real = EncodingKey::from_ed_pem(ed_pem.as_bytes()).unwrap();
    assert_eq!(
        validate_on(
            &ed.service,
            &sign_raw(&header, &claims, &real, Algorithm::EdDSA)
        )
        .await,
        200
    );

    // HS256 "signed" with the public key, in every form a verifier might hold it.
    let public_x = B64.decode(ed_jwk["x"].as_str().unwrap()).unwrap();
    let public_pem = fixture_key("ed25519-a.pub.pem");
    for (what, secret) in [
        ("raw public key", public_x),
        ("public PEM", public_pem.into_bytes()),
        ("public JWK JSON", ed_jwk.to_string().into_bytes()),
    ] {
        let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": ed_kid});
        let token = sign_raw(
            &header,
            &claims,
            &EncodingKey::from_secret(&secret),
            Algorithm::HS256,
        );
        assert_eq!(validate_on(&ed.service, &token).await, 401, "{what}");
    }
    // No kid, unknown kid, alg none with a real kid.
    let mut no_kid = Header::new(Algorithm::EdDSA);
    no_kid.typ = Some("at+jwt".into());
    assert_eq!(
        validate_on(&ed.service, &encode(&no_kid, &claims, &real).unwrap()).await,
        401
    );
    let mut unknown = no_kid.clone();
    unknown.kid = Some("not-a-known-kid".into());
    assert_eq!(
        validate_on(&ed.service, &encode(&unknown, &claims, &real).unwrap()).await,
        401
    );
    let none = format!(
        "{}.{}.",
        B64.encode(json!({"alg": "none", "typ": "at+jwt", "kid": ed_kid}).to_string()),
        B64.encode(claims.to_string())
    );
    assert_eq!(validate_on(&ed.service, &none).await, 401);

    // ES256 "psychic signature" (CVE-2022-21449): r = s = 0.
    let es = TestApp::with_env(&[("JWT_ALGORITHM", "ES256"), ("JWT_PRIVATE_KEY", &p256_pem)]).await;
    es.register("alice").await;
    let (es_access, _) = es.login("alice").await;
    let parts: Vec<&str> = es_access.split('.').collect();
    let psychic = format!("{}.{}.{}", parts[0], parts[1], B64.encode([0u8; 64]));
    assert_eq!(validate_on(&es.service, &psychic).await, 401);
    // An EdDSA token presented under the P-256 key's kid.
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid(&es_access)});
    let confused = sign_raw(&header, &claims_of(&es_access), &real, Algorithm::EdDSA);
    assert_eq!(validate_on(&es.service, &confused).await, 401);
    assert_eq!(es.validate(&es_access).await.status(), 200);
}

#[tokio::test]
async fn the_jwks_publishes_public_keys_only_and_is_cacheable() {
    let ed_pem = fixture_key("ed25519-a.pem");
    let previous = fixture_key("p256-a.pub.pem");
    // The jwks function gets the public key only; secrets around must not leak.
    let keys = discovery(&[
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_PUBLIC_KEY", &fixture_key("ed25519-a.pub.pem")),
        ("JWT_PREVIOUS_PUBLIC_KEYS", &previous),
        ("JWT_SECRET", TEST_SECRET),
        ("JWT_PREVIOUS_SECRET", TEST_SECRET),
        ("JWT_ISSUER", "https://auth.example.com"),
    ]);
    let response = fetch(&keys, "/.well-known/jwks.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    assert_eq!(response.headers()["content-type"], "application/json");
    let jwks = body_json(&response);
    let published = jwks["keys"].as_array().unwrap();
    assert_eq!(published.len(), 2, "{jwks}");
    let algs: Vec<&str> = published
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert_eq!(algs, ["EdDSA", "ES256"]);
    for key in published {
        assert_eq!(key["use"], "sig");
        assert_eq!(key["kid"].as_str().map(str::len), Some(16));
        assert_ne!(key["kty"], "oct");
        for private in ["d", "k", "p", "q"] {
            assert!(key.get(private).is_none(), "{private} in {key}");
        }
    }
    // The same kid the tokens carry.
    let app = TestApp::with_env(&[("JWT_ALGORITHM", "EdDSA"), ("JWT_PRIVATE_KEY", &ed_pem)]).await;
    app.register("alice").await;
    assert_eq!(
        published[0]["kid"],
        kid(&app.login("alice").await.0).as_str()
    );

    let openid = body_json(&fetch(&keys, "/.well-known/openid-configuration").await);
    assert_eq!(openid["issuer"], "https://auth.example.com");
    assert_eq!(
        openid["jwks_uri"],
        "https://auth.example.com/.well-known/jwks.json"
    );

    // HS256: the secret is never published, and the function never needs it.
    let hs = discovery(&[
        ("JWT_SECRET", TEST_SECRET),
        ("JWT_PREVIOUS_SECRET", &"p".repeat(40)),
    ]);
    assert_eq!(jwks_of(&hs).await, json!({"keys": []}));
    assert_error(&fetch(&hs, "/.well-known/other").await, 404, "not_found");
}

/// Discovery names the configured issuer's key set, whatever `Host` and
/// `X-Forwarded-Proto` the request carried (the document is cacheable: a
/// forged Host must not end up in a cache); without an issuer URL there is
/// no discovery document.
#[tokio::test]
async fn discovery_comes_from_the_configured_issuer_not_the_request() {
    let keys = discovery(&[
        ("JWT_SECRET", TEST_SECRET),
        ("JWT_ISSUER", "https://auth.example.com/"),
    ]);
    let mut event = event_json(
        "GET",
        "/.well-known/openid-configuration",
        &[("host", "evil.example"), ("x-forwarded-proto", "http")],
        None,
    );
    event["rawPath"] = json!("/.well-known/openid-configuration");
    let openid = body_json(&jwks_fn::handle(to_request(&event), &keys).await);
    assert_eq!(
        openid["jwks_uri"],
        "https://auth.example.com/.well-known/jwks.json"
    );
    let no_url = discovery(&[("JWT_SECRET", TEST_SECRET)]);
    assert_error(
        &fetch(&no_url, "/.well-known/openid-configuration").await,
        404,
        "not_found",
    );
}

/// The interpreter with PyJWT (`scripts/tools.sh` sets it up for `make test`).
fn python_with_pyjwt() -> String {
    std::env::var("TOKENGATE_PYTHON")
        .unwrap_or_else(|_| format!("{}/../.tools/venv/bin/python3", env!("CARGO_MANIFEST_DIR")))
}

/// PyJWT, run the README's way on `case`; its stdout.
fn pyjwt(case: &Value) -> String {
    let python = python_with_pyjwt();
    let mut child = Command::new(&python)
        .arg(format!(
            "{}/interop/pyjwt_verify.py",
            env!("CARGO_MANIFEST_DIR")
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{python} (run `make test`, which installs PyJWT): {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(case.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Another verifier, PyJWT, following the README's recipe: access tokens
/// verify, a tampered one does not, and a refresh token never passes as an
/// access token (its audience is not the API's), in every algorithm.
#[tokio::test]
async fn pyjwt_verifies_access_tokens_and_refuses_refresh_tokens() {
    for (alg, key) in [
        ("HS256", None),
        ("EdDSA", Some("ed25519-a.pem")),
        ("ES256", Some("p256-a.pem")),
    ] {
        let pem = key.map(fixture_key);
        let mut env = vec![("JWT_ALGORITHM", alg)];
        if let Some(pem) = &pem {
            env.push(("JWT_PRIVATE_KEY", pem.as_str()));
        }
        let app = TestApp::with_env(&env).await;
        app.register("alice").await;
        let (access, refresh) = app.login("alice").await;
        let parts: Vec<&str> = access.split('.').collect();
        let mut tampered = claims_of(&access);
        tampered["sub"] = json!("mallory");
        let tampered = B64.encode(tampered.to_string());
        let mut case = json!({
            "issuer": "tokengate",
            "audience": "tokengate-api",
            "valid": [access],
            "invalid": [format!("{}.{}.{}", parts[0], tampered, parts[2])],
            "refresh": [refresh],
        });
        match alg {
            "HS256" => case["secret"] = json!(TEST_SECRET),
            _ => case["jwks"] = jwks_of(&discovery(&env)).await,
        }
        let stdout = pyjwt(&case);
        assert_eq!(stdout.matches("verified").count(), 1, "{alg}: {stdout}");
        assert!(stdout.contains("refused invalid"), "{alg}: {stdout}");
        assert!(
            stdout.contains("refused refresh: InvalidAudienceError"),
            "{alg}: {stdout}"
        );
    }
}

#[test]
fn make_keygen_writes_keys_the_config_accepts() {
    let dir = std::env::temp_dir().join(format!("tokengate-keygen-{}", uuid::Uuid::new_v4()));
    for alg in ["EdDSA", "ES256"] {
        let status = Command::new("bash")
            .arg(format!(
                "{}/../scripts/keygen.sh",
                env!("CARGO_MANIFEST_DIR")
            ))
            .args([alg, dir.to_str().unwrap()])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{alg}");
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 6, "{files:?}");
    for private in files.iter().filter(|p| {
        let p = p.to_str().unwrap();
        p.ends_with(".pem") && !p.ends_with(".pub.pem")
    }) {
        let name = private.file_name().unwrap().to_str().unwrap();
        let alg = name.split('-').next().unwrap().to_string();
        let pem = std::fs::read_to_string(private).unwrap();
        let public = std::fs::read_to_string(private.with_extension("pub.pem")).unwrap();
        let keys = tokengate::keys::KeyConfig::from_lookup(|k| match k {
            "JWT_ALGORITHM" => Some(alg.clone()),
            "JWT_PRIVATE_KEY" => Some(pem.clone()),
            _ => None,
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        // The secret file is the same private key, as Secrets Manager holds it.
        let secret = std::fs::read_to_string(private.with_extension("secret.json")).unwrap();
        let values = tokengate::secrets::parse_secret(&secret).unwrap();
        assert_eq!(values["JWT_PRIVATE_KEY"], pem);
        // The public file is the same key: same kid once it becomes "previous".
        let previous = tokengate::keys::KeyConfig::public_jwks(&tokengate::config::Env::new(|k| {
            (k == "JWT_PREVIOUS_PUBLIC_KEYS").then(|| public.clone())
        }))
        .unwrap();
        assert_eq!(
            previous.keys[0].common.key_id.as_deref(),
            Some(keys.current.kid.as_str())
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A retired key leaves the published set at its not-after, not at the
/// function's next cold start.
#[tokio::test]
async fn a_retired_key_is_no_longer_published_from_its_not_after() {
    let end = tokengate::clock::now_secs() + 1;
    let keys = discovery(&[
        ("JWT_PREVIOUS_PUBLIC_KEYS", &fixture_key("p256-a.pub.pem")),
        ("JWT_PREVIOUS_NOT_AFTER", &end.to_string()),
    ]);
    assert_eq!(jwks_of(&keys).await["keys"].as_array().unwrap().len(), 1);
    while tokengate::clock::now_secs() < end {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(jwks_of(&keys).await, json!({"keys": []}));
}

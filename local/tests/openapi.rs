//! `openapi.yaml` describes exactly the routes the local server (and the
//! template) serves; schemathesis (`scripts/schemathesis.sh`, part of
//! `make test`) checks the responses against it.

use std::collections::BTreeSet;

use serde_yaml_ng::Value;
use tokengate_local::routes::ROUTES;

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The routed methods; `options` is the CORS preflight every path answers
/// before routing (`the_preflight_is_documented_on_every_path`).
const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head"];

#[test]
fn the_spec_and_the_server_have_the_same_routes() {
    let spec = spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for method in METHODS {
            if !item[*method].is_null() {
                documented.insert((method.to_uppercase(), path.as_str().unwrap().to_string()));
            }
        }
    }
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(documented, served);
}

#[test]
fn every_operation_documents_its_errors_and_protected_ones_their_credentials() {
    let spec = spec();
    for route in ROUTES {
        let operation = &spec["paths"][route.path][route.method.to_lowercase().as_str()];
        let responses = operation["responses"].as_mapping().unwrap();
        let has = |status: &str| responses.keys().any(|k| k.as_str() == Some(status));
        assert!(
            has("200") || has("201") || has("202") || has("204"),
            "{} {}: a success",
            route.method,
            route.path
        );
        if route.path.starts_with("/.well-known") {
            continue;
        }
        // Everything else reads DynamoDB: an outage is a documented 503.
        assert!(has("503"), "{} {}: 503", route.method, route.path);
        if route.protected {
            assert!(has("401") && has("403"), "{} {}", route.method, route.path);
            assert!(
                !operation["security"].as_sequence().unwrap().is_empty(),
                "{} {}: security",
                route.method,
                route.path
            );
        }
    }
}

#[test]
fn the_preflight_is_documented_on_every_path() {
    let spec = spec();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        let path = path.as_str().unwrap();
        let preflight = &item["options"];
        assert!(!preflight.is_null(), "OPTIONS {path}");
        assert!(
            preflight["security"].as_sequence().unwrap().is_empty(),
            "OPTIONS {path}: no credentials"
        );
        let responses = preflight["responses"].as_mapping().unwrap();
        assert_eq!(
            responses
                .keys()
                .map(|k| k.as_str().unwrap())
                .collect::<Vec<_>>(),
            ["204"],
            "OPTIONS {path}"
        );
    }
}

//! `template.yaml` deploys exactly what the code is: one function per crate,
//! the local server's routes with the same authorizer placement, least-privilege
//! IAM, and the table the store expects.

use std::collections::BTreeSet;

use serde_yaml_ng::Value;
use tokengate_local::routes::ROUTES;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn functions(template: &Value) -> Vec<(String, &Value)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(name, r)| (name.as_str().unwrap().to_string(), r))
        .collect()
}

fn binary(resource: &Value) -> String {
    assert_eq!(resource["Metadata"]["BuildMethod"], "rust-cargolambda");
    resource["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn every_function_crate_has_a_resource_and_vice_versa() {
    let template = template();
    let crates: BTreeSet<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../functions"))
            .unwrap()
            .flatten()
            .filter(|e| e.path().join("Cargo.toml").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
    let resources: BTreeSet<String> = functions(&template)
        .iter()
        .map(|(_, r)| binary(r))
        .collect();
    assert_eq!(crates, resources);

    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"][0], "arm64");
    assert_eq!(globals["Handler"], "bootstrap");
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");
}

#[test]
fn routes_match_the_local_server() {
    let template = template();
    let api = &template["Resources"]["Api"]["Properties"]["Auth"];
    let default_authorizer = api["DefaultAuthorizer"].as_str().unwrap();
    let mut deployed = BTreeSet::new();
    for (_, resource) in functions(&template) {
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for event in events.values().filter(|e| e["Type"] == "HttpApi") {
            let p = &event["Properties"];
            let authorizer = p["Auth"]["Authorizer"]
                .as_str()
                .unwrap_or(default_authorizer);
            deployed.insert((
                p["Method"].as_str().unwrap().to_string(),
                p["Path"].as_str().unwrap().to_string(),
                binary(resource),
                authorizer != "NONE",
            ));
        }
    }
    let local: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.path.to_string(),
                r.function.to_string(),
                r.protected,
            )
        })
        .collect();
    assert_eq!(deployed, local);
}

#[test]
fn the_authorizer_is_a_v2_simple_request_authorizer_uncached_by_default() {
    let template = template();
    let auth = &template["Resources"]["Api"]["Properties"]["Auth"];
    let authorizer = &auth["Authorizers"][auth["DefaultAuthorizer"].as_str().unwrap()];
    assert_eq!(authorizer["AuthorizerPayloadFormatVersion"], "2.0");
    assert_eq!(authorizer["EnableSimpleResponses"], true);
    assert_eq!(authorizer["Identity"]["Headers"][0], "Authorization");
    let ttl = &authorizer["Identity"]["ReauthorizeEvery"];
    let Value::Tagged(tagged) = ttl else {
        panic!("ReauthorizeEvery should !Ref a parameter")
    };
    let parameter = tagged.value.as_str().unwrap();
    assert_eq!(template["Parameters"][parameter]["Default"], 0);
}

fn statements(resource: &Value) -> Vec<&Value> {
    resource["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|p| p["Statement"].as_sequence().into_iter().flatten())
        .collect()
}

#[test]
fn iam_is_least_privilege() {
    let template = template();
    for (name, resource) in functions(&template) {
        let statements = statements(resource);
        if name == "JwksFunction" {
            // Serves public keys from memory: no AWS permission at all.
            assert!(resource["Properties"]["Policies"].is_null(), "{name}");
            assert!(resource["Properties"]["Environment"]["Variables"]["JWT_SECRET"].is_null());
            continue;
        }
        assert!(!statements.is_empty(), "{name} declares its own policy");
        for statement in statements {
            for action in statement["Action"].as_sequence().unwrap() {
                let action = action.as_str().unwrap();
                assert!(!action.contains('*'), "{name}: wildcard action {action}");
            }
            assert!(
                !matches!(&statement["Resource"], Value::String(s) if s.contains('*')),
                "{name}: wildcard resource"
            );
            assert!(
                !statement["Resource"].is_null(),
                "{name}: statement without resource"
            );
        }
    }
    let actions = |logical: &str| -> BTreeSet<String> {
        statements(&template["Resources"][logical])
            .iter()
            .flat_map(|s| s["Action"].as_sequence().unwrap().iter())
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    };
    for reader in ["AuthorizerFunction", "ValidateFunction"] {
        assert_eq!(
            actions(reader),
            BTreeSet::from(["dynamodb:BatchGetItem".to_string()]),
            "{reader}"
        );
    }
    // The sample function only reaches its own table and never sees the key.
    let todos = &template["Resources"]["TodosFunction"];
    for statement in statements(todos) {
        let Value::Tagged(arn) = &statement["Resource"] else {
            panic!("todos resource")
        };
        assert_eq!(arn.value.as_str().unwrap(), "TodosTable.Arn");
    }
    assert!(todos["Properties"]["Environment"]["Variables"]["JWT_SECRET"].is_null());
    // The private signing key only where tokens are minted.
    let holders: BTreeSet<String> = functions(&template)
        .into_iter()
        .filter(|(_, r)| !r["Properties"]["Environment"]["Variables"]["JWT_PRIVATE_KEY"].is_null())
        .map(|(name, _)| name)
        .collect();
    let minting = ["LoginFunction", "PasswordFunction", "RefreshFunction"];
    assert_eq!(holders, minting.map(String::from).into());
}

#[test]
fn the_warm_up_policy_grants_one_read_of_one_key() {
    let template = template();
    let policy = &template["Resources"]["ConnectionWarmUpPolicy"];
    assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy");
    let statements = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    assert_eq!(statements.len(), 1);
    let statement = &statements[0];
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(
        statement["Action"],
        serde_yaml_ng::from_str::<Value>("[dynamodb:GetItem]").unwrap()
    );
    let keys = &statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"];
    assert_eq!(keys.as_sequence().unwrap().len(), 1);
    assert_eq!(keys[0], tokengate::store::WARM_UP_KEY);
    // Every function that talks to DynamoDB warms up at init; jwks does not.
    for (name, resource) in functions(&template) {
        let attached = resource["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .any(|p| matches!(p, Value::Tagged(t) if t.value == "ConnectionWarmUpPolicy"));
        assert_eq!(attached, name != "JwksFunction", "{name}");
    }
}

#[test]
fn the_table_matches_the_store() {
    let template = template();
    let table = &template["Resources"]["AuthTable"]["Properties"];
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(table["KeySchema"][0]["AttributeName"], tokengate::store::PK);
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"],
        tokengate::store::TTL_ATTRIBUTE
    );
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(table["SSESpecification"]["SSEEnabled"], true);
    assert_eq!(
        table["GlobalSecondaryIndexes"][0]["IndexName"],
        tokengate::store::USER_INDEX
    );
    // Key material is never a template value: secrets are referenced by ARN
    // (empty by default), and only public keys may be given inline.
    for (name, parameter) in template["Parameters"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let lower = name.to_lowercase();
        if lower.contains("secret") || lower.contains("key") {
            assert!(
                name.ends_with("SecretArn") || name.contains("Public"),
                "{name} would put key material in the template"
            );
            assert!(
                matches!(parameter["Default"].as_str(), None | Some("")),
                "{name} has a default"
            );
        }
    }
}

#[test]
fn parameter_ranges_are_the_ones_the_functions_accept() {
    use tokengate::config::limits;
    let template = template();
    let parameters = &template["Parameters"];
    for (name, range) in [
        ("AccessTokenTtlSecs", limits::ACCESS_TTL_SECS),
        ("RefreshTokenTtlSecs", limits::REFRESH_TTL_SECS),
        ("RefreshReuseGraceSecs", limits::REFRESH_REUSE_GRACE_SECS),
        ("LoginMaxFailures", limits::LOGIN_MAX_FAILURES),
        ("LoginMaxFailuresPerIp", limits::LOGIN_MAX_FAILURES_PER_IP),
        ("LoginFailureWindowSecs", limits::LOGIN_FAILURE_WINDOW_SECS),
    ] {
        let p = &parameters[name];
        assert_eq!(p["MinValue"].as_u64(), Some(*range.start()), "{name}");
        assert_eq!(p["MaxValue"].as_u64(), Some(*range.end()), "{name}");
    }
}

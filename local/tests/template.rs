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

/// `!Ref AWS::NoValue`: the property is left out.
fn is_no_value(value: &Value) -> bool {
    matches!(value, Value::Tagged(t) if t.tag == "Ref" && t.value == "AWS::NoValue")
}

/// Both branches of `!If [condition, a, b]` (but not `!Ref AWS::NoValue`);
/// any other value as it is.
fn branches(value: &Value) -> Vec<&Value> {
    match value {
        Value::Tagged(t) if t.tag == "If" => t.value.as_sequence().unwrap()[1..]
            .iter()
            .filter(|v| !is_no_value(v))
            .collect(),
        _ => vec![value],
    }
}

/// What a property is where it is set: `!If [c, v, !Ref AWS::NoValue]` is
/// `v`; None when it is absent.
fn present(value: &Value) -> Option<&Value> {
    match value {
        Value::Null => None,
        Value::Tagged(t) if t.tag == "If" && is_no_value(&t.value[2]) => Some(&t.value[1]),
        _ => Some(value),
    }
}

fn statements(resource: &Value) -> Vec<&Value> {
    resource["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(branches)
        .flat_map(|p| p["Statement"].as_sequence().into_iter().flatten())
        .collect()
}

fn statement_actions(statement: &Value) -> Vec<&str> {
    statement["Action"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect()
}

fn variables(resource: &Value) -> &Value {
    &resource["Properties"]["Environment"]["Variables"]
}

#[test]
fn iam_is_least_privilege() {
    let template = template();
    for (name, resource) in functions(&template) {
        let statements = statements(resource);
        if name == "JwksFunction" {
            // Serves public keys: no DynamoDB, only (EdDSA/ES256) the public
            // keys' secret.
            for statement in &statements {
                assert_eq!(
                    statement_actions(statement),
                    ["secretsmanager:GetSecretValue"]
                );
                assert_eq!(statement["Resource"].as_str(), Some("PublicKeysSecret"));
            }
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
            BTreeSet::from([
                "dynamodb:BatchGetItem".to_string(),
                "secretsmanager:GetSecretValue".to_string()
            ]),
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
    assert!(variables(todos)["KEYS_SECRET_ARN"].is_null());
    // The private signing key's secret only where tokens are minted; every
    // other function but todos gets the public keys (or, HS256, JwtSecret).
    let holders: BTreeSet<String> = functions(&template)
        .into_iter()
        .filter(|(_, r)| {
            serde_yaml_ng::to_string(&variables(r)["KEYS_SECRET_ARN"])
                .unwrap()
                .contains("SigningKeySecretArn")
        })
        .map(|(name, _)| name)
        .collect();
    let minting = ["LoginFunction", "PasswordFunction", "RefreshFunction"];
    assert_eq!(holders, minting.map(String::from).into());
    for (name, resource) in functions(&template) {
        let keys = serde_yaml_ng::to_string(&variables(resource)["KEYS_SECRET_ARN"]).unwrap();
        if name == "TodosFunction" || minting.contains(&name.as_str()) {
            continue;
        }
        assert!(keys.contains("PublicKeysSecret"), "{name}: {keys}");
    }
}

/// The key variables that hold secrets: read from KEYS_SECRET_ARN's JSON,
/// never the environment.
const SECRET_VARIABLES: [&str; 3] = ["JWT_SECRET", "JWT_PRIVATE_KEY", "JWT_PREVIOUS_SECRET"];

#[test]
fn keys_come_from_secrets_manager_never_the_environment() {
    let template = template();
    let mut environments = vec![(
        "Globals".to_string(),
        &template["Globals"]["Function"]["Environment"]["Variables"],
    )];
    environments.extend(
        functions(&template)
            .into_iter()
            .map(|(name, r)| (name, variables(r))),
    );
    for (name, environment) in environments {
        for variable in SECRET_VARIABLES {
            assert!(environment[variable].is_null(), "{name} has {variable}");
        }
        let text = serde_yaml_ng::to_string(environment).unwrap();
        assert!(
            !text.contains("resolve:secretsmanager"),
            "{name}: a secret resolved into the environment"
        );
    }
    // A function reads exactly the secret it is given, and only that one.
    for (name, resource) in functions(&template) {
        let given = present(&variables(resource)["KEYS_SECRET_ARN"]);
        let readable: Vec<&Value> = statements(resource)
            .into_iter()
            .filter(|s| {
                statement_actions(s)
                    .iter()
                    .any(|a| a.starts_with("secretsmanager:"))
            })
            .map(|s| {
                assert_eq!(
                    statement_actions(s),
                    ["secretsmanager:GetSecretValue"],
                    "{name}"
                );
                &s["Resource"]
            })
            .collect();
        match given {
            Some(arn) => assert_eq!(readable, vec![arn], "{name}"),
            None => assert!(readable.is_empty(), "{name} reads a secret it is not given"),
        }
    }
    // HS256: a generated JSON secret; EdDSA/ES256: the public keys' secret.
    let resources = &template["Resources"];
    let jwt = &resources["JwtSecret"];
    assert_eq!(jwt["Condition"], "IsHmac");
    let generate = &jwt["Properties"]["GenerateSecretString"];
    assert_eq!(generate["SecretStringTemplate"], "{}");
    assert_eq!(generate["GenerateStringKey"], "JWT_SECRET");
    assert_eq!(resources["PublicKeysSecret"]["Condition"], "IsAsymmetric");
    assert!(template["Parameters"]["PreviousJwtSecretArn"].is_null());
}

#[test]
fn every_item_access_is_limited_to_its_key_prefixes() {
    let template = template();
    for (name, resource) in functions(&template) {
        for statement in statements(resource) {
            let actions = statement_actions(statement);
            let on_table = matches!(
                &statement["Resource"],
                Value::Tagged(t) if t.tag == "GetAtt" && t.value == "AuthTable.Arn"
            );
            let target = serde_yaml_ng::to_string(&statement["Resource"]).unwrap();
            if on_table {
                let keys = statement["Condition"]["ForAllValues:StringLike"]
                    ["dynamodb:LeadingKeys"]
                    .as_sequence()
                    .unwrap_or_else(|| panic!("{name}: {actions:?} without dynamodb:LeadingKeys"));
                assert!(!keys.is_empty(), "{name}: {actions:?}");
                for key in keys {
                    let key = key.as_str().unwrap();
                    assert!(
                        key.contains('#') && !key.starts_with('*'),
                        "{name}: {key} is not a key prefix"
                    );
                }
            } else if target.contains("AuthTable") {
                // An index's leading key is its own partition key (the bare
                // user id): no prefix restricts it, so only a Query there.
                assert!(target.contains("/index/"), "{name}: {target}");
                assert_eq!(actions, ["dynamodb:Query"], "{name}");
            }
        }
    }
}

#[test]
fn access_decisions_never_read_the_password_hash() {
    let template = template();
    let expected: BTreeSet<&str> = tokengate::store::DECISION_ATTRIBUTES
        .iter()
        .copied()
        .collect();
    assert!(!expected.contains("password_hash"));
    for reader in ["AuthorizerFunction", "ValidateFunction", "SessionsFunction"] {
        let reads: Vec<&Value> = statements(&template["Resources"][reader])
            .into_iter()
            .filter(|s| statement_actions(s).contains(&"dynamodb:BatchGetItem"))
            .collect();
        assert!(!reads.is_empty(), "{reader}");
        for statement in reads {
            let condition = &statement["Condition"];
            let attributes: BTreeSet<&str> = condition["ForAllValues:StringEquals"]
                ["dynamodb:Attributes"]
                .as_sequence()
                .unwrap_or_else(|| panic!("{reader}: BatchGetItem without dynamodb:Attributes"))
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            assert_eq!(attributes, expected, "{reader}");
            // Without it, a read with no projection (every attribute) would
            // pass: ForAllValues holds for an empty set.
            assert_eq!(
                condition["StringEqualsIfExists"]["dynamodb:Select"], "SPECIFIC_ATTRIBUTES",
                "{reader}"
            );
        }
    }
}

#[test]
fn argon2_functions_have_reserved_concurrency() {
    let template = template();
    for name in ["RegisterFunction", "LoginFunction", "PasswordFunction"] {
        let reserved = &template["Resources"][name]["Properties"]["ReservedConcurrentExecutions"];
        assert!(!reserved.is_null(), "{name}");
        assert!(
            serde_yaml_ng::to_string(reserved)
                .unwrap()
                .contains("HashingConcurrency"),
            "{name}"
        );
    }
    // The authorizer is never capped: every protected request waits on it.
    let authorizer = &template["Resources"]["AuthorizerFunction"]["Properties"];
    assert!(authorizer["ReservedConcurrentExecutions"].is_null());
}

#[test]
fn access_logs_never_record_credentials() {
    let template = template();
    let settings = &template["Resources"]["Api"]["Properties"]["AccessLogSettings"];
    assert!(!settings["DestinationArn"].is_null());
    let format = settings["Format"]
        .as_str()
        .expect("AccessLogSettings.Format");
    let lower = format.to_lowercase();
    assert!(!lower.contains("authorization"), "{format}");
    assert!(!lower.contains("cookie"), "{format}");
    // One JSON object of context variables, no header.
    let fields: serde_json::Value = serde_json::from_str(format).unwrap();
    for (field, value) in fields.as_object().unwrap() {
        let value = value.as_str().unwrap();
        assert!(value.starts_with("$context."), "{field}: {value}");
        assert!(!value.contains("header"), "{field}: {value}");
    }
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
        if parameter["Type"] != "String" {
            // KeyRefreshSecs and the like: numbers, not key material.
            continue;
        }
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
        ("SessionMaxLifetimeSecs", limits::SESSION_MAX_LIFETIME_SECS),
        ("RegisterMaxPerIp", limits::REGISTER_MAX_PER_IP),
        ("KeyRefreshSecs", limits::KEYS_REFRESH_SECS),
    ] {
        let p = &parameters[name];
        assert_eq!(p["MinValue"].as_u64(), Some(*range.start()), "{name}");
        assert_eq!(p["MaxValue"].as_u64(), Some(*range.end()), "{name}");
    }
    // The new ones reach every function.
    let environment = &template["Globals"]["Function"]["Environment"]["Variables"];
    for (name, variable) in [
        ("SessionMaxLifetimeSecs", "SESSION_MAX_LIFETIME_SECS"),
        ("RegisterMaxPerIp", "REGISTER_MAX_PER_IP"),
        ("KeyRefreshSecs", "KEYS_REFRESH_SECS"),
    ] {
        assert!(
            matches!(&environment[variable], Value::Tagged(t) if t.tag == "Ref" && t.value == name),
            "{variable} should !Ref {name}"
        );
    }
}

/// `!Ref <parameter>`.
fn is_ref(value: &Value, parameter: &str) -> bool {
    matches!(value, Value::Tagged(t) if t.tag == "Ref" && t.value == parameter)
}

/// Header or method names, compared as HTTP compares them.
fn names(value: &Value) -> BTreeSet<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("a list of names: {value:?}"))
        .iter()
        .map(|name| name.as_str().unwrap().to_ascii_lowercase())
        .collect()
}

fn lower(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| name.to_ascii_lowercase()).collect()
}

#[test]
fn cors_is_configured_only_with_origins_and_as_the_browser_module_answers() {
    use tokengate::browser;
    let template = template();
    let parameter = &template["Parameters"]["CorsAllowedOrigins"];
    assert_eq!(parameter["Type"], "CommaDelimitedList");
    assert_eq!(parameter["Default"], "", "no browser origin by default");
    let condition = serde_yaml_ng::to_string(&template["Conditions"]["HasCorsOrigins"]).unwrap();
    assert!(condition.contains("CorsAllowedOrigins"), "{condition}");
    // Without origins there is no CorsConfiguration at all (and so no
    // preflight answered by API Gateway).
    let cors = &template["Resources"]["Api"]["Properties"]["CorsConfiguration"];
    let Value::Tagged(conditional) = cors else {
        panic!("CorsConfiguration should be !If [HasCorsOrigins, {{...}}, !Ref AWS::NoValue]")
    };
    assert!(conditional.tag == "If", "{cors:?}");
    let arguments = conditional.value.as_sequence().unwrap();
    assert_eq!(arguments.len(), 3, "{cors:?}");
    assert_eq!(arguments[0], "HasCorsOrigins");
    assert!(is_no_value(&arguments[2]), "{cors:?}");
    let cors = &arguments[1];
    // Exact origins from the parameter, never `*`: credentials (the refresh
    // cookie) are allowed.
    assert!(
        is_ref(&cors["AllowOrigins"], "CorsAllowedOrigins"),
        "{:?}",
        cors["AllowOrigins"]
    );
    assert_eq!(cors["AllowCredentials"], true);
    // What API Gateway answers is what the local gateway answers.
    assert_eq!(
        names(&cors["AllowHeaders"]),
        lower(browser::CORS_ALLOWED_HEADERS)
    );
    assert_eq!(
        names(&cors["ExposeHeaders"]),
        lower(browser::CORS_EXPOSED_HEADERS)
    );
    assert_eq!(
        names(&cors["AllowMethods"]),
        lower(browser::CORS_ALLOWED_METHODS)
    );
    assert_eq!(
        cors["MaxAge"].as_u64(),
        Some(browser::PREFLIGHT_MAX_AGE_SECS)
    );
}

#[test]
fn the_csrf_check_trusts_the_origins_cors_allows() {
    let template = template();
    // `!Join [",", !Ref CorsAllowedOrigins]`: the list as the functions parse it.
    let from_parameter = |value: &Value| {
        matches!(value, Value::Tagged(t) if t.tag == "Join"
            && t.value[0] == ","
            && is_ref(&t.value[1], "CorsAllowedOrigins"))
    };
    let global =
        &template["Globals"]["Function"]["Environment"]["Variables"]["CORS_ALLOWED_ORIGINS"];
    assert!(from_parameter(global), "Globals: {global:?}");
    for (name, resource) in functions(&template) {
        let own = &variables(resource)["CORS_ALLOWED_ORIGINS"];
        assert!(own.is_null() || from_parameter(own), "{name}: {own:?}");
    }
}

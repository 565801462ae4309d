//! `template.yaml` deploys exactly what the code is: one function per crate,
//! the local server's routes with the same authorizer placement, least-privilege
//! IAM, and the table the store expects.

use std::collections::{BTreeMap, BTreeSet};

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
    // The activity trail: the access decision, then one Query on its own
    // index, and nothing else.
    assert_eq!(
        actions("ActivityFunction"),
        BTreeSet::from([
            "dynamodb:BatchGetItem".to_string(),
            "dynamodb:Query".to_string(),
            "secretsmanager:GetSecretValue".to_string()
        ])
    );
    for statement in statements(&template["Resources"]["ActivityFunction"]) {
        if statement_actions(statement).contains(&"dynamodb:Query") {
            let target = serde_yaml_ng::to_string(&statement["Resource"]).unwrap();
            let index = format!("/index/{}", tokengate::store::ACTIVITY_INDEX);
            assert!(target.contains(&index), "ActivityFunction queries {target}");
        }
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
    let minting = [
        "AccountFunction",
        "LoginFunction",
        "PasswordFunction",
        "RefreshFunction",
    ];
    assert_eq!(holders, minting.map(String::from).into());
    for (name, resource) in functions(&template) {
        let keys = serde_yaml_ng::to_string(&variables(resource)["KEYS_SECRET_ARN"]).unwrap();
        // The admin function reads no key at all: it only updates users.
        if ["TodosFunction", "AdminFunction"].contains(&name.as_str())
            || minting.contains(&name.as_str())
        {
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
    // The functions that record a security event, each in the transaction
    // of the operation it records.
    let mut event_writers = BTreeSet::new();
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
                // The trail is append-only: events are put, never read or
                // updated on the table (listing is the index Query, and
                // expiry is DynamoDB's TTL); only deleting the account
                // deletes them.
                if keys.iter().any(|k| k.as_str() == Some("ACTIVITY#*")) {
                    let deletes = ["dynamodb:DeleteItem", "dynamodb:BatchWriteItem"];
                    if name == "AccountFunction" && actions.iter().all(|a| deletes.contains(a)) {
                        continue;
                    }
                    assert_eq!(actions, ["dynamodb:PutItem"], "{name}: ACTIVITY#*");
                    event_writers.insert(name.clone());
                }
            } else if target.contains("AuthTable") {
                // An index's leading key is its own partition key (the bare
                // user id): no prefix restricts it, so only a Query there.
                assert!(target.contains("/index/"), "{name}: {target}");
                assert_eq!(actions, ["dynamodb:Query"], "{name}");
            }
        }
    }
    let expected: BTreeSet<String> = [
        "AccountFunction",
        "LoginFunction",
        "LogoutFunction",
        "PasswordFunction",
        "RefreshFunction",
        "SessionsFunction",
    ]
    .map(String::from)
    .into();
    assert_eq!(event_writers, expected);
    // A failed sign-in is recorded only if its account exists: the user is
    // checked in the same transaction.
    let login_checks = statements(&template["Resources"]["LoginFunction"])
        .into_iter()
        .filter(|s| statement_actions(s) == ["dynamodb:ConditionCheckItem"])
        .flat_map(|s| {
            s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                .as_sequence()
                .into_iter()
                .flatten()
                .map(|k| k.as_str().unwrap().to_string())
        })
        .collect::<BTreeSet<String>>();
    assert_eq!(login_checks, BTreeSet::from(["USER#*".to_string()]));
}

#[test]
fn access_decisions_never_read_the_password_hash() {
    let template = template();
    let expected: BTreeSet<&str> = tokengate::store::DECISION_ATTRIBUTES
        .iter()
        .copied()
        .collect();
    assert!(!expected.contains("password_hash"));
    for reader in [
        "AuthorizerFunction",
        "ValidateFunction",
        "SessionsFunction",
        "ActivityFunction",
    ] {
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
    for name in [
        "RegisterFunction",
        "LoginFunction",
        "PasswordFunction",
        "AccountFunction",
    ] {
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
    // Both indexes as the store creates and queries them
    // (tokengate::store::codec::create_table).
    let attribute_types: BTreeMap<&str, &str> = table["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap(),
                a["AttributeType"].as_str().unwrap(),
            )
        })
        .collect();
    let indexes = table["GlobalSecondaryIndexes"].as_sequence().unwrap();
    assert_eq!(indexes.len(), 2);
    for (index, hash, range) in [
        (tokengate::store::USER_INDEX, "user_id", "created_at"),
        (tokengate::store::ACTIVITY_INDEX, "activity_user", "at_ms"),
    ] {
        let gsi = indexes
            .iter()
            .find(|i| i["IndexName"] == index)
            .unwrap_or_else(|| panic!("no index {index}"));
        assert_eq!(gsi["KeySchema"][0]["AttributeName"], hash, "{index}");
        assert_eq!(gsi["KeySchema"][0]["KeyType"], "HASH", "{index}");
        assert_eq!(gsi["KeySchema"][1]["AttributeName"], range, "{index}");
        assert_eq!(gsi["KeySchema"][1]["KeyType"], "RANGE", "{index}");
        assert_eq!(gsi["Projection"]["ProjectionType"], "ALL", "{index}");
        assert_eq!(attribute_types.get(hash), Some(&"S"), "{index}: {hash}");
        assert_eq!(attribute_types.get(range), Some(&"N"), "{index}: {range}");
    }
    // The table key and the index keys, nothing else (CloudFormation refuses
    // a definition no key uses).
    assert_eq!(attribute_types.len(), 5, "{attribute_types:?}");
    assert_eq!(attribute_types.get(tokengate::store::PK), Some(&"S"));
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
        ("AuditRetentionDays", limits::AUDIT_RETENTION_DAYS),
        ("ForgotMaxPerEmail", limits::FORGOT_MAX_PER_EMAIL),
        ("ForgotMinResponseMs", limits::FORGOT_MIN_RESPONSE_MS),
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
        ("AuditRetentionDays", "AUDIT_RETENTION_DAYS"),
        ("MetricsNamespace", "POWERTOOLS_METRICS_NAMESPACE"),
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

#[test]
fn every_function_names_its_metrics_service() {
    let template = template();
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert!(
        is_ref(&globals["POWERTOOLS_METRICS_NAMESPACE"], "MetricsNamespace"),
        "{:?}",
        globals["POWERTOOLS_METRICS_NAMESPACE"]
    );
    assert!(
        globals["POWERTOOLS_SERVICE_NAME"].is_null(),
        "one service name per function, not one for all"
    );
    let namespace = &template["Parameters"]["MetricsNamespace"];
    assert_eq!(namespace["Type"], "String");
    assert_eq!(namespace["Default"], tokengate::metrics::DEFAULT_NAMESPACE);
    // The `service` dimension the alarms and the dashboard select on is the
    // binary's name, never the generated function name.
    for (name, resource) in functions(&template) {
        assert_eq!(
            variables(resource)["POWERTOOLS_SERVICE_NAME"].as_str(),
            Some(binary(resource).as_str()),
            "{name}"
        );
    }
}

#[test]
fn tracing_is_a_parameter_and_passes_through_by_default() {
    let template = template();
    let tracing = &template["Parameters"]["Tracing"];
    assert_eq!(tracing["Default"], "PassThrough");
    let allowed: BTreeSet<&str> = tracing["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(allowed, BTreeSet::from(["Active", "PassThrough"]));
    assert!(is_ref(
        &template["Globals"]["Function"]["Tracing"],
        "Tracing"
    ));
}

/// Which services count `metric` (tokengate::metrics): an alarm or a graph
/// on a metric its `service` never emits would stay empty. Panics on a
/// metric this table does not know, so a new one is placed here too.
fn emitted_by(metric: &str, every_service: &BTreeSet<String>) -> BTreeSet<String> {
    let services: &[&str] = match metric {
        "LoginSucceeded" | "LoginFailed" | "LoginThrottled" | "NewDevice" => &["login"],
        "Registered" | "RegisterThrottled" => &["register"],
        "RefreshRotated" | "RefreshReissued" | "RefreshReplayRevoked" => &["refresh"],
        "Logout" | "LogoutAll" => &["logout"],
        "SessionRevoked" => &["sessions"],
        "PasswordChanged" => &["password"],
        "MailSent" | "MailFailed" => &["register", "account"],
        "PasswordResetRequested"
        | "PasswordReset"
        | "EmailVerified"
        | "AccountDeleted"
        | "LogoutOthers"
        | "CodeRejected" => &["account"],
        "AccountDisabled" => &["admin"],
        "AuthorizerAllow" | "AuthorizerDeny" => &["authorizer"],
        "StoreErrors" | "ColdStart" => return every_service.clone(),
        other if other == tokengate::metrics::DECISION_LATENCY => &["authorizer"],
        other => panic!("{other}: which service emits it?"),
    };
    services.iter().map(|s| s.to_string()).collect()
}

/// A dimension's value in a CloudFormation `Dimensions` list.
fn dimension<'a>(dimensions: &'a Value, name: &str) -> Option<&'a Value> {
    dimensions
        .as_sequence()?
        .iter()
        .find(|d| d["Name"] == name)
        .map(|d| &d["Value"])
}

/// What `!Ref X` names.
fn ref_name(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str(),
        _ => None,
    }
}

/// `!Sub` text with every `${Name}` written `Name`, and the names.
fn unsubstituted(text: &str) -> (String, BTreeSet<String>) {
    let mut out = String::new();
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').expect("an unclosed ${");
        let name = &after[..end];
        assert!(!name.starts_with('!'), "unexpected literal ${{{name}}}");
        names.insert(name.to_string());
        out.push_str(name);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    (out, names)
}

/// The values of `key="value"` terms in a SEARCH expression.
fn search_terms<'a>(expression: &'a str, key: &str) -> Vec<&'a str> {
    let needle = format!("{key}=\"");
    expression
        .match_indices(needle.as_str())
        .map(|(i, _)| {
            let rest = &expression[i + needle.len()..];
            &rest[..rest.find('"').expect("a closing quote")]
        })
        .collect()
}

fn resources_of_type<'a>(template: &'a Value, kind: &str) -> Vec<(String, &'a Value)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(name, r)| (name.as_str().unwrap().to_string(), r))
        .collect()
}

#[test]
fn alarms_and_the_dashboard_use_the_metrics_the_functions_emit() {
    use tokengate::metrics::{Metric, DECISION_LATENCY};
    let template = template();
    let known: BTreeSet<&str> = Metric::ALL
        .iter()
        .map(|m| m.name())
        .chain([DECISION_LATENCY])
        .collect();
    let services: BTreeSet<String> = functions(&template)
        .iter()
        .map(|(_, r)| binary(r))
        .collect();
    let function_names: BTreeSet<String> = functions(&template)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    // Every metric has its place in the table above.
    for name in &known {
        assert!(!emitted_by(name, &services).is_empty(), "{name}");
    }
    // One of ours: a known name, and the `service` that emits it.
    let check_own = |what: &str, metric: &str, service: Option<&str>| {
        assert!(known.contains(metric), "{what}: {metric} is not emitted");
        let service = service.unwrap_or_else(|| panic!("{what}: {metric} without service"));
        assert!(
            emitted_by(metric, &services).contains(service),
            "{what}: service {service} does not emit {metric}"
        );
    };

    // Alarms.
    let alarms = resources_of_type(&template, "AWS::CloudWatch::Alarm");
    assert!(!alarms.is_empty());
    let condition = serde_yaml_ng::to_string(&template["Conditions"]["HasAlarmTopic"]).unwrap();
    assert!(condition.contains("AlarmTopicArn"), "{condition}");
    assert_eq!(template["Parameters"]["AlarmTopicArn"]["Default"], "");
    // Per AWS/Lambda metric, the functions some alarm watches.
    let mut watched: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, alarm) in &alarms {
        let p = &alarm["Properties"];
        let description = serde_yaml_ng::to_string(&p["AlarmDescription"]).unwrap();
        assert!(
            description.len() > 100,
            "{name}: say what it means and what to do"
        );
        assert_eq!(p["TreatMissingData"], "notBreaching", "{name}");
        // !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]
        let Value::Tagged(actions) = &p["AlarmActions"] else {
            panic!("{name}: AlarmActions should be !If [HasAlarmTopic, ...]")
        };
        assert!(actions.tag == "If", "{name}");
        assert_eq!(actions.value[0], "HasAlarmTopic", "{name}");
        assert_eq!(
            ref_name(&actions.value[1][0]),
            Some("AlarmTopicArn"),
            "{name}"
        );
        assert!(is_no_value(&actions.value[2]), "{name}");
        // A single metric, or metric math over MetricStats.
        let mut metrics: Vec<(&Value, &Value, &Value)> = Vec::new();
        if !p["MetricName"].is_null() {
            metrics.push((&p["Namespace"], &p["MetricName"], &p["Dimensions"]));
        } else {
            let queries = p["Metrics"]
                .as_sequence()
                .unwrap_or_else(|| panic!("{name}: MetricName or Metrics"));
            let returned = queries.iter().filter(|q| q["ReturnData"] == true).count();
            assert_eq!(returned, 1, "{name}: one query is the alarm's");
            let stats: Vec<&Value> = queries
                .iter()
                .filter(|q| !q["MetricStat"].is_null())
                .map(|q| &q["MetricStat"]["Metric"])
                .collect();
            assert!(
                stats.len() <= 10,
                "{name}: an alarm's math reads at most 10 metrics"
            );
            for m in stats {
                metrics.push((&m["Namespace"], &m["MetricName"], &m["Dimensions"]));
            }
        }
        for (namespace, metric, dimensions) in metrics {
            let metric = metric.as_str().unwrap();
            if is_ref(namespace, "MetricsNamespace") {
                let service = dimension(dimensions, "service").and_then(|v| v.as_str());
                check_own(name.as_str(), metric, service);
            } else if namespace == "AWS/Lambda" {
                let function = dimension(dimensions, "FunctionName")
                    .and_then(ref_name)
                    .unwrap_or_else(|| panic!("{name}: FunctionName should !Ref a function"));
                assert!(function_names.contains(function), "{name}: {function}");
                watched
                    .entry(metric.to_string())
                    .or_default()
                    .insert(function.to_string());
            } else if namespace == "AWS/DynamoDB" {
                let table = dimension(dimensions, "TableName").and_then(ref_name);
                assert_eq!(table, Some("AuthTable"), "{name}");
            } else {
                panic!("{name}: namespace {namespace:?}");
            }
        }
    }
    // Every function's errors and throttles raise an alarm.
    for metric in ["Errors", "Throttles"] {
        assert_eq!(watched.get(metric), Some(&function_names), "{metric}");
    }

    // The dashboard.
    let body = &template["Resources"]["Dashboard"]["Properties"]["DashboardBody"];
    let Value::Tagged(sub) = body else {
        panic!("DashboardBody should be a !Sub string")
    };
    assert!(sub.tag == "Sub");
    let (text, names) = unsubstituted(sub.value.as_str().unwrap());
    for name in &names {
        let resource = name.split('.').next().unwrap();
        assert!(
            name.starts_with("AWS::")
                || !template["Parameters"][name.as_str()].is_null()
                || !template["Resources"][resource].is_null(),
            "${{{name}}} names nothing"
        );
    }
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut shown: BTreeSet<String> = BTreeSet::new();
    let mut graphed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut listed_alarms: BTreeSet<String> = BTreeSet::new();
    for widget in dashboard["widgets"].as_array().unwrap() {
        let properties = &widget["properties"];
        if widget["type"] == "alarm" {
            for arn in properties["alarms"].as_array().unwrap() {
                let arn = arn.as_str().unwrap();
                let alarm = arn.strip_suffix(".Arn").unwrap_or_else(|| panic!("{arn}"));
                listed_alarms.insert(alarm.to_string());
            }
            continue;
        }
        let title = properties["title"].as_str().unwrap_or("?").to_string();
        let mut previous: Vec<String> = Vec::new();
        for row in properties["metrics"].as_array().into_iter().flatten() {
            let row = row.as_array().unwrap();
            let (parts, options) = match row.last() {
                Some(serde_json::Value::Object(options)) => (&row[..row.len() - 1], Some(options)),
                _ => (&row[..], None),
            };
            if let Some(expression) = options
                .and_then(|o| o.get("expression"))
                .and_then(|e| e.as_str())
            {
                assert!(parts.is_empty(), "{title}: {row:?}");
                assert!(
                    expression.contains("\"MetricsNamespace\""),
                    "{title}: {expression}"
                );
                let metrics = search_terms(expression, "MetricName");
                assert!(!metrics.is_empty(), "{title}: {expression}");
                let service_terms = search_terms(expression, "service");
                for metric in metrics {
                    assert!(known.contains(metric), "{title}: {metric} is not emitted");
                    if let Some(&service) = service_terms.first() {
                        check_own(title.as_str(), metric, Some(service));
                    }
                    shown.insert(metric.to_string());
                }
                continue;
            }
            // A metric row, with CloudWatch's shorthands: "." repeats the
            // row above at that position, a leading "..." all of it but the
            // values given.
            let parts: Vec<String> = parts
                .iter()
                .map(|p| p.as_str().unwrap().to_string())
                .collect();
            let resolved: Vec<String> = if parts.first().map(String::as_str) == Some("...") {
                let tail = &parts[1..];
                let keep = previous.len() - tail.len();
                previous[..keep].iter().chain(tail).cloned().collect()
            } else {
                parts
                    .iter()
                    .enumerate()
                    .map(|(i, p)| match p.as_str() {
                        "." => previous[i].clone(),
                        _ => p.clone(),
                    })
                    .collect()
            };
            previous = resolved.clone();
            let dimensions: BTreeMap<&str, &str> = resolved[2..]
                .chunks(2)
                .map(|pair| (pair[0].as_str(), pair[1].as_str()))
                .collect();
            let (namespace, metric) = (resolved[0].as_str(), resolved[1].as_str());
            match namespace {
                "MetricsNamespace" => {
                    check_own(title.as_str(), metric, dimensions.get("service").copied());
                    shown.insert(metric.to_string());
                }
                "AWS/Lambda" => {
                    let function = dimensions["FunctionName"];
                    assert!(function_names.contains(function), "{title}: {function}");
                    graphed
                        .entry(metric.to_string())
                        .or_default()
                        .insert(function.to_string());
                }
                "AWS/DynamoDB" => assert_eq!(dimensions["TableName"], "AuthTable", "{title}"),
                other => panic!("{title}: namespace {other}"),
            }
        }
    }
    // Every metric is on it, every function's Lambda graphs, every alarm.
    let known: BTreeSet<String> = known.iter().map(|m| m.to_string()).collect();
    assert_eq!(shown, known);
    for metric in ["Errors", "Throttles", "Duration"] {
        assert_eq!(graphed.get(metric), Some(&function_names), "{metric}");
    }
    let alarm_names: BTreeSet<String> = alarms.iter().map(|(name, _)| name.clone()).collect();
    assert_eq!(listed_alarms, alarm_names);
    assert!(!template["Outputs"]["DashboardUrl"].is_null());
}

#[test]
fn every_log_group_expires_and_the_saved_queries_cover_the_functions() {
    let template = template();
    let groups: BTreeSet<String> = resources_of_type(&template, "AWS::Logs::LogGroup")
        .into_iter()
        .map(|(name, group)| {
            assert!(
                is_ref(&group["Properties"]["RetentionInDays"], "LogRetentionDays"),
                "{name} keeps its logs forever"
            );
            name
        })
        .collect();
    // Each function logs to a group of its own.
    let function_groups: BTreeSet<String> = functions(&template)
        .into_iter()
        .map(|(name, r)| {
            ref_name(&r["Properties"]["LoggingConfig"]["LogGroup"])
                .unwrap_or_else(|| panic!("{name}: LoggingConfig.LogGroup should !Ref its group"))
                .to_string()
        })
        .collect();
    assert_eq!(function_groups.len(), functions(&template).len());
    let others: BTreeSet<&str> = groups
        .iter()
        .filter(|g| !function_groups.contains(*g))
        .map(String::as_str)
        .collect();
    assert_eq!(others, BTreeSet::from(["ApiAccessLogs"]));

    let queries: BTreeMap<String, (BTreeSet<String>, String)> =
        resources_of_type(&template, "AWS::Logs::QueryDefinition")
            .into_iter()
            .map(|(name, q)| {
                let p = &q["Properties"];
                let Value::Tagged(query_name) = &p["Name"] else {
                    panic!("{name}: Name should be !Sub \"${{AWS::StackName}}/...\"")
                };
                let query_name = query_name.value.as_str().unwrap();
                let short = query_name
                    .strip_prefix("${AWS::StackName}/")
                    .unwrap_or_else(|| panic!("{name}: {query_name}"));
                let groups: BTreeSet<String> = p["LogGroupNames"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .map(|g| ref_name(g).unwrap().to_string())
                    .collect();
                let text = p["QueryString"].as_str().unwrap().to_string();
                (short.to_string(), (groups, text))
            })
            .collect();
    // The JSON lines put an event's fields under `fields`.
    let (groups, text) = &queries["everything-about-a-user"];
    assert_eq!(groups, &function_groups);
    assert!(text.contains("filter fields.user_id = "), "{text}");
    // Replays: the line the refresh function logs, in its group.
    let (groups, text) = &queries["replays-last-day"];
    assert_eq!(groups, &BTreeSet::from(["RefreshLogs".to_string()]));
    let message = "refresh token reuse detected; session revoked";
    assert!(
        text.contains(&format!("fields.message = '{message}'")),
        "{text}"
    );
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/src/service/sessions.rs"
    ))
    .unwrap();
    assert!(
        source.contains(&format!("\"{message}\"")),
        "the code logs another message"
    );
    assert_eq!(queries.len(), 2);
}

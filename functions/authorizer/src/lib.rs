//! API Gateway Lambda authorizer: the same access decision as `validate`,
//! for every other function behind the gateway.
//!
//! - HTTP API, payload 2.0, simple responses: `{"isAuthorized", "context"}`.
//! - REST API `TOKEN` and `REQUEST` authorizers: an IAM policy on the method.
//!
//! Protected functions read the caller from the authorizer context
//! (`requestContext.authorizer.lambda` on an HTTP API): `userId`, `seq`,
//! `sessionId`. Anything unexpected is a deny; the token is never logged.

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequest,
    ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayCustomAuthorizerResponse,
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use serde_json::{json, Value};
use tokengate::http::{bearer_token, parse_bearer};
use tokengate::{AuthError, AuthService, Principal};

/// Which kind of authorizer event arrived.
enum Event {
    HttpApiV2(Box<ApiGatewayV2CustomAuthorizerV2Request>),
    RestToken(ApiGatewayCustomAuthorizerRequest),
    RestRequest(Box<ApiGatewayCustomAuthorizerRequestTypeRequest>),
}

fn parse(event: Value) -> Option<Event> {
    let version = event.get("version").and_then(Value::as_str);
    let kind = event.get("type").and_then(Value::as_str);
    let has_method_arn = event.get("methodArn").is_some();
    let parsed = match (version, kind) {
        (Some("2.0"), Some("REQUEST")) => {
            serde_json::from_value(event).map(|e| Event::HttpApiV2(Box::new(e)))
        }
        (_, Some("TOKEN")) if has_method_arn => serde_json::from_value(event).map(Event::RestToken),
        (_, Some("REQUEST")) if has_method_arn => {
            serde_json::from_value(event).map(|e| Event::RestRequest(Box::new(e)))
        }
        _ => return None,
    };
    parsed.ok()
}

pub async fn handle(event: Value, service: &AuthService) -> Value {
    let Some(event) = parse(event) else {
        tracing::warn!("unrecognised authorizer event; denied");
        // Shaped as a simple response: an HTTP API reads it as a deny, and
        // a REST API rejects a response without a policy, which also denies.
        return json!({ "isAuthorized": false });
    };
    match event {
        Event::HttpApiV2(request) => {
            let decision = decide(bearer_token(&request.headers, "authorization"), service).await;
            let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::<Value>::default();
            response.is_authorized = decision.is_ok();
            response.context = context(&decision);
            to_value(&response)
        }
        Event::RestToken(request) => {
            let token = request
                .authorization_token
                .as_deref()
                .ok_or(AuthError::MissingToken)
                .and_then(parse_bearer);
            let decision = decide(token, service).await;
            policy(&decision, request.method_arn.as_deref())
        }
        Event::RestRequest(request) => {
            let decision = decide(bearer_token(&request.headers, "authorization"), service).await;
            policy(&decision, request.method_arn.as_deref())
        }
    }
}

async fn decide(
    token: Result<&str, AuthError>,
    service: &AuthService,
) -> Result<Principal, AuthError> {
    let result = match token {
        Ok(token) => service.authenticate(token).await,
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        tracing::info!(reason = e.code(), "request not authorized");
    }
    result
}

fn context(decision: &Result<Principal, AuthError>) -> Value {
    match decision {
        Ok(p) => json!({ "userId": p.user.id, "seq": p.user.seq, "sessionId": p.session_id }),
        Err(_) => json!({}),
    }
}

fn policy(decision: &Result<Principal, AuthError>, method_arn: Option<&str>) -> Value {
    let allowed = decision.is_ok() && method_arn.is_some();
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".to_string()];
    statement.effect = if allowed {
        IamPolicyEffect::Allow
    } else {
        IamPolicyEffect::Deny
    };
    // Without a method ARN there is nothing to allow; deny everything.
    statement.resource = vec![method_arn.unwrap_or("*").to_string()];
    let mut document = ApiGatewayCustomAuthorizerPolicy::default();
    document.version = Some("2012-10-17".to_string());
    document.statement = vec![statement];
    let mut response = ApiGatewayCustomAuthorizerResponse::<Value>::default();
    response.principal_id = Some(match decision {
        Ok(p) => p.user.id.clone(),
        Err(_) => "anonymous".to_string(),
    });
    response.policy_document = document;
    response.context = context(decision);
    to_value(&response)
}

fn to_value(response: &impl serde::Serialize) -> Value {
    serde_json::to_value(response).unwrap_or_else(|_| json!({ "isAuthorized": false }))
}

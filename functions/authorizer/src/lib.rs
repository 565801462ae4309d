//! API Gateway Lambda authorizer: the same access decision as `validate`,
//! for every other function behind the gateway.
//!
//! - HTTP API, payload 2.0, simple responses: `{"isAuthorized", "context"}`.
//! - REST API `TOKEN` and `REQUEST` authorizers: an IAM policy on the method.
//!
//! On allow, the context is [`tokengate::Caller::context`]: the caller
//! contract every protected function reads ([`tokengate::Caller`]). Anything
//! unexpected is a deny; the token is never logged.

mod event;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerResponse,
    ApiGatewayV2CustomAuthorizerSimpleResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use serde::Serialize;
use serde_json::{json, Value};
use tokengate::http::bearer_credential;
use tokengate::metrics::{self, Metric};
use tokengate::{ApiError, AuthService, Caller};

pub use event::{AuthorizerEvent, Kind};

/// What the authorizer answers, serialised straight to the runtime.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum AuthorizerResponse {
    /// HTTP API simple response.
    Simple(ApiGatewayV2CustomAuthorizerSimpleResponse<Value>),
    /// REST API IAM policy.
    Policy(ApiGatewayCustomAuthorizerResponse<Value>),
    /// An event of no known kind: shaped as a simple response, so an HTTP
    /// API reads it as a deny, and a REST API rejects a response without a
    /// policy, which also denies.
    Unrecognised {
        #[serde(rename = "isAuthorized")]
        is_authorized: bool,
    },
}

pub async fn handle(event: AuthorizerEvent, service: &AuthService) -> AuthorizerResponse {
    let started = std::time::Instant::now();
    let response = answer(event, service).await;
    metrics::decision_latency(started.elapsed());
    response
}

async fn answer(event: AuthorizerEvent, service: &AuthService) -> AuthorizerResponse {
    let Some(kind) = event.kind() else {
        tracing::warn!("unrecognised authorizer event; denied");
        metrics::deny("unrecognised_event");
        return AuthorizerResponse::Unrecognised {
            is_authorized: false,
        };
    };
    let token = match kind {
        Kind::RestToken => event
            .authorization_token()
            .ok_or(ApiError::MissingToken)
            .and_then(bearer_credential),
        Kind::HttpApiV2 | Kind::RestRequest => {
            event.authorization_header().and_then(bearer_credential)
        }
    };
    let decision = decide(token, service).await;
    match kind {
        Kind::HttpApiV2 => {
            let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::<Value>::default();
            response.is_authorized = decision.is_some();
            response.context = context(&decision);
            AuthorizerResponse::Simple(response)
        }
        Kind::RestToken | Kind::RestRequest => {
            AuthorizerResponse::Policy(policy(&decision, event.method_arn()))
        }
    }
}

/// [`handle`] on a JSON event, answering JSON (tests, the local gateway):
/// the event goes through its bytes, as the Lambda runtime parses it.
pub async fn handle_json(event: Value, service: &AuthService) -> Value {
    let bytes = serde_json::to_vec(&event).unwrap_or_default();
    // Only bytes that are not JSON fail to parse (API Gateway never sends them).
    let event = serde_json::from_slice(&bytes).unwrap_or_default();
    serde_json::to_value(handle(event, service).await)
        .unwrap_or_else(|_| json!({"isAuthorized": false}))
}

async fn decide(token: Result<&str, ApiError>, service: &AuthService) -> Option<Caller> {
    let result = match token {
        Ok(token) => service.authenticate(token).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(principal) => {
            metrics::count(Metric::AuthorizerAllow);
            Some(Caller {
                user_id: principal.user.id,
                seq: principal.user.seq,
                session_id: principal.session_id,
            })
        }
        Err(e) => {
            // The same log line as any refused request; the deny is the answer.
            e.log();
            metrics::deny(e.metric_reason());
            None
        }
    }
}

fn context(decision: &Option<Caller>) -> Value {
    decision.as_ref().map_or_else(|| json!({}), Caller::context)
}

fn policy(
    decision: &Option<Caller>,
    method_arn: Option<&str>,
) -> ApiGatewayCustomAuthorizerResponse<Value> {
    let allowed = decision.is_some() && method_arn.is_some();
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
        Some(caller) => caller.user_id.clone(),
        None => "anonymous".to_string(),
    });
    response.policy_document = document;
    response.context = context(decision);
    response
}

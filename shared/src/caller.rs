//! The caller contract: who the authorizer let through, as every function
//! behind it reads it.
//!
//! The authorizer writes [`Caller::context`] into its response; API Gateway
//! hands it to the integration as `requestContext.authorizer.lambda` (HTTP
//! API) or `requestContext.authorizer` (REST API, where every value arrives
//! as a string). Only API Gateway writes `requestContext`: a client cannot
//! forge it. A function reached without it (a route left unprotected by
//! mistake) must refuse, and [`Caller::from_context`] makes that the only
//! outcome.

use std::collections::HashMap;

use serde_json::{json, Value};

/// The context keys, with what they guarantee. For functions in any runtime.
pub mod keys {
    /// The user's id (string), as registered.
    pub const USER_ID: &str = "userId";
    /// The user's sequence number (number; a numeric string behind a REST
    /// API), unique and never reused.
    pub const SEQ: &str = "seq";
    /// The session (device) the access token belongs to (string, UUID).
    pub const SESSION_ID: &str = "sessionId";
}

/// The identity of a request the authorizer allowed: a live session of an
/// existing user, checked against DynamoDB for this request (or within the
/// authorizer cache TTL, if one is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub seq: u64,
    pub session_id: String,
}

/// Why a request carries no usable caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CallerError {
    #[error("no Lambda authorizer context: is the route protected by the tokengate authorizer?")]
    NoContext,
    #[error("authorizer context has no usable `{0}`")]
    BadKey(&'static str),
}

impl Caller {
    /// The authorizer's context for this caller (HTTP API simple responses
    /// keep these JSON types; REST APIs turn them into strings).
    pub fn context(&self) -> Value {
        json!({
            keys::USER_ID: self.user_id,
            keys::SEQ: self.seq,
            keys::SESSION_ID: self.session_id,
        })
    }

    /// Reads the caller from the authorizer's context fields, as either API
    /// Gateway flavour delivers them. Anything missing or malformed refuses.
    pub fn from_context(fields: &HashMap<String, Value>) -> Result<Self, CallerError> {
        if fields.is_empty() {
            return Err(CallerError::NoContext);
        }
        let text = |key: &'static str| match fields.get(key) {
            Some(Value::String(v)) if !v.is_empty() => Ok(v.clone()),
            _ => Err(CallerError::BadKey(key)),
        };
        let seq = match fields.get(keys::SEQ) {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .ok_or(CallerError::BadKey(keys::SEQ))?;
        Ok(Caller {
            user_id: text(keys::USER_ID)?,
            seq,
            session_id: text(keys::SESSION_ID)?,
        })
    }

    /// The caller of a request that came through API Gateway: HTTP API v2
    /// (`requestContext.authorizer.lambda`) or REST v1
    /// (`requestContext.authorizer`). The error says why there is none; as
    /// an `ApiError` (401 `missing_token`) it is logged where the response
    /// is made.
    #[cfg(feature = "lambda")]
    pub fn from_request(request: &lambda_http::Request) -> Result<Self, CallerError> {
        use lambda_http::request::RequestContext;
        use lambda_http::RequestExt;
        let fields = match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => {
                context.authorizer.as_ref().map(|a| &a.fields)
            }
            Some(RequestContext::ApiGatewayV1(context)) => Some(&context.authorizer.fields),
            _ => None,
        };
        match fields {
            Some(fields) => Caller::from_context(fields),
            None => Err(CallerError::NoContext),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(value: Value) -> HashMap<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn what_the_authorizer_writes_reads_back() {
        let caller = Caller {
            user_id: "alice".into(),
            seq: 7,
            session_id: "0b6f…".into(),
        };
        assert_eq!(Caller::from_context(&fields(caller.context())), Ok(caller));
    }

    #[test]
    fn rest_apis_stringify_the_values() {
        let rest = fields(
            json!({"principalId": "alice", "userId": "alice", "seq": "7", "sessionId": "s", "integrationLatency": 3}),
        );
        assert_eq!(Caller::from_context(&rest).unwrap().seq, 7);
    }

    #[test]
    fn anything_else_refuses() {
        assert_eq!(
            Caller::from_context(&HashMap::new()),
            Err(CallerError::NoContext)
        );
        for (bad, key) in [
            (json!({"seq": 1, "sessionId": "s"}), "userId"),
            (json!({"userId": "", "seq": 1, "sessionId": "s"}), "userId"),
            (json!({"userId": "a", "seq": -1, "sessionId": "s"}), "seq"),
            (json!({"userId": "a", "seq": "x", "sessionId": "s"}), "seq"),
            (json!({"userId": "a", "seq": 1}), "sessionId"),
            // Another authorizer's context (a JWT authorizer's claims).
            (json!({"claims": {"sub": "a"}}), "seq"),
        ] {
            assert_eq!(
                Caller::from_context(&fields(bad.clone())),
                Err(CallerError::BadKey(key)),
                "{bad}"
            );
        }
    }
}

//! `GET /api/auth/sessions`: the caller's live sessions (devices).
//! `DELETE /api/auth/sessions/{sessionId}`: revoke one of them (a lost phone).

use http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;
use tokengate::http::{bearer_token, json_response, no_content};
use tokengate::lambda::{client_info, respond};
use tokengate::{ApiError, AuthService};

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    respond(sessions(&request, service).await)
}

async fn sessions(
    request: &Request,
    service: &AuthService,
) -> Result<http::Response<String>, ApiError> {
    let session_id = request
        .path_parameters_ref()
        .and_then(|params| params.first("sessionId"))
        .map(str::to_string);
    match (request.method(), session_id) {
        (&Method::GET, None) => {
            let token = bearer_token(request.headers(), "authorization")?;
            let sessions = service.list_sessions(token).await?;
            Ok(json_response(
                StatusCode::OK,
                &json!({ "sessions": sessions }),
            ))
        }
        (&Method::DELETE, Some(session_id)) => {
            let token = bearer_token(request.headers(), "authorization")?;
            service
                .revoke_session(token, &session_id, &client_info(request))
                .await?;
            Ok(no_content())
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

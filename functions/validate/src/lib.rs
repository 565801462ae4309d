//! `GET /api/auth/validate` (Bearer access) -> {seq, id, name}.

use lambda_http::{Body, Request, Response};
use tokengate::http::{bearer_token, json_response, respond};
use tokengate::{AuthError, AuthService};

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    respond(validate(&request, service).await).map(Body::from)
}

async fn validate(
    request: &Request,
    service: &AuthService,
) -> Result<http::Response<String>, AuthError> {
    let token = bearer_token(request.headers(), "authorization")?;
    let principal = service.authenticate(token).await?;
    Ok(json_response(http::StatusCode::OK, &principal.user))
}

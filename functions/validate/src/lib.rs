//! `GET /api/auth/validate` (Bearer access) -> {seq, id, name}.

use lambda_http::{Body, Request, Response};
use tokengate::http::{bearer_token, json_response};
use tokengate::lambda::respond;
use tokengate::{ApiError, AuthService};

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    respond(validate(&request, service).await)
}

async fn validate(
    request: &Request,
    service: &AuthService,
) -> Result<http::Response<String>, ApiError> {
    let token = bearer_token(request.headers(), "authorization")?;
    let principal = service.authenticate(token).await?;
    Ok(json_response(http::StatusCode::OK, &principal.user))
}

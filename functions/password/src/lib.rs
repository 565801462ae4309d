//! `POST /api/auth/password` {currentPassword, newPassword}: changes the
//! password, signs out every other session and returns a fresh pair for this one.

use lambda_http::{Body, Request, Response};
use tokengate::http::{bearer_token, json_object, required_string, respond, token_response};
use tokengate::{AuthError, AuthService};

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    respond(change_password(&request, service).await).map(Body::from)
}

async fn change_password(
    request: &Request,
    service: &AuthService,
) -> Result<http::Response<String>, AuthError> {
    let token = bearer_token(request.headers(), "authorization")?;
    let body = json_object(request.body())?;
    let current = required_string(&body, "currentPassword")?;
    let new = required_string(&body, "newPassword")?;
    let pair = service.change_password(token, &current, &new).await?;
    Ok(token_response(&pair))
}

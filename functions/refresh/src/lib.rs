//! `POST /api/auth/refresh` -> a new token pair.
//!
//! The refresh token comes from `Refresh-Token: Bearer <rt>` (the Kotlin
//! design) or a JSON body `{"refreshToken"}` / `{"refresh_token"}` (the Go
//! design). An `Authorization` header may be sent too and is ignored: the
//! refresh token alone decides.

use lambda_http::{Body, Request, Response};
use tokengate::http::{
    bearer_token, json_object, optional_string, respond, token_response, REFRESH_TOKEN_HEADER,
};
use tokengate::{AuthError, AuthService};

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    respond(refresh(&request, service).await).map(Body::from)
}

async fn refresh(
    request: &Request,
    service: &AuthService,
) -> Result<http::Response<String>, AuthError> {
    let token = refresh_token(request)?;
    let pair = service.refresh(&token).await?;
    Ok(token_response(&pair))
}

fn refresh_token(request: &Request) -> Result<String, AuthError> {
    match bearer_token(request.headers(), REFRESH_TOKEN_HEADER) {
        Err(AuthError::MissingToken) => {}
        other => return other.map(str::to_string),
    }
    let body = request.body();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AuthError::MissingToken);
    }
    optional_string(&json_object(body)?, &["refreshToken", "refresh_token"])?
        .ok_or(AuthError::MissingToken)
}

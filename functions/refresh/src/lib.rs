//! `POST /api/auth/refresh` -> a new token pair.
//!
//! The refresh token comes from `Refresh-Token: Bearer <rt>` (the Kotlin
//! design) or a JSON body `{"refreshToken"}` / `{"refresh_token"}` (the Go
//! design). An `Authorization` header may be sent too and is ignored: the
//! refresh token alone decides.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use tokengate::http::{bearer_token, parse_body, token_response, REFRESH_TOKEN_HEADER};
use tokengate::lambda::{client_info, respond};
use tokengate::{ApiError, AuthService};

/// Either spelling; `refreshToken` wins when both are there.
#[derive(Deserialize)]
struct RefreshRequest {
    #[serde(rename = "refreshToken")]
    camel: Option<String>,
    #[serde(rename = "refresh_token")]
    snake: Option<String>,
}

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    respond(refresh(&request, service).await)
}

async fn refresh(
    request: &Request,
    service: &AuthService,
) -> Result<http::Response<String>, ApiError> {
    let token = refresh_token(request)?;
    let pair = service.refresh(&token, &client_info(request)).await?;
    Ok(token_response(&pair))
}

fn refresh_token(request: &Request) -> Result<String, ApiError> {
    match bearer_token(request.headers(), REFRESH_TOKEN_HEADER) {
        Err(ApiError::MissingToken) => {}
        other => return other.map(str::to_string),
    }
    let body = request.body();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MissingToken);
    }
    let body: RefreshRequest = parse_body(body)?;
    body.camel.or(body.snake).ok_or(ApiError::MissingToken)
}

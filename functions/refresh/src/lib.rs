//! `POST /api/auth/refresh` -> a new token pair.
//!
//! The refresh token comes from `Refresh-Token: Bearer <rt>` (the Kotlin
//! design) or a JSON body `{"refreshToken"}` / `{"refresh_token"}` (the Go
//! design); in cookie mode (`Tokengate-Transport: cookie`) from the
//! `HttpOnly` cookie only, and the new one goes back in it. An
//! `Authorization` header may be sent too and is ignored: the refresh token
//! alone decides.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use tokengate::browser::{finish, refresh_cookie, token_response, transport, CookieUse, Transport};
use tokengate::http::{bearer_token, error_response, parse_body, respond, REFRESH_TOKEN_HEADER};
use tokengate::lambda::client_info;
use tokengate::{ApiError, AuthError, AuthService};

/// Either spelling; `refreshToken` wins when both are there.
#[derive(Deserialize)]
struct RefreshRequest {
    #[serde(rename = "refreshToken")]
    camel: Option<String>,
    #[serde(rename = "refresh_token")]
    snake: Option<String>,
}

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    let response = match checked(&request, service) {
        Ok((token, transport)) => {
            let result = refresh(&request, service, &token, transport).await;
            // A refused refresh token is of no use to keep.
            let dead = matches!(result, Err(ApiError::Auth(AuthError::InvalidToken { .. })));
            finish(transport, respond(result), dead)
        }
        // Refused before any token was used: nothing to clear (and a second,
        // planted cookie could not be cleared from here anyway).
        Err(refused) => error_response(&refused),
    };
    response.map(Body::from)
}

/// The transport (the CSRF defence first), then the refresh token it carries.
fn checked(request: &Request, service: &AuthService) -> Result<(String, Transport), ApiError> {
    let origins = &service.config().allowed_origins;
    let transport = transport(request.headers(), origins, CookieUse::Reads)?;
    let token = match transport {
        Transport::Cookie => refresh_cookie(request.headers())?.ok_or(ApiError::MissingToken)?,
        Transport::Header => refresh_token(request)?,
    };
    Ok((token, transport))
}

async fn refresh(
    request: &Request,
    service: &AuthService,
    token: &str,
    transport: Transport,
) -> Result<http::Response<String>, ApiError> {
    let pair = service.refresh(token, &client_info(request)).await?;
    Ok(token_response(&pair, transport))
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

//! `POST /api/auth/login` {id, password} -> a token pair; with
//! `Tokengate-Transport: cookie`, the refresh token as an `HttpOnly` cookie.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use tokengate::browser::{token_response, transport, CookieUse};
use tokengate::http::parse_body;
use tokengate::input::Password;
use tokengate::lambda::{client_info, respond};
use tokengate::{ApiError, AuthService};

/// Any id and password: an unknown id and a wrong password must look alike,
/// so neither is checked against the registration rules here.
#[derive(Deserialize)]
struct LoginRequest {
    id: String,
    password: Password,
}

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    respond(login(&request, service).await)
}

async fn login(
    request: &Request,
    service: &AuthService,
) -> Result<http::Response<String>, ApiError> {
    let transport = transport(
        request.headers(),
        &service.config().allowed_origins,
        CookieUse::Sets,
    )?;
    let body: LoginRequest = parse_body(request.body())?;
    let pair = service
        .login(&body.id, &body.password, client_info(request))
        .await?;
    Ok(token_response(&pair, transport))
}

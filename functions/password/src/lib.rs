//! `POST /api/auth/password` {currentPassword, newPassword}: changes the
//! password, signs out every other session and returns a fresh pair for this
//! one (its refresh token as a cookie in cookie mode).

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use tokengate::browser::{token_response, transport, CookieUse};
use tokengate::http::{bearer_token, parse_body};
use tokengate::input::Password;
use tokengate::lambda::{client_info, respond};
use tokengate::{ApiError, AuthService};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordChange {
    current_password: Password,
    /// Checked against the password rules after the token: a revoked
    /// caller learns nothing from a 400.
    new_password: Password,
}

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    respond(change_password(&request, service).await)
}

async fn change_password(
    request: &Request,
    service: &AuthService,
) -> Result<http::Response<String>, ApiError> {
    let token = bearer_token(request.headers(), "authorization")?;
    let transport = transport(
        request.headers(),
        &service.config().allowed_origins,
        CookieUse::Sets,
    )?;
    let body: PasswordChange = parse_body(request.body())?;
    let pair = service
        .change_password(
            token,
            &body.current_password,
            body.new_password,
            &client_info(request),
        )
        .await?;
    Ok(token_response(&pair, transport))
}

//! The account's lifecycle:
//! - `GET /api/auth/account` (Bearer) -> {seq, id, name, email, emailVerified};
//! - `DELETE /api/auth/account` (Bearer) {password} -> 204: the account and
//!   everything of it are gone (in cookie mode the refresh cookie too);
//! - `POST /api/auth/email/verify` (Bearer) {code} -> the account, verified;
//! - `POST /api/auth/password/forgot` {email} -> 202, always the same;
//! - `POST /api/auth/password/reset` {email, code, newPassword} -> a pair;
//! - `POST /api/auth/logout-others` (Bearer, and the session's refresh
//!   token: `Refresh-Token` header, or the cookie in cookie mode) -> this
//!   session's new pair.

use http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use tokengate::browser::{finish, refresh_cookie, token_response, transport, CookieUse, Transport};
use tokengate::http::{
    bearer_token, error_response, json_response, no_content, parse_body, respond,
    REFRESH_TOKEN_HEADER,
};
use tokengate::input::{Email, NewPassword, OneTimeCode, Password};
use tokengate::lambda::client_info;
use tokengate::{ApiError, AuthService};

/// What the reset request answers, whatever the address.
pub const FORGOT_ANSWER: &str = "if an account has this e-mail address, a reset code is on its way";

#[derive(Deserialize)]
struct Deletion {
    password: Password,
}

#[derive(Deserialize)]
struct Verification {
    code: OneTimeCode,
}

#[derive(Deserialize)]
struct Forgot {
    email: Email,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reset {
    email: Email,
    code: OneTimeCode,
    new_password: NewPassword,
}

/// The routes whose answer is the handler's result as is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Show,
    VerifyEmail,
    Forgot,
    Reset,
    LogoutOthers,
}

/// Deletion also finishes the cookie.
enum Served {
    Delete,
    Plain(Route),
}

fn route(request: &Request) -> Result<Served, ApiError> {
    let path = request.uri().path().trim_end_matches('/');
    let method = request.method();
    let (get, post, delete) = (
        method == Method::GET,
        method == Method::POST,
        method == Method::DELETE,
    );
    let plain = match path {
        p if p.ends_with("/api/auth/account") && delete => return Ok(Served::Delete),
        p if p.ends_with("/api/auth/account") && get => Route::Show,
        p if p.ends_with("/api/auth/email/verify") && post => Route::VerifyEmail,
        p if p.ends_with("/api/auth/password/forgot") && post => Route::Forgot,
        p if p.ends_with("/api/auth/password/reset") && post => Route::Reset,
        p if p.ends_with("/api/auth/logout-others") && post => Route::LogoutOthers,
        _ => return Err(ApiError::NotFound),
    };
    Ok(Served::Plain(plain))
}

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    let response = match route(&request) {
        Ok(Served::Delete) => delete(&request, service).await,
        Ok(Served::Plain(route)) => respond(serve(route, &request, service).await),
        Err(e) => error_response(&e),
    };
    response.map(Body::from)
}

async fn serve(
    route: Route,
    request: &Request,
    service: &AuthService,
) -> Result<http::Response<String>, ApiError> {
    let client = client_info(request);
    let origins = &service.config().allowed_origins;
    match route {
        Route::Show => {
            let token = bearer_token(request.headers(), "authorization")?;
            let account = service.account(token).await?;
            Ok(json_response(StatusCode::OK, &account))
        }
        Route::VerifyEmail => {
            let token = bearer_token(request.headers(), "authorization")?;
            let body: Verification = parse_body(request.body())?;
            let account = service.verify_email(token, &body.code, &client).await?;
            Ok(json_response(StatusCode::OK, &account))
        }
        Route::Forgot => {
            let body: Forgot = parse_body(request.body())?;
            service.forgot_password(&body.email, &client).await?;
            Ok(json_response(
                StatusCode::ACCEPTED,
                &json!({ "message": FORGOT_ANSWER }),
            ))
        }
        Route::Reset => {
            let transport = transport(request.headers(), origins, CookieUse::Sets)?;
            let body: Reset = parse_body(request.body())?;
            let pair = service
                .reset_password(&body.email, &body.code, body.new_password, &client)
                .await?;
            Ok(token_response(&pair, transport))
        }
        Route::LogoutOthers => {
            let token = bearer_token(request.headers(), "authorization")?;
            let transport = transport(request.headers(), origins, CookieUse::Reads)?;
            // The session's refresh token too: from its cookie in cookie
            // mode, else the `Refresh-Token` header.
            let refresh = match transport {
                Transport::Cookie => {
                    refresh_cookie(request.headers())?.ok_or(ApiError::MissingToken)?
                }
                Transport::Header => {
                    bearer_token(request.headers(), REFRESH_TOKEN_HEADER)?.to_string()
                }
            };
            let pair = service.logout_others(token, &refresh, &client).await?;
            Ok(token_response(&pair, transport))
        }
    }
}

/// The deletion: token, transport, body, then the deletion; in cookie mode
/// the refresh cookie is cleared once the account is gone.
async fn delete(request: &Request, service: &AuthService) -> http::Response<String> {
    let checked = bearer_token(request.headers(), "authorization").and_then(|token| {
        let origins = &service.config().allowed_origins;
        let transport = transport(request.headers(), origins, CookieUse::Clears)?;
        let body: Deletion = parse_body(request.body())?;
        Ok((token, transport, body))
    });
    match checked {
        Ok((token, transport, body)) => {
            let result = service
                .delete_account(token, &body.password)
                .await
                .map(|()| no_content())
                .map_err(ApiError::from);
            let deleted = result.is_ok();
            finish(transport, respond(result), deleted)
        }
        Err(refused) => error_response(&refused),
    }
}

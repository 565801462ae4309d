//! `POST /api/auth/logout` ends this device's session;
//! `POST /api/auth/logout-all` ends every session of the user. Both take the
//! access token; in cookie mode they also clear the refresh cookie.

use lambda_http::{Body, Request, Response};
use tokengate::browser::{finish, transport, CookieUse, Transport};
use tokengate::http::{bearer_token, error_response, message_response, respond};
use tokengate::lambda::client_info;
use tokengate::{ApiError, AuthService, ClientInfo};

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    let response = match checked(&request, service) {
        Ok((scope, token, transport)) => {
            let result = logout(scope, token, &client_info(&request), service).await;
            let ended = result.is_ok();
            finish(transport, respond(result), ended)
        }
        Err(refused) => error_response(&refused),
    };
    response.map(Body::from)
}

#[derive(Clone, Copy)]
enum Scope {
    ThisDevice,
    Everywhere,
}

/// The route, then the access token, then the transport: without a token
/// there is nothing to end, whatever the transport (and no cross-site page
/// can send one).
fn checked<'r>(
    request: &'r Request,
    service: &AuthService,
) -> Result<(Scope, &'r str, Transport), ApiError> {
    let scope = match request.uri().path().trim_end_matches('/') {
        p if p.ends_with("/logout-all") => Scope::Everywhere,
        p if p.ends_with("/logout") => Scope::ThisDevice,
        _ => return Err(ApiError::NotFound),
    };
    let token = bearer_token(request.headers(), "authorization")?;
    let origins = &service.config().allowed_origins;
    let transport = transport(request.headers(), origins, CookieUse::Clears)?;
    Ok((scope, token, transport))
}

async fn logout(
    scope: Scope,
    token: &str,
    client: &ClientInfo,
    service: &AuthService,
) -> Result<http::Response<String>, ApiError> {
    match scope {
        Scope::Everywhere => {
            service.logout_all(token, client).await?;
            Ok(message_response("logged out of every session"))
        }
        Scope::ThisDevice => {
            service.logout(token, client).await?;
            Ok(message_response("logged out"))
        }
    }
}

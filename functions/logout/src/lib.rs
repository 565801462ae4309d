//! `POST /api/auth/logout` ends this device's session;
//! `POST /api/auth/logout-all` ends every session of the user. Both take the
//! access token; in cookie mode they also clear the refresh cookie.

use lambda_http::{Body, Request, Response};
use tokengate::browser::{finish, transport, CookieUse};
use tokengate::http::{bearer_token, message_response};
use tokengate::{ApiError, AuthService};

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    // The access token first: without one there is nothing to end, whatever
    // the transport (and no cross-site page can send one).
    let checked = bearer_token(request.headers(), "authorization").and_then(|token| {
        let origins = &service.config().allowed_origins;
        Ok((
            token,
            transport(request.headers(), origins, CookieUse::Clears)?,
        ))
    });
    let response = match checked {
        Ok((token, transport)) => {
            let result = logout(&request, token, service).await;
            let ended = result.is_ok();
            finish(transport, tokengate::http::respond(result), ended)
        }
        Err(refused) => tokengate::http::error_response(&refused),
    };
    response.map(Body::from)
}

async fn logout(
    request: &Request,
    token: &str,
    service: &AuthService,
) -> Result<http::Response<String>, ApiError> {
    let everywhere = match request.uri().path().trim_end_matches('/') {
        p if p.ends_with("/logout-all") => true,
        p if p.ends_with("/logout") => false,
        _ => return Err(ApiError::NotFound),
    };
    if everywhere {
        service.logout_all(token).await?;
        Ok(message_response("logged out of every session"))
    } else {
        service.logout(token).await?;
        Ok(message_response("logged out"))
    }
}

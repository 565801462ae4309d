//! `POST /api/auth/logout` ends this device's session;
//! `POST /api/auth/logout-all` ends every session of the user. Both take the
//! access token; in cookie mode they also clear the refresh cookie.

use lambda_http::{Body, Request, Response};
use tokengate::browser::{finish, transport, CookieUse};
use tokengate::http::{bearer_token, message_response};
use tokengate::{ApiError, AuthService};

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    let transport = transport(
        request.headers(),
        &service.config().allowed_origins,
        CookieUse::Reads,
    );
    let response = match transport {
        Ok(transport) => {
            let result = logout(&request, service).await;
            let ended = result.is_ok();
            finish(transport, tokengate::http::respond(result), ended)
        }
        Err(refused) => tokengate::http::error_response(&refused),
    };
    response.map(Body::from)
}

async fn logout(
    request: &Request,
    service: &AuthService,
) -> Result<http::Response<String>, ApiError> {
    let everywhere = match request.uri().path().trim_end_matches('/') {
        p if p.ends_with("/logout-all") => true,
        p if p.ends_with("/logout") => false,
        _ => return Err(ApiError::NotFound),
    };
    let token = bearer_token(request.headers(), "authorization")?;
    if everywhere {
        service.logout_all(token).await?;
        Ok(message_response("logged out of every session"))
    } else {
        service.logout(token).await?;
        Ok(message_response("logged out"))
    }
}

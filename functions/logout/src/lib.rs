//! `POST /api/auth/logout` ends this device's session;
//! `POST /api/auth/logout-all` ends every session of the user.

use lambda_http::{Body, Request, Response};
use tokengate::http::{bearer_token, message_response, respond};
use tokengate::{AuthError, AuthService};

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    respond(logout(&request, service).await).map(Body::from)
}

async fn logout(
    request: &Request,
    service: &AuthService,
) -> Result<http::Response<String>, AuthError> {
    let everywhere = match request.uri().path().trim_end_matches('/') {
        p if p.ends_with("/logout-all") => true,
        p if p.ends_with("/logout") => false,
        _ => return Err(AuthError::NotFound),
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

//! `POST /api/auth/login` {id, password} -> a token pair.

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use tokengate::http::{parse_body, token_response};
use tokengate::input::Password;
use tokengate::lambda::respond;
use tokengate::{ApiError, AuthService, ClientInfo};

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
    let body: LoginRequest = parse_body(request.body())?;
    let pair = service
        .login(&body.id, &body.password, client_info(request))
        .await?;
    Ok(token_response(&pair))
}

/// The caller's user agent and IP as API Gateway saw them.
fn client_info(request: &Request) -> ClientInfo {
    let source_ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.identity.source_ip.clone(),
        _ => None,
    };
    let user_agent = request
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    ClientInfo {
        user_agent,
        source_ip,
    }
}

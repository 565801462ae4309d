//! `POST /api/auth/login` {id, password} -> a token pair.

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use tokengate::http::{json_object, required_string, respond, token_response};
use tokengate::{AuthError, AuthService, ClientInfo};

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    respond(login(&request, service).await).map(Body::from)
}

async fn login(
    request: &Request,
    service: &AuthService,
) -> Result<http::Response<String>, AuthError> {
    let body = json_object(request.body())?;
    let id = required_string(&body, "id")?;
    let password = required_string(&body, "password")?;
    let pair = service.login(&id, &password, client_info(request)).await?;
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

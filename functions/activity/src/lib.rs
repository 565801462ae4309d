//! `GET /api/auth/activity?limit=&cursor=` (Bearer access): the caller's
//! security events (sign-ins, failed sign-ins, replays, revocations,
//! password changes, sign-outs), newest first, a page at a time.

use lambda_http::{Body, Request, RequestExt, Response};
use tokengate::http::{bearer_token, json_response};
use tokengate::lambda::respond;
use tokengate::{ActivityQuery, ApiError, AuthService};

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    respond(activity(&request, service).await)
}

async fn activity(
    request: &Request,
    service: &AuthService,
) -> Result<http::Response<String>, ApiError> {
    let token = bearer_token(request.headers(), "authorization")?;
    let params = request.query_string_parameters_ref();
    let query = ActivityQuery::new(
        params.and_then(|p| p.first("limit")),
        params.and_then(|p| p.first("cursor")),
    )?;
    let page = service.activity(token, &query).await?;
    Ok(json_response(http::StatusCode::OK, &page))
}

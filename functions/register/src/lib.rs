//! `POST /api/auth/register` {id, password, name} -> 201 {seq, id, name}.

use lambda_http::{Body, Request, Response};
use tokengate::http::{json_response, parse_body};
use tokengate::lambda::respond;
use tokengate::{ApiError, AuthService, RegisterInput};

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    respond(register(&request, service).await)
}

async fn register(
    request: &Request,
    service: &AuthService,
) -> Result<http::Response<String>, ApiError> {
    // Every field is validated as it is read (`UserId`, `NewPassword`,
    // `DisplayName`), before any hashing.
    let input: RegisterInput = parse_body(request.body())?;
    let user = service.register(input).await?;
    Ok(json_response(http::StatusCode::CREATED, &user))
}

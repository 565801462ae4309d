//! `POST /api/auth/register` {id, password, name, email?} -> 201 {seq, id,
//! name}. With an `email`, a verification code is mailed to it.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use tokengate::http::{json_response, parse_body};
use tokengate::input::Password;
use tokengate::lambda::{client_info, respond};
use tokengate::{ApiError, AuthService, RegisterInput};

#[derive(Deserialize)]
struct RegisterRequest {
    id: String,
    password: Password,
    name: String,
    email: Option<String>,
}

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    respond(register(&request, service).await)
}

async fn register(
    request: &Request,
    service: &AuthService,
) -> Result<http::Response<String>, ApiError> {
    let body: RegisterRequest = parse_body(request.body())?;
    // Every field is validated, in the documented order, before any hashing.
    let input = RegisterInput::with_email(body.id, body.password, body.name, body.email)?;
    let user = service.register(input, &client_info(request)).await?;
    Ok(json_response(http::StatusCode::CREATED, &user))
}

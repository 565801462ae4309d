//! `POST /api/auth/register` {id, password, name} -> 201 {seq, id, name}.

use lambda_http::{Body, Request, Response};
use tokengate::http::{json_object, json_response, required_string, respond};
use tokengate::{AuthError, AuthService, RegisterInput};

pub async fn handle(request: Request, service: &AuthService) -> Response<Body> {
    respond(register(&request, service).await).map(Body::from)
}

async fn register(
    request: &Request,
    service: &AuthService,
) -> Result<http::Response<String>, AuthError> {
    let body = json_object(request.body())?;
    let input = RegisterInput {
        id: required_string(&body, "id")?,
        password: required_string(&body, "password")?,
        name: required_string(&body, "name")?,
    };
    let user = service.register(input).await?;
    Ok(json_response(http::StatusCode::CREATED, &user))
}

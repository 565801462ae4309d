//! The API's routes, as the HTTP API in `template.yaml` declares them, each
//! with the handler that serves it: the one table the local gateway
//! dispatches from. Tests check it against template.yaml (functions, routes,
//! authorizer placement) and openapi.yaml (paths and methods).

use std::future::Future;
use std::pin::Pin;

use lambda_http::{Body, Request, Response};

use crate::Gateway;

type Reply<'a> = Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;

/// Calls the function's handler with its state from the gateway.
pub type Handler = for<'a> fn(&'a Gateway, Request) -> Reply<'a>;

#[derive(Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// The crate (and template `Binary`) of the function serving it.
    pub function: &'static str,
    /// Runs the Lambda authorizer first, as API Gateway does.
    pub protected: bool,
    pub handler: Handler,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} -> {}", self.method, self.path, self.function)
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        (self.method, self.path) == (other.method, other.path)
    }
}
impl Eq for Route {}

const PUBLIC: bool = false;
const PROTECTED: bool = true;

/// `/api/auth/*` functions check tokens themselves (they are the auth
/// service); everything else sits behind the authorizer. Adding a function:
/// its crate, its template entry, its openapi entry and its line here.
#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    Route { method: "POST", path: "/api/auth/register", function: "register", protected: PUBLIC, handler: |g, r| Box::pin(register_fn::handle(r, &g.auth)) },
    Route { method: "POST", path: "/api/auth/login", function: "login", protected: PUBLIC, handler: |g, r| Box::pin(login_fn::handle(r, &g.auth)) },
    Route { method: "GET", path: "/api/auth/validate", function: "validate", protected: PUBLIC, handler: |g, r| Box::pin(validate_fn::handle(r, &g.auth)) },
    Route { method: "POST", path: "/api/auth/refresh", function: "refresh", protected: PUBLIC, handler: |g, r| Box::pin(refresh_fn::handle(r, &g.auth)) },
    Route { method: "POST", path: "/api/auth/logout", function: "logout", protected: PUBLIC, handler: |g, r| Box::pin(logout_fn::handle(r, &g.auth)) },
    Route { method: "POST", path: "/api/auth/logout-all", function: "logout", protected: PUBLIC, handler: |g, r| Box::pin(logout_fn::handle(r, &g.auth)) },
    Route { method: "GET", path: "/api/auth/sessions", function: "sessions", protected: PUBLIC, handler: |g, r| Box::pin(sessions_fn::handle(r, &g.auth)) },
    Route { method: "DELETE", path: "/api/auth/sessions/{sessionId}", function: "sessions", protected: PUBLIC, handler: |g, r| Box::pin(sessions_fn::handle(r, &g.auth)) },
    Route { method: "GET", path: "/api/auth/activity", function: "activity", protected: PUBLIC, handler: |g, r| Box::pin(activity_fn::handle(r, &g.auth)) },
    Route { method: "POST", path: "/api/auth/password", function: "password", protected: PUBLIC, handler: |g, r| Box::pin(password_fn::handle(r, &g.auth)) },
    Route { method: "GET", path: "/api/auth/account", function: "account", protected: PUBLIC, handler: |g, r| Box::pin(account_fn::handle(r, &g.auth)) },
    Route { method: "DELETE", path: "/api/auth/account", function: "account", protected: PUBLIC, handler: |g, r| Box::pin(account_fn::handle(r, &g.auth)) },
    Route { method: "POST", path: "/api/auth/email/verify", function: "account", protected: PUBLIC, handler: |g, r| Box::pin(account_fn::handle(r, &g.auth)) },
    Route { method: "POST", path: "/api/auth/password/forgot", function: "account", protected: PUBLIC, handler: |g, r| Box::pin(account_fn::handle(r, &g.auth)) },
    Route { method: "POST", path: "/api/auth/password/reset", function: "account", protected: PUBLIC, handler: |g, r| Box::pin(account_fn::handle(r, &g.auth)) },
    Route { method: "POST", path: "/api/auth/logout-others", function: "account", protected: PUBLIC, handler: |g, r| Box::pin(account_fn::handle(r, &g.auth)) },
    Route { method: "GET", path: "/.well-known/jwks.json", function: "jwks", protected: PUBLIC, handler: |g, r| Box::pin(jwks_fn::handle(r, &g.discovery)) },
    Route { method: "GET", path: "/.well-known/openid-configuration", function: "jwks", protected: PUBLIC, handler: |g, r| Box::pin(jwks_fn::handle(r, &g.discovery)) },
    Route { method: "GET", path: "/api/todos", function: "todos", protected: PROTECTED, handler: |g, r| Box::pin(todos_fn::handle(r, &g.todos)) },
    Route { method: "POST", path: "/api/todos", function: "todos", protected: PROTECTED, handler: |g, r| Box::pin(todos_fn::handle(r, &g.todos)) },
];

/// Path parameters of a matched route, by name (`{sessionId}`).
pub type PathParams = Vec<(&'static str, String)>;

#[derive(Debug, PartialEq, Eq)]
pub enum Match {
    Found(Route, PathParams),
    /// The path exists, with these other methods (for `Allow`).
    WrongMethod(Vec<&'static str>),
    NotFound,
}

/// Matches `path` against a route path whose `{name}` segments match any
/// one non-empty segment, as API Gateway's path variables do.
fn match_path(pattern: &'static str, path: &str) -> Option<PathParams> {
    let mut params = Vec::new();
    let mut segments = path.split('/');
    for expected in pattern.split('/') {
        let segment = segments.next()?;
        match expected.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if !segment.is_empty() => params.push((name, segment.to_string())),
            Some(_) => return None,
            None if expected == segment => {}
            None => return None,
        }
    }
    segments.next().is_none().then_some(params)
}

pub fn find(method: &str, path: &str) -> Match {
    let path = match path.trim_end_matches('/') {
        "" => "/",
        p => p,
    };
    let mut allowed = Vec::new();
    for route in ROUTES {
        if let Some(params) = match_path(route.path, path) {
            if route.method == method {
                return Match::Found(*route, params);
            }
            allowed.push(route.method);
        }
    }
    if allowed.is_empty() {
        Match::NotFound
    } else {
        Match::WrongMethod(allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        assert!(
            matches!(find("POST", "/api/auth/login"), Match::Found(r, _) if r.function == "login")
        );
        assert!(matches!(find("POST", "/api/auth/login/"), Match::Found(..)));
        assert_eq!(
            find("GET", "/api/auth/login"),
            Match::WrongMethod(vec!["POST"])
        );
        assert_eq!(find("GET", "/api/nothing"), Match::NotFound);
        assert!(matches!(find("GET", "/api/todos"), Match::Found(r, _) if r.protected));
    }

    #[test]
    fn path_parameters() {
        match find("DELETE", "/api/auth/sessions/abc-123") {
            Match::Found(route, params) => {
                assert_eq!(route.function, "sessions");
                assert_eq!(params, vec![("sessionId", "abc-123".to_string())]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(find("GET", "/api/auth/sessions"), Match::Found(_, p) if p.is_empty()));
        assert_eq!(
            find("GET", "/api/auth/sessions/abc"),
            Match::WrongMethod(vec!["DELETE"])
        );
        assert_eq!(find("DELETE", "/api/auth/sessions/a/b"), Match::NotFound);
        assert_eq!(find("DELETE", "/api/auth/sessions//x"), Match::NotFound);
    }

    #[test]
    fn every_route_is_listed_once() {
        for (i, a) in ROUTES.iter().enumerate() {
            assert!(!ROUTES[i + 1..].contains(a), "{a:?} twice");
        }
    }
}

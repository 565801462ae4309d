//! The API's routes, as the HTTP API in `template.yaml` declares them.

/// Which Lambda function serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Register,
    Login,
    Validate,
    Refresh,
    Logout,
    Sessions,
    Password,
    Jwks,
    Todos,
}

impl Function {
    /// The crate (and template resource) name of the function.
    pub fn crate_name(self) -> &'static str {
        match self {
            Function::Register => "register",
            Function::Login => "login",
            Function::Validate => "validate",
            Function::Refresh => "refresh",
            Function::Logout => "logout",
            Function::Sessions => "sessions",
            Function::Password => "password",
            Function::Jwks => "jwks",
            Function::Todos => "todos",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub function: Function,
    /// Runs the Lambda authorizer first, as API Gateway does.
    pub protected: bool,
}

const fn route(
    method: &'static str,
    path: &'static str,
    function: Function,
    protected: bool,
) -> Route {
    Route {
        method,
        path,
        function,
        protected,
    }
}

/// `/api/auth/*` functions check tokens themselves (they are the auth
/// service); everything else sits behind the authorizer.
pub const ROUTES: &[Route] = &[
    route("POST", "/api/auth/register", Function::Register, false),
    route("POST", "/api/auth/login", Function::Login, false),
    route("GET", "/api/auth/validate", Function::Validate, false),
    route("POST", "/api/auth/refresh", Function::Refresh, false),
    route("POST", "/api/auth/logout", Function::Logout, false),
    route("POST", "/api/auth/logout-all", Function::Logout, false),
    route("GET", "/api/auth/sessions", Function::Sessions, false),
    route(
        "DELETE",
        "/api/auth/sessions/{sessionId}",
        Function::Sessions,
        false,
    ),
    route("POST", "/api/auth/password", Function::Password, false),
    route("GET", "/.well-known/jwks.json", Function::Jwks, false),
    route(
        "GET",
        "/.well-known/openid-configuration",
        Function::Jwks,
        false,
    ),
    route("GET", "/api/todos", Function::Todos, true),
    route("POST", "/api/todos", Function::Todos, true),
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

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        (self.method, self.path, self.function, self.protected)
            == (other.method, other.path, other.function, other.protected)
    }
}
impl Eq for Route {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        assert!(
            matches!(find("POST", "/api/auth/login"), Match::Found(r, _) if r.function == Function::Login)
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
                assert_eq!(route.function, Function::Sessions);
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
}

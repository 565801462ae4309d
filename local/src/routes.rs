//! The API's routes, as the HTTP API in `template.yaml` declares them.

/// Which Lambda function serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Register,
    Login,
    Validate,
    Refresh,
    Logout,
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
    route("GET", "/api/todos", Function::Todos, true),
    route("POST", "/api/todos", Function::Todos, true),
];

#[derive(Debug, PartialEq, Eq)]
pub enum Match {
    Found(Route),
    /// The path exists, with other methods.
    WrongMethod,
    NotFound,
}

pub fn find(method: &str, path: &str) -> Match {
    let path = match path.trim_end_matches('/') {
        "" => "/",
        p => p,
    };
    let mut path_known = false;
    for route in ROUTES {
        if route.path == path {
            if route.method == method {
                return Match::Found(*route);
            }
            path_known = true;
        }
    }
    if path_known {
        Match::WrongMethod
    } else {
        Match::NotFound
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
            matches!(find("POST", "/api/auth/login"), Match::Found(r) if r.function == Function::Login)
        );
        assert!(matches!(find("POST", "/api/auth/login/"), Match::Found(_)));
        assert_eq!(find("GET", "/api/auth/login"), Match::WrongMethod);
        assert_eq!(find("GET", "/api/nothing"), Match::NotFound);
        assert!(matches!(find("GET", "/api/todos"), Match::Found(r) if r.protected));
    }
}

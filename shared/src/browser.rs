//! The browser edge: which web origins may call the API (CORS), the refresh
//! token as an `HttpOnly` cookie, and the CSRF defence every route that a
//! cookie can authenticate needs.
//!
//! A client opts in per request with `Tokengate-Transport: cookie`. Being a
//! custom header, it makes every cross-origin request a preflighted one, which
//! CORS refuses for origins not in `CORS_ALLOWED_ORIGINS`; the server checks
//! the `Origin` against the same list, and `SameSite=Strict` keeps the cookie
//! off cross-site requests as a third, independent layer.

use cookie::{Cookie, SameSite};
use http::header::{
    HeaderMap, HeaderValue, ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, COOKIE, ORIGIN, PRAGMA, SET_COOKIE,
    VARY,
};
use http::{Response, StatusCode};
use serde::Serialize;

use crate::env::{ConfigError, Env};
use crate::error::AuthError;
use crate::http::{json_response, ApiError};
use crate::rules::Rejection;
use crate::service::TokenPair;

/// The request header that selects the refresh token's transport.
pub const TRANSPORT_HEADER: &str = "tokengate-transport";
/// `__Secure-`: browsers accept it only with `Secure`, from a secure origin.
/// (`__Host-` would forbid the path scope below.)
pub const REFRESH_COOKIE: &str = "__Secure-tokengate-refresh";
/// Only the auth routes ever receive the cookie; the functions behind the
/// authorizer never see it.
pub const COOKIE_PATH: &str = "/api/auth";

/// Request headers the API reads, allowed in CORS requests.
pub const CORS_ALLOWED_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "refresh-token",
    TRANSPORT_HEADER,
];
/// Response headers a page's script may read.
pub const CORS_EXPOSED_HEADERS: &[&str] = &["retry-after", "www-authenticate"];
pub const CORS_ALLOWED_METHODS: &[&str] = &["GET", "POST", "DELETE"];
/// How long a browser may cache a preflight's answer.
pub const PREFLIGHT_MAX_AGE_SECS: u64 = 600;

/// The web origins trusted with credentials (`CORS_ALLOWED_ORIGINS`): exact
/// `scheme://host[:port]` values, as browsers send them in `Origin`. No
/// wildcard: credentials and `*` never go together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<String>);

const ORIGINS_VARIABLE: &str = "CORS_ALLOWED_ORIGINS";

impl AllowedOrigins {
    /// Reads `CORS_ALLOWED_ORIGINS`; unset means no browser origin at all.
    pub fn read(env: &Env) -> Result<Self, ConfigError> {
        match env.get(ORIGINS_VARIABLE) {
            None => Ok(Self::default()),
            Some(list) => Self::parse(&list).map_err(|value| ConfigError::Invalid {
                name: ORIGINS_VARIABLE,
                expected: "comma-separated exact origins such as https://app.example.com \
                           (http or https, no `*`, path or trailing slash)"
                    .to_string(),
                value,
            }),
        }
    }

    /// Parses a comma-separated list; the error is the entry that is not an origin.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut origins = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if !is_origin(entry) {
                return Err(entry.to_string());
            }
            origins.push(entry.to_ascii_lowercase());
        }
        Ok(AllowedOrigins(origins))
    }

    pub fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|allowed| allowed == origin)
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The request's `Origin`, when it is one of these.
    fn matching<'h>(&self, headers: &'h HeaderMap) -> Option<&'h HeaderValue> {
        let origin = headers.get(ORIGIN)?;
        self.allows(origin.to_str().ok()?).then_some(origin)
    }
}

/// `http(s)://host[:port]` and nothing more.
fn is_origin(entry: &str) -> bool {
    let Some((scheme, rest)) = entry.split_once("://") else {
        return false;
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") && host_ok && port_ok
}

/// How this request's refresh token travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// In the JSON body and `Refresh-Token` header: the default.
    Header,
    /// In the `HttpOnly` cookie; the body never carries it.
    Cookie,
}

/// What a route does with the refresh cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieUse {
    /// Sets it (login, password change): a cookie that comes along is ignored.
    Sets,
    /// Clears it (logout, logout-all), authenticated by the access token,
    /// which no cross-site page can send: a cookie that comes along is ignored.
    Clears,
    /// Is authenticated by it (refresh): a request that carries it must be a
    /// cookie-mode one.
    Reads,
}

/// Why a cookie-mode request was refused as possibly cross-site (for logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CrossSite {
    #[error("the refresh cookie came without the transport header")]
    CookieWithoutTransport,
    #[error("cookie transport without an Origin")]
    NoOrigin,
    #[error("cookie transport from an origin not allowed")]
    OriginNotAllowed,
}

/// The transport this request asked for, once it passed the CSRF defence:
/// cookie mode needs an allowed `Origin`, and on a route the cookie
/// authenticates the cookie never counts without the transport header.
pub fn transport(
    headers: &HeaderMap,
    origins: &AllowedOrigins,
    cookie_use: CookieUse,
) -> Result<Transport, ApiError> {
    let requested = match headers.get(TRANSPORT_HEADER) {
        None => None,
        Some(value) => match value.to_str().map(str::trim) {
            Ok(v) if v.eq_ignore_ascii_case("cookie") => Some(Transport::Cookie),
            Ok(v) if v.eq_ignore_ascii_case("header") => Some(Transport::Header),
            _ => {
                return Err(ApiError::InvalidField(
                    "`Tokengate-Transport` must be `cookie` or `header`".to_string(),
                ))
            }
        },
    };
    match requested {
        Some(Transport::Cookie) if origins.matching(headers).is_some() => Ok(Transport::Cookie),
        Some(Transport::Cookie) if headers.contains_key(ORIGIN) => {
            Err(ApiError::CrossSite(CrossSite::OriginNotAllowed))
        }
        Some(Transport::Cookie) => Err(ApiError::CrossSite(CrossSite::NoOrigin)),
        Some(Transport::Header) => Ok(Transport::Header),
        None if cookie_use == CookieUse::Reads && has_refresh_cookie(headers) => {
            Err(ApiError::CrossSite(CrossSite::CookieWithoutTransport))
        }
        None => Ok(Transport::Header),
    }
}

/// The refresh cookie's value, from any `Cookie` header. The server sets
/// one cookie of that name, for one host and path: a second one was planted
/// (a sibling subdomain can set one for the parent domain, with a longer path
/// so that it comes first) and neither is trusted.
pub fn refresh_cookie(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() == REFRESH_COOKIE && !c.value().is_empty())
        .map(|c| c.value().to_string());
    let first = values.next();
    if values.next().is_some() {
        let why = Rejection::Token("more than one refresh cookie");
        return Err(AuthError::invalid_token(why).into());
    }
    Ok(first)
}

fn has_refresh_cookie(headers: &HeaderMap) -> bool {
    !matches!(refresh_cookie(headers), Ok(None))
}

/// The token pair as cookie mode answers it: the refresh token goes in the
/// cookie only.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CookieModePair<'a> {
    access_token: &'a str,
    token_type: &'a str,
    expires_in: u64,
    refresh_expires_in: u64,
}

/// A token response in `transport`: header mode as [`crate::http::token_response`];
/// cookie mode sets the cookie and leaves the refresh token out of the body.
pub fn token_response(pair: &TokenPair, transport: Transport) -> Response<String> {
    match transport {
        Transport::Header => crate::http::token_response(pair),
        Transport::Cookie => {
            let body = CookieModePair {
                access_token: &pair.access_token,
                token_type: pair.token_type,
                expires_in: pair.expires_in,
                refresh_expires_in: pair.refresh_expires_in,
            };
            let mut response = json_response(StatusCode::OK, &body);
            response
                .headers_mut()
                .insert(PRAGMA, HeaderValue::from_static("no-cache"));
            let cookie = refresh_cookie_header(&pair.refresh_token, pair.refresh_expires_in);
            set_cookie(&mut response, cookie);
            response
        }
    }
}

/// In cookie mode, clears the cookie with `response` when `clear`: after a
/// logout, or when the refresh token it held was refused. (Not on any 401: a
/// logout refused for an expired access token leaves a live session, and its
/// cookie is still the way to end it.)
pub fn finish(
    transport: Transport,
    mut response: Response<String>,
    clear: bool,
) -> Response<String> {
    if transport == Transport::Cookie && clear {
        set_cookie(&mut response, refresh_cookie_header("", 0));
    }
    response
}

fn refresh_cookie_header(value: &str, max_age_secs: u64) -> Cookie<'static> {
    let max_age = i64::try_from(max_age_secs).unwrap_or(i64::MAX);
    Cookie::build((REFRESH_COOKIE, value.to_string()))
        .path(COOKIE_PATH)
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build()
}

fn set_cookie(response: &mut Response<String>, cookie: Cookie<'_>) {
    // A JWT and the attributes are all header-safe ASCII.
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

/// What the HTTP API's `CorsConfiguration` adds to every response on AWS,
/// for a request from an allowed origin; nothing for any other.
pub fn add_cors_headers(request: &HeaderMap, response: &mut HeaderMap, origins: &AllowedOrigins) {
    response.insert(VARY, HeaderValue::from_static("origin"));
    let Some(origin) = origins.matching(request) else {
        return;
    };
    response.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    response.insert(
        ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    response.insert(ACCESS_CONTROL_EXPOSE_HEADERS, joined(CORS_EXPOSED_HEADERS));
}

/// The answer to a CORS preflight (`OPTIONS`): 204, with the allowed methods
/// and headers when the origin and the method asked for are allowed.
pub fn preflight(request: &HeaderMap, origins: &AllowedOrigins) -> Response<String> {
    let mut response = Response::new(String::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let method_allowed = request
        .get(ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|m| m.to_str().ok())
        .is_some_and(|m| CORS_ALLOWED_METHODS.contains(&m));
    let headers = response.headers_mut();
    headers.insert(VARY, HeaderValue::from_static("origin"));
    if method_allowed {
        add_cors_headers(request, headers, origins);
        if headers.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
            headers.insert(ACCESS_CONTROL_ALLOW_METHODS, joined(CORS_ALLOWED_METHODS));
            headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, joined(CORS_ALLOWED_HEADERS));
            headers.insert(
                ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from(PREFLIGHT_MAX_AGE_SECS),
            );
        }
    }
    response
}

fn joined(names: &[&str]) -> HeaderValue {
    HeaderValue::from_str(&names.join(", ")).expect("header names are header-safe")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    fn origins() -> AllowedOrigins {
        AllowedOrigins::parse("https://app.example.com, http://127.0.0.1:3000").unwrap()
    }

    #[test]
    fn origins_are_exact_and_never_wildcards() {
        let list = origins();
        assert!(list.allows("https://app.example.com"));
        assert!(list.allows("http://127.0.0.1:3000"));
        assert!(!list.allows("https://evil.example.com"));
        assert!(!list.allows("http://app.example.com"));
        assert!(!list.allows("https://app.example.com:8443"));
        assert_eq!(
            AllowedOrigins::parse("").unwrap(),
            AllowedOrigins::default()
        );
        assert_eq!(
            AllowedOrigins::parse("HTTPS://App.Example.com")
                .unwrap()
                .as_slice(),
            ["https://app.example.com"]
        );
        for bad in [
            "*",
            "null",
            "https://app.example.com/",
            "https://app.example.com/path",
            "app.example.com",
            "ftp://app.example.com",
            "https://*.example.com",
            "https://app.example.com:99999",
            "https://user@app.example.com",
            "https://",
        ] {
            assert_eq!(AllowedOrigins::parse(bad), Err(bad.to_string()), "{bad}");
        }
        let env = Env::new(|_| Some("https://ok.example.com,*".to_string()));
        let err = AllowedOrigins::read(&env).unwrap_err().to_string();
        assert!(
            err.contains("CORS_ALLOWED_ORIGINS") && err.contains("\"*\""),
            "{err}"
        );
    }

    fn refused(result: Result<Transport, ApiError>) -> CrossSite {
        match result {
            Err(ApiError::CrossSite(why)) => why,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cookie_transport_needs_an_allowed_origin() {
        let list = origins();
        let ok = headers(&[
            (TRANSPORT_HEADER, "cookie"),
            ("origin", "https://app.example.com"),
        ]);
        assert_eq!(
            transport(&ok, &list, CookieUse::Reads).unwrap(),
            Transport::Cookie
        );
        let other = headers(&[
            (TRANSPORT_HEADER, "Cookie"),
            ("origin", "https://evil.example.com"),
        ]);
        assert_eq!(
            refused(transport(&other, &list, CookieUse::Sets)),
            CrossSite::OriginNotAllowed
        );
        let none = headers(&[(TRANSPORT_HEADER, "cookie")]);
        assert_eq!(
            refused(transport(&none, &list, CookieUse::Sets)),
            CrossSite::NoOrigin
        );
        // No list: cookie mode is off.
        assert_eq!(
            refused(transport(&ok, &AllowedOrigins::default(), CookieUse::Sets)),
            CrossSite::OriginNotAllowed
        );
    }

    #[test]
    fn a_cookie_without_the_header_is_refused_where_it_authenticates() {
        let list = origins();
        let form_post = headers(&[
            (
                "cookie",
                "theme=dark; __Secure-tokengate-refresh=abc.def.ghi",
            ),
            ("origin", "https://app.example.com"),
        ]);
        assert_eq!(
            refused(transport(&form_post, &list, CookieUse::Reads)),
            CrossSite::CookieWithoutTransport
        );
        for ignores in [CookieUse::Sets, CookieUse::Clears] {
            assert_eq!(
                transport(&form_post, &list, ignores).unwrap(),
                Transport::Header
            );
        }
        let explicit = headers(&[
            (TRANSPORT_HEADER, "header"),
            ("cookie", "__Secure-tokengate-refresh=x"),
        ]);
        assert_eq!(
            transport(&explicit, &list, CookieUse::Reads).unwrap(),
            Transport::Header
        );
        let plain = headers(&[("cookie", "theme=dark")]);
        assert_eq!(
            transport(&plain, &list, CookieUse::Reads).unwrap(),
            Transport::Header
        );
        let bad = headers(&[(TRANSPORT_HEADER, "carrier-pigeon")]);
        assert!(matches!(
            transport(&bad, &list, CookieUse::Sets),
            Err(ApiError::InvalidField(_))
        ));
    }

    #[test]
    fn the_refresh_cookie_is_read_from_any_cookie_header() {
        let h = headers(&[
            ("cookie", "a=1"),
            ("cookie", "b=2; __Secure-tokengate-refresh=the.token.value"),
        ]);
        assert_eq!(
            refresh_cookie(&h).unwrap().as_deref(),
            Some("the.token.value")
        );
        let cleared = headers(&[("cookie", "__Secure-tokengate-refresh=")]);
        assert_eq!(refresh_cookie(&cleared).unwrap(), None);
        let other = headers(&[("cookie", "tokengate-refresh=x")]);
        assert_eq!(refresh_cookie(&other).unwrap(), None);
        let planted = headers(&[(
            "cookie",
            "__Secure-tokengate-refresh=planted; __Secure-tokengate-refresh=real",
        )]);
        assert_eq!(
            refresh_cookie(&planted).unwrap_err().code(),
            "invalid_token"
        );
        // Still cookies that need the transport header.
        assert_eq!(
            refused(transport(&planted, &origins(), CookieUse::Reads)),
            CrossSite::CookieWithoutTransport
        );
    }

    fn pair() -> TokenPair {
        TokenPair {
            access_token: "access.jwt".into(),
            refresh_token: "refresh.jwt".into(),
            token_type: "Bearer",
            expires_in: 900,
            refresh_expires_in: 604_800,
        }
    }

    #[test]
    fn cookie_mode_keeps_the_refresh_token_out_of_the_body() {
        let response = token_response(&pair(), Transport::Cookie);
        assert!(!response.body().contains("refresh.jwt"));
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(body["accessToken"], "access.jwt");
        assert_eq!(body["refreshExpiresIn"], 604_800);
        let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
        assert_eq!(
            cookie,
            "__Secure-tokengate-refresh=refresh.jwt; HttpOnly; SameSite=Strict; Secure; \
             Path=/api/auth; Max-Age=604800"
        );
        let header_mode = token_response(&pair(), Transport::Header);
        assert!(header_mode.body().contains("refresh.jwt"));
        assert!(!header_mode.headers().contains_key(SET_COOKIE));
    }

    #[test]
    fn finish_clears_the_cookie_when_told_in_cookie_mode_only() {
        let ok = || crate::http::message_response("logged out");
        let cleared = finish(Transport::Cookie, ok(), true);
        let cookie = cleared.headers()[SET_COOKIE].to_str().unwrap();
        assert!(
            cookie.starts_with("__Secure-tokengate-refresh=;"),
            "{cookie}"
        );
        assert!(cookie.contains("Max-Age=0") && cookie.contains("Path=/api/auth"));
        assert!(!finish(Transport::Cookie, ok(), false)
            .headers()
            .contains_key(SET_COOKIE));
        assert!(!finish(Transport::Header, ok(), true)
            .headers()
            .contains_key(SET_COOKIE));
        // A 401 alone is not a reason: the caller says when.
        let refused = crate::http::error_response(&ApiError::MissingToken);
        assert!(!finish(Transport::Cookie, refused, false)
            .headers()
            .contains_key(SET_COOKIE));
    }

    #[test]
    fn cors_headers_only_for_allowed_origins() {
        let list = origins();
        let mut response = HeaderMap::new();
        add_cors_headers(
            &headers(&[("origin", "https://app.example.com")]),
            &mut response,
            &list,
        );
        assert_eq!(
            response[ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example.com"
        );
        assert_eq!(response[ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(
            response[ACCESS_CONTROL_EXPOSE_HEADERS],
            "retry-after, www-authenticate"
        );
        let mut response = HeaderMap::new();
        add_cors_headers(
            &headers(&[("origin", "https://evil.example.com")]),
            &mut response,
            &list,
        );
        assert!(!response.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
        assert_eq!(response[VARY], "origin");

        let ask = |origin: &str, method: &str| {
            preflight(
                &headers(&[
                    ("origin", origin),
                    ("access-control-request-method", method),
                ]),
                &list,
            )
        };
        let allowed = ask("http://127.0.0.1:3000", "POST");
        assert_eq!(allowed.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            allowed.headers()[ACCESS_CONTROL_ALLOW_HEADERS],
            "authorization, content-type, refresh-token, tokengate-transport"
        );
        assert_eq!(allowed.headers()[ACCESS_CONTROL_MAX_AGE], "600");
        for refused in [
            ask("https://evil.example.com", "POST"),
            ask("http://127.0.0.1:3000", "PUT"),
        ] {
            assert_eq!(refused.status(), StatusCode::NO_CONTENT);
            assert!(!refused.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
            assert!(!refused.headers().contains_key(ACCESS_CONTROL_ALLOW_METHODS));
        }
    }
}

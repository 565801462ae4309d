//! The account page (`web/`) at `/`, served as a static host would serve it:
//! flat text files with their content type and a strict CSP. Only the local
//! server does this; on AWS the page is hosted elsewhere (README).

use std::path::PathBuf;

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{Response, StatusCode};

/// Scripts and styles only from the page's own origin, no framing, no
/// plugins; API calls to the page's origin or any local or HTTPS one (the API
/// may be on another origin).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; \
    connect-src 'self' https: http://127.0.0.1:* http://localhost:*; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

pub struct StaticSite {
    root: PathBuf,
}

impl StaticSite {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StaticSite { root: root.into() }
    }

    /// The file for `path` (`/` is `index.html`), or `None`: any path that
    /// is not one plain file name of a known type is not the site's.
    pub async fn serve(&self, path: &str) -> Option<Response<String>> {
        let name = match path {
            "/" => "index.html",
            other => other.strip_prefix('/')?,
        };
        let content_type = content_type(name)?;
        let plain = !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !plain {
            return None;
        }
        let text = tokio::fs::read_to_string(self.root.join(name)).await.ok()?;
        let mut response = Response::new(text);
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(
            "content-security-policy",
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        Some(response)
    }
}

fn content_type(name: &str) -> Option<&'static str> {
    Some(match name.rsplit_once('.')?.1 {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "ts" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_plain_files_of_known_types_only() {
        let dir = std::env::temp_dir().join(format!("site-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<h1>hi</h1>").unwrap();
        std::fs::write(dir.join("app.js"), "export {}").unwrap();
        std::fs::write(dir.join("secret.txt"), "no").unwrap();
        let site = StaticSite::new(&dir);
        let index = site.serve("/").await.unwrap();
        assert_eq!(index.body(), "<h1>hi</h1>");
        assert!(index.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
        let js = site.serve("/app.js").await.unwrap();
        assert_eq!(js.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
        for refused in [
            "/secret.txt",
            "/../Cargo.toml",
            "/a/app.js",
            "/.app.js",
            "/missing.js",
            "/%2e%2e/x.js",
        ] {
            assert!(site.serve(refused).await.is_none(), "{refused}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

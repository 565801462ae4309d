//! One isolated app per test: a fresh table in DynamoDB Local, the service
//! on it with a clock the test can move, and the handlers driven with real
//! API Gateway events.

use std::sync::Arc;

use serde_json::{json, Value};
use tokengate::clock::ManualClock;
use tokengate::store::Store;
use tokengate::{AuthService, Config};

use crate::dynamodb::{client_for, client_with_faults, endpoint, free_port, CallLog};
use crate::events::*;
use crate::faults::Faults;

pub const TEST_SECRET: &str = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
pub const PASSWORD: &str = "correct horse battery staple";

/// A test-only key from `tests/fixtures/keys/`.
pub fn fixture_key(name: &str) -> String {
    let path = format!("{}/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A config as the functions read it, with test defaults and `overrides`.
pub fn config_with(table: &str, overrides: &[(&str, &str)]) -> Config {
    let table = table.to_string();
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|name| {
        if let Some((_, v)) = overrides.iter().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        match name {
            "TABLE_NAME" => Some(table.clone()),
            "JWT_SECRET" => Some(TEST_SECRET.to_string()),
            _ => None,
        }
    })
    .expect("valid test config")
}

/// One isolated app: a fresh table in DynamoDB Local and the service on it.
pub struct TestApp {
    pub service: AuthService,
    pub store: Store,
    pub calls: CallLog,
    /// The service's clock: starts at the system's time, moves only when the
    /// test advances it.
    pub clock: ManualClock,
    /// Faults the test can inject into the service's DynamoDB client.
    pub faults: Faults,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_env(&[]).await
    }

    pub async fn with_env(overrides: &[(&str, &str)]) -> Self {
        Self::on_endpoint(endpoint(), overrides).await
    }

    /// A fresh app on the DynamoDB at `endpoint` (a test's own instance).
    pub async fn on_endpoint(endpoint: &str, overrides: &[(&str, &str)]) -> Self {
        let table = format!("tokengate-test-{}", uuid::Uuid::new_v4().simple());
        let calls = CallLog::default();
        let faults = Faults::default();
        let client = client_with_faults(endpoint, calls.clone(), faults.clone());
        let store = Store::new(client.clone(), &table);
        store.create_table().await.expect("create test table");
        calls.take();
        let clock = ManualClock::starting_now();
        let config = config_with(&table, overrides);
        let service = AuthService::with_clock(config, client, Arc::new(clock.clone()));
        TestApp {
            service,
            store,
            calls,
            clock,
            faults,
        }
    }

    /// An app whose service mails through SES v2 on moto
    /// ([`crate::mail::test_mailer`]); the reset request's floor is 50 ms
    /// unless `overrides` set `FORGOT_MIN_RESPONSE_MS`.
    pub async fn with_mail(overrides: &[(&str, &str)]) -> Self {
        // The first setting of a name wins.
        let mut settings = overrides.to_vec();
        settings.push(("FORGOT_MIN_RESPONSE_MS", "50"));
        let mut app = Self::with_env(&settings).await;
        app.service = app.service.with_mailer(crate::mail::test_mailer().await);
        app
    }

    /// A registration of `id` with [`PASSWORD`] and `email`, whatever its
    /// outcome.
    pub async fn register_with_email(
        &self,
        id: &str,
        email: &str,
    ) -> lambda_http::Response<lambda_http::Body> {
        let body =
            json!({"id": id, "password": PASSWORD, "name": format!("{id} name"), "email": email});
        register_fn::handle(post("/api/auth/register", &body), &self.service).await
    }

    /// A request to the account function: `method` `path`, with `access`
    /// as the bearer token if given, and `body` if given.
    pub async fn account(
        &self,
        method: &str,
        path: &str,
        access: Option<&str>,
        body: Option<&Value>,
    ) -> lambda_http::Response<lambda_http::Body> {
        let bearer = access.map(|token| format!("Bearer {token}"));
        let headers: Vec<(&str, &str)> = bearer
            .as_deref()
            .map(|b| ("authorization", b))
            .into_iter()
            .collect();
        let body = body.map(Value::to_string);
        account_fn::handle(
            event(method, path, &headers, body.as_deref()),
            &self.service,
        )
        .await
    }

    /// Registers `id` with [`PASSWORD`] through the register handler.
    pub async fn register(&self, id: &str) -> Value {
        let response = register_fn::handle(
            post(
                "/api/auth/register",
                &json!({"id": id, "password": PASSWORD, "name": format!("{id} name")}),
            ),
            &self.service,
        )
        .await;
        assert_eq!(
            response.status(),
            201,
            "register {id}: {}",
            body_text(&response)
        );
        body_json(&response)
    }

    /// Logs `id` in through the login handler; returns (access, refresh).
    pub async fn login(&self, id: &str) -> (String, String) {
        let response = login_fn::handle(
            post("/api/auth/login", &json!({"id": id, "password": PASSWORD})),
            &self.service,
        )
        .await;
        assert_eq!(
            response.status(),
            200,
            "login {id}: {}",
            body_text(&response)
        );
        let body = body_json(&response);
        (
            body["accessToken"].as_str().unwrap().to_string(),
            body["refreshToken"].as_str().unwrap().to_string(),
        )
    }

    /// Another service on the same table with other settings (another key
    /// configuration, as after a deploy).
    /// The todos sample on a table of its own next to this app's.
    pub async fn todos(&self) -> todos_fn::Todos {
        let todos = todos_fn::Todos {
            client: self.store.client().clone(),
            table: format!("{}-todos", self.store.table()),
        };
        todos_fn::ensure_table(&todos.client, &todos.table)
            .await
            .expect("todos table");
        todos
    }

    pub fn service_with(&self, overrides: &[(&str, &str)]) -> AuthService {
        AuthService::with_clock(
            config_with(self.store.table(), overrides),
            self.store.client().clone(),
            Arc::new(self.clock.clone()),
        )
    }

    /// A login attempt from source address `ip`, whatever its outcome.
    pub async fn login_from(
        &self,
        id: &str,
        password: &str,
        ip: &str,
    ) -> lambda_http::Response<lambda_http::Body> {
        let mut event = event_json(
            "POST",
            "/api/auth/login",
            &[],
            Some(&json!({"id": id, "password": password}).to_string()),
        );
        event["requestContext"]["http"]["sourceIp"] = json!(ip);
        login_fn::handle(to_request(&event), &self.service).await
    }

    /// A registration from source address `ip`, whatever its outcome.
    pub async fn register_from(
        &self,
        id: &str,
        ip: &str,
    ) -> lambda_http::Response<lambda_http::Body> {
        let body = json!({"id": id, "password": PASSWORD, "name": format!("{id} name")});
        let mut event = event_json("POST", "/api/auth/register", &[], Some(&body.to_string()));
        event["requestContext"]["http"]["sourceIp"] = json!(ip);
        register_fn::handle(to_request(&event), &self.service).await
    }

    /// `GET /api/auth/sessions`.
    pub async fn sessions(&self, access: &str) -> lambda_http::Response<lambda_http::Body> {
        sessions_fn::handle(get_with_bearer("/api/auth/sessions", access), &self.service).await
    }

    /// `GET /api/auth/activity` with `query` (`limit=2&cursor=...`, or "").
    pub async fn activity(
        &self,
        access: &str,
        query: &str,
    ) -> lambda_http::Response<lambda_http::Body> {
        let path = match query {
            "" => "/api/auth/activity".to_string(),
            query => format!("/api/auth/activity?{query}"),
        };
        activity_fn::handle(get_with_bearer(&path, access), &self.service).await
    }

    /// A login of `id` with `password` from a device (`user_agent`).
    pub async fn login_with_agent(
        &self,
        id: &str,
        password: &str,
        user_agent: &str,
    ) -> lambda_http::Response<lambda_http::Body> {
        login_fn::handle(
            event(
                "POST",
                "/api/auth/login",
                &[("user-agent", user_agent)],
                Some(&json!({"id": id, "password": password}).to_string()),
            ),
            &self.service,
        )
        .await
    }

    /// `DELETE /api/auth/sessions/{session_id}`.
    pub async fn revoke(
        &self,
        access: &str,
        session_id: &str,
    ) -> lambda_http::Response<lambda_http::Body> {
        let path = format!("/api/auth/sessions/{session_id}");
        let mut event = event_json(
            "DELETE",
            &path,
            &[("authorization", &format!("Bearer {access}"))],
            None,
        );
        event["routeKey"] = json!("DELETE /api/auth/sessions/{sessionId}");
        event["pathParameters"] = json!({ "sessionId": session_id });
        sessions_fn::handle(to_request(&event), &self.service).await
    }

    /// `POST /api/auth/password`.
    pub async fn change_password(
        &self,
        access: &str,
        current: &str,
        new: &str,
    ) -> lambda_http::Response<lambda_http::Body> {
        password_fn::handle(
            event(
                "POST",
                "/api/auth/password",
                &[("authorization", &format!("Bearer {access}"))],
                Some(&json!({"currentPassword": current, "newPassword": new}).to_string()),
            ),
            &self.service,
        )
        .await
    }

    pub async fn validate(&self, access: &str) -> lambda_http::Response<lambda_http::Body> {
        validate_with(&self.service, access).await
    }

    pub async fn refresh(&self, refresh: &str) -> lambda_http::Response<lambda_http::Body> {
        refresh_with(&self.service, refresh).await
    }

    pub async fn logout(
        &self,
        path: &str,
        access: &str,
    ) -> lambda_http::Response<lambda_http::Body> {
        logout_fn::handle(
            event(
                "POST",
                path,
                &[("authorization", &format!("Bearer {access}"))],
                None,
            ),
            &self.service,
        )
        .await
    }
}

/// `GET /api/auth/validate` on `service`.
pub async fn validate_with(
    service: &AuthService,
    access: &str,
) -> lambda_http::Response<lambda_http::Body> {
    validate_fn::handle(get_with_bearer("/api/auth/validate", access), service).await
}

/// `POST /api/auth/refresh` (Refresh-Token header) on `service`.
pub async fn refresh_with(
    service: &AuthService,
    refresh: &str,
) -> lambda_http::Response<lambda_http::Body> {
    refresh_fn::handle(
        event(
            "POST",
            "/api/auth/refresh",
            &[("refresh-token", &format!("Bearer {refresh}"))],
            None,
        ),
        service,
    )
    .await
}

/// A service whose DynamoDB endpoint refuses connections: the store is down.
pub fn service_with_store_down() -> AuthService {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let client = client_for(&endpoint, CallLog::default());
    AuthService::new(config_with("tokengate-down", &[]), client)
}

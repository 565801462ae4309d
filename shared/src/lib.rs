//! tokengate's domain core: configuration, keys and JWTs, passwords, the
//! session rules, the DynamoDB store and the HTTP edge. Nothing here but
//! [`lambda`] (feature `lambda`) and [`Caller::from_request`] knows about
//! Lambda; the function crates are thin adapters around it.
//!
//! | module | what it is |
//! |---|---|
//! | [`rules`] | session validity, refresh outcome, throttle windows: pure, clock passed in |
//! | [`service`] | the operations: read or write the store, ask the rules |
//! | [`store`] | DynamoDB, by aggregate (users, sessions, throttle counters) |
//! | [`token`], [`keys`], [`password`] | JWTs, key material, argon2 |
//! | [`config`], [`env`] | settings, range-checked at start |
//! | [`caller`] | the authorizer-to-function contract |
//! | [`http`] | bodies, bearer tokens, the error-to-response mapping |
//! | [`browser`] | CORS, the refresh cookie and its CSRF defence |
//! | [`mail`] | verification and reset codes, through SES v2 |
//! | [`metrics`], [`telemetry`] | EMF metrics, logging |

pub mod browser;
pub mod caller;
pub mod clock;
pub mod config;
pub mod env;
pub mod error;
pub mod http;
pub mod input;
pub mod keys;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod mail;
pub mod metrics;
pub mod model;
pub mod password;
pub mod rules;
pub mod secrets;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod token;

pub use caller::Caller;
pub use config::Config;
pub use error::AuthError;
pub use http::ApiError;
pub use service::{
    AccountView, ActivityPageView, ActivityQuery, ActivityView, AuthService, ClientInfo, Principal,
    RegisterInput, SessionView, TokenPair, UserView,
};

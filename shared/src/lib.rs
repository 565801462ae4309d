//! tokengate's domain core: configuration, JWTs, password hashing, the
//! DynamoDB session store and the HTTP error mapping. Nothing here knows
//! about Lambda; the function crates are thin adapters around it.

pub mod config;
pub mod error;
pub mod http;
pub mod keys;
pub mod password;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod token;

pub use config::Config;
pub use error::AuthError;
pub use service::{
    AuthService, ClientInfo, Principal, RegisterInput, SessionView, TokenPair, UserView,
};

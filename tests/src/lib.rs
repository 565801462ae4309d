//! Test harness: real DynamoDB Local, a fresh table per test, and real
//! API Gateway events for the handlers.
//!
//! DynamoDB Local is the one named by `DYNAMODB_ENDPOINT` (what `make test`
//! starts once for all test binaries) or, when that is unset, one this
//! process starts itself on a free port and stops when it exits.
//!
//! | module | what it holds |
//! |---|---|
//! | [`app`] | `TestApp`: an isolated service per test, with a movable clock |
//! | [`events`] | API Gateway events (via `gateway-events`) and response readers |
//! | [`dynamodb`] | DynamoDB Local processes and call-counting clients |
//! | [`emf`] | EMF log lines, checked against the specification |
//! | [`faults`] | a lost answer or a held transaction, injected into a service's client |
//! | [`runtime`] | a Lambda Runtime API emulator for real function processes |
//! | [`secrets`] | a local Secrets Manager (moto) and real-SDK clients for it |
//! | [`mail`] | SES v2 on moto: the service's mailer, and the messages it sent |
//! | [`bench`] | what the benchmarks share |

pub mod app;
pub mod bench;
pub mod dynamodb;
pub mod emf;
pub mod events;
pub mod faults;
pub mod mail;
pub mod runtime;
pub mod secrets;

pub use app::*;
pub use bench::*;
pub use dynamodb::*;
pub use events::*;
pub use faults::*;
pub use mail::*;
pub use secrets::*;

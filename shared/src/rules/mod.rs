//! The rules, once: pure functions over plain values and the clock, with
//! the DynamoDB condition expression that enforces each one in a write
//! written beside it. The store runs the conditions; the service asks these
//! functions what a read or a failed condition means. Unit tests cover every
//! branch; the DynamoDB Local suite is the contract test of the conditions.

pub mod account;
pub mod activity;
pub mod session;
pub mod throttle;

pub use session::{check_access, refresh_outcome, RefreshOutcome, Rejection, Rotation};
pub use throttle::Window;

//! Handler tests on real DynamoDB Local, one fresh table per test.
//! One test binary (modules below) so the suite links once.

mod account;
mod activity;
mod authorizer;
mod browser;
mod events;
mod keys;
mod lifetime;
mod login;
mod logout;
mod password;
mod protected;
mod refresh;
mod register;
mod rules;
mod secrets;
mod sessions;
mod store_down;
mod store_faults;
mod throttle;
mod tokens;
mod validate;
mod warm_up;

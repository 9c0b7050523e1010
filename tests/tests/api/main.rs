//! Black-box tests of the core contract (DESIGN.md §5) over real HTTP: each
//! test starts the application on a free port and runs on Postgres and on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod assignment;
mod auth;
mod bad_input;
mod concurrency;
mod events;
mod health;
mod history;
mod intake;
mod isolation;
mod messages;
mod observability;
mod queues;
mod reading;
mod sla;
mod teams;
mod tickets;
mod workflow;

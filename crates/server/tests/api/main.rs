//! The core contract over real HTTP, on SQLite and on Postgres.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod contract;
mod input;
mod listing;
mod writing;

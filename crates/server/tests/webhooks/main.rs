//! Webhooks through the HTTP API, black-box: the real server on a free port,
//! a real receiver on loopback, Postgres and SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;

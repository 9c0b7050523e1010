//! The agents' writing tools through the HTTP API, black-box: the real server
//! on a free port, on SQLite and on Postgres. Canned responses (unique names,
//! rendering, sending), templates (versions, sharing, conditions), and the
//! knowledge base (search ranking, suggestions, links, versions, import).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod canned;
mod helpers;
mod kb;
mod templates;

//! The writing tools' read models against real databases, the same test body
//! on SQLite and Postgres: knowledge base search ranking, suggestions,
//! versions and links; template versions, uses and sharing; unique names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;
mod kb;
mod names;
mod templates;

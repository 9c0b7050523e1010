//! The ticket list and conversation read models against real databases, the
//! same test body on Postgres and SQLite: filters and cursors, internal notes,
//! idempotent re-application, rebuilds on a version bump, read-your-writes
//! waits, and (Postgres) the ordered reader under late-committing writers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit_hash;
mod batched;
mod consistency;
mod conversation;
mod group;
mod ordering;
mod replay;
mod statistics;
mod support;
mod ticket_list;

//! The event log and everything that reads or writes it directly: migrations for
//! Postgres and SQLite, appends with optimistic concurrency, aggregate loading
//! (snapshots, upcasting), the ordered global reader, checkpoints, wake-ups,
//! API token storage, and the ticket command handler.

pub mod access_log;
pub mod aggregate_cache;
pub mod append;
pub mod checkpoints;
pub mod clock;
pub mod commands;
pub mod copy_in;
pub mod db;
pub mod event;
pub mod export;
pub mod fulltext;
pub mod health;
pub mod in_list;
pub mod kb;
pub mod key_cache;
pub mod leader;
pub mod load;
pub mod named;
pub mod notify;
pub mod personal;
pub mod position;
pub mod reader;
pub mod shared_lru;
pub mod shutdown;
pub mod tickets;
pub mod tokens;
pub mod upcast;

pub use clock::SystemClock;
pub use db::{AnyRow, Arg, Array, Backend, Db, SqlError, Tx};
pub use event::{Metadata, Source, StoredEvent};
pub use notify::EventStore;
pub use position::Position;

//! Reactors: checkpointed subscribers of the event log that act on the world
//! (Telegram sends, webhook POSTs) or decide automatically (assignment, SLA,
//! escalation) by issuing ordinary commands. At-least-once: a reactor's
//! checkpoint moves only after it has handled an event, so its handlers must
//! be idempotent.

pub mod assignment;
pub mod reactor;
pub mod runner;
pub mod sla;

pub use reactor::{ReactError, Reactor, StartAt};

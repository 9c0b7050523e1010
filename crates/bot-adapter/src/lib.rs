//! The Telegram side of tgcrm. Customers write to the bot; each ticket gets a
//! topic in the agents' forum supergroup. Updates (long polling or webhook)
//! become ordinary commands; everything sent to Telegram is a reactor on the
//! event log (`outbound`), so replies written through the REST API reach the
//! customer too, and nothing is sent inside a request.

pub mod adapter;
pub mod agents;
pub mod config;
pub mod inbound;
pub mod outbound;
pub mod polling;
pub mod tables;
pub mod webhook;

pub use adapter::BotAdapter;
pub use config::{BotConfig, Mode};

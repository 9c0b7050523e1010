//! The Telegram bot end to end: the real server with the bot on, teloxide
//! pointed at a fake Bot API that serves scripted updates and records calls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agents;
mod canned;
mod delivery;
mod helpers;
mod intake;
mod lifecycle;
mod media;
mod webhook;

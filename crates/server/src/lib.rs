//! The `crm` binary's library: configuration, telemetry, wiring of the API,
//! projectors and background tasks, and the CLI subcommands.

pub mod backlog_metrics;
pub mod cli;
pub mod commands;
pub mod config;
pub mod config_file;
pub mod kb_import;
pub mod startup;
pub mod telemetry;

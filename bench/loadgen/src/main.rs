//! `tgcrm-bench`: the load generator, dataset loader and report writer behind
//! `bench/run.sh`. Every subcommand prints one JSON object (its result) on
//! stdout and progress on stderr; `report` turns the collected lines into
//! `BENCHMARKS.md`. Only servers on this machine are ever targeted.

mod commands;
mod dataset;
mod dbtools;
mod http;
mod load;
mod long_ticket;
mod queries;
mod report;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(
    name = "tgcrm-bench",
    about = "Benchmarks for tgcrm (see bench/run.sh)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args, Clone)]
struct Target {
    /// The running `crm serve` (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Admin token (opens tickets, reads).
    #[arg(long, env = "BENCH_ADMIN_TOKEN")]
    admin_token: String,
    /// Bot token (relays customer messages).
    #[arg(long, env = "BENCH_BOT_TOKEN")]
    bot_token: String,
    /// Agent token bound to `--agent-id` (replies, assignments, status changes).
    #[arg(long, env = "BENCH_AGENT_TOKEN")]
    agent_token: String,
    /// A label for the result (e.g. postgres, sqlite).
    #[arg(long, default_value = "")]
    label: String,
}

impl Target {
    fn api(&self, connections: usize) -> anyhow::Result<http::Api> {
        http::Api::new(
            &self.url,
            http::Tokens {
                admin: self.admin_token.clone(),
                bot: self.bot_token.clone(),
                agent: self.agent_token.clone(),
            },
            connections,
        )
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a valid history with the domain's own types and load it without HTTP (COPY on Postgres).
    Load {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        #[arg(long, default_value_t = 100_000)]
        tickets: u64,
        /// Roughly how many events in all (at least 2 per ticket).
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Roughly how many tickets are still active at the end.
        #[arg(long, default_value_t = 10_000)]
        open: u64,
        /// Distinct customers (default: a third of the tickets).
        #[arg(long)]
        customers: Option<u64>,
        #[arg(long, default_value = "bench")]
        workspace: String,
        #[arg(long, default_value_t = 40)]
        agents: usize,
        #[arg(long, default_value_t = 6)]
        teams: usize,
        /// Store personal fields in the clear (the server always seals them).
        #[arg(long)]
        no_seal: bool,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Days of history.
        #[arg(long, default_value_t = 365)]
        days: i64,
        /// Rows per COPY (one transaction each).
        #[arg(long, default_value_t = 20_000)]
        chunk: usize,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Mixed command load (and, with --probe-fraction, projection lag probes).
    Commands {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 16)]
        clients: usize,
        #[arg(long, default_value_t = 30.0)]
        seconds: f64,
        #[arg(long, default_value_t = 3.0)]
        warmup: f64,
        /// Commands per second in all (paced); as fast as possible when absent.
        #[arg(long)]
        rate: Option<f64>,
        #[arg(long, default_value_t = 0.0)]
        probe_fraction: f64,
        /// The agent id the agent token is bound to.
        #[arg(long, env = "BENCH_AGENT_ID")]
        agent_id: String,
    },
    /// Read-side latency of list, queue, SLA and metrics endpoints.
    Queries {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 300)]
        iterations: usize,
    },
    /// Command latency on a ticket with many events against a new one.
    LongTicket {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 10_000)]
        events: i64,
        #[arg(long, default_value_t = 4)]
        fill_clients: usize,
        #[arg(long, default_value_t = 200)]
        samples: usize,
    },
    /// Wait until every projector and reactor checkpoint has reached the log's head.
    WaitCaughtUp {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        #[arg(long, default_value_t = 3_600.0)]
        timeout: f64,
        /// Also wait until at least this many checkpoints exist.
        #[arg(long, default_value_t = 1)]
        min_checkpoints: usize,
    },
    /// Time a raw ordered scan of the whole log.
    RawScan {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Emit a result line from figures measured outside (pgbench, crm replay, RSS): --field key=value.
    Record {
        #[arg(long)]
        kind: String,
        #[arg(long, default_value = "")]
        label: String,
        #[arg(long = "field", value_parser = parse_field)]
        fields: Vec<(String, String)>,
    },
    /// Write BENCHMARKS.md from the collected result lines.
    Report {
        /// The JSON lines written by the other subcommands.
        #[arg(long)]
        results: PathBuf,
        /// The commands the script ran, one per line.
        #[arg(long)]
        commands: Option<PathBuf>,
        /// Hand-written analysis appended to the report.
        #[arg(long)]
        notes: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
}

fn parse_field(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected key=value, got {s}"))
}

fn emit<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Load {
            database_url,
            tickets,
            events,
            open,
            customers,
            workspace,
            agents,
            teams,
            no_seal,
            seed,
            days,
            chunk,
            label,
        } => {
            let spec = dataset::Spec {
                workspace: tgcrm_domain::WorkspaceId::parse(&workspace)
                    .map_err(|e| anyhow::anyhow!("--workspace: {}", e.reason))?,
                tickets,
                events,
                open,
                customers: customers.unwrap_or((tickets / 3).max(1)),
                agents,
                teams,
                seal: !no_seal,
                seed,
                end: chrono::Utc::now() - chrono::Duration::minutes(5),
                span: chrono::Duration::days(days.max(1)),
            };
            let r = load::run(&database_url, spec, chunk, label).await?;
            eprintln!(
                "loaded {} events of {} tickets ({} active) in {:.1}s ({:.0} events/s)",
                r.tally.events,
                r.tally.tickets,
                r.tally.active_at_end,
                r.seconds,
                r.events_per_second
            );
            emit(&r)
        }
        Command::Commands {
            target,
            clients,
            seconds,
            warmup,
            rate,
            probe_fraction,
            agent_id,
        } => {
            let api = target.api(clients * 2)?;
            let r = commands::run(
                api,
                commands::Config {
                    clients,
                    duration: Duration::from_secs_f64(seconds),
                    warmup: Duration::from_secs_f64(warmup),
                    rate,
                    probe_fraction,
                    agent_id,
                },
                target.label.clone(),
            )
            .await?;
            eprintln!(
                "  {} commands in {:.0}s: {:.0}/s, {}",
                r.commands_ok, r.seconds, r.throughput, r.latency
            );
            if let Some(l) = &r.lag_list {
                eprintln!("  lag to ticket list: {l}");
            }
            if !r.errors.is_empty() {
                eprintln!("  errors: {:?}", r.errors);
            }
            emit(&r)
        }
        Command::Queries { target, iterations } => {
            let api = target.api(2)?;
            let r = queries::run(api, iterations, target.label.clone()).await?;
            emit(&r)
        }
        Command::LongTicket {
            target,
            events,
            fill_clients,
            samples,
        } => {
            let api = target.api(fill_clients + 2)?;
            let r =
                long_ticket::run(api, events, fill_clients, samples, target.label.clone()).await?;
            eprintln!(
                "  message on {}-event ticket: {}; on a new ticket: {}",
                r.long_events, r.long_message, r.new_message
            );
            emit(&r)
        }
        Command::WaitCaughtUp {
            database_url,
            timeout,
            min_checkpoints,
        } => {
            let s = dbtools::wait_caught_up(
                &database_url,
                Duration::from_secs_f64(timeout),
                min_checkpoints,
            )
            .await?;
            eprintln!("  caught up after {s:.1}s");
            Ok(())
        }
        Command::RawScan {
            database_url,
            label,
        } => {
            let r = dbtools::raw_scan(&database_url, label).await?;
            eprintln!(
                "  raw scan of {} events: {:.2}s ({:.0} events/s)",
                r.events, r.seconds, r.events_per_second
            );
            emit(&r)
        }
        Command::Record {
            kind,
            label,
            fields,
        } => {
            let mut m = serde_json::Map::new();
            let descriptive = kind == "machine";
            m.insert("kind".into(), kind.into());
            m.insert("label".into(), label.into());
            for (k, v) in fields {
                // The machine record is descriptive text (a commit hash may look like a number).
                let value = match v.parse::<f64>() {
                    Ok(n) if n.is_finite() && !descriptive => serde_json::json!(n),
                    _ => serde_json::Value::String(v),
                };
                m.insert(k, value);
            }
            emit(&serde_json::Value::Object(m))
        }
        Command::Report {
            results,
            commands,
            notes,
            out,
        } => {
            let text = std::fs::read_to_string(&results)
                .with_context(|| format!("reading {}", results.display()))?;
            let commands = match commands {
                Some(p) => std::fs::read_to_string(&p).unwrap_or_default(),
                None => String::new(),
            };
            let mut md = report::render(&text, &commands)?;
            if let Some(p) = notes {
                md.push_str(
                    &std::fs::read_to_string(&p)
                        .with_context(|| format!("reading {}", p.display()))?,
                );
            }
            std::fs::write(&out, md).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {}", out.display());
            Ok(())
        }
    }
}

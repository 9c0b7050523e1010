//! The command line: `crm serve | migrate | replay | token create | events export`.

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "crm",
    version,
    about = "tgcrm: an event-sourced support desk for Telegram teams"
)]
pub struct Cli {
    /// A TOML configuration file; environment variables override it (also `CRM_CONFIG`).
    #[arg(long, global = true, env = "CRM_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API and the projectors. SQLite in ./crm.db unless DATABASE_URL is set; listens on CRM_BIND (default 127.0.0.1:8080).
    Serve,
    /// Create or update the database schema, then exit.
    Migrate,
    /// Rebuild read models from the start of the log (all of them, or one).
    Replay {
        /// The projection to rebuild (ticket_list, conversation); all when absent.
        #[arg(long)]
        projection: Option<String>,
        /// How many projections apply a batch at the same time (the log is
        /// read once for all of them; SQLite applies one at a time).
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
        jobs: u16,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The event log.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Tamper evidence.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The knowledge base.
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum KbCommand {
    /// Load a folder of Markdown files (a Notion or Confluence export) as
    /// articles; importing it again updates them instead of adding copies.
    Import {
        /// The exported folder (searched recursively for *.md).
        folder: std::path::PathBuf,
        #[arg(long)]
        workspace: String,
        /// Status of new articles whose front matter names none: published or draft.
        #[arg(long, default_value = "published")]
        status: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain from the log; name the first position where it breaks (exit 1).
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once (only its hash is stored).
    Create {
        /// Workspace name (a-z, 0-9, '-', '_'); created implicitly.
        #[arg(long)]
        workspace: String,
        /// admin, agent, bot, analyst or auditor.
        #[arg(long)]
        role: String,
        /// Bind the token to an agent id (agent role): replies are authored by that agent.
        #[arg(long)]
        agent: Option<String>,
        /// A label to recognise the token by.
        #[arg(long)]
        label: Option<String>,
        /// When the token stops working (RFC 3339).
        #[arg(long)]
        expires: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// List a workspace's tokens (never their secrets).
    List {
        #[arg(long)]
        workspace: String,
    },
    /// Print a new secret for a token; the old one works for --grace-seconds more.
    Rotate {
        #[arg(long)]
        workspace: String,
        /// The token id (tok_…).
        id: String,
        #[arg(long, default_value_t = 86_400)]
        grace_seconds: i64,
    },
    /// Revoke a token at once.
    Revoke {
        #[arg(long)]
        workspace: String,
        /// The token id (tok_…).
        id: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Ndjson,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Write every event with its metadata to stdout, in global order.
    Export {
        #[arg(long, value_enum, default_value = "ndjson")]
        format: ExportFormat,
        /// Start after this position token.
        #[arg(long)]
        after: Option<String>,
        /// Stop at events that occurred after this instant (RFC 3339).
        #[arg(long)]
        until: Option<chrono::DateTime<chrono::Utc>>,
        /// Only these event types (repeat or comma-separate).
        #[arg(long = "type", value_delimiter = ',')]
        types: Vec<String>,
        /// Only this workspace.
        #[arg(long)]
        workspace: Option<String>,
    },
}

//! What each subcommand does.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, bail};
use tgcrm_domain::{AgentId, Clock, WorkspaceId};
use tgcrm_store::reader::{EventFilter, read_after};
use tgcrm_store::tokens::{self, Role};
use tgcrm_store::{Position, SystemClock};

use crate::cli::{AuditCommand, Cli, Command, EventsCommand, ExportFormat, TokenCommand};
use crate::config::Settings;
use crate::startup::{Application, connect_and_migrate};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::from_env();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Serve => {
            tracing::info!(database = %settings.database_display(), bind = %settings.bind, "starting");
            let app = Application::build(settings, clock).await?;
            app.run_until_stopped().await
        }
        Command::Migrate => {
            connect_and_migrate(&settings).await?;
            eprintln!("database is up to date ({})", settings.database_display());
            Ok(())
        }
        Command::Replay { projection, jobs } => {
            replay(
                &settings,
                clock.as_ref(),
                projection.as_deref(),
                usize::from(jobs),
            )
            .await
        }
        Command::Token { command } => token(&settings, clock.as_ref(), command).await,
        Command::Events {
            command:
                EventsCommand::Export {
                    format,
                    after,
                    until,
                    types,
                    workspace,
                },
        } => {
            let filter = EventFilter {
                workspace_id: workspace,
                event_types: types,
                aggregate_type: None,
                aggregate_id: None,
                ..EventFilter::default()
            };
            export(&settings, format, after.as_deref(), until, filter).await
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => audit_verify(&settings).await,
        Command::Kb {
            command:
                crate::cli::KbCommand::Import {
                    folder,
                    workspace,
                    status,
                },
        } => crate::kb_import::run(&settings, clock.as_ref(), &folder, &workspace, &status).await,
    }
}

async fn audit_verify(settings: &Settings) -> anyhow::Result<()> {
    let db = connect_and_migrate(settings).await?;
    let total = u64::try_from(tgcrm_store::reader::count_events(&db).await?).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "verifying [{bar:40}] {pos}/{len} events {per_sec}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let report = tgcrm_projections::audit_chain::verify(&db, |n| bar.set_position(n)).await?;
    bar.finish_and_clear();
    db.close().await;
    match report.first_break {
        None => {
            eprintln!(
                "chain intact: {} events verified ({} not yet chained)",
                report.events_checked, report.events_pending
            );
            Ok(())
        }
        Some(b) => {
            eprintln!(
                "chain BROKEN at position {} (workspace {}, event {}): {}",
                b.position, b.workspace_id, b.event_id, b.reason
            );
            bail!(
                "audit verification failed after {} intact events",
                report.events_checked
            )
        }
    }
}

async fn token(
    settings: &Settings,
    clock: &dyn Clock,
    command: TokenCommand,
) -> anyhow::Result<()> {
    let db = connect_and_migrate(settings).await?;
    let env = settings.api.token_env;
    let meta = tgcrm_store::Metadata::new("cli", tgcrm_store::Source::Cli);
    let workspace =
        |w: &str| WorkspaceId::parse(w).map_err(|e| anyhow::anyhow!("--workspace {}", e.reason));
    match command {
        TokenCommand::Create {
            workspace: ws,
            role,
            agent,
            label,
            expires,
        } => {
            let ws = workspace(&ws)?;
            let role: Role = role
                .parse()
                .map_err(|e: String| anyhow::anyhow!("--role: {e}"))?;
            let agent = match agent {
                Some(a) => Some(
                    a.parse::<AgentId>()
                        .map_err(|_| anyhow::anyhow!("--agent must be a UUID"))?
                        .to_string(),
                ),
                None => None,
            };
            let (record, secret) = tokens::issue(
                &db,
                env,
                &tokens::NewToken {
                    workspace_id: ws.as_str(),
                    role,
                    agent_id: agent.as_deref(),
                    label: label.as_deref(),
                    expires_at: expires,
                },
                &meta,
                clock.now(),
            )
            .await?;
            eprintln!(
                "created token {} (workspace {}, role {}); it is shown only once:",
                record.id, record.workspace_id, record.role
            );
            println!("{}", secret.expose());
        }
        TokenCommand::List { workspace: ws } => {
            let ws = workspace(&ws)?;
            for t in tokens::list(&db, ws.as_str()).await? {
                println!("{}", serde_json::to_string(&t)?);
            }
            // Nothing written: nothing to announce.
            db.close().await;
            return Ok(());
        }
        TokenCommand::Rotate {
            workspace: ws,
            id,
            grace_seconds,
        } => {
            let ws = workspace(&ws)?;
            let (record, secret) = tokens::rotate(
                &db,
                env,
                ws.as_str(),
                &id,
                chrono::Duration::seconds(grace_seconds.max(0)),
                &meta,
                clock.now(),
            )
            .await?;
            eprintln!(
                "rotated {}; the old secret works until {}. New secret (shown once):",
                record.id,
                record
                    .previous_valid_until
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default()
            );
            println!("{}", secret.expose());
        }
        TokenCommand::Revoke { workspace: ws, id } => {
            let ws = workspace(&ws)?;
            let record = tokens::revoke(&db, ws.as_str(), &id, &meta, clock.now()).await?;
            eprintln!("revoked {}", record.id);
        }
    }
    announce(&db).await;
    db.close().await;
    Ok(())
}

/// Tell a running server that this command wrote to the log, so its readers
/// look now rather than at their next poll (Postgres; best effort).
pub(crate) async fn announce(db: &tgcrm_store::Db) {
    if let Err(e) = tgcrm_store::notify::announce(db).await {
        tracing::warn!(error = %e, "could not announce the writes; a running server sees them at its next poll");
    }
}

async fn replay(
    settings: &Settings,
    clock: &dyn Clock,
    only: Option<&str>,
    jobs: usize,
) -> anyhow::Result<()> {
    let db = connect_and_migrate(settings).await?;
    let projectors: Vec<_> = tgcrm_projections::all()
        .into_iter()
        .filter(|p| only.is_none_or(|n| n == p.name()))
        .collect();
    if projectors.is_empty() {
        let names: Vec<_> = tgcrm_projections::all().iter().map(|p| p.name()).collect();
        bail!(
            "no projection named {:?}; known: {}",
            only.unwrap_or(""),
            names.join(", ")
        );
    }
    let started = std::time::Instant::now();
    let reports =
        tgcrm_projections::rebuild::rebuild_all(&db, &projectors, clock, true, jobs).await?;
    let seconds = started.elapsed().as_secs_f64();
    // Each projector's time is its own work; they overlap (one shared read).
    for report in &reports {
        eprintln!(
            "{}: {} events in {:.2}s ({:.0} events/s)",
            report.projector,
            report.events,
            report.seconds,
            report.events_per_second()
        );
    }
    let events = reports.iter().map(|r| r.events).max().unwrap_or(0);
    eprintln!(
        "all {} projections: {events} events in {seconds:.2}s ({:.0} events/s)",
        reports.len(),
        events as f64 / seconds.max(f64::EPSILON)
    );
    db.close().await;
    Ok(())
}

async fn export(
    settings: &Settings,
    format: ExportFormat,
    after: Option<&str>,
    until: Option<chrono::DateTime<chrono::Utc>>,
    filter: EventFilter,
) -> anyhow::Result<()> {
    let db = connect_and_migrate(settings).await?;
    let mut position = match after {
        Some(a) => a
            .parse::<Position>()
            .map_err(|e| anyhow::anyhow!("--after: {e}"))?,
        None => Position::START,
    };
    let total = u64::try_from(tgcrm_store::reader::count_events(&db).await?).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "exporting [{bar:40}] {pos}/{len} events {per_sec}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if let ExportFormat::Csv = format {
        out.write_all(tgcrm_store::export::CSV_HEADER.as_bytes())?;
    }
    let mut written = 0u64;
    'read: loop {
        let batch = read_after(&db, position, 5_000, &filter).await?;
        let Some(last) = batch.last() else { break };
        position = last.position;
        bar.inc(batch.len() as u64);
        for e in batch {
            if until.is_some_and(|u| e.occurred_at > u) {
                break 'read;
            }
            match format {
                ExportFormat::Ndjson => {
                    serde_json::to_writer(&mut out, &e).context("writing")?;
                    out.write_all(b"\n")?;
                }
                ExportFormat::Csv => out.write_all(tgcrm_store::export::csv_line(&e).as_bytes())?,
            }
            written += 1;
        }
    }
    out.flush()?;
    bar.finish_and_clear();
    eprintln!("exported {written} events");
    db.close().await;
    Ok(())
}

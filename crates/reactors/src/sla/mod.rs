//! Service levels as reactors: the applier chooses the SLA policy of each
//! ticket as it opens or changes ([`applier`]); the monitor records warnings
//! and breaches when their moment comes, reading only due rows of the
//! deadline read model ([`monitor`]); the escalation ticker fires escalation
//! rules ([`escalation`]). Each issues ordinary ticket commands (actors
//! `system:sla`, `system:escalation`) with the triggering event as causation,
//! and the ticket aggregate decides, so a repeat or a stale read records
//! nothing twice.

pub mod applier;
pub mod escalation;
pub mod monitor;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tgcrm_domain::Clock;
use tgcrm_domain::ticket::TicketCommand;
use tgcrm_domain::{TicketId, WorkspaceId};
use tgcrm_projections::Consistency;
use tgcrm_store::commands::CommandContext;
use tgcrm_store::shutdown::Stop;
use tgcrm_store::{EventStore, Metadata, Source};

use crate::runner::ReactorConfig;

pub use escalation::{NoTeamLeads, TeamLeads};

/// Settings of the SLA monitor and the escalation ticker.
#[derive(Debug, Clone, Copy)]
pub struct SlaConfig {
    /// How often due deadlines and escalation rules are looked at
    /// (`CRM_SLA_TICK_MS`, default 250 ms).
    pub tick: Duration,
    /// Most rows handled per tick.
    pub batch: i64,
}

impl Default for SlaConfig {
    fn default() -> Self {
        Self {
            tick: Duration::from_millis(250),
            batch: 500,
        }
    }
}

impl SlaConfig {
    /// The defaults, with `CRM_SLA_TICK_MS` (10–60000) when set.
    pub fn from_env() -> anyhow::Result<Self> {
        let mut c = Self::default();
        if let Ok(raw) = std::env::var("CRM_SLA_TICK_MS") {
            let ms: u64 = raw
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("CRM_SLA_TICK_MS must be a number of milliseconds"))?;
            if !(10..=60_000).contains(&ms) {
                anyhow::bail!("CRM_SLA_TICK_MS must be between 10 and 60000");
            }
            c.tick = Duration::from_millis(ms);
        }
        Ok(c)
    }
}

/// Start the applier and the ticker (monitor and escalation).
pub fn start(
    store: &EventStore,
    consistency: &Consistency,
    clock: Arc<dyn Clock>,
    config: SlaConfig,
    reactor_config: ReactorConfig,
    team_leads: Arc<dyn TeamLeads>,
    stop: &Stop,
) -> Vec<tokio::task::JoinHandle<()>> {
    let applier = applier::SlaApplier::new(store.clone(), consistency.clone(), clock.clone());
    vec![
        tokio::spawn(crate::runner::run(
            store.clone(),
            Arc::new(applier),
            clock.clone(),
            reactor_config,
            stop.clone(),
        )),
        tokio::spawn(run_ticker(
            store.clone(),
            clock,
            config,
            team_leads,
            stop.clone(),
        )),
    ]
}

/// The name of the ticker's leader lock.
pub const TICKER: &str = "sla_ticker";

/// The monitor and the escalation rules, one after the other on every tick,
/// in one process at a time (one leader lock, one connection).
pub async fn run_ticker(
    store: EventStore,
    clock: Arc<dyn Clock>,
    config: SlaConfig,
    team_leads: Arc<dyn TeamLeads>,
    stop: Stop,
) {
    let recent = tokio::sync::Mutex::new((Recent::default(), Recent::default()));
    let (s, c, r, leads) = (&store, clock.as_ref(), &recent, team_leads.as_ref());
    tick_loop(&store, TICKER, config.tick, &stop, move || async move {
        let mut recent = r.lock().await;
        let (monitored, escalated) = &mut *recent;
        monitor::tick(s, c, config, monitored).await?;
        escalation::tick(s, c, config, leads, escalated).await?;
        Ok(())
    })
    .await;
}

/// The metadata of a command a reactor issues because of `causation`.
pub(crate) fn system_metadata(
    actor: &str,
    causation: Option<String>,
    correlation: Option<String>,
) -> Metadata {
    Metadata {
        actor: format!("system:{actor}"),
        source: Source::System,
        correlation_id: correlation.or_else(|| causation.clone()),
        causation_id: causation,
        request_id: None,
    }
}

/// What issuing a ticket command came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Issued {
    /// Events were recorded.
    Recorded,
    /// The ticket decided nothing (already done, not yet time, not applicable).
    Nothing,
}

/// Issue `command` on ticket `id` as `actor`. Refusals are not failures: the
/// ticket moved on (closed, say) since the read model was written.
pub(crate) async fn issue(
    store: &EventStore,
    clock: &dyn Clock,
    workspace: &str,
    id: &str,
    metadata: Metadata,
    command: TicketCommand,
) -> anyhow::Result<Issued> {
    let ticket: TicketId = id
        .parse()
        .map_err(|e| anyhow::anyhow!("bad ticket id {id}: {e}"))?;
    let ctx = CommandContext {
        workspace_id: WorkspaceId::parse(workspace)?,
        metadata,
        expected_version: None,
    };
    match tgcrm_store::tickets::execute(store, clock, &ticket, &ctx, command).await {
        Ok(o) if o.events.is_empty() => Ok(Issued::Nothing),
        Ok(_) => Ok(Issued::Recorded),
        Err(tgcrm_store::commands::CommandError::Refused(r)) => {
            tracing::debug!(ticket = id, refusal = %r, "ticket refused a service-level command");
            Ok(Issued::Nothing)
        }
        Err(tgcrm_store::commands::CommandError::NotFound) => Ok(Issued::Nothing),
        Err(e) => Err(anyhow::Error::new(e)),
    }
}

/// Remembers what was asked recently, so a row the read model has not
/// updated yet is not asked about on every tick.
#[derive(Debug, Default)]
pub(crate) struct Recent {
    asked: HashMap<String, Instant>,
}

impl Recent {
    /// True (and remembered) unless `key` was asked within `quiet`.
    pub(crate) fn should_ask(&mut self, key: String, quiet: Duration) -> bool {
        let now = Instant::now();
        if self.asked.len() > 10_000 {
            self.asked.retain(|_, at| now.duration_since(*at) < quiet);
        }
        match self.asked.get(&key) {
            Some(at) if now.duration_since(*at) < quiet => false,
            _ => {
                self.asked.insert(key, now);
                true
            }
        }
    }
}

/// Hold the named leader lock (one runner across processes), then run
/// `tick` every `every` until `stop`.
pub(crate) async fn tick_loop<F, Fut>(
    store: &EventStore,
    name: &str,
    every: Duration,
    stop: &Stop,
    mut tick: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let db = store.db().clone();
    'leadership: loop {
        let _lock = loop {
            match tgcrm_projections::lock::try_acquire(&db, name).await {
                Ok(Some(l)) => break l,
                Ok(None) => tracing::debug!(task = name, "another process runs this; standing by"),
                Err(e) => tracing::warn!(task = name, error = %e, "could not take the lock"),
            }
            if stop.sleep_or_stop(Duration::from_secs(2)).await {
                return;
            }
        };
        tracing::info!(task = name, "running");
        loop {
            if stop.is_stopped() {
                return;
            }
            if let Err(e) = tick().await {
                tracing::warn!(task = name, error = ?e, "tick failed; retrying");
                if stop.sleep_or_stop(Duration::from_secs(1)).await {
                    return;
                }
                // The lock's connection may be gone with the database.
                continue 'leadership;
            }
            if stop.sleep_or_stop(every).await {
                return;
            }
        }
    }
}

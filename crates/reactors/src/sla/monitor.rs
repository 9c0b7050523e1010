//! The SLA monitor: every tick, the deadline rows whose next moment (warning
//! or breach) has come by the injected clock, and for each a `RecordSla`
//! command. The ticket decides against its own clocks, so a stale row or a
//! second monitor records nothing twice.

use std::time::Duration;

use tgcrm_domain::Clock;
use tgcrm_domain::ticket::{RecordSla, SlaMoment, TicketCommand};
use tgcrm_projections::sla::deadlines;
use tgcrm_store::EventStore;

use super::{Issued, Recent, SlaConfig, issue, system_metadata};

/// Handle what is due now; returns how many moments were recorded.
pub(crate) async fn tick(
    store: &EventStore,
    clock: &dyn Clock,
    config: SlaConfig,
    recent: &mut Recent,
) -> anyhow::Result<usize> {
    let now = clock.now();
    let rows = deadlines::due(store.db(), now, config.batch).await?;
    let mut recorded = 0;
    for row in rows {
        let Ok(metric) = row.metric.parse() else {
            continue;
        };
        let moment = match row.next_moment.as_deref() {
            Some("warning") => SlaMoment::Warning,
            _ => SlaMoment::Breach,
        };
        // A breach that is also due supersedes its warning.
        let moment = match (moment, row.due_at) {
            (SlaMoment::Warning, Some(due)) if due <= now => SlaMoment::Breach,
            (m, _) => m,
        };
        let key = format!(
            "{}/{}/{}/{:?}",
            row.ticket_id, row.metric, row.cycle, moment
        );
        if !recent.should_ask(key, Duration::from_secs(2)) {
            continue;
        }
        let outcome = issue(
            store,
            clock,
            &row.workspace_id,
            &row.ticket_id,
            system_metadata("sla", Some(row.source_event_id.clone()), None),
            TicketCommand::RecordSla(RecordSla { metric, moment }),
        )
        .await?;
        if outcome == Issued::Recorded {
            recorded += 1;
            metrics::counter!("sla_moments_total", "moment" => match moment {
                SlaMoment::Warning => "warning",
                SlaMoment::Breach => "breach",
            })
            .increment(1);
        }
    }
    Ok(recorded)
}

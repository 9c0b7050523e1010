//! What the SLA projectors' batches share: the ticket events of a batch and
//! the tickets they touch.

use std::collections::HashSet;

use anyhow::Context;
use tgcrm_domain::sla::TicketSla;
use tgcrm_domain::ticket::TicketEvent;
use tgcrm_store::StoredEvent;

/// The ticket events of a batch, decoded, in log order.
pub fn ticket_events<'a>(
    projector: &str,
    events: &'a [StoredEvent],
) -> anyhow::Result<Vec<(&'a StoredEvent, TicketEvent)>> {
    let mut out = Vec::with_capacity(events.len());
    for stored in events {
        if let Some(event) = stored.ticket_event() {
            let event = event.with_context(|| {
                format!(
                    "projector {projector} failed on event at {}",
                    stored.position
                )
            })?;
            out.push((stored, event));
        }
    }
    Ok(out)
}

/// The distinct tickets of `events` that `filter` selects, in order of first appearance.
pub fn tickets_where(
    events: &[(&StoredEvent, TicketEvent)],
    filter: impl Fn(&TicketEvent) -> bool,
) -> Vec<String> {
    let mut seen = HashSet::new();
    events
        .iter()
        .filter(|(stored, event)| filter(event) && seen.insert(stored.aggregate_id.as_str()))
        .map(|(stored, _)| stored.aggregate_id.clone())
        .collect()
}

/// A ticket's SLA clocks as a row stores them (`null` before its first event).
pub fn sla_state(state: serde_json::Value) -> serde_json::Result<TicketSla> {
    if state.is_null() {
        Ok(TicketSla::default())
    } else {
        serde_json::from_value(state)
    }
}

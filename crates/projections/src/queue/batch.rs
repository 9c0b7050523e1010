//! Applying a batch: load the rows its events touch, [fold](super::fold)
//! them in memory, write what changed with a few multi-row statements.

use std::collections::BTreeSet;

use anyhow::Context;
use tgcrm_store::{StoredEvent, Tx, args};

use super::NAME;
use super::fold::{Fold, Writes};
use super::query::due_key;
use super::row::{OrderRow, QueueRecord, QueueRow};
use super::step::Step;
use crate::bulk;

const QUEUE_COLUMNS: &str = "ticket_id, workspace_id, team_id, assignee_agent_id, released_by, \
     status, active, priority, priority_rank, needs, opened_at, waiting_since, sla_state, sla_due_at, \
     version";

/// What is written besides [`QUEUE_COLUMNS`]: derived, never read back.
const SORT_COLUMNS: &str = "sla_due_key";

pub(super) async fn apply(tx: &mut Tx, events: &[StoredEvent]) -> anyhow::Result<()> {
    let mut steps = Vec::new();
    for e in events {
        if let Some(step) = Step::decode(e).with_context(|| failed_on(e))? {
            steps.push((e, step));
        }
    }
    if steps.is_empty() {
        return Ok(());
    }
    let tickets: BTreeSet<String> = steps
        .iter()
        .filter_map(|(_, s)| s.ticket().map(str::to_owned))
        .collect();
    let ordered: BTreeSet<String> = steps
        .iter()
        .filter(|(_, s)| s.unorders())
        .filter_map(|(_, s)| s.ticket().map(str::to_owned))
        .collect();
    let records: Vec<QueueRecord> = bulk::fetch_in(
        tx,
        &format!("SELECT {QUEUE_COLUMNS} FROM rm_queue WHERE ticket_id"),
        "",
        &Vec::from_iter(tickets.iter().cloned()),
    )
    .await
    .with_context(|| format!("projector {NAME} failed loading its rows"))?;
    let rows = records
        .into_iter()
        .map(QueueRow::try_from)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("projector {NAME} failed reading a row's SLA clocks"))?;
    let order_rows: Vec<OrderRow> = bulk::fetch_in(
        tx,
        "SELECT queue_key, ticket_id, workspace_id, rank FROM rm_queue_order WHERE ticket_id",
        "",
        &Vec::from_iter(ordered.iter().cloned()),
    )
    .await
    .with_context(|| format!("projector {NAME} failed loading its rows"))?;
    let mut fold = Fold::new(&tickets, rows, &ordered, order_rows);
    for (e, step) in steps {
        fold.step(step).with_context(|| failed_on(e))?;
    }
    write(tx, fold.finish())
        .await
        .with_context(|| format!("projector {NAME} failed writing its rows"))
}

fn failed_on(e: &StoredEvent) -> String {
    format!("projector {NAME} failed on event at {}", e.position)
}

async fn write(tx: &mut Tx, w: Writes) -> anyhow::Result<()> {
    bulk::delete_in(tx, "rm_queue", "ticket_id", &w.queue_deletes).await?;
    let columns = format!("{QUEUE_COLUMNS}, {SORT_COLUMNS}");
    let update: Vec<String> = columns
        .split(", ")
        .skip(1)
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let mut rows = Vec::with_capacity(w.queue_rows.len());
    for r in w.queue_rows {
        let sla_state = serde_json::value::to_raw_value(&r.sla)?;
        let key = due_key(r.sla_due_at);
        rows.push(args![
            r.ticket_id,
            r.workspace_id,
            r.team_id,
            r.assignee_agent_id,
            r.released_by,
            r.status,
            r.active,
            r.priority,
            r.priority_rank,
            r.needs,
            r.opened_at,
            r.waiting_since,
            sla_state,
            r.sla_due_at,
            r.version,
            key
        ]);
    }
    bulk::insert(
        tx,
        &format!("INSERT INTO rm_queue ({columns})"),
        &format!(
            "ON CONFLICT (ticket_id) DO UPDATE SET {}",
            update.join(", ")
        ),
        rows,
    )
    .await?;

    bulk::delete_in(tx, "rm_queue_order", "queue_key", &w.order_queue_deletes).await?;
    bulk::delete_in(tx, "rm_queue_order", "ticket_id", &w.order_ticket_deletes).await?;
    let rows = w
        .order_rows
        .into_iter()
        .map(|r| args![r.queue_key, r.ticket_id, r.workspace_id, r.rank])
        .collect();
    bulk::insert(
        tx,
        "INSERT INTO rm_queue_order (queue_key, ticket_id, workspace_id, rank)",
        "",
        rows,
    )
    .await?;

    let rows = w
        .agents
        .into_iter()
        .map(|(agent, workspace, at)| args![agent, workspace, at])
        .collect();
    bulk::insert(
        tx,
        "INSERT INTO rm_queue_agents (agent_id, workspace_id, last_assigned)",
        "ON CONFLICT (agent_id) DO UPDATE SET last_assigned = excluded.last_assigned",
        rows,
    )
    .await?;
    Ok(())
}

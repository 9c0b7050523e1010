//! The queue: one row per ticket that is not closed, with what ordering and
//! distribution need (team, assignee, status, priority, needed skills,
//! waiting since, SLA due time), the manual order of each queue, and when each
//! agent was last given a ticket (round robin). Unassigned active rows form
//! the queues; assigned active rows are the agents' load, whoever assigned them.
//!
//! `sla_due_at` is left empty here; the SLA read model fills it when a policy
//! applies, and queues order by it.

mod query;

pub use query::{
    AgentLoad, QueueCursor, QueueItem, QueueRef, QueueStats, WaitingTicket, agent_loads,
    last_assigned, list, queued_ids, stats, waiting,
};

use async_trait::async_trait;
use tgcrm_domain::queue::{QueueChange, WorkspaceQueue};
use tgcrm_domain::routing::needs_from_tags;
use tgcrm_domain::team::Team;
use tgcrm_domain::ticket::TicketEvent;
use tgcrm_domain::values::{Status, Tag};
use tgcrm_store::{Backend, StoredEvent, Tx, args};

use crate::projector::Projector;
use crate::schema::ddl;

pub const NAME: &str = "queue";

pub struct QueueProjector;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS rm_queue (
        ticket_id         TEXT PRIMARY KEY,
        workspace_id      TEXT NOT NULL,
        team_id           TEXT,
        assignee_agent_id TEXT,
        released_by       TEXT,
        status            TEXT NOT NULL,
        active            {bool} NOT NULL,
        priority          TEXT NOT NULL,
        priority_rank     {int} NOT NULL,
        needs             {json} NOT NULL,
        opened_at         {ts} NOT NULL,
        waiting_since     {ts} NOT NULL,
        sla_due_at        {ts},
        version           {int} NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS rm_queue_by_assignee ON rm_queue (workspace_id, assignee_agent_id, active)",
    "CREATE INDEX IF NOT EXISTS rm_queue_by_team ON rm_queue (workspace_id, team_id, active)",
    "CREATE TABLE IF NOT EXISTS rm_queue_order (
        queue_key    TEXT NOT NULL,
        ticket_id    TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        rank         {int} NOT NULL,
        PRIMARY KEY (queue_key, ticket_id)
    )",
    "CREATE INDEX IF NOT EXISTS rm_queue_order_by_ticket ON rm_queue_order (ticket_id)",
    "CREATE TABLE IF NOT EXISTS rm_queue_agents (
        agent_id      TEXT PRIMARY KEY,
        workspace_id  TEXT NOT NULL,
        last_assigned {int} NOT NULL
    )",
];

/// The key of a queue's manual order: the team id, or `all:<workspace>`.
pub fn queue_key(workspace: &str, team: Option<&str>) -> String {
    match team {
        Some(t) => t.to_owned(),
        None => format!("all:{workspace}"),
    }
}

#[async_trait]
impl Projector for QueueProjector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_queue", "rm_queue_order", "rm_queue_agents"]
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        SCHEMA.iter().map(|s| ddl(backend, s)).collect()
    }

    async fn apply(&self, tx: &mut Tx, stored: &StoredEvent) -> anyhow::Result<()> {
        if let Some(event) = stored.ticket_event() {
            return ticket(tx, stored, event?).await;
        }
        let change = if let Some(event) = stored.decode::<Team>() {
            event?.queue_change()
        } else if let Some(event) = stored.decode::<WorkspaceQueue>() {
            event?.change()
        } else {
            None
        };
        if let Some(QueueChange::Reordered { order, .. }) = change {
            let key = if stored.aggregate_type == tgcrm_domain::team::AGGREGATE_TYPE {
                queue_key(&stored.workspace_id, Some(&stored.aggregate_id))
            } else {
                queue_key(&stored.workspace_id, None)
            };
            tx.execute(
                "DELETE FROM rm_queue_order WHERE queue_key = $1",
                args![key.as_str()],
            )
            .await?;
            for (rank, t) in order.iter().enumerate() {
                tx.execute(
                    "INSERT INTO rm_queue_order (queue_key, ticket_id, workspace_id, rank) VALUES ($1, $2, $3, $4)",
                    args![
                        key.as_str(),
                        t.to_string(),
                        stored.workspace_id.as_str(),
                        i64::try_from(rank).unwrap_or(i64::MAX)
                    ],
                )
                .await?;
            }
        }
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct NeedsRow {
    needs: serde_json::Value,
}

async fn ticket(tx: &mut Tx, stored: &StoredEvent, event: TicketEvent) -> anyhow::Result<()> {
    let id = stored.aggregate_id.as_str();
    let seq = stored.sequence;
    let guard = "WHERE ticket_id = $1 AND version < $2";
    match event {
        TicketEvent::Opened {
            workspace_id,
            priority,
            tags,
            at,
            ..
        } => {
            let needs = serde_json::to_value(needs_from_tags(&tags))?;
            tx.execute(
                "INSERT INTO rm_queue (ticket_id, workspace_id, status, active, priority, priority_rank, needs, \
                 opened_at, waiting_since, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) \
                 ON CONFLICT (ticket_id) DO NOTHING",
                args![
                    id,
                    workspace_id.as_str(),
                    Status::Open.as_str(),
                    true,
                    priority.as_str(),
                    priority.rank(),
                    needs,
                    at,
                    seq
                ],
            )
            .await?;
        }
        TicketEvent::Assigned {
            agent_id,
            team_id,
            previous_agent_id,
            previous_team_id,
            ..
        } => {
            let released = match agent_id {
                Some(_) => None,
                None => previous_agent_id.map(|a| a.to_string()),
            };
            let sql = format!(
                "UPDATE rm_queue SET assignee_agent_id = $3, team_id = $4, \
                 released_by = CASE WHEN $3 IS NOT NULL THEN NULL WHEN $5 IS NOT NULL THEN $5 ELSE released_by END, \
                 version = $2 {guard}"
            );
            let changed = tx
                .execute(
                    &sql,
                    args![
                        id,
                        seq,
                        agent_id.map(|a| a.to_string()),
                        team_id.map(|t| t.to_string()),
                        released
                    ],
                )
                .await?;
            if changed == 0 {
                return Ok(());
            }
            if agent_id.is_some() {
                tx.execute("DELETE FROM rm_queue_order WHERE ticket_id = $1", args![id])
                    .await?;
            } else if let Some(prev) = previous_team_id
                && Some(prev) != team_id
            {
                tx.execute(
                    "DELETE FROM rm_queue_order WHERE ticket_id = $1 AND queue_key = $2",
                    args![id, prev.to_string()],
                )
                .await?;
            }
            if let Some(agent) = agent_id
                && Some(agent) != previous_agent_id
            {
                tx.execute(
                    "INSERT INTO rm_queue_agents (agent_id, workspace_id, last_assigned) VALUES ($1, $2, $3) \
                     ON CONFLICT (agent_id) DO UPDATE SET last_assigned = excluded.last_assigned",
                    args![
                        agent.to_string(),
                        stored.workspace_id.as_str(),
                        stored.position.position
                    ],
                )
                .await?;
            }
        }
        TicketEvent::Unassigned {
            previous_agent_id, ..
        } => {
            let sql = format!(
                "UPDATE rm_queue SET assignee_agent_id = NULL, released_by = $3, version = $2 {guard}"
            );
            tx.execute(
                &sql,
                args![id, seq, previous_agent_id.map(|a| a.to_string())],
            )
            .await?;
        }
        TicketEvent::StatusChanged { to, at, .. } => {
            if to == Status::Closed {
                tx.execute("DELETE FROM rm_queue WHERE ticket_id = $1", args![id])
                    .await?;
                tx.execute("DELETE FROM rm_queue_order WHERE ticket_id = $1", args![id])
                    .await?;
                return Ok(());
            }
            // Back from resolved: waiting starts again.
            let sql = format!(
                "UPDATE rm_queue SET status = $3, active = $4, \
                 waiting_since = CASE WHEN $4 AND NOT active THEN $5 ELSE waiting_since END, \
                 version = $2 {guard}"
            );
            tx.execute(&sql, args![id, seq, to.as_str(), to.is_active(), at])
                .await?;
            if !to.is_active() {
                tx.execute("DELETE FROM rm_queue_order WHERE ticket_id = $1", args![id])
                    .await?;
            }
        }
        TicketEvent::PriorityChanged { to, .. } => {
            let sql = format!(
                "UPDATE rm_queue SET priority = $3, priority_rank = $4, version = $2 {guard}"
            );
            tx.execute(&sql, args![id, seq, to.as_str(), to.rank()])
                .await?;
        }
        TicketEvent::TagsChanged { added, removed, .. } => {
            let Some(row) = tx
                .fetch_optional::<NeedsRow>(
                    "SELECT needs FROM rm_queue WHERE ticket_id = $1",
                    args![id],
                )
                .await?
            else {
                return Ok(());
            };
            let current: Vec<String> = match row.needs {
                serde_json::Value::String(s) => serde_json::from_str(&s)?,
                v => serde_json::from_value(v)?,
            };
            let mut needs: std::collections::BTreeSet<Tag> =
                current.iter().filter_map(|s| Tag::parse(s).ok()).collect();
            needs.extend(needs_from_tags(&added));
            for r in needs_from_tags(&removed) {
                needs.remove(&r);
            }
            let sql = format!("UPDATE rm_queue SET needs = $3, version = $2 {guard}");
            tx.execute(&sql, args![id, seq, serde_json::to_value(&needs)?])
                .await?;
        }
        TicketEvent::Archived { .. } => {
            tx.execute("DELETE FROM rm_queue WHERE ticket_id = $1", args![id])
                .await?;
        }
        _ => {}
    }
    Ok(())
}

//! The queue: one row per ticket that is not closed, with what ordering and
//! distribution need (team, assignee, status, priority, needed skills,
//! waiting since, SLA due time), the manual order of each queue, and when each
//! agent was last given a ticket (round robin). Unassigned active rows form
//! the queues; assigned active rows are the agents' load, whoever assigned them.
//!
//! Each row keeps the ticket's SLA clocks (`sla_state`, folded with the
//! domain's `TicketSla`) and from them its next due time (`sla_due_at`), so
//! queues order by it without reading another projection. `sla_due_key` is
//! the same time, or the far future when there is none: a sort key the
//! waiting-ticket indexes give in queue order.

mod batch;
mod fold;
mod query;
mod row;
mod step;

#[cfg(test)]
mod fold_tests;
#[cfg(test)]
mod row_tests;

pub use query::{
    AgentLoad, QueueCursor, QueueItem, QueueRef, QueueStats, WaitingTicket, agent_loads,
    last_assigned, list, queued_ids, stats, waiting,
};

use async_trait::async_trait;
use tgcrm_store::{Backend, StoredEvent, Tx};

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
        sla_state         {json} NOT NULL,
        sla_due_at        {ts},
        sla_due_key       {ts} NOT NULL,
        version           {int} NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS rm_queue_by_assignee ON rm_queue (workspace_id, assignee_agent_id, active)",
    "CREATE INDEX IF NOT EXISTS rm_queue_by_team ON rm_queue (workspace_id, team_id, active)",
    // The waiting tickets in queue order, for the workspace's queue and each
    // team's (the query's WHERE repeats the predicate word for word, as
    // SQLite needs to use a partial index).
    "CREATE INDEX IF NOT EXISTS rm_queue_waiting ON rm_queue \
     (workspace_id, priority_rank, sla_due_key, waiting_since, ticket_id) \
     WHERE active = TRUE AND assignee_agent_id IS NULL",
    "CREATE INDEX IF NOT EXISTS rm_queue_waiting_by_team ON rm_queue \
     (workspace_id, team_id, priority_rank, sla_due_key, waiting_since, ticket_id) \
     WHERE active = TRUE AND assignee_agent_id IS NULL",
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

    /// 2: SLA clocks and due time kept per row, waiting-ticket indexes.
    fn version(&self) -> i64 {
        2
    }

    fn reads(&self) -> &'static [&'static str] {
        &[
            tgcrm_domain::ticket::AGGREGATE_TYPE,
            tgcrm_domain::team::AGGREGATE_TYPE,
            tgcrm_domain::queue::WORKSPACE_QUEUE_AGGREGATE_TYPE,
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_queue", "rm_queue_order", "rm_queue_agents"]
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        SCHEMA.iter().map(|s| ddl(backend, s)).collect()
    }

    fn query_indexes(&self) -> &'static [&'static str] {
        &[
            "rm_queue_by_assignee",
            "rm_queue_by_team",
            "rm_queue_waiting",
            "rm_queue_waiting_by_team",
        ]
    }

    async fn apply(&self, tx: &mut Tx, stored: &StoredEvent) -> anyhow::Result<()> {
        self.apply_batch(tx, std::slice::from_ref(stored)).await
    }

    /// Loads the rows the batch touches, folds its events into them in
    /// memory and writes each changed row once.
    async fn apply_batch(&self, tx: &mut Tx, events: &[StoredEvent]) -> anyhow::Result<()> {
        batch::apply(tx, events).await
    }
}

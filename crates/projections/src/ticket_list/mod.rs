//! The ticket list: one row per ticket with what list filters and list pages
//! need, plus a tag table for `?tag=`.

mod query;
mod row;

pub use query::{TicketFilter, TicketPage, TicketSummary, list};

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use tgcrm_domain::ticket::AGGREGATE_TYPE as TICKET;
use tgcrm_store::{Backend, StoredEvent, Tx, args};

use crate::bulk;
use crate::projector::Projector;
use crate::schema::ddl;
use row::COLUMNS;

pub const NAME: &str = "ticket_list";

pub struct TicketListProjector;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS rm_tickets (
        ticket_id            TEXT PRIMARY KEY,
        workspace_id         TEXT NOT NULL,
        subject              TEXT NOT NULL,
        status               TEXT NOT NULL,
        priority             TEXT NOT NULL,
        channel              TEXT NOT NULL,
        customer_telegram_id {int} NOT NULL,
        customer_name        TEXT NOT NULL,
        customer_username    TEXT,
        assignee_agent_id    TEXT,
        team_id              TEXT,
        tags                 {json} NOT NULL,
        archived             {bool} NOT NULL,
        message_count        {int} NOT NULL,
        first_response_at    {ts},
        last_message_at      {ts},
        resolved_at          {ts},
        created_at           {ts} NOT NULL,
        updated_at           {ts} NOT NULL,
        version              {int} NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS rm_tickets_by_created ON rm_tickets (workspace_id, created_at DESC, ticket_id DESC)",
    "CREATE INDEX IF NOT EXISTS rm_tickets_by_status ON rm_tickets (workspace_id, status, created_at DESC, ticket_id DESC)",
    "CREATE INDEX IF NOT EXISTS rm_tickets_by_assignee ON rm_tickets (workspace_id, assignee_agent_id, created_at DESC)",
    "CREATE INDEX IF NOT EXISTS rm_tickets_by_team ON rm_tickets (workspace_id, team_id, created_at DESC)",
    "CREATE TABLE IF NOT EXISTS rm_ticket_tags (
        ticket_id    TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        tag          TEXT NOT NULL,
        PRIMARY KEY (ticket_id, tag)
    )",
    "CREATE INDEX IF NOT EXISTS rm_ticket_tags_by_tag ON rm_ticket_tags (workspace_id, tag, ticket_id)",
];

#[async_trait]
impl Projector for TicketListProjector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        1
    }

    fn reads(&self) -> &'static [&'static str] {
        &[
            tgcrm_domain::ticket::AGGREGATE_TYPE,
            tgcrm_store::personal::SUBJECT_AGGREGATE,
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_tickets", "rm_ticket_tags"]
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        SCHEMA.iter().map(|s| ddl(backend, s)).collect()
    }

    fn query_indexes(&self) -> &'static [&'static str] {
        &[
            "rm_tickets_by_created",
            "rm_tickets_by_status",
            "rm_tickets_by_assignee",
            "rm_tickets_by_team",
            "rm_ticket_tags_by_tag",
        ]
    }

    async fn apply(&self, tx: &mut Tx, stored: &StoredEvent) -> anyhow::Result<()> {
        self.apply_batch(tx, std::slice::from_ref(stored)).await
    }

    /// Loads the rows the batch touches, folds the batch into them in memory
    /// (each row's version guards it against events it has seen), then
    /// writes each changed row, and the tag rows that changed, once.
    async fn apply_batch(&self, tx: &mut Tx, events: &[StoredEvent]) -> anyhow::Result<()> {
        let ids: Vec<String> = events
            .iter()
            .filter(|e| e.aggregate_type == TICKET)
            .map(|e| e.aggregate_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let loaded: Vec<TicketSummary> = bulk::fetch_in(
            tx,
            &format!("SELECT {COLUMNS} FROM rm_tickets WHERE ticket_id"),
            "",
            &ids,
        )
        .await?;
        let tags_before: HashMap<String, BTreeSet<String>> = loaded
            .iter()
            .map(|r| (r.ticket_id.clone(), r.tag_set()))
            .collect();
        let mut rows: HashMap<String, TicketSummary> = loaded
            .into_iter()
            .map(|r| (r.ticket_id.clone(), r))
            .collect();
        let mut changed = BTreeSet::new();
        for stored in events {
            if let Some((_, telegram_user_id)) = tgcrm_store::personal::erased(stored) {
                // Rows outside this batch, in the table; rows in it, in memory.
                tx.execute(
                    "UPDATE rm_tickets SET customer_name = $3, customer_username = NULL, subject = $3 \
                     WHERE workspace_id = $1 AND customer_telegram_id = $2",
                    args![
                        stored.workspace_id.as_str(),
                        telegram_user_id,
                        tgcrm_store::personal::ERASED
                    ],
                )
                .await?;
                for row in rows.values_mut().filter(|r| {
                    r.workspace_id == stored.workspace_id
                        && r.customer_telegram_id == telegram_user_id
                }) {
                    row.erase();
                    changed.insert(row.ticket_id.clone());
                }
                continue;
            }
            let Some(event) = stored.ticket_event() else {
                continue;
            };
            let event = event?;
            let id = &stored.aggregate_id;
            match rows.get_mut(id) {
                Some(row) => row.apply(stored.sequence, &event)?,
                // Events of a ticket whose opening this projection never saw change nothing.
                None => match TicketSummary::opened(stored, &event)? {
                    Some(row) => {
                        rows.insert(id.clone(), row);
                    }
                    None => continue,
                },
            }
            changed.insert(id.clone());
        }
        let updates: Vec<String> = COLUMNS
            .split(',')
            .map(str::trim)
            .filter(|c| *c != "ticket_id")
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        bulk::insert(
            tx,
            &format!("INSERT INTO rm_tickets ({COLUMNS})"),
            &format!(
                "ON CONFLICT (ticket_id) DO UPDATE SET {}",
                updates.join(", ")
            ),
            changed.iter().map(|id| rows[id].values()).collect(),
        )
        .await?;
        let empty = BTreeSet::new();
        let mut added = Vec::new();
        for id in &changed {
            let row = &rows[id];
            let now = row.tag_set();
            let was = tags_before.get(id).unwrap_or(&empty);
            for tag in was.difference(&now) {
                tx.execute(
                    "DELETE FROM rm_ticket_tags WHERE ticket_id = $1 AND tag = $2",
                    args![id.as_str(), tag.as_str()],
                )
                .await?;
            }
            added.extend(
                now.difference(was)
                    .map(|tag| args![id.as_str(), row.workspace_id.as_str(), tag.as_str()]),
            );
        }
        bulk::insert(
            tx,
            "INSERT INTO rm_ticket_tags (ticket_id, workspace_id, tag)",
            "ON CONFLICT DO NOTHING",
            added,
        )
        .await?;
        Ok(())
    }
}

//! The ticket list: one row per ticket with what list filters and list pages
//! need, plus a tag table for `?tag=`.

mod query;

pub use query::{TicketFilter, TicketPage, TicketSummary, list};

use async_trait::async_trait;
use tgcrm_domain::ticket::{MessageVisibility, TicketEvent};
use tgcrm_store::{Backend, StoredEvent, Tx, args};

use crate::projector::Projector;
use crate::schema::ddl;

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

    fn tables(&self) -> &'static [&'static str] {
        &["rm_tickets", "rm_ticket_tags"]
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        SCHEMA.iter().map(|s| ddl(backend, s)).collect()
    }

    async fn apply(&self, tx: &mut Tx, stored: &StoredEvent) -> anyhow::Result<()> {
        if let Some((_, telegram_user_id)) = tgcrm_store::personal::erased(stored) {
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
            return Ok(());
        }
        let Some(event) = stored.ticket_event() else {
            return Ok(());
        };
        let id = stored.aggregate_id.as_str();
        let seq = stored.sequence;
        // Every update is guarded by the row's version, so applying an event
        // twice changes nothing.
        let guard = "WHERE ticket_id = $1 AND version < $2";
        match event? {
            TicketEvent::Opened {
                workspace_id,
                subject,
                customer,
                priority,
                channel,
                tags,
                at,
                ..
            } => {
                let tags_json = serde_json::to_value(&tags)?;
                tx.execute(
                    "INSERT INTO rm_tickets (ticket_id, workspace_id, subject, status, priority, channel, \
                     customer_telegram_id, customer_name, customer_username, tags, archived, message_count, \
                     created_at, updated_at, version) \
                     VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9, $10, 0, $11, $11, $12) \
                     ON CONFLICT (ticket_id) DO NOTHING",
                    args![
                        id,
                        workspace_id.as_str(),
                        subject.as_str(),
                        priority.as_str(),
                        channel.as_str(),
                        customer.telegram_user_id.get(),
                        customer.name.as_str(),
                        customer.username.as_ref().map(|u| u.as_str()),
                        tags_json,
                        false,
                        at,
                        seq,
                    ],
                )
                .await?;
                for tag in &tags {
                    tx.execute(
                        "INSERT INTO rm_ticket_tags (ticket_id, workspace_id, tag) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING",
                        args![id, workspace_id.as_str(), tag.as_str()],
                    )
                    .await?;
                }
            }
            TicketEvent::MessageAdded {
                author,
                visibility,
                at,
                ..
            } => {
                let first_response =
                    visibility == MessageVisibility::Public && author.is_human_agent();
                let sql = format!(
                    "UPDATE rm_tickets SET message_count = message_count + 1, last_message_at = $3, \
                     first_response_at = CASE WHEN $4 AND first_response_at IS NULL THEN $3 ELSE first_response_at END, \
                     updated_at = $3, version = $2 {guard}"
                );
                tx.execute(&sql, args![id, seq, at, first_response]).await?;
            }
            TicketEvent::MessageEdited { at, .. } => {
                let sql = format!("UPDATE rm_tickets SET updated_at = $3, version = $2 {guard}");
                tx.execute(&sql, args![id, seq, at]).await?;
            }
            TicketEvent::StatusChanged { to, at, .. } => {
                let sql = format!(
                    "UPDATE rm_tickets SET status = $3, \
                     resolved_at = CASE WHEN $3 = 'resolved' THEN $4 WHEN $3 = 'closed' THEN resolved_at ELSE NULL END, \
                     updated_at = $4, version = $2 {guard}"
                );
                tx.execute(&sql, args![id, seq, to.as_str(), at]).await?;
            }
            TicketEvent::PriorityChanged { to, at, .. } => {
                let sql = format!(
                    "UPDATE rm_tickets SET priority = $3, updated_at = $4, version = $2 {guard}"
                );
                tx.execute(&sql, args![id, seq, to.as_str(), at]).await?;
            }
            TicketEvent::Assigned {
                agent_id,
                team_id,
                at,
                ..
            } => {
                let sql = format!(
                    "UPDATE rm_tickets SET assignee_agent_id = $3, team_id = $4, updated_at = $5, version = $2 {guard}"
                );
                tx.execute(
                    &sql,
                    args![
                        id,
                        seq,
                        agent_id.map(|a| a.to_string()),
                        team_id.map(|t| t.to_string()),
                        at
                    ],
                )
                .await?;
            }
            TicketEvent::Unassigned { at, .. } => {
                let sql = format!(
                    "UPDATE rm_tickets SET assignee_agent_id = NULL, updated_at = $3, version = $2 {guard}"
                );
                tx.execute(&sql, args![id, seq, at]).await?;
            }
            TicketEvent::TagsChanged { added, removed, at } => {
                for tag in &added {
                    tx.execute(
                        "INSERT INTO rm_ticket_tags (ticket_id, workspace_id, tag) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING",
                        args![id, stored.workspace_id.as_str(), tag.as_str()],
                    )
                    .await?;
                }
                for tag in &removed {
                    tx.execute(
                        "DELETE FROM rm_ticket_tags WHERE ticket_id = $1 AND tag = $2",
                        args![id, tag.as_str()],
                    )
                    .await?;
                }
                #[derive(sqlx::FromRow)]
                struct TagRow {
                    tag: String,
                }
                let tags: Vec<TagRow> = tx
                    .fetch_all(
                        "SELECT tag FROM rm_ticket_tags WHERE ticket_id = $1 ORDER BY tag",
                        args![id],
                    )
                    .await?;
                let tags: Vec<String> = tags.into_iter().map(|t| t.tag).collect();
                let sql = format!(
                    "UPDATE rm_tickets SET tags = $3, updated_at = $4, version = $2 {guard}"
                );
                tx.execute(&sql, args![id, seq, serde_json::to_value(tags)?, at])
                    .await?;
            }
            TicketEvent::FieldsChanged { at, .. }
            | TicketEvent::SlaPolicyApplied { at, .. }
            | TicketEvent::SlaWarning { at, .. }
            | TicketEvent::SlaBreached { at, .. }
            | TicketEvent::TicketEscalated { at, .. } => {
                let sql = format!("UPDATE rm_tickets SET updated_at = $3, version = $2 {guard}");
                tx.execute(&sql, args![id, seq, at]).await?;
            }
            TicketEvent::Archived { at } => {
                let sql = format!(
                    "UPDATE rm_tickets SET archived = $3, updated_at = $4, version = $2 {guard}"
                );
                tx.execute(&sql, args![id, seq, true, at]).await?;
            }
        }
        Ok(())
    }
}

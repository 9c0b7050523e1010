//! The conversation of each ticket: its messages in order, with authors,
//! visibility, attachments and edits.

mod query;

pub use query::{MessageRow, list};

use async_trait::async_trait;
use tgcrm_domain::ticket::{Author, TicketEvent};
use tgcrm_store::{Backend, StoredEvent, Tx, args};

use crate::bulk;
use crate::projector::Projector;
use crate::schema::ddl;

pub const NAME: &str = "conversation";

pub struct ConversationProjector;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS rm_messages (
        message_id   TEXT PRIMARY KEY,
        ticket_id    TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        sequence     {int} NOT NULL,
        author_kind  TEXT NOT NULL,
        author_id    TEXT,
        visibility   TEXT NOT NULL,
        text         TEXT NOT NULL,
        attachments  {json} NOT NULL,
        created_at   {ts} NOT NULL,
        edited_at    {ts},
        edit_sequence {int},
        data_subject TEXT
    )",
    "CREATE INDEX IF NOT EXISTS rm_messages_by_ticket ON rm_messages (ticket_id, sequence)",
    "CREATE INDEX IF NOT EXISTS rm_messages_by_subject ON rm_messages (workspace_id, data_subject)",
];

fn author_id(a: &Author) -> Option<String> {
    match a {
        Author::Customer => None,
        Author::Agent { agent_id } => Some(agent_id.to_string()),
        Author::Staff { token_id } => Some(token_id.clone()),
        Author::System { name } => Some(name.clone()),
    }
}

#[async_trait]
impl Projector for ConversationProjector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        2
    }

    fn reads(&self) -> &'static [&'static str] {
        &[
            tgcrm_domain::ticket::AGGREGATE_TYPE,
            tgcrm_store::personal::SUBJECT_AGGREGATE,
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_messages"]
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        SCHEMA.iter().map(|s| ddl(backend, s)).collect()
    }

    fn query_indexes(&self) -> &'static [&'static str] {
        &["rm_messages_by_ticket"]
    }

    async fn apply(&self, tx: &mut Tx, stored: &StoredEvent) -> anyhow::Result<()> {
        self.apply_batch(tx, std::slice::from_ref(stored)).await
    }

    /// New messages are gathered and inserted a few hundred rows per
    /// statement; an edit or an erasure first writes what is gathered, so
    /// statements still run in log order.
    async fn apply_batch(&self, tx: &mut Tx, events: &[StoredEvent]) -> anyhow::Result<()> {
        let mut added = Vec::new();
        for stored in events {
            if let Some((subject, _)) = tgcrm_store::personal::erased(stored) {
                insert_messages(tx, std::mem::take(&mut added)).await?;
                tx.execute(
                    "UPDATE rm_messages SET text = $3, attachments = $4 WHERE workspace_id = $1 AND data_subject = $2",
                    args![
                        stored.workspace_id.as_str(),
                        subject,
                        tgcrm_store::personal::ERASED,
                        serde_json::json!([]),
                    ],
                )
                .await?;
                continue;
            }
            let Some(event) = stored.ticket_event() else {
                continue;
            };
            match event? {
                TicketEvent::MessageAdded {
                    message_id,
                    author,
                    visibility,
                    text,
                    attachments,
                    at,
                    ..
                } => added.push(args![
                    message_id.to_string(),
                    stored.aggregate_id.as_str(),
                    stored.workspace_id.as_str(),
                    stored.sequence,
                    author.kind(),
                    author_id(&author),
                    visibility.as_str(),
                    text,
                    serde_json::to_value(&attachments)?,
                    at,
                    tgcrm_store::personal::subject_of(stored),
                ]),
                TicketEvent::MessageEdited {
                    message_id,
                    text,
                    at,
                    ..
                } => {
                    insert_messages(tx, std::mem::take(&mut added)).await?;
                    tx.execute(
                        "UPDATE rm_messages SET text = $2, edited_at = $3, edit_sequence = $4 \
                         WHERE message_id = $1 AND (edit_sequence IS NULL OR edit_sequence < $4)",
                        args![message_id.to_string(), text, at, stored.sequence],
                    )
                    .await?;
                }
                _ => {}
            }
        }
        insert_messages(tx, added).await
    }
}

async fn insert_messages(tx: &mut Tx, rows: Vec<Vec<tgcrm_store::Arg>>) -> anyhow::Result<()> {
    bulk::insert(
        tx,
        "INSERT INTO rm_messages (message_id, ticket_id, workspace_id, sequence, author_kind, author_id, \
         visibility, text, attachments, created_at, data_subject)",
        "ON CONFLICT (message_id) DO NOTHING",
        rows,
    )
    .await?;
    Ok(())
}

//! Building blocks for tests of the store and the read models: commands with
//! sensible defaults, events ready to append, and table dumps to compare.

use std::collections::BTreeSet;

use tgcrm_domain::ticket::{
    AddMessage, Author, Channel, MessageVisibility, OpenTicket, TicketCommand, TicketEvent,
};
use tgcrm_domain::values::{
    Customer, CustomerName, MessageText, Priority, Subject, Tag, TelegramUserId,
};
use tgcrm_domain::{MessageId, TicketId, WorkspaceId};
use tgcrm_store::append::NewEvent;
use tgcrm_store::commands::CommandContext;
use tgcrm_store::{Backend, Db, Metadata, Position, Source};

pub fn workspace(name: &str) -> WorkspaceId {
    WorkspaceId::parse(name).unwrap()
}

/// A command context of an API token in `workspace`.
pub fn ctx(workspace_name: &str) -> CommandContext {
    CommandContext {
        workspace_id: workspace(workspace_name),
        metadata: Metadata::new("token:test", Source::Api),
        expected_version: None,
    }
}

pub fn tags(names: &[&str]) -> BTreeSet<Tag> {
    names.iter().map(|t| Tag::parse(t).unwrap()).collect()
}

pub fn customer(telegram_user_id: i64, name: &str) -> Customer {
    Customer {
        telegram_user_id: TelegramUserId::parse(telegram_user_id).unwrap(),
        name: CustomerName::parse(name).unwrap(),
        username: None,
    }
}

/// A message to add: new id, no attachments.
pub fn add_message(author: Author, visibility: MessageVisibility, text: &str) -> AddMessage {
    AddMessage {
        message_id: MessageId::new(),
        author,
        visibility,
        text: MessageText::parse(text).unwrap(),
        attachments: vec![],
    }
}

/// Opening ticket `id` in `workspace_name`: normal priority, API channel, no
/// tags, a first public message from customer 42. Change the fields you need.
pub fn open(workspace_name: &str, id: TicketId, subject: &str) -> OpenTicket {
    OpenTicket {
        ticket_id: id,
        workspace_id: workspace(workspace_name),
        subject: Subject::parse(subject).unwrap(),
        customer: customer(42, "Ada"),
        priority: Priority::Normal,
        channel: Channel::Api,
        tags: BTreeSet::new(),
        fields: Default::default(),
        first_message: add_message(Author::Customer, MessageVisibility::Public, "hello"),
        follows_up: None,
    }
}

/// A public message from the ticket's customer.
pub fn customer_says(text: &str) -> TicketCommand {
    TicketCommand::AddMessage(add_message(
        Author::Customer,
        MessageVisibility::Public,
        text,
    ))
}

/// A message from a staff token with the given visibility.
pub fn staff_says(visibility: MessageVisibility, text: &str) -> TicketCommand {
    TicketCommand::AddMessage(add_message(
        Author::Staff {
            token_id: "token:test".to_owned(),
        },
        visibility,
        text,
    ))
}

/// Ticket events as the store appends them (plain payloads, new event ids).
pub fn new_events(events: &[TicketEvent]) -> Vec<NewEvent> {
    events
        .iter()
        .map(|e| NewEvent {
            event_id: uuid::Uuid::now_v7(),
            event_type: e.type_name().to_owned(),
            event_version: tgcrm_domain::ticket::EVENT_VERSION.to_owned(),
            payload: serde_json::to_value(e).unwrap(),
            occurred_at: e.at(),
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct Text {
    r: String,
}

#[derive(sqlx::FromRow)]
struct Column {
    name: String,
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

/// Every row of `table`, all columns, as JSON text, ordered by `order_by`:
/// compare two of these to compare the table's contents exactly.
pub async fn dump_table(db: &Db, table: &str, order_by: &str) -> Vec<String> {
    let sql = match db.backend() {
        Backend::Postgres => {
            format!("SELECT row_to_json(t)::text AS r FROM {table} t ORDER BY {order_by}")
        }
        Backend::Sqlite => {
            let columns: Vec<Column> = db
                .fetch_all(
                    "SELECT name FROM pragma_table_info($1) ORDER BY cid",
                    tgcrm_store::args![table],
                )
                .await
                .unwrap();
            assert!(!columns.is_empty(), "table {table} does not exist");
            let pairs: Vec<String> = columns
                .iter()
                .map(|c| format!("'{0}', \"{0}\"", c.name))
                .collect();
            format!(
                "SELECT json_object({}) AS r FROM {table} ORDER BY {order_by}",
                pairs.join(", ")
            )
        }
    };
    let rows: Vec<Text> = db
        .fetch_all(&sql, vec![])
        .await
        .unwrap_or_else(|e| panic!("dumping {table}: {e}"));
    rows.into_iter().map(|t| t.r).collect()
}

/// The value of a `SELECT COUNT(*) AS n …`.
pub async fn count(db: &Db, sql: &str, args: Vec<tgcrm_store::Arg>) -> i64 {
    let row: Count = db
        .fetch_one(sql, args)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    row.n
}

/// The position of the newest committed event, whether or not the ordered
/// reader hands it out yet (it holds events back while an older transaction
/// anywhere on the cluster runs): "caught up" means having passed this.
pub async fn newest(db: &Db) -> Position {
    tgcrm_store::reader::newest(db).await.unwrap()
}

/// Wait until the ordered reader hands out everything committed so far. On
/// Postgres it holds events back while any older transaction on the cluster
/// runs (another test's, in another database): that takes a moment, not forever.
pub async fn wait_until_readable(db: &Db) {
    let target = newest(db).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while tgcrm_store::reader::head(db).await.unwrap() < target {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ordered reader did not reach {target} within 30 s: a transaction on the cluster is stuck"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

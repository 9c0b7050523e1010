//! The router's thread context: each ticket's state as of the last event it
//! routed, what every delivery body shows of the ticket. A batch loads the
//! contexts of the tickets it touches with one query ([`Contexts::load`]),
//! moves them in memory event by event, and writes each changed one once
//! ([`Contexts::save`]).

use std::collections::HashMap;

use serde_json::{Value, json};
use tgcrm_domain::ticket::{Ticket, TicketEvent};
use tgcrm_projections::bulk;
use tgcrm_store::{Arg, Backend, Tx, args};

use crate::router::json_arg;

/// The table in which the router keeps each ticket's state as of the last
/// event it routed. Owned by the router (dropped and rebuilt with it). Its
/// personal fields are the revealed ones the reader hands out; erasure
/// scrubs them ([`scrub_customer`]).
pub const CONTEXT_TABLE: &str = "webhook_ticket_context";

pub const CONTEXT_SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS webhook_ticket_context (
        ticket_id            TEXT PRIMARY KEY,
        workspace_id         TEXT NOT NULL,
        customer_telegram_id {int},
        state                {json} NOT NULL,
        sequence             {int} NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS webhook_ticket_context_by_customer \
        ON webhook_ticket_context (workspace_id, customer_telegram_id)",
];

const UPSERT_HEAD: &str = "INSERT INTO webhook_ticket_context \
     (ticket_id, workspace_id, customer_telegram_id, state, sequence)";
const UPSERT_TAIL: &str = "ON CONFLICT (ticket_id) DO UPDATE SET \
     customer_telegram_id = excluded.customer_telegram_id, state = excluded.state, \
     sequence = excluded.sequence WHERE webhook_ticket_context.sequence <= excluded.sequence";

#[derive(sqlx::FromRow)]
struct ContextRow {
    ticket_id: String,
    workspace_id: String,
    state: Value,
    sequence: i64,
}

fn ticket_from(v: Value) -> Option<Ticket> {
    match v {
        Value::String(s) => serde_json::from_str(&s).ok(),
        v => serde_json::from_value(v).ok(),
    }
}

/// The ticket as the router last saw it.
pub async fn context_of(tx: &mut Tx, ticket_id: &str) -> anyhow::Result<Option<Ticket>> {
    let row: Option<ContextRow> = tx
        .fetch_optional(
            "SELECT ticket_id, workspace_id, state, sequence FROM webhook_ticket_context \
             WHERE ticket_id = $1",
            args![ticket_id],
        )
        .await?;
    Ok(row.and_then(|r| ticket_from(r.state)))
}

/// One ticket's context over a batch.
struct Slot {
    workspace: String,
    ticket: Ticket,
    /// The last ticket event folded in (0: none yet).
    sequence: i64,
    /// Must be written at the end of the batch.
    dirty: bool,
}

/// The contexts a batch touches, in memory.
#[derive(Default)]
pub struct Contexts {
    slots: HashMap<String, Slot>,
}

impl Contexts {
    /// The stored contexts of `tickets` (those without one are left out).
    pub async fn load(tx: &mut Tx, tickets: &[String]) -> anyhow::Result<Self> {
        let rows: Vec<ContextRow> = bulk::fetch_in(
            tx,
            "SELECT ticket_id, workspace_id, state, sequence FROM webhook_ticket_context WHERE ticket_id",
            "",
            tickets,
        )
        .await?;
        let slots = rows
            .into_iter()
            .filter_map(|r| {
                let ticket = ticket_from(r.state)?;
                let slot = Slot {
                    workspace: r.workspace_id,
                    ticket,
                    sequence: r.sequence,
                    dirty: false,
                };
                Some((r.ticket_id, slot))
            })
            .collect();
        Ok(Self { slots })
    }

    /// The ticket as last seen, if the router has seen it.
    pub fn get(&self, ticket_id: &str) -> Option<&Ticket> {
        self.slots.get(ticket_id).map(|s| &s.ticket)
    }

    /// Move a ticket's context past its `sequence`th event, in log order;
    /// an event already folded in changes nothing.
    pub fn advance(
        &mut self,
        workspace: &str,
        ticket_id: &str,
        sequence: i64,
        event: &TicketEvent,
    ) {
        let slot = self
            .slots
            .entry(ticket_id.to_owned())
            .or_insert_with(|| Slot {
                workspace: workspace.to_owned(),
                ticket: Ticket::default(),
                sequence: 0,
                dirty: false,
            });
        if sequence > slot.sequence {
            slot.ticket.apply(event.clone());
            // Only what deliveries show is kept; the message window is not needed.
            slot.ticket.recent_messages.clear();
            slot.sequence = sequence;
            // Written whatever the event: once per ticket and batch, and the
            // stored state is the same however the log was cut into batches.
            slot.dirty = true;
        }
    }

    /// Write every context the batch changed, once each.
    pub async fn save(self, tx: &mut Tx) -> anyhow::Result<()> {
        let backend = tx.backend();
        let rows = self
            .slots
            .into_iter()
            .filter(|(_, s)| s.dirty)
            .map(|(id, s)| row(backend, id, s.workspace, s.sequence, &s.ticket))
            .collect::<Result<_, _>>()?;
        bulk::insert(tx, UPSERT_HEAD, UPSERT_TAIL, rows).await?;
        Ok(())
    }
}

/// The values of one context row, in [`UPSERT_HEAD`]'s order.
fn row(
    backend: Backend,
    ticket_id: String,
    workspace: String,
    sequence: i64,
    t: &Ticket,
) -> serde_json::Result<Vec<Arg>> {
    let customer = t.customer.as_ref().map(|c| c.telegram_user_id.get());
    let mut row = args![ticket_id, workspace, customer];
    row.push(json_arg(backend, serde_json::to_value(t)?));
    row.push(sequence.into());
    Ok(row)
}

/// After `CustomerErased`: forget the customer's personal data in the
/// contexts, and in the stored bodies of deliveries about their tickets
/// (what already went out cannot be called back; nothing more leaves).
pub async fn scrub_customer(
    tx: &mut Tx,
    workspace: &str,
    telegram_user_id: i64,
) -> anyhow::Result<()> {
    #[derive(sqlx::FromRow)]
    struct Row {
        ticket_id: String,
        state: Value,
        sequence: i64,
    }
    let rows: Vec<Row> = tx
        .fetch_all(
            "SELECT ticket_id, state, sequence FROM webhook_ticket_context \
             WHERE workspace_id = $1 AND customer_telegram_id = $2",
            args![workspace, telegram_user_id],
        )
        .await?;
    let mut contexts = Vec::with_capacity(rows.len());
    for r in rows {
        let mut t = ticket_from(r.state).unwrap_or_default();
        t.subject = tgcrm_domain::values::Subject::parse(tgcrm_store::personal::ERASED).ok();
        if let Some(c) = t.customer.as_mut() {
            if let Ok(n) = tgcrm_domain::values::CustomerName::parse(tgcrm_store::personal::ERASED)
            {
                c.name = n;
            }
            c.username = None;
        }
        contexts.push(row(
            tx.backend(),
            r.ticket_id.clone(),
            workspace.to_owned(),
            r.sequence,
            &t,
        )?);
        let stub =
            json!({"type": "erased", "data": {"ticket": {"id": r.ticket_id}, "erased": true}});
        tx.execute(
            "UPDATE webhook_deliveries SET body = $2 WHERE workspace_id = $1 AND ordering_key = $3",
            args![workspace, stub.to_string(), r.ticket_id.as_str()],
        )
        .await?;
    }
    bulk::insert(tx, UPSERT_HEAD, UPSERT_TAIL, contexts).await?;
    Ok(())
}

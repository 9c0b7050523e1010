//! Replays: an admin asks for an endpoint to receive again what the log holds
//! from a position or a time (`WebhookReplayRequested`); the router records the
//! request with its end (the request's own position) and this works it off in
//! batches, enqueueing deliveries of origin `replay:<id>` in log order. Each
//! batch's deliveries and the replay's cursor commit together.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tgcrm_domain::Clock;
use tgcrm_domain::ticket::{Ticket, TicketEvent};
use tgcrm_store::reader::{EventFilter, read_after, read_stream};
use tgcrm_store::{EventStore, Position, args};

use crate::event_types::WebhookEventType;
use crate::payload;
use crate::router::{Subscription, enqueue};

#[derive(Debug, sqlx::FromRow)]
struct ReplayRow {
    replay_id: String,
    endpoint_id: String,
    workspace_id: String,
    from_time: Option<DateTime<Utc>>,
    event_types: Option<Value>,
    cursor_transaction: i64,
    cursor_position: i64,
    until_transaction: i64,
    until_position: i64,
}

#[derive(sqlx::FromRow)]
struct EndpointRow {
    endpoint_id: String,
    event_types: Value,
    deleted: bool,
}

pub struct Replayer {
    store: EventStore,
    timer: Arc<dyn Clock>,
    /// Ticket states at a sequence, recently used (a replay reads in log order).
    states: Mutex<HashMap<String, (i64, Ticket)>>,
}

const STATES_LIMIT: usize = 512;

fn types_of(v: &Option<Value>) -> Option<Vec<String>> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => serde_json::from_str(s).ok(),
        Some(v) => serde_json::from_value(v.clone()).ok(),
    }
}

impl Replayer {
    pub fn new(store: EventStore, timer: Arc<dyn Clock>) -> Self {
        Self {
            store,
            timer,
            states: Mutex::new(HashMap::new()),
        }
    }

    /// The ticket right after its `sequence`th event `event`.
    async fn state_at(
        &self,
        ticket_id: &str,
        sequence: i64,
        event: &TicketEvent,
    ) -> anyhow::Result<Ticket> {
        let cached = self
            .states
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(ticket_id)
            .cloned();
        let t = match cached {
            Some((seq, t)) if seq == sequence => t,
            Some((seq, mut t)) if seq + 1 == sequence => {
                t.apply(event.clone());
                t
            }
            _ => {
                let mut t = Ticket::default();
                let mut after = 0;
                while after < sequence {
                    let page = read_stream(
                        self.store.db(),
                        tgcrm_domain::ticket::AGGREGATE_TYPE,
                        ticket_id,
                        after,
                        (sequence - after).min(500),
                    )
                    .await?;
                    let Some(last) = page.last().map(|e| e.sequence) else {
                        break;
                    };
                    for e in &page {
                        if let Some(Ok(te)) = e.ticket_event() {
                            t.apply(te);
                        }
                    }
                    after = last;
                }
                t
            }
        };
        let mut t = t;
        t.recent_messages.clear();
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        if states.len() >= STATES_LIMIT && !states.contains_key(ticket_id) {
            states.clear();
        }
        states.insert(ticket_id.to_owned(), (sequence, t.clone()));
        Ok(t)
    }

    /// Just before the workspace's first event recorded at or after `t`, so a
    /// replay from a time does not read the log from its start.
    async fn seek(&self, workspace: &str, t: DateTime<Utc>) -> anyhow::Result<Position> {
        #[derive(sqlx::FromRow)]
        struct P {
            transaction_id: i64,
            position: i64,
        }
        let tx = match self.store.db().backend() {
            tgcrm_store::Backend::Postgres => "transaction_id::text::bigint",
            tgcrm_store::Backend::Sqlite => "0",
        };
        let order = match self.store.db().backend() {
            tgcrm_store::Backend::Postgres => "events.transaction_id, events.position",
            tgcrm_store::Backend::Sqlite => "position",
        };
        let sql = format!(
            "SELECT {tx} AS transaction_id, position FROM events WHERE workspace_id = $1 AND recorded_at >= $2 \
             ORDER BY {order} LIMIT 1"
        );
        let first: Option<P> = self
            .store
            .db()
            .fetch_optional(&sql, args![workspace, t])
            .await?;
        Ok(match first {
            Some(p) if p.position > 0 => Position::new(p.transaction_id, p.position - 1),
            _ => Position::START,
        })
    }

    /// Work one batch of the oldest running replay. True if there was one.
    pub async fn step(&self, batch: i64) -> anyhow::Result<bool> {
        let db = self.store.db();
        let Some(r): Option<ReplayRow> = db
            .fetch_optional(
                "SELECT replay_id, endpoint_id, workspace_id, from_time, event_types, cursor_transaction, \
                 cursor_position, until_transaction, until_position FROM webhook_replays \
                 WHERE status = 'running' ORDER BY requested_at, replay_id LIMIT 1",
                vec![],
            )
            .await?
        else {
            return Ok(false);
        };
        let now = self.timer.now();
        let endpoint: Option<EndpointRow> = db
            .fetch_optional(
                "SELECT endpoint_id, event_types, deleted FROM webhook_endpoints WHERE endpoint_id = $1",
                args![r.endpoint_id.as_str()],
            )
            .await?;
        let Some(endpoint) = endpoint.filter(|e| !e.deleted) else {
            db.execute(
                "UPDATE webhook_replays SET status = 'cancelled', finished_at = $2 WHERE replay_id = $1",
                args![r.replay_id.as_str(), now],
            )
            .await?;
            return Ok(true);
        };
        let sub = Subscription {
            endpoint_id: endpoint.endpoint_id,
            event_types: endpoint.event_types,
        };
        let only = types_of(&r.event_types);
        let until = Position::new(r.until_transaction, r.until_position);
        let mut cursor = Position::new(r.cursor_transaction, r.cursor_position);
        if let Some(t) = r.from_time
            && cursor == Position::START
        {
            cursor = self.seek(&r.workspace_id, t).await?;
        }
        let filter = EventFilter {
            workspace_id: Some(r.workspace_id.clone()),
            ..EventFilter::default()
        };
        let events = read_after(db, cursor, batch, &filter).await?;
        let origin = format!("replay:{}", r.replay_id);
        // Ticket states as of each event, read (decrypted) before the
        // transaction: SQLite has one connection.
        let mut states: Vec<Option<Ticket>> = Vec::with_capacity(events.len());
        for e in &events {
            let wanted = e.position <= until
                && WebhookEventType::for_log_event(&e.event_type).is_some_and(|t| sub.wants(t));
            states.push(match (wanted, e.ticket_event()) {
                (true, Some(Ok(te))) => {
                    Some(self.state_at(&e.aggregate_id, e.sequence, &te).await?)
                }
                _ => None,
            });
        }
        let mut tx = db.begin().await?;
        let mut last = cursor;
        let mut done = events.is_empty();
        let mut enqueued = 0_i64;
        for (e, state) in events.iter().zip(states) {
            if e.position > until {
                done = true;
                break;
            }
            last = e.position;
            if r.from_time.is_some_and(|t| e.recorded_at < t) {
                continue;
            }
            let Some(t) = WebhookEventType::for_log_event(&e.event_type) else {
                continue;
            };
            if !sub.wants(t) {
                continue;
            }
            if let Some(only) = &only
                && !only.iter().any(|o| o == "*" || o == t.as_str())
            {
                continue;
            }
            let ticket = match (state, payload::about_ticket(e)) {
                (Some(t), _) => Some(t),
                (None, Some(id)) => crate::context::context_of(&mut tx, &id).await?,
                (None, None) => None,
            };
            let Some(built) = payload::build(&mut tx, e, ticket.as_ref()).await? else {
                continue;
            };
            if enqueue(&mut tx, &sub.endpoint_id, e, &built, &origin, now).await? {
                enqueued += 1;
            }
        }
        if last >= until {
            done = true;
        }
        tx.execute(
            "UPDATE webhook_replays SET cursor_transaction = $2, cursor_position = $3, enqueued = enqueued + $4, \
             status = $5, finished_at = $6 WHERE replay_id = $1 AND status = 'running'",
            args![
                r.replay_id.as_str(),
                last.transaction_id,
                last.position,
                enqueued,
                if done { "done" } else { "running" },
                done.then_some(now)
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

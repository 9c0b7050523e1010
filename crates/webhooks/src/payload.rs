//! What a delivery says: the `{type, timestamp, data}` body built from a log
//! event and the ticket as it stood at that event. Bodies are built once, when
//! the delivery is enqueued, so every retry sends the same bytes.

use chrono::SecondsFormat;
use serde_json::{Value, json};
use tgcrm_domain::ticket::{Author, Ticket, TicketEvent};
use tgcrm_store::{Backend, StoredEvent, Tx, args};

use crate::event_types::WebhookEventType;

/// Does a table exist? (Read models of other features may not be there yet.)
async fn table_exists(tx: &mut Tx, name: &str) -> anyhow::Result<bool> {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let sql = match tx.backend() {
        Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = $1 AND table_schema = current_schema()"
        }
        Backend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = $1"
        }
    };
    let row: N = tx.fetch_one(sql, args![name]).await?;
    Ok(row.n > 0)
}

#[derive(sqlx::FromRow)]
struct TopicRow {
    chat_id: i64,
    thread_id: i64,
}

async fn topic(tx: &mut Tx, ticket_id: &str) -> anyhow::Result<Option<TopicRow>> {
    Ok(tx
        .fetch_optional(
            "SELECT chat_id, thread_id FROM tg_topics WHERE ticket_id = $1",
            args![ticket_id],
        )
        .await?)
}

#[derive(sqlx::FromRow)]
struct AgentRow {
    name: String,
    telegram_user_id: Option<i64>,
    telegram_username: Option<String>,
}

async fn sender(
    tx: &mut Tx,
    workspace: &str,
    author: &Author,
    ticket: &Ticket,
) -> anyhow::Result<Value> {
    Ok(match author {
        Author::Customer => {
            let c = ticket.customer.as_ref();
            json!({
                "kind": "customer",
                "telegram_user_id": c.map(|c| c.telegram_user_id.get()),
                "name": c.map(|c| c.name.as_str()),
                "username": c.and_then(|c| c.username.as_ref().map(|u| u.as_str())),
            })
        }
        Author::Agent { agent_id } => {
            let agent: Option<AgentRow> = if table_exists(tx, "rm_agents").await? {
                tx.fetch_optional(
                    "SELECT name, telegram_user_id, telegram_username FROM rm_agents \
                     WHERE workspace_id = $1 AND agent_id = $2",
                    args![workspace, agent_id.to_string()],
                )
                .await?
            } else {
                None
            };
            json!({
                "kind": "agent",
                "agent_id": agent_id.to_string(),
                "name": agent.as_ref().map(|a| a.name.as_str()),
                "telegram_user_id": agent.as_ref().and_then(|a| a.telegram_user_id),
                "username": agent.as_ref().and_then(|a| a.telegram_username.as_deref()),
            })
        }
        Author::Staff { token_id } => json!({"kind": "staff", "token_id": token_id}),
        Author::System { name } => json!({"kind": "system", "name": name}),
    })
}

/// The ticket part of every body: the thread context.
async fn ticket_json(tx: &mut Tx, ticket_id: &str, t: &Ticket) -> anyhow::Result<Value> {
    let topic = topic(tx, ticket_id).await?;
    Ok(json!({
        "id": ticket_id,
        "subject": t.subject.as_ref().map(|s| s.as_str()),
        "status": t.status.as_str(),
        "priority": t.priority.as_str(),
        "channel": t.channel.map(|c| c.as_str()),
        "customer": t.customer.as_ref().map(|c| json!({
            "telegram_user_id": c.telegram_user_id.get(),
            "name": c.name.as_str(),
            "username": c.username.as_ref().map(|u| u.as_str()),
        })),
        "assignee_agent_id": t.assignee.map(|a| a.to_string()),
        "team_id": t.team.map(|a| a.to_string()),
        "tags": t.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "topic_id": topic.as_ref().map(|t| t.thread_id),
        "topic_chat_id": topic.as_ref().map(|t| t.chat_id),
    }))
}

/// Which ticket an event is about, and the key deliveries are ordered by.
pub fn ordering_key(event: &StoredEvent) -> String {
    if event.aggregate_type == tgcrm_domain::ticket::AGGREGATE_TYPE {
        return event.aggregate_id.clone();
    }
    about_ticket(event)
        .unwrap_or_else(|| format!("{}:{}", event.aggregate_type, event.aggregate_id))
}

fn body_of(event: &StoredEvent) -> Value {
    event
        .payload
        .get(&event.event_type)
        .cloned()
        .unwrap_or_else(|| event.payload.clone())
}

pub fn about_ticket(event: &StoredEvent) -> Option<String> {
    body_of(event)
        .get("ticket_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A built body: its type and the exact bytes to send.
#[derive(Debug, Clone)]
pub struct Built {
    pub webhook_type: WebhookEventType,
    pub body: String,
}

/// Build the delivery body for `event`, if it is one integrators can subscribe to.
///
/// `ticket` is the ticket right after the event for ticket events, and the
/// ticket the event is about (as last known) for others.
pub async fn build(
    tx: &mut Tx,
    event: &StoredEvent,
    ticket: Option<&Ticket>,
) -> anyhow::Result<Option<Built>> {
    let Some(webhook_type) = WebhookEventType::for_log_event(&event.event_type) else {
        return Ok(None);
    };
    let decoded = match event.ticket_event() {
        Some(Ok(d)) => Some(d),
        Some(Err(e))
            if matches!(
                webhook_type,
                WebhookEventType::TicketCreated
                    | WebhookEventType::TicketStatusChanged
                    | WebhookEventType::TicketAssigned
                    | WebhookEventType::TicketPriorityChanged
                    | WebhookEventType::MessageCreated
            ) =>
        {
            // A poison event must not hold every webhook back: log it, skip it.
            tracing::error!(event_id = %event.event_id, error = %e, "ticket event does not decode; no webhook for it");
            return Ok(None);
        }
        _ => None,
    };
    let mut data = match decoded {
        Some(decoded) => {
            let id = event.aggregate_id.as_str();
            let ticket = ticket.cloned().unwrap_or_default();
            let t = ticket_json(tx, id, &ticket).await?;
            match decoded {
                TicketEvent::Opened { .. } => json!({ "ticket": t }),
                TicketEvent::StatusChanged {
                    from,
                    to,
                    cause,
                    reason,
                    ..
                } => json!({
                    "ticket": t, "from": from.as_str(), "to": to.as_str(),
                    "cause": serde_json::to_value(cause)?, "reason": reason,
                }),
                TicketEvent::Assigned {
                    agent_id,
                    team_id,
                    previous_agent_id,
                    previous_team_id,
                    note,
                    ..
                } => json!({
                    "ticket": t,
                    "agent_id": agent_id.map(|a| a.to_string()),
                    "team_id": team_id.map(|a| a.to_string()),
                    "previous_agent_id": previous_agent_id.map(|a| a.to_string()),
                    "previous_team_id": previous_team_id.map(|a| a.to_string()),
                    "note": note,
                }),
                TicketEvent::PriorityChanged { from, to, .. } => json!({
                    "ticket": t, "from": from.as_str(), "to": to.as_str(),
                }),
                TicketEvent::MessageAdded {
                    message_id,
                    author,
                    visibility,
                    text,
                    attachments,
                    at,
                    ..
                } => {
                    let sender = sender(tx, &event.workspace_id, &author, &ticket).await?;
                    json!({
                        "ticket": t,
                        "message": {
                            "id": message_id.to_string(),
                            "text": text,
                            "visibility": visibility.as_str(),
                            "attachments": serde_json::to_value(&attachments)?,
                            "sender": sender,
                            "created_at": at.to_rfc3339_opts(SecondsFormat::Micros, true),
                        },
                    })
                }
                // SLA and escalation events recorded on the ticket itself.
                _ => json!({ "ticket": t, "details": body_of(event) }),
            }
        }
        None => {
            let id = about_ticket(event).unwrap_or_else(|| event.aggregate_id.clone());
            let ticket = match ticket {
                Some(t) => Some(ticket_json(tx, &id, t).await?),
                None => None,
            };
            json!({ "ticket": ticket, "details": body_of(event) })
        }
    };
    if let Value::Object(m) = &mut data {
        m.insert("event_id".into(), Value::String(event.event_id.clone()));
    }
    let body = json!({
        "type": webhook_type.as_str(),
        "timestamp": event.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "data": data,
    });
    Ok(Some(Built {
        webhook_type,
        body: serde_json::to_string(&body)?,
    }))
}

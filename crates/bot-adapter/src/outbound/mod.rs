//! The outbound reactor: reads ticket events from the log and makes Telegram
//! show them — a topic per ticket, customer messages copied into it, agent
//! replies (from the topic or the API) delivered to the customer, notes,
//! status, assignment and priority changes posted as notices. Each delivery is
//! recorded, so a restart does not send twice.

mod pacer;
mod render;
mod sender;
mod topics;

pub use pacer::Pacer;
pub use render::{TEXT_LIMIT, split, topic_name};
pub use sender::{SendError, call};

use async_trait::async_trait;
use teloxide::prelude::*;
use teloxide::types::MessageId;
use tgcrm_domain::ticket::{Author, MessageVisibility, Ticket, TicketEvent};
use tgcrm_domain::values::Status;
use tgcrm_reactors::{ReactError, Reactor, StartAt};
use tgcrm_store::StoredEvent;
use tgcrm_store::load::load_ticket;
use tgcrm_store::reader::EventFilter;

use crate::adapter::BotContext;
use crate::tables;

pub struct OutboundReactor {
    ctx: BotContext,
}

impl OutboundReactor {
    pub fn new(ctx: BotContext) -> Self {
        Self { ctx }
    }
}

fn retry(e: impl Into<anyhow::Error>) -> ReactError {
    ReactError::Retry(e.into())
}

/// A short human label for who wrote something.
async fn author_label(ctx: &BotContext, author: &Author, ticket: &Ticket) -> String {
    match author {
        Author::Customer => ticket
            .customer
            .as_ref()
            .map(|c| c.name.as_str().to_owned())
            .unwrap_or_else(|| "Customer".into()),
        Author::Agent { agent_id } => {
            crate::agents::name_of(ctx.store.db(), ctx.workspace(), &agent_id.to_string())
                .await
                .ok()
                .flatten()
                .unwrap_or_else(|| "Agent".into())
        }
        Author::Staff { .. } => "Staff".into(),
        Author::System { name } => name.clone(),
    }
}

#[async_trait]
impl Reactor for OutboundReactor {
    fn name(&self) -> &'static str {
        "telegram_outbound"
    }

    fn start_at(&self) -> StartAt {
        // A bot switched on for an existing desk does not replay old history into Telegram.
        StartAt::End
    }

    fn filter(&self) -> EventFilter {
        EventFilter {
            workspace_id: Some(self.ctx.workspace().to_owned()),
            aggregate_type: Some(tgcrm_domain::ticket::AGGREGATE_TYPE.to_owned()),
            ..EventFilter::default()
        }
    }

    async fn react(&self, stored: &StoredEvent) -> Result<(), ReactError> {
        let Some(event) = stored.ticket_event() else {
            return Ok(());
        };
        let event = event.map_err(|e| ReactError::Skip(e.into()))?;
        let ctx = &self.ctx;
        let ticket_id: tgcrm_domain::TicketId = stored
            .aggregate_id
            .parse()
            .map_err(|e: uuid::Error| ReactError::Skip(e.into()))?;
        let ticket = load_ticket(ctx.store.db(), &ticket_id)
            .await
            .map_err(retry)?
            .state;
        let Some(customer) = ticket.customer.clone() else {
            return Ok(());
        };
        let customer_chat = customer.telegram_user_id.get();
        match event {
            TicketEvent::Opened { channel, .. } => {
                topics::ensure(ctx, &stored.aggregate_id, &ticket).await?;
                let header = topics::header(&ticket);
                topics::post(
                    ctx,
                    stored,
                    "topic:header",
                    &stored.aggregate_id,
                    &ticket,
                    &header,
                )
                .await?;
                if channel == tgcrm_domain::ticket::Channel::Telegram {
                    let text = format!(
                        "Thank you! Your request {} is open; we will answer you here.",
                        render::topic_name("{id}", ticket.status, &stored.aggregate_id, "", "")
                    );
                    deliver_text(ctx, stored, "customer:ack", customer_chat, &text).await?;
                }
            }
            TicketEvent::MessageAdded {
                message_id,
                author,
                visibility,
                text,
                attachments,
                ..
            } => {
                let link = tables::link_by_message(ctx.store.db(), &message_id.to_string())
                    .await
                    .map_err(retry)?;
                let label = author_label(ctx, &author, &ticket).await;
                match (&author, visibility) {
                    (Author::Customer, _) => {
                        topics::ensure(ctx, &stored.aggregate_id, &ticket).await?;
                        match &link {
                            Some(l) if l.chat_id == customer_chat => {
                                let ids = linked_ids(ctx, &message_id.to_string()).await?;
                                topics::copy_into(
                                    ctx,
                                    stored,
                                    &stored.aggregate_id,
                                    &ticket,
                                    l.chat_id,
                                    &ids,
                                )
                                .await?;
                            }
                            _ => {
                                let body = with_attachments(&text, &attachments);
                                topics::post(
                                    ctx,
                                    stored,
                                    "topic:message",
                                    &stored.aggregate_id,
                                    &ticket,
                                    &format!("👤 {label}:\n{body}"),
                                )
                                .await?;
                            }
                        }
                    }
                    (_, MessageVisibility::Public) => {
                        let target = format!("customer:{message_id}");
                        let from_topic = link
                            .as_ref()
                            .filter(|l| l.chat_id == ctx.config.support_chat_id);
                        match from_topic {
                            Some(l) => {
                                deliver_copy(
                                    ctx,
                                    stored,
                                    &target,
                                    customer_chat,
                                    l.chat_id,
                                    l.telegram_message_id,
                                    &stored.aggregate_id,
                                )
                                .await?;
                            }
                            None => {
                                let body = with_attachments(&text, &attachments);
                                deliver_text(ctx, stored, &target, customer_chat, &body).await?;
                                topics::post(
                                    ctx,
                                    stored,
                                    "topic:message",
                                    &stored.aggregate_id,
                                    &ticket,
                                    &format!("💬 {label}:\n{body}"),
                                )
                                .await?;
                            }
                        }
                    }
                    (_, MessageVisibility::Internal) => {
                        if link.is_none() {
                            topics::post(
                                ctx,
                                stored,
                                "topic:note",
                                &stored.aggregate_id,
                                &ticket,
                                &format!("📝 Note from {label}:\n{text}"),
                            )
                            .await?;
                        }
                    }
                }
            }
            TicketEvent::MessageEdited {
                message_id,
                editor,
                text,
                ..
            } => {
                let label = author_label(ctx, &editor, &ticket).await;
                if editor.is_customer() {
                    topics::post(
                        ctx,
                        stored,
                        "topic:edit",
                        &stored.aggregate_id,
                        &ticket,
                        &format!("✏️ {label} edited a message:\n{text}"),
                    )
                    .await?;
                } else {
                    let copy = tables::delivered(
                        ctx.store.db(),
                        &first_event_of(ctx, &message_id.to_string()).await?,
                        &format!("customer:{message_id}"),
                    )
                    .await
                    .map_err(retry)?;
                    edit_or_resend(
                        ctx,
                        stored,
                        customer_chat,
                        copy.and_then(|c| c.telegram_message_id),
                        &text,
                    )
                    .await?;
                }
            }
            TicketEvent::StatusChanged { from, to, .. } => {
                topics::rename_and_toggle(ctx, &stored.aggregate_id, &ticket, to).await?;
                topics::post(
                    ctx,
                    stored,
                    "topic:status",
                    &stored.aggregate_id,
                    &ticket,
                    &format!("{} Status: {} → {}", render::status_mark(to), from, to),
                )
                .await?;
                if to == Status::Closed {
                    topics::close(ctx, &stored.aggregate_id).await?;
                }
            }
            TicketEvent::Assigned {
                agent_id,
                team_id,
                note,
                ..
            } => {
                let who = match agent_id {
                    Some(a) => {
                        crate::agents::name_of(ctx.store.db(), ctx.workspace(), &a.to_string())
                            .await
                            .ok()
                            .flatten()
                            .unwrap_or_else(|| a.to_string())
                    }
                    None => "nobody".into(),
                };
                let mut text = format!("👤 Assigned to {who}");
                if let Some(t) = team_id {
                    text.push_str(&format!(" (team {t})"));
                }
                if let Some(n) = note {
                    text.push_str(&format!("\nTransfer note: {n}"));
                }
                topics::post(
                    ctx,
                    stored,
                    "topic:assigned",
                    &stored.aggregate_id,
                    &ticket,
                    &text,
                )
                .await?;
            }
            TicketEvent::Unassigned { .. } => {
                topics::post(
                    ctx,
                    stored,
                    "topic:assigned",
                    &stored.aggregate_id,
                    &ticket,
                    "👤 Unassigned",
                )
                .await?;
            }
            TicketEvent::PriorityChanged { from, to, .. } => {
                topics::post(
                    ctx,
                    stored,
                    "topic:priority",
                    &stored.aggregate_id,
                    &ticket,
                    &format!("⚑ Priority: {from} → {to}"),
                )
                .await?;
            }
            TicketEvent::SlaWarning { metric, due_at, .. } => {
                let text = format!(
                    "⏳ SLA warning: {} is due at {}",
                    metric.as_str().replace('_', " "),
                    due_at.format("%Y-%m-%d %H:%M:%S UTC")
                );
                topics::post(
                    ctx,
                    stored,
                    "topic:sla",
                    &stored.aggregate_id,
                    &ticket,
                    &text,
                )
                .await?;
            }
            TicketEvent::SlaBreached { metric, due_at, .. } => {
                let text = format!(
                    "🚨 SLA breached: {} was due at {}",
                    metric.as_str().replace('_', " "),
                    due_at.format("%Y-%m-%d %H:%M:%S UTC")
                );
                topics::post(
                    ctx,
                    stored,
                    "topic:sla",
                    &stored.aggregate_id,
                    &ticket,
                    &text,
                )
                .await?;
            }
            TicketEvent::TicketEscalated {
                rule_name,
                tier,
                actions,
                ..
            } => {
                let done: Vec<&str> = actions.iter().map(|a| a.kind()).collect();
                let text = format!(
                    "⬆️ Escalated (tier {tier}): {rule_name}\nActions: {}",
                    done.join(", ")
                );
                topics::post(
                    ctx,
                    stored,
                    "topic:escalation",
                    &stored.aggregate_id,
                    &ticket,
                    &text,
                )
                .await?;
            }
            _ => {}
        }
        Ok(())
    }
}

fn with_attachments(text: &str, attachments: &[tgcrm_domain::values::Attachment]) -> String {
    let mut out = text.to_owned();
    for a in attachments {
        let name = a
            .file_name
            .clone()
            .unwrap_or_else(|| format!("{:?}", a.kind).to_lowercase());
        out.push_str(&format!("\n📎 {name}"));
    }
    out
}

/// All Telegram messages linked to one conversation message (album parts), in order.
async fn linked_ids(ctx: &BotContext, message_id: &str) -> Result<Vec<i64>, ReactError> {
    #[derive(sqlx::FromRow)]
    struct Row1 {
        telegram_message_id: i64,
    }
    let rows: Vec<Row1> = ctx
        .store
        .db()
        .fetch_all(
            "SELECT telegram_message_id FROM tg_messages WHERE message_id = $1 ORDER BY telegram_message_id",
            tgcrm_store::args![message_id],
        )
        .await
        .map_err(retry)?;
    Ok(rows.into_iter().map(|r| r.telegram_message_id).collect())
}

/// The id of the event that added a message (deliveries are keyed by it).
async fn first_event_of(ctx: &BotContext, message_id: &str) -> Result<String, ReactError> {
    #[derive(sqlx::FromRow)]
    struct Row1 {
        event_id: String,
    }
    let target = format!("customer:{message_id}");
    let row: Option<Row1> = ctx
        .store
        .db()
        .fetch_optional(
            "SELECT event_id FROM tg_deliveries WHERE target = $1 LIMIT 1",
            tgcrm_store::args![target],
        )
        .await
        .map_err(retry)?;
    Ok(row.map(|r| r.event_id).unwrap_or_default())
}

/// Send text to a customer (split to the limit), once per (event, target).
async fn deliver_text(
    ctx: &BotContext,
    stored: &StoredEvent,
    target: &str,
    chat: i64,
    text: &str,
) -> Result<(), ReactError> {
    let db = ctx.store.db();
    if tables::delivered(db, &stored.event_id, target)
        .await
        .map_err(retry)?
        .is_some()
    {
        return Ok(());
    }
    let mut first_id = None;
    for part in split(text, TEXT_LIMIT) {
        let sent = call(ctx, chat, || {
            ctx.bot.send_message(ChatId(chat), part.clone()).send()
        })
        .await;
        match sent {
            Ok(m) => {
                first_id.get_or_insert(i64::from(m.id.0));
            }
            Err(SendError::Blocked) => return customer_blocked(ctx, stored, chat).await,
            Err(e) => return Err(retry(e)),
        }
    }
    tables::record_delivery(
        db,
        &stored.event_id,
        target,
        chat,
        first_id,
        ctx.clock.now(),
    )
    .await
    .map_err(retry)
}

/// Copy an agent's topic message to the customer, once.
async fn deliver_copy(
    ctx: &BotContext,
    stored: &StoredEvent,
    target: &str,
    to_chat: i64,
    from_chat: i64,
    message: i64,
    _ticket_id: &str,
) -> Result<(), ReactError> {
    let db = ctx.store.db();
    if tables::delivered(db, &stored.event_id, target)
        .await
        .map_err(retry)?
        .is_some()
    {
        return Ok(());
    }
    let msg_id = MessageId(i32::try_from(message).unwrap_or_default());
    let sent = call(ctx, to_chat, || {
        ctx.bot
            .copy_message(ChatId(to_chat), ChatId(from_chat), msg_id)
            .send()
    })
    .await;
    match sent {
        Ok(id) => tables::record_delivery(
            db,
            &stored.event_id,
            target,
            to_chat,
            Some(i64::from(id.0)),
            ctx.clock.now(),
        )
        .await
        .map_err(retry),
        Err(SendError::Blocked) => customer_blocked(ctx, stored, to_chat).await,
        Err(e) => Err(retry(e)),
    }
}

async fn edit_or_resend(
    ctx: &BotContext,
    stored: &StoredEvent,
    chat: i64,
    copy: Option<i64>,
    text: &str,
) -> Result<(), ReactError> {
    let db = ctx.store.db();
    let target = "customer:edit";
    if tables::delivered(db, &stored.event_id, target)
        .await
        .map_err(retry)?
        .is_some()
    {
        return Ok(());
    }
    let text: String = text.chars().take(TEXT_LIMIT).collect();
    let result = match copy {
        Some(id) => {
            let mid = MessageId(i32::try_from(id).unwrap_or_default());
            call(ctx, chat, || {
                ctx.bot
                    .edit_message_text(ChatId(chat), mid, text.clone())
                    .send()
            })
            .await
            .map(|m| Some(i64::from(m.id.0)))
        }
        None => call(ctx, chat, || {
            ctx.bot
                .send_message(ChatId(chat), format!("(edited) {text}"))
                .send()
        })
        .await
        .map(|m| Some(i64::from(m.id.0))),
    };
    match result {
        Ok(id) => tables::record_delivery(db, &stored.event_id, target, chat, id, ctx.clock.now())
            .await
            .map_err(retry),
        Err(SendError::Blocked) => customer_blocked(ctx, stored, chat).await,
        Err(e) => Err(retry(e)),
    }
}

/// The customer blocked the bot: mark it, tag the ticket, tell the agents.
async fn customer_blocked(
    ctx: &BotContext,
    stored: &StoredEvent,
    chat: i64,
) -> Result<(), ReactError> {
    let db = ctx.store.db();
    tables::mark_blocked(db, ctx.workspace(), chat, ctx.clock.now())
        .await
        .map_err(retry)?;
    tables::record_delivery(
        db,
        &stored.event_id,
        "customer:blocked",
        chat,
        None,
        ctx.clock.now(),
    )
    .await
    .map_err(retry)?;
    let ticket_id: tgcrm_domain::TicketId = stored
        .aggregate_id
        .parse()
        .map_err(|e: uuid::Error| ReactError::Skip(e.into()))?;
    let tag = tgcrm_domain::values::Tag::parse("telegram-blocked")
        .map_err(|e| ReactError::Skip(e.into()))?;
    let command =
        tgcrm_domain::ticket::TicketCommand::ChangeTags(tgcrm_domain::ticket::ChangeTags {
            add: [tag].into_iter().collect(),
            remove: Default::default(),
        });
    let mut meta = tgcrm_store::Metadata::new("system:telegram", tgcrm_store::Source::System);
    meta.causation_id = Some(stored.event_id.clone());
    meta.correlation_id = stored.correlation_id.clone();
    let cctx = tgcrm_store::commands::CommandContext {
        workspace_id: ctx.config.workspace.clone(),
        metadata: meta,
        expected_version: None,
    };
    match tgcrm_store::tickets::execute(&ctx.store, ctx.clock.as_ref(), &ticket_id, &cctx, command)
        .await
    {
        Ok(_) | Err(tgcrm_store::tickets::CommandError::Refused(_)) => {}
        Err(e) => return Err(retry(e)),
    }
    let ticket = load_ticket(db, &ticket_id).await.map_err(retry)?.state;
    topics::post(
        ctx,
        stored,
        "topic:blocked",
        &stored.aggregate_id,
        &ticket,
        "⚠️ The customer has blocked the bot: this reply was not delivered.",
    )
    .await
}

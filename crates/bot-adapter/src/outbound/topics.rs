//! One forum topic per ticket: created when first needed, renamed as the
//! status changes, closed with the ticket and reopened with it. If Telegram
//! says the topic is gone, a new one is made and the transcript re-posted.

use teloxide::prelude::*;
use teloxide::types::{MessageId, ThreadId};
use tgcrm_domain::ticket::Ticket;
use tgcrm_domain::values::Status;
use tgcrm_reactors::ReactError;
use tgcrm_store::StoredEvent;

use super::render::{TEXT_LIMIT, split, status_mark, topic_name};
use super::sender::{SendError, call};
use crate::adapter::BotContext;
use crate::tables::{self, TopicRow};

fn retry(e: impl Into<anyhow::Error>) -> ReactError {
    ReactError::Retry(e.into())
}

fn thread(id: i64) -> ThreadId {
    ThreadId(MessageId(i32::try_from(id).unwrap_or_default()))
}

fn name_for(ctx: &BotContext, ticket_id: &str, ticket: &Ticket, status: Status) -> String {
    topic_name(
        &ctx.config.topic_template,
        status,
        ticket_id,
        ticket.subject.as_ref().map(|s| s.as_str()).unwrap_or(""),
        ticket
            .customer
            .as_ref()
            .map(|c| c.name.as_str())
            .unwrap_or(""),
    )
}

/// The first message of a topic: who, what, and the form's answers.
pub fn header(ticket: &Ticket) -> String {
    let mut out = String::new();
    if let Some(c) = &ticket.customer {
        out.push_str(&format!("👤 {}", c.name.as_str()));
        if let Some(u) = &c.username {
            out.push_str(&format!(" (@{})", u.as_str()));
        }
        out.push_str(&format!(" · Telegram id {}\n", c.telegram_user_id.get()));
    }
    if let Some(s) = &ticket.subject {
        out.push_str(&format!("📌 {}\n", s.as_str()));
    }
    out.push_str(&format!(
        "⚑ Priority {} · {} {}\n",
        ticket.priority,
        status_mark(ticket.status),
        ticket.status
    ));
    for (k, v) in ticket.fields.iter() {
        let v = v
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string());
        out.push_str(&format!("• {}: {}\n", k.as_str(), v));
    }
    if let Some(prev) = ticket.follows_up {
        out.push_str(&format!("↩ Follows up on ticket {prev}\n"));
    }
    out.push_str("Write here to answer the customer; /note for internal notes, /resolve, /close, /status, /priority, /assign.");
    out
}

async fn create(
    ctx: &BotContext,
    ticket_id: &str,
    ticket: &Ticket,
) -> Result<TopicRow, ReactError> {
    let group = ctx.config.support_chat_id;
    let name = name_for(ctx, ticket_id, ticket, ticket.status);
    let topic = call(ctx, group, || {
        ctx.bot
            .create_forum_topic(ChatId(group), name.clone())
            .send()
    })
    .await
    .map_err(retry)?;
    let thread_id = i64::from(topic.thread_id.0.0);
    tables::save_topic(
        ctx.store.db(),
        ticket_id,
        ctx.workspace(),
        group,
        thread_id,
        &name,
        ctx.clock.now(),
    )
    .await
    .map_err(retry)?;
    tracing::info!(ticket_id, thread_id, "forum topic created");
    Ok(TopicRow {
        ticket_id: ticket_id.to_owned(),
        workspace_id: ctx.workspace().to_owned(),
        chat_id: group,
        thread_id,
        name,
        closed: false,
    })
}

/// The ticket's topic, created if it has none yet.
pub async fn ensure(
    ctx: &BotContext,
    ticket_id: &str,
    ticket: &Ticket,
) -> Result<TopicRow, ReactError> {
    match tables::topic_for_ticket(ctx.store.db(), ticket_id)
        .await
        .map_err(retry)?
    {
        Some(t) => Ok(t),
        None => create(ctx, ticket_id, ticket).await,
    }
}

/// The topic was deleted: make a new one and re-post the conversation so far.
async fn recreate(
    ctx: &BotContext,
    ticket_id: &str,
    ticket: &Ticket,
) -> Result<TopicRow, ReactError> {
    tracing::warn!(
        ticket_id,
        "forum topic is gone; recreating it with the transcript"
    );
    let topic = create(ctx, ticket_id, ticket).await?;
    let (messages, _) = tgcrm_projections::conversation::list(
        ctx.store.db(),
        ctx.workspace(),
        ticket_id,
        true,
        0,
        1_000,
    )
    .await
    .map_err(retry)?;
    let mut transcript = format!(
        "♻️ The previous topic was deleted. Transcript:\n\n{}\n",
        header(ticket)
    );
    for m in messages {
        let who = match (m.author_kind.as_str(), m.visibility.as_str()) {
            ("customer", _) => "👤 Customer".to_owned(),
            (_, "internal") => "📝 Note".to_owned(),
            (kind, _) => format!("💬 {kind}"),
        };
        transcript.push_str(&format!(
            "\n{} · {}:\n{}\n",
            m.created_at.format("%Y-%m-%d %H:%M"),
            who,
            m.text
        ));
    }
    for part in split(&transcript, TEXT_LIMIT) {
        send_in(ctx, &topic, &part).await.map_err(retry)?;
    }
    Ok(topic)
}

async fn send_in(ctx: &BotContext, topic: &TopicRow, text: &str) -> Result<Option<i64>, SendError> {
    let mut first = None;
    for part in split(text, TEXT_LIMIT) {
        let m = call(ctx, topic.chat_id, || {
            ctx.bot
                .send_message(ChatId(topic.chat_id), part.clone())
                .message_thread_id(thread(topic.thread_id))
                .send()
        })
        .await?;
        first.get_or_insert(i64::from(m.id.0));
    }
    Ok(first)
}

async fn reopen(ctx: &BotContext, topic: &TopicRow) -> Result<(), ReactError> {
    let r = call(ctx, topic.chat_id, || {
        ctx.bot
            .reopen_forum_topic(ChatId(topic.chat_id), thread(topic.thread_id))
            .send()
    })
    .await;
    match r {
        Ok(_) => {}
        Err(SendError::Other(e)) => tracing::warn!(error = %e, "reopening the topic failed"),
        Err(e) => return Err(retry(e)),
    }
    tables::update_topic(ctx.store.db(), &topic.ticket_id, &topic.name, false)
        .await
        .map_err(retry)
}

/// Post `text` into the ticket's topic, once per (event, target), recovering
/// from a deleted or closed topic.
pub async fn post(
    ctx: &BotContext,
    stored: &StoredEvent,
    target: &str,
    ticket_id: &str,
    ticket: &Ticket,
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
    let mut topic = ensure(ctx, ticket_id, ticket).await?;
    for _ in 0..3 {
        match send_in(ctx, &topic, text).await {
            Ok(id) => {
                return tables::record_delivery(
                    db,
                    &stored.event_id,
                    target,
                    topic.chat_id,
                    id,
                    ctx.clock.now(),
                )
                .await
                .map_err(retry);
            }
            Err(SendError::ThreadNotFound) => topic = recreate(ctx, ticket_id, ticket).await?,
            Err(SendError::TopicClosed) => reopen(ctx, &topic).await?,
            Err(e) => return Err(retry(e)),
        }
    }
    Err(retry(anyhow::anyhow!(
        "could not post into the ticket's topic"
    )))
}

/// Copy the customer's own messages (an album keeps its grouping) into the topic, once.
pub async fn copy_into(
    ctx: &BotContext,
    stored: &StoredEvent,
    ticket_id: &str,
    ticket: &Ticket,
    from_chat: i64,
    message_ids: &[i64],
) -> Result<(), ReactError> {
    let db = ctx.store.db();
    let target = "topic:copy";
    if tables::delivered(db, &stored.event_id, target)
        .await
        .map_err(retry)?
        .is_some()
    {
        return Ok(());
    }
    let ids: Vec<MessageId> = message_ids
        .iter()
        .map(|i| MessageId(i32::try_from(*i).unwrap_or_default()))
        .collect();
    let mut topic = ensure(ctx, ticket_id, ticket).await?;
    for _ in 0..3 {
        let result = if ids.len() == 1 {
            call(ctx, topic.chat_id, || {
                ctx.bot
                    .copy_message(ChatId(topic.chat_id), ChatId(from_chat), ids[0])
                    .message_thread_id(thread(topic.thread_id))
                    .send()
            })
            .await
            .map(|m| Some(i64::from(m.0)))
        } else {
            call(ctx, topic.chat_id, || {
                ctx.bot
                    .copy_messages(ChatId(topic.chat_id), ChatId(from_chat), ids.clone())
                    .message_thread_id(thread(topic.thread_id))
                    .send()
            })
            .await
            .map(|ms| ms.first().map(|m| i64::from(m.0)))
        };
        match result {
            Ok(id) => {
                return tables::record_delivery(
                    db,
                    &stored.event_id,
                    target,
                    topic.chat_id,
                    id,
                    ctx.clock.now(),
                )
                .await
                .map_err(retry);
            }
            Err(SendError::ThreadNotFound) => topic = recreate(ctx, ticket_id, ticket).await?,
            Err(SendError::TopicClosed) => reopen(ctx, &topic).await?,
            Err(e) => return Err(retry(e)),
        }
    }
    Err(retry(anyhow::anyhow!(
        "could not copy into the ticket's topic"
    )))
}

/// Rename the topic for a new status; reopen it if it was closed.
pub async fn rename_and_toggle(
    ctx: &BotContext,
    ticket_id: &str,
    ticket: &Ticket,
    status: Status,
) -> Result<(), ReactError> {
    let topic = ensure(ctx, ticket_id, ticket).await?;
    if topic.closed && status != Status::Closed {
        reopen(ctx, &topic).await?;
    }
    let name = name_for(ctx, ticket_id, ticket, status);
    if name != topic.name {
        let r = call(ctx, topic.chat_id, || {
            ctx.bot
                .edit_forum_topic(ChatId(topic.chat_id), thread(topic.thread_id))
                .name(name.clone())
                .send()
        })
        .await;
        match r {
            Ok(_) | Err(SendError::ThreadNotFound) | Err(SendError::TopicClosed) => {}
            Err(e) => return Err(retry(e)),
        }
        tables::update_topic(
            ctx.store.db(),
            ticket_id,
            &name,
            topic.closed && status == Status::Closed,
        )
        .await
        .map_err(retry)?;
    }
    Ok(())
}

pub async fn close(ctx: &BotContext, ticket_id: &str) -> Result<(), ReactError> {
    let Some(topic) = tables::topic_for_ticket(ctx.store.db(), ticket_id)
        .await
        .map_err(retry)?
    else {
        return Ok(());
    };
    if topic.closed {
        return Ok(());
    }
    let r = call(ctx, topic.chat_id, || {
        ctx.bot
            .close_forum_topic(ChatId(topic.chat_id), thread(topic.thread_id))
            .send()
    })
    .await;
    match r {
        Ok(_) | Err(SendError::ThreadNotFound) | Err(SendError::TopicClosed) => {}
        Err(e) => return Err(retry(e)),
    }
    tables::update_topic(ctx.store.db(), ticket_id, &topic.name, true)
        .await
        .map_err(retry)
}

//! A customer's private chat with the bot: the intake form (category by
//! inline keyboard, then a description), messages onto their open ticket (a
//! resolved one reopens; after a closed one a new ticket follows it up),
//! albums gathered into one message, and edits.

use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, User};
use tgcrm_domain::ticket::{
    AddMessage, Author, Channel, EditMessage, MessageVisibility, OpenTicket, TicketCommand,
    TicketError,
};
use tgcrm_domain::values::{
    Customer, CustomerName, FieldKey, Fields, MessageText, Priority, Status, Subject,
    TelegramUserId, TelegramUsername,
};
use tgcrm_domain::{MessageId, TicketId};
use tgcrm_store::commands::CommandContext;
use tgcrm_store::load::load_ticket;
use tgcrm_store::tickets::{CommandError, execute};

use super::media::{attachments_of, text_of};
use super::metadata;
use crate::adapter::BotContext;
use crate::tables::{self, Intake};

/// How long album parts are gathered before they are recorded as one message.
const ALBUM_WINDOW: Duration = Duration::from_millis(1_200);

fn customer_of(user: &User) -> Option<Customer> {
    let id = TelegramUserId::parse(i64::try_from(user.id.0).ok()?).ok()?;
    let name = CustomerName::parse(&user.full_name())
        .or_else(|_| CustomerName::parse("Telegram user"))
        .ok()?;
    let username = user
        .username
        .as_deref()
        .and_then(|u| TelegramUsername::parse(u).ok());
    Some(Customer {
        telegram_user_id: id,
        name,
        username,
    })
}

fn context(ctx: &BotContext, user: i64, update_id: u32) -> CommandContext {
    CommandContext {
        workspace_id: ctx.config.workspace.clone(),
        metadata: metadata(format!("customer:{user}"), update_id),
        expected_version: None,
    }
}

async fn reply(ctx: &BotContext, chat: i64, text: &str) {
    let r = crate::outbound::call(ctx, chat, || {
        ctx.bot.send_message(ChatId(chat), text.to_owned()).send()
    })
    .await;
    if let Err(e) = r {
        tracing::warn!(chat, error = %e, "could not answer the customer");
    }
}

async fn ask_category(ctx: &BotContext, chat: i64) {
    let buttons: Vec<Vec<InlineKeyboardButton>> = ctx
        .config
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| {
            vec![InlineKeyboardButton::callback(
                c.clone(),
                format!("intake:category:{i}"),
            )]
        })
        .collect();
    let markup = InlineKeyboardMarkup::new(buttons);
    let prompt = ctx.config.category_prompt.clone();
    let r = crate::outbound::call(ctx, chat, || {
        ctx.bot
            .send_message(ChatId(chat), prompt.clone())
            .reply_markup(markup.clone())
            .send()
    })
    .await;
    if let Err(e) = r {
        tracing::warn!(chat, error = %e, "could not send the intake form");
    }
}

/// The customer's ticket that new messages belong to, if it is not closed.
async fn open_ticket_of(
    ctx: &BotContext,
    user: i64,
) -> anyhow::Result<(Option<TicketId>, Option<TicketId>)> {
    let row = tables::customer(ctx.store.db(), ctx.workspace(), user).await?;
    let current = match row.and_then(|r| r.current_ticket_id) {
        Some(t) => Some(t),
        // A ticket opened for this customer through the API.
        None => latest_ticket_of(ctx, user).await?,
    };
    let Some(id) = current.as_deref().and_then(|t| t.parse::<TicketId>().ok()) else {
        return Ok((None, None));
    };
    let t = load_ticket(ctx.store.db(), &id).await?.state;
    if t.exists() && t.status != Status::Closed {
        Ok((Some(id), None))
    } else {
        Ok((None, Some(id)))
    }
}

async fn latest_ticket_of(ctx: &BotContext, user: i64) -> anyhow::Result<Option<String>> {
    #[derive(sqlx::FromRow)]
    struct Row1 {
        ticket_id: String,
    }
    let row: Option<Row1> = ctx
        .store
        .db()
        .fetch_optional(
            "SELECT ticket_id FROM rm_tickets WHERE workspace_id = $1 AND customer_telegram_id = $2 \
             ORDER BY created_at DESC LIMIT 1",
            tgcrm_store::args![ctx.workspace(), user],
        )
        .await?;
    Ok(row.map(|r| r.ticket_id))
}

pub async fn on_message(ctx: &BotContext, m: Message, update_id: u32) -> anyhow::Result<()> {
    let Some(user) = m.from.as_ref().filter(|u| !u.is_bot) else {
        return Ok(());
    };
    let user_id = i64::try_from(user.id.0)?;
    let chat = m.chat.id.0;
    let text = text_of(&m);
    if text == "/start" || text.starts_with("/start ") {
        reply(ctx, chat, &ctx.config.greeting).await;
        let (open, _) = open_ticket_of(ctx, user_id).await?;
        if open.is_none() {
            let intake = Intake::default();
            tables::save_customer(
                ctx.store.db(),
                ctx.workspace(),
                user_id,
                chat,
                None,
                Some(&intake),
                ctx.clock.now(),
            )
            .await?;
            if ctx.config.categories.is_empty() {
                reply(ctx, chat, &ctx.config.description_prompt).await;
            } else {
                ask_category(ctx, chat).await;
            }
        }
        return Ok(());
    }
    if let Some(group) = m.media_group_id().map(|g| g.to_string()) {
        // Gather the album's parts; the first part schedules the flush.
        let first = {
            let mut albums = ctx
                .albums
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let parts = albums.entry(group.clone()).or_default();
            parts.push(m);
            parts.len() == 1
        };
        if first {
            let ctx = ctx.clone();
            tokio::spawn(async move {
                tokio::time::sleep(ALBUM_WINDOW).await;
                let parts = ctx
                    .albums
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(&group)
                    .unwrap_or_default();
                if let Err(e) = record(&ctx, &parts, update_id).await {
                    tracing::error!(error = ?e, "could not record an album");
                }
            });
        }
        return Ok(());
    }
    record(ctx, std::slice::from_ref(&m), update_id).await
}

/// Record one customer message (or one album) on their ticket, or move the
/// intake form along, or open a ticket.
async fn record(ctx: &BotContext, parts: &[Message], update_id: u32) -> anyhow::Result<()> {
    let Some(first) = parts.first() else {
        return Ok(());
    };
    let Some(user) = first.from.as_ref() else {
        return Ok(());
    };
    let user_id = i64::try_from(user.id.0)?;
    let chat = first.chat.id.0;
    let text = parts
        .iter()
        .map(text_of)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let attachments: Vec<_> = parts.iter().flat_map(attachments_of).collect();
    let tg_ids: Vec<i64> = parts.iter().map(|p| i64::from(p.id.0)).collect();
    let (current, closed) = open_ticket_of(ctx, user_id).await?;
    if let Some(ticket_id) = current {
        return add_message(
            ctx,
            ticket_id,
            user_id,
            chat,
            &tg_ids,
            &text,
            attachments,
            update_id,
        )
        .await;
    }
    if closed.is_none() && !ctx.config.categories.is_empty() {
        let row = tables::customer(ctx.store.db(), ctx.workspace(), user_id).await?;
        let mut intake = row.as_ref().and_then(|r| r.intake()).unwrap_or_default();
        if intake.category.is_none() {
            let draft = match intake.draft.take() {
                Some(d) if !text.is_empty() => format!("{d}\n{text}"),
                Some(d) => d,
                None => text.clone(),
            };
            intake.draft = Some(draft).filter(|d| !d.is_empty());
            intake.draft_message_id = intake.draft_message_id.or(tg_ids.first().copied());
            tables::save_customer(
                ctx.store.db(),
                ctx.workspace(),
                user_id,
                chat,
                None,
                Some(&intake),
                ctx.clock.now(),
            )
            .await?;
            ask_category(ctx, chat).await;
            return Ok(());
        }
        let category = intake.category.clone();
        return open_new(
            ctx,
            user,
            chat,
            &tg_ids,
            &text,
            attachments,
            category,
            None,
            update_id,
        )
        .await;
    }
    open_new(
        ctx,
        user,
        chat,
        &tg_ids,
        &text,
        attachments,
        None,
        closed,
        update_id,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn add_message(
    ctx: &BotContext,
    ticket_id: TicketId,
    user_id: i64,
    chat: i64,
    tg_ids: &[i64],
    text: &str,
    attachments: Vec<tgcrm_domain::values::Attachment>,
    update_id: u32,
) -> anyhow::Result<()> {
    let Some(first) = tg_ids.first() else {
        return Ok(());
    };
    let Ok(body) = MessageText::parse_with_attachments(text, !attachments.is_empty()) else {
        return Ok(());
    };
    let message_id =
        MessageId::from_idempotency_key(&ctx.config.workspace, &format!("tg:{chat}:{first}"));
    // Link first, so the outbound side knows these Telegram messages are the source.
    for id in tg_ids {
        tables::link(
            ctx.store.db(),
            chat,
            *id,
            &ticket_id.to_string(),
            &message_id.to_string(),
        )
        .await?;
    }
    let command = TicketCommand::AddMessage(AddMessage {
        message_id,
        author: Author::Customer,
        visibility: MessageVisibility::Public,
        text: body,
        attachments,
    });
    match execute(
        &ctx.store,
        ctx.clock.as_ref(),
        &ticket_id,
        &context(ctx, user_id, update_id),
        command,
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(CommandError::Refused(TicketError::Closed)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[allow(clippy::too_many_arguments)]
async fn open_new(
    ctx: &BotContext,
    user: &User,
    chat: i64,
    tg_ids: &[i64],
    text: &str,
    attachments: Vec<tgcrm_domain::values::Attachment>,
    category: Option<String>,
    follows_up: Option<TicketId>,
    update_id: u32,
) -> anyhow::Result<()> {
    let Some(customer) = customer_of(user) else {
        return Ok(());
    };
    let Some(first) = tg_ids.first() else {
        return Ok(());
    };
    let user_id = customer.telegram_user_id.get();
    let Ok(body) = MessageText::parse_with_attachments(text, !attachments.is_empty()) else {
        reply(ctx, chat, &ctx.config.description_prompt).await;
        return Ok(());
    };
    let subject = Subject::from_first_line(text)
        .or_else(|_| Subject::parse("(attachment)"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let key = format!("tg:{chat}:{first}");
    let ticket_id = TicketId::from_idempotency_key(&ctx.config.workspace, &key);
    let message_id = MessageId::from_idempotency_key(&ctx.config.workspace, &key);
    let mut fields = Fields::default();
    if let (Some(c), Ok(k)) = (category, FieldKey::parse("category")) {
        fields.insert(k, serde_json::Value::String(c));
    }
    for id in tg_ids {
        tables::link(
            ctx.store.db(),
            chat,
            *id,
            &ticket_id.to_string(),
            &message_id.to_string(),
        )
        .await?;
    }
    let command = TicketCommand::Open(OpenTicket {
        ticket_id,
        workspace_id: ctx.config.workspace.clone(),
        subject,
        customer,
        priority: Priority::Normal,
        channel: Channel::Telegram,
        tags: Default::default(),
        fields,
        first_message: AddMessage {
            message_id,
            author: Author::Customer,
            visibility: MessageVisibility::Public,
            text: body,
            attachments,
        },
        follows_up,
    });
    execute(
        &ctx.store,
        ctx.clock.as_ref(),
        &ticket_id,
        &context(ctx, user_id, update_id),
        command,
    )
    .await?;
    tables::save_customer(
        ctx.store.db(),
        ctx.workspace(),
        user_id,
        chat,
        Some(&ticket_id.to_string()),
        None,
        ctx.clock.now(),
    )
    .await?;
    Ok(())
}

pub async fn on_callback(ctx: &BotContext, q: CallbackQuery, update_id: u32) -> anyhow::Result<()> {
    let user_id = i64::try_from(q.from.id.0)?;
    let answer = crate::outbound::call(ctx, user_id, || {
        ctx.bot.answer_callback_query(q.id.clone()).send()
    })
    .await;
    if let Err(e) = answer {
        tracing::debug!(error = %e, "answerCallbackQuery failed");
    }
    let Some(data) = q.data.as_deref() else {
        return Ok(());
    };
    let Some(index) = data
        .strip_prefix("intake:category:")
        .and_then(|i| i.parse::<usize>().ok())
    else {
        return Ok(());
    };
    let Some(category) = ctx.config.categories.get(index).cloned() else {
        return Ok(());
    };
    let chat = q.message.as_ref().map(|m| m.chat().id.0).unwrap_or(user_id);
    let (open_id, _) = open_ticket_of(ctx, user_id).await?;
    if open_id.is_some() {
        return Ok(());
    }
    let row = tables::customer(ctx.store.db(), ctx.workspace(), user_id).await?;
    let mut intake = row.as_ref().and_then(|r| r.intake()).unwrap_or_default();
    intake.category = Some(category.clone());
    if let Some(draft) = intake.draft.clone() {
        let first = intake.draft_message_id.unwrap_or(i64::from(update_id));
        return open_new(
            ctx,
            &q.from,
            chat,
            &[first],
            &draft,
            vec![],
            Some(category),
            None,
            update_id,
        )
        .await;
    }
    tables::save_customer(
        ctx.store.db(),
        ctx.workspace(),
        user_id,
        chat,
        None,
        Some(&intake),
        ctx.clock.now(),
    )
    .await?;
    reply(ctx, chat, &ctx.config.description_prompt).await;
    Ok(())
}

pub async fn on_edit(ctx: &BotContext, m: &Message, update_id: u32) -> anyhow::Result<()> {
    let Some(user) = m.from.as_ref() else {
        return Ok(());
    };
    let user_id = i64::try_from(user.id.0)?;
    let Some(link) =
        tables::link_by_telegram(ctx.store.db(), m.chat.id.0, i64::from(m.id.0)).await?
    else {
        return Ok(());
    };
    let Ok(text) = MessageText::parse(&text_of(m)) else {
        return Ok(());
    };
    let (Ok(ticket_id), Ok(message_id)) = (
        link.ticket_id.parse::<TicketId>(),
        link.message_id.parse::<MessageId>(),
    ) else {
        return Ok(());
    };
    let command = TicketCommand::EditMessage(EditMessage {
        message_id,
        editor: Author::Customer,
        text,
    });
    match execute(
        &ctx.store,
        ctx.clock.as_ref(),
        &ticket_id,
        &context(ctx, user_id, update_id),
        command,
    )
    .await
    {
        Ok(_) | Err(CommandError::Refused(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

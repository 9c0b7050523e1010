//! Agents in the forum supergroup: a message in a ticket's topic is a public
//! reply to the customer, authored by the agent; commands change the ticket.
//! Messages from people who are not agents are ignored and logged.

use teloxide::prelude::*;
use teloxide::types::Message;
use tgcrm_domain::ticket::{
    AddMessage, Assign, Author, ChangePriority, ChangeStatus, EditMessage, MessageVisibility,
    TicketCommand,
};
use tgcrm_domain::values::{MessageText, Status};
use tgcrm_domain::{MessageId, TicketId};
use tgcrm_store::commands::CommandContext;
use tgcrm_store::tickets::{CommandError, execute};

use super::commands::{HELP, TopicCommand, parse};
use super::media::{attachments_of, text_of};
use super::metadata;
use crate::adapter::BotContext;
use crate::agents::{self, KnownAgent};
use crate::tables::{self, TopicRow};

async fn answer(ctx: &BotContext, topic: &TopicRow, text: &str) {
    let thread = teloxide::types::ThreadId(teloxide::types::MessageId(
        i32::try_from(topic.thread_id).unwrap_or_default(),
    ));
    let r = crate::outbound::call(ctx, topic.chat_id, || {
        ctx.bot
            .send_message(ChatId(topic.chat_id), text.to_owned())
            .message_thread_id(thread)
            .send()
    })
    .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not answer in the topic");
    }
}

/// The topic and agent behind a group message, or `None` to ignore it.
async fn who_and_where(
    ctx: &BotContext,
    m: &Message,
) -> anyhow::Result<Option<(TopicRow, KnownAgent)>> {
    if !m.is_topic_message || m.forum_topic_created().is_some() {
        return Ok(None);
    }
    let Some(thread) = m.thread_id else {
        return Ok(None);
    };
    let Some(from) = m.from.as_ref().filter(|u| !u.is_bot) else {
        return Ok(None);
    };
    let Some(topic) =
        tables::topic_by_thread(ctx.store.db(), m.chat.id.0, i64::from(thread.0.0)).await?
    else {
        tracing::debug!(
            thread = thread.0.0,
            "message in a topic that is not a ticket's; ignored"
        );
        return Ok(None);
    };
    let user = i64::try_from(from.id.0)?;
    let Some(agent) = agents::by_telegram_id(ctx.store.db(), ctx.workspace(), user).await? else {
        tracing::info!(
            telegram_user_id = user,
            "message in a ticket topic from someone who is not an agent; ignored"
        );
        return Ok(None);
    };
    Ok(Some((topic, agent)))
}

fn refusal_text(e: &CommandError) -> Option<String> {
    match e {
        CommandError::Refused(r) => Some(format!("⛔ {r}")),
        CommandError::NotFound => Some("⛔ this ticket no longer exists".into()),
        _ => None,
    }
}

pub async fn on_message(ctx: &BotContext, m: &Message, update_id: u32) -> anyhow::Result<()> {
    let Some((topic, agent)) = who_and_where(ctx, m).await? else {
        return Ok(());
    };
    let Ok(ticket_id) = topic.ticket_id.parse::<TicketId>() else {
        return Ok(());
    };
    let chat = m.chat.id.0;
    let text = text_of(m);
    let attachments = attachments_of(m);
    let message_id =
        MessageId::from_idempotency_key(&ctx.config.workspace, &format!("tg:{chat}:{}", m.id.0));
    let command = match parse(&text) {
        None => {
            let Ok(body) = MessageText::parse_with_attachments(&text, !attachments.is_empty())
            else {
                return Ok(());
            };
            tables::link(
                ctx.store.db(),
                chat,
                i64::from(m.id.0),
                &topic.ticket_id,
                &message_id.to_string(),
            )
            .await?;
            TicketCommand::AddMessage(AddMessage {
                message_id,
                author: Author::Agent {
                    agent_id: agent.agent_id,
                },
                visibility: MessageVisibility::Public,
                text: body,
                attachments,
            })
        }
        Some(TopicCommand::Note(note)) => {
            let Ok(body) = MessageText::parse(&note) else {
                answer(ctx, &topic, "Usage: /note <text>").await;
                return Ok(());
            };
            tables::link(
                ctx.store.db(),
                chat,
                i64::from(m.id.0),
                &topic.ticket_id,
                &message_id.to_string(),
            )
            .await?;
            TicketCommand::AddMessage(AddMessage {
                message_id,
                author: Author::Agent {
                    agent_id: agent.agent_id,
                },
                visibility: MessageVisibility::Internal,
                text: body,
                attachments: vec![],
            })
        }
        Some(TopicCommand::AssignMe) => TicketCommand::Assign(Assign {
            agent: Some(agent.agent_id),
            team: None,
            note: None,
        }),
        Some(TopicCommand::Assign(username)) => {
            match agents::by_username(ctx.store.db(), ctx.workspace(), &username).await? {
                Some(a) => TicketCommand::Assign(Assign {
                    agent: Some(a.agent_id),
                    team: None,
                    note: None,
                }),
                None => {
                    answer(
                        ctx,
                        &topic,
                        &format!("⛔ no agent with the Telegram username @{username}"),
                    )
                    .await;
                    return Ok(());
                }
            }
        }
        Some(TopicCommand::Status(Ok(to))) => {
            TicketCommand::ChangeStatus(ChangeStatus { to, reason: None })
        }
        Some(TopicCommand::Status(Err(reason))) | Some(TopicCommand::Priority(Err(reason))) => {
            answer(ctx, &topic, &format!("⛔ {reason}")).await;
            return Ok(());
        }
        Some(TopicCommand::Priority(Ok(to))) => {
            TicketCommand::ChangePriority(ChangePriority { to })
        }
        Some(TopicCommand::Resolve) => TicketCommand::ChangeStatus(ChangeStatus {
            to: Status::Resolved,
            reason: None,
        }),
        Some(TopicCommand::Close) => TicketCommand::ChangeStatus(ChangeStatus {
            to: Status::Closed,
            reason: None,
        }),
        Some(TopicCommand::Canned(name)) => {
            // Not linked to the "/canned" message: the rendered text is what
            // the customer gets, and the topic shows it.
            match super::canned::command(ctx, &ticket_id, &name, &agent, message_id).await? {
                Ok(command) => command,
                Err(reason) => {
                    answer(ctx, &topic, &reason).await;
                    return Ok(());
                }
            }
        }
        Some(TopicCommand::Help) => {
            answer(ctx, &topic, HELP).await;
            return Ok(());
        }
        Some(TopicCommand::Unknown(name)) => {
            answer(ctx, &topic, &format!("⛔ unknown command /{name}. {HELP}")).await;
            return Ok(());
        }
    };
    let cctx = CommandContext {
        workspace_id: ctx.config.workspace.clone(),
        metadata: metadata(format!("agent:{}", agent.agent_id), update_id),
        expected_version: None,
    };
    match execute(&ctx.store, ctx.clock.as_ref(), &ticket_id, &cctx, command).await {
        Ok(_) => Ok(()),
        Err(e) => match refusal_text(&e) {
            Some(text) => {
                answer(ctx, &topic, &text).await;
                Ok(())
            }
            None => Err(e.into()),
        },
    }
}

pub async fn on_edit(ctx: &BotContext, m: &Message, update_id: u32) -> anyhow::Result<()> {
    let Some((topic, agent)) = who_and_where(ctx, m).await? else {
        return Ok(());
    };
    let Some(link) =
        tables::link_by_telegram(ctx.store.db(), m.chat.id.0, i64::from(m.id.0)).await?
    else {
        return Ok(());
    };
    let (Ok(ticket_id), Ok(message_id)) = (
        topic.ticket_id.parse::<TicketId>(),
        link.message_id.parse::<MessageId>(),
    ) else {
        return Ok(());
    };
    let Ok(text) = MessageText::parse(&text_of(m)) else {
        return Ok(());
    };
    let cctx = CommandContext {
        workspace_id: ctx.config.workspace.clone(),
        metadata: metadata(format!("agent:{}", agent.agent_id), update_id),
        expected_version: None,
    };
    let command = TicketCommand::EditMessage(EditMessage {
        message_id,
        editor: Author::Agent {
            agent_id: agent.agent_id,
        },
        text,
    });
    match execute(&ctx.store, ctx.clock.as_ref(), &ticket_id, &cctx, command).await {
        Ok(_) | Err(CommandError::Refused(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

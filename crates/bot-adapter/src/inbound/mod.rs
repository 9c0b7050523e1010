//! Updates from Telegram become commands: customers' private chats (intake
//! form, messages, edits) and agents' messages and commands in ticket topics.

mod agent;
mod canned;
mod commands;
mod customer;
mod media;

use teloxide::types::{Update, UpdateKind};
use tgcrm_store::{Metadata, Source};

use crate::adapter::BotContext;

/// Handle one update. Errors are infrastructure failures worth retrying;
/// refusals are answered in the chat and are not errors.
pub async fn handle_update(ctx: &BotContext, update: Update) -> anyhow::Result<()> {
    let update_id = update.id.0;
    match update.kind {
        UpdateKind::Message(m) => {
            if m.chat.is_private() {
                customer::on_message(ctx, m, update_id).await
            } else if m.chat.id.0 == ctx.config.support_chat_id {
                agent::on_message(ctx, &m, update_id).await
            } else {
                tracing::debug!(
                    chat_id = m.chat.id.0,
                    "message from a chat the bot does not serve; ignored"
                );
                Ok(())
            }
        }
        UpdateKind::EditedMessage(m) => {
            if m.chat.is_private() {
                customer::on_edit(ctx, &m, update_id).await
            } else if m.chat.id.0 == ctx.config.support_chat_id {
                agent::on_edit(ctx, &m, update_id).await
            } else {
                Ok(())
            }
        }
        UpdateKind::CallbackQuery(q) => customer::on_callback(ctx, q, update_id).await,
        _ => Ok(()),
    }
}

/// Event metadata for a command caused by a Telegram update.
pub(crate) fn metadata(actor: String, update_id: u32) -> Metadata {
    let mut m = Metadata::new(actor, Source::Telegram);
    m.correlation_id = Some(format!("tg-update:{update_id}"));
    m.request_id = Some(format!("tg-update:{update_id}"));
    m
}

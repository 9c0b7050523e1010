//! Long polling: `getUpdates` with an advancing offset, kept in the database
//! so a restart resumes where it stopped. One poller across processes
//! (advisory lock); updates are handled one after another, in order.

use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::AllowedUpdate;
use tgcrm_store::shutdown::Stop;

use crate::adapter::BotContext;
use crate::inbound::handle_update;
use crate::tables;

const OFFSET_KEY: &str = "polling_offset";
/// Attempts at one update before it is skipped (a poison update must not stop the bot).
const ATTEMPTS: usize = 5;

pub async fn run(ctx: BotContext, stop: Stop) {
    let db = ctx.store.db().clone();
    let _lock = loop {
        match tgcrm_projections::lock::try_acquire(&db, "telegram_poller").await {
            Ok(Some(l)) => break l,
            Ok(None) => tracing::debug!("another process polls Telegram; standing by"),
            Err(e) => tracing::warn!(error = %e, "could not take the poller lock"),
        }
        if stop.sleep_or_stop(Duration::from_secs(2)).await {
            return;
        }
    };
    let mut offset: i32 = match tables::state(&db, OFFSET_KEY).await {
        Ok(v) => v.and_then(|v| v.parse().ok()).unwrap_or(0),
        Err(e) => {
            tracing::error!(error = %e, "could not read the polling offset");
            0
        }
    };
    match ctx.bot.get_me().send().await {
        Ok(me) => tracing::info!(bot = %me.username(), "polling Telegram"),
        Err(e) => tracing::warn!(error = %e, "getMe failed; polling anyway"),
    }
    if let Err(e) = ctx.bot.delete_webhook().send().await {
        tracing::debug!(error = %e, "deleteWebhook failed");
    }
    loop {
        if stop.is_stopped() {
            return;
        }
        let request = ctx
            .bot
            .get_updates()
            .offset(offset)
            .timeout(ctx.config.poll_timeout_secs)
            .allowed_updates(vec![
                AllowedUpdate::Message,
                AllowedUpdate::EditedMessage,
                AllowedUpdate::CallbackQuery,
            ])
            .send();
        let updates = tokio::select! {
            _ = stop.stopped() => return,
            r = request => r,
        };
        let updates = match updates {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(error = %e, "getUpdates failed");
                if stop.sleep_or_stop(Duration::from_secs(1)).await {
                    return;
                }
                continue;
            }
        };
        for update in updates {
            let id = i32::try_from(update.id.0).unwrap_or(i32::MAX);
            for attempt in 1..=ATTEMPTS {
                match handle_update(&ctx, update.clone()).await {
                    Ok(()) => break,
                    Err(e) if attempt < ATTEMPTS => {
                        tracing::warn!(update_id = id, attempt, error = ?e, "handling an update failed; retrying");
                        if stop
                            .sleep_or_stop(Duration::from_millis(200 * attempt as u64))
                            .await
                        {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::error!(update_id = id, error = ?e, "update skipped after repeated failures")
                    }
                }
            }
            offset = id.saturating_add(1);
            if let Err(e) = tables::set_state(&db, OFFSET_KEY, &offset.to_string()).await {
                tracing::warn!(error = %e, "could not save the polling offset");
            }
        }
    }
}

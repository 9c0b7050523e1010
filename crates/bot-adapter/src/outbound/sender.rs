//! One Bot API call with the failure handling every send needs: paced per
//! chat, 429 waited out and retried (never dropped), and the errors that need
//! a decision (blocked, topic gone, topic closed) told apart.

use std::future::Future;
use std::time::Duration;

use teloxide::{ApiError, RequestError};

use crate::adapter::BotContext;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the customer blocked the bot")]
    Blocked,
    #[error("the topic no longer exists")]
    ThreadNotFound,
    #[error("the topic is closed")]
    TopicClosed,
    #[error(transparent)]
    Other(#[from] RequestError),
}

/// How often a 429 is waited out before giving up on this attempt (the
/// reactor retries the event later; nothing is dropped).
const MAX_RATE_LIMIT_WAITS: usize = 20;

pub async fn call<T, F, Fut>(ctx: &BotContext, chat_id: i64, f: F) -> Result<T, SendError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, RequestError>>,
{
    let mut waits = 0;
    loop {
        ctx.pacer.wait_turn(chat_id).await;
        match f().await {
            Ok(v) => {
                metrics_sent(chat_id, "ok");
                return Ok(v);
            }
            Err(RequestError::RetryAfter(secs)) if waits < MAX_RATE_LIMIT_WAITS => {
                waits += 1;
                metrics_sent(chat_id, "rate_limited");
                let d: Duration = secs.duration();
                tracing::warn!(chat_id, retry_after = ?d, "telegram asked us to slow down");
                ctx.pacer.hold(chat_id, d).await;
            }
            Err(RequestError::Api(ApiError::BotBlocked)) => {
                metrics_sent(chat_id, "blocked");
                return Err(SendError::Blocked);
            }
            Err(RequestError::Api(ApiError::Unknown(text)))
                if text.contains("message thread not found") =>
            {
                return Err(SendError::ThreadNotFound);
            }
            Err(RequestError::Api(ApiError::Unknown(text))) if text.contains("TOPIC_CLOSED") => {
                return Err(SendError::TopicClosed);
            }
            Err(e) => {
                metrics_sent(chat_id, "error");
                return Err(SendError::Other(e));
            }
        }
    }
}

fn metrics_sent(chat_id: i64, outcome: &'static str) {
    let kind = if chat_id < 0 { "group" } else { "private" };
    metrics::counter!("telegram_calls_total", "chat" => kind, "outcome" => outcome).increment(1);
}

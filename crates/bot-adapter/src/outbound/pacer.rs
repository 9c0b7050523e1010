//! Send pacing: Telegram allows about one message a second into a chat and
//! about twenty a minute into one group; every ticket topic shares its
//! group's budget. Each send waits for its chat's next free slot.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

pub struct Pacer {
    private_interval: Duration,
    group_interval: Duration,
    next_free: Mutex<HashMap<i64, Instant>>,
}

impl Pacer {
    pub fn new(private_ms: u64, group_ms: u64) -> Self {
        Self {
            private_interval: Duration::from_millis(private_ms),
            group_interval: Duration::from_millis(group_ms),
            next_free: Mutex::new(HashMap::new()),
        }
    }

    /// Wait for `chat_id`'s turn and book the slot after it.
    pub async fn wait_turn(&self, chat_id: i64) {
        let interval = if chat_id < 0 {
            self.group_interval
        } else {
            self.private_interval
        };
        let at = {
            let mut map = self.next_free.lock().await;
            let now = Instant::now();
            let slot = map
                .get(&chat_id)
                .copied()
                .filter(|t| *t > now)
                .unwrap_or(now);
            map.insert(chat_id, slot + interval);
            if map.len() > 10_000 {
                map.retain(|_, t| *t > now);
            }
            slot
        };
        tokio::time::sleep_until(at).await;
    }

    /// After a 429: nothing more to this chat until `retry_after` has passed.
    pub async fn hold(&self, chat_id: i64, retry_after: Duration) {
        let mut map = self.next_free.lock().await;
        let until = Instant::now() + retry_after;
        let e = map.entry(chat_id).or_insert(until);
        if *e < until {
            *e = until;
        }
    }
}

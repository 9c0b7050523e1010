//! Bot settings from the environment. The bot runs only when
//! `TELEGRAM_BOT_TOKEN` is set.

use secrecy::{ExposeSecret, SecretString};
use tgcrm_domain::WorkspaceId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `getUpdates` long polling (default).
    Polling,
    /// Updates POSTed by Telegram to `/telegram/webhook`, checked with the secret token header.
    Webhook,
}

#[derive(Clone)]
pub struct BotConfig {
    pub token: SecretString,
    /// The agents' forum supergroup (`TELEGRAM_SUPPORT_CHAT_ID`).
    pub support_chat_id: i64,
    /// Bot API base URL (`TELEGRAM_API_URL`).
    pub api_url: String,
    pub mode: Mode,
    /// `TELEGRAM_WEBHOOK_SECRET`: the `X-Telegram-Bot-Api-Secret-Token` to expect.
    pub webhook_secret: Option<SecretString>,
    /// The workspace the bot serves (`TELEGRAM_WORKSPACE`, default `default`).
    pub workspace: WorkspaceId,
    /// Intake form categories (`TELEGRAM_INTAKE_CATEGORIES`, comma-separated; empty skips the step).
    pub categories: Vec<String>,
    /// `TELEGRAM_GREETING`.
    pub greeting: String,
    /// `TELEGRAM_CATEGORY_PROMPT`.
    pub category_prompt: String,
    /// `TELEGRAM_DESCRIPTION_PROMPT`.
    pub description_prompt: String,
    /// Topic name template (`TELEGRAM_TOPIC_TEMPLATE`): `{status}`, `{id}`, `{subject}`, `{customer}`.
    pub topic_template: String,
    /// Long-poll timeout in seconds (below teloxide's 17 s client timeout).
    pub poll_timeout_secs: u32,
    /// Pause between sends into one private chat, and into the group, in milliseconds.
    pub private_chat_interval_ms: u64,
    pub group_interval_ms: u64,
}

impl std::fmt::Debug for BotConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotConfig")
            .field("support_chat_id", &self.support_chat_id)
            .field("api_url", &self.api_url)
            .field("mode", &self.mode)
            .field("workspace", &self.workspace)
            .finish_non_exhaustive()
    }
}

pub const DEFAULT_API_URL: &str = "https://api.telegram.org/";

impl BotConfig {
    /// Defaults for everything but the token and the group.
    pub fn new(token: &str, support_chat_id: i64) -> Self {
        Self {
            token: SecretString::from(token.to_owned()),
            support_chat_id,
            api_url: DEFAULT_API_URL.to_owned(),
            mode: Mode::Polling,
            webhook_secret: None,
            workspace: WorkspaceId::default(),
            categories: vec!["Billing".into(), "Technical".into(), "Other".into()],
            greeting:
                "Hello! This is support. Tell us what happened and we will get back to you here."
                    .into(),
            category_prompt: "What is your question about?".into(),
            description_prompt: "Please describe your problem in a message.".into(),
            topic_template: "{status} {id} {subject} · {customer}".into(),
            poll_timeout_secs: 10,
            private_chat_interval_ms: 1_000,
            group_interval_ms: 3_000,
        }
    }

    /// `None` when `TELEGRAM_BOT_TOKEN` is unset.
    pub fn from_env() -> anyhow::Result<Option<Self>> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let Some(token) = var("TELEGRAM_BOT_TOKEN") else {
            return Ok(None);
        };
        let chat: i64 = var("TELEGRAM_SUPPORT_CHAT_ID")
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "TELEGRAM_SUPPORT_CHAT_ID is required when TELEGRAM_BOT_TOKEN is set"
                )
            })?
            .parse()
            .map_err(|_| {
                anyhow::anyhow!("TELEGRAM_SUPPORT_CHAT_ID must be a chat id like -1001234567890")
            })?;
        let mut c = Self::new(&token, chat);
        if let Some(u) = var("TELEGRAM_API_URL") {
            c.api_url = if u.ends_with('/') { u } else { format!("{u}/") };
        }
        c.mode = match var("TELEGRAM_MODE").as_deref() {
            None | Some("polling") => Mode::Polling,
            Some("webhook") => Mode::Webhook,
            Some(other) => anyhow::bail!("TELEGRAM_MODE must be polling or webhook, not {other}"),
        };
        c.webhook_secret = var("TELEGRAM_WEBHOOK_SECRET").map(SecretString::from);
        if c.mode == Mode::Webhook && c.webhook_secret.is_none() {
            anyhow::bail!("TELEGRAM_WEBHOOK_SECRET is required in webhook mode");
        }
        if let Some(w) = var("TELEGRAM_WORKSPACE") {
            c.workspace = WorkspaceId::parse(&w)
                .map_err(|e| anyhow::anyhow!("TELEGRAM_WORKSPACE {}", e.reason))?;
        }
        if let Ok(cats) = std::env::var("TELEGRAM_INTAKE_CATEGORIES") {
            c.categories = cats
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(g) = var("TELEGRAM_GREETING") {
            c.greeting = g;
        }
        if let Some(g) = var("TELEGRAM_CATEGORY_PROMPT") {
            c.category_prompt = g;
        }
        if let Some(g) = var("TELEGRAM_DESCRIPTION_PROMPT") {
            c.description_prompt = g;
        }
        if let Some(t) = var("TELEGRAM_TOPIC_TEMPLATE") {
            c.topic_template = t;
        }
        for (key, slot) in [
            (
                "TELEGRAM_PRIVATE_CHAT_INTERVAL_MS",
                &mut c.private_chat_interval_ms,
            ),
            ("TELEGRAM_GROUP_INTERVAL_MS", &mut c.group_interval_ms),
        ] {
            if let Some(v) = var(key) {
                *slot = v
                    .parse()
                    .map_err(|_| anyhow::anyhow!("{key} must be a number of milliseconds"))?;
            }
        }
        Ok(Some(c))
    }

    pub fn token(&self) -> &str {
        self.token.expose_secret()
    }

    pub fn webhook_secret(&self) -> Option<&str> {
        self.webhook_secret.as_ref().map(|s| s.expose_secret())
    }
}

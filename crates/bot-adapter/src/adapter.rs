//! Wiring: the shared context, and starting the inbound side (polling) and the
//! outbound reactor.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use teloxide::Bot;
use teloxide::types::Message;
use tgcrm_domain::Clock;
use tgcrm_reactors::runner::{self, ReactorConfig};
use tgcrm_store::EventStore;
use tgcrm_store::shutdown::Stop;

use crate::config::{BotConfig, Mode};
use crate::outbound::{OutboundReactor, Pacer};

/// What inbound and outbound handlers share.
#[derive(Clone)]
pub struct BotContext {
    pub bot: Bot,
    pub config: Arc<BotConfig>,
    pub store: EventStore,
    pub clock: Arc<dyn Clock>,
    /// Album parts waiting to be relayed together, by media group id.
    pub albums: Arc<Mutex<HashMap<String, Vec<Message>>>>,
    pub pacer: Arc<Pacer>,
}

impl BotContext {
    pub fn new(
        config: BotConfig,
        store: EventStore,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let url = reqwest_url(&config.api_url)?;
        let bot = Bot::new(config.token()).set_api_url(url);
        let pacer = Arc::new(Pacer::new(
            config.private_chat_interval_ms,
            config.group_interval_ms,
        ));
        Ok(Self {
            bot,
            config: Arc::new(config),
            store,
            clock,
            albums: Arc::default(),
            pacer,
        })
    }

    pub fn workspace(&self) -> &str {
        self.config.workspace.as_str()
    }
}

fn reqwest_url(raw: &str) -> anyhow::Result<reqwest::Url> {
    reqwest::Url::parse(raw)
        .map_err(|e| anyhow::anyhow!("TELEGRAM_API_URL {raw:?} is not a URL: {e}"))
}

/// The running bot: its tasks end when `stop` fires.
pub struct BotAdapter {
    pub context: BotContext,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl BotAdapter {
    pub fn start(context: BotContext, stop: Stop) -> Self {
        let mut tasks = Vec::new();
        let reactor = Arc::new(OutboundReactor::new(context.clone()));
        tasks.push(tokio::spawn(runner::run(
            context.store.clone(),
            reactor,
            context.clock.clone(),
            ReactorConfig {
                poll_interval: std::time::Duration::from_millis(200),
                ..ReactorConfig::default()
            },
            stop.clone(),
        )));
        if context.config.mode == Mode::Polling {
            tasks.push(tokio::spawn(crate::polling::run(context.clone(), stop)));
        }
        tracing::info!(mode = ?context.config.mode, workspace = %context.workspace(), "telegram bot started");
        Self { context, tasks }
    }
}

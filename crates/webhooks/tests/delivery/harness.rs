//! The webhook router and worker against a real database and a real receiver.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tgcrm_domain::ticket::{
    AddMessage, Author, ChangeStatus, Channel, MessageVisibility, OpenTicket, TicketCommand,
};
use tgcrm_domain::values::{
    Customer, CustomerName, Fields, MessageText, Priority, Status, Subject, TelegramUserId,
    TelegramUsername,
};
use tgcrm_domain::{Clock, MessageId, TicketId, WorkspaceId};
use tgcrm_projections::Consistency;
use tgcrm_projections::runner::RunnerConfig;
use tgcrm_store::commands::CommandContext;
use tgcrm_store::shutdown::{StopHandle, stop_signal};
use tgcrm_store::{Db, EventStore, Metadata, Source, SystemClock};
use tgcrm_webhooks::WebhookConfig;
use tgcrm_webhooks::app::{self, NewEndpoint};
use tgcrm_webhooks::endpoint::{EndpointId, EventTypes, WebhookEndpoint, WebhookUrl};
use tgcrm_webhooks::testing::Receiver;

/// A fresh, migrated database per test from the testkit: Postgres
/// (`TEST_DATABASE_URL`, else the local server; dropped afterwards, kept if
/// the test fails) or SQLite in a temporary directory.
pub struct TestDb(tgcrm_testkit::TestDb);

impl TestDb {
    pub fn db(&self) -> &Db {
        &self.0.db
    }

    pub async fn postgres() -> Self {
        Self(tgcrm_testkit::postgres().await)
    }

    pub async fn sqlite() -> Self {
        Self(tgcrm_testkit::sqlite().await)
    }
}

pub const WS: &str = "acme";

/// Short schedules: tests never wait real minutes.
pub fn fast_config() -> WebhookConfig {
    WebhookConfig {
        retry_schedule: vec![Duration::from_millis(100); 3],
        jitter: 0.0,
        timeout: Duration::from_secs(5),
        allow_private: true,
        disable_after: Duration::from_secs(3600),
        concurrency: 8,
        poll_interval: Duration::from_millis(30),
        ..WebhookConfig::default()
    }
}

pub struct Harness {
    pub db: Db,
    pub store: EventStore,
    pub clock: Arc<dyn Clock>,
    pub receiver: Receiver,
    pub config: WebhookConfig,
    stop: Option<StopHandle>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _test_db: TestDb,
}

impl Harness {
    pub async fn start(test_db: TestDb, config: WebhookConfig) -> Self {
        let db = test_db.db().clone();
        let store = EventStore::new(db.clone());
        let mut h = Self {
            db,
            store,
            clock: Arc::new(SystemClock),
            receiver: Receiver::start().await,
            config,
            stop: None,
            tasks: vec![],
            _test_db: test_db,
        };
        h.start_workers();
        h
    }

    /// Start the router and worker (again).
    pub fn start_workers(&mut self) {
        let (stop, stopped) = stop_signal();
        self.tasks = tgcrm_webhooks::start(
            &self.store,
            &Consistency::default(),
            self.clock.clone(),
            Arc::new(SystemClock),
            self.config.clone(),
            RunnerConfig {
                batch_size: 500,
                poll_interval: Duration::from_millis(30),
            },
            &stopped,
        )
        .unwrap();
        self.stop = Some(stop);
    }

    /// Stop the router and worker as a shutdown would (in-flight attempts are abandoned).
    pub async fn stop_workers(&mut self) {
        if let Some(s) = self.stop.take() {
            s.stop();
        }
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }

    fn ctx(&self) -> CommandContext {
        CommandContext {
            workspace_id: WorkspaceId::parse(WS).unwrap(),
            metadata: Metadata::new("token:test", Source::Api),
            expected_version: None,
        }
    }

    /// Subscribe hook `name` of the receiver; returns its id and secret.
    pub async fn endpoint(&self, name: &str, types: &[&str]) -> (EndpointId, String) {
        let (outcome, secret) = app::create(
            &self.store,
            self.clock.as_ref(),
            &self.ctx(),
            NewEndpoint {
                url: WebhookUrl::parse(&self.receiver.url(name)).unwrap(),
                event_types: EventTypes::parse(
                    &types.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                )
                .unwrap(),
                description: None,
                active: true,
            },
            true,
        )
        .await
        .unwrap();
        (outcome.state.id.unwrap(), secret.expose().to_owned())
    }

    pub async fn endpoint_state(&self, id: &EndpointId) -> WebhookEndpoint {
        tgcrm_store::load::load::<WebhookEndpoint>(&self.db, &id.to_string())
            .await
            .unwrap()
            .state
    }

    async fn ticket(&self, id: &TicketId, c: TicketCommand) {
        tgcrm_store::tickets::execute(&self.store, self.clock.as_ref(), id, &self.ctx(), c)
            .await
            .unwrap();
    }

    pub async fn open_ticket(&self, subject: &str) -> TicketId {
        let id = TicketId::new();
        self.ticket(
            &id,
            TicketCommand::Open(OpenTicket {
                ticket_id: id,
                workspace_id: WorkspaceId::parse(WS).unwrap(),
                subject: Subject::parse(subject).unwrap(),
                customer: Customer {
                    telegram_user_id: TelegramUserId::parse(4242).unwrap(),
                    name: CustomerName::parse("Ivan Petrov").unwrap(),
                    username: Some(TelegramUsername::parse("ivanp").unwrap()),
                },
                priority: Priority::Normal,
                channel: Channel::Api,
                tags: BTreeSet::new(),
                fields: Fields::default(),
                first_message: AddMessage {
                    message_id: MessageId::new(),
                    author: Author::Customer,
                    visibility: MessageVisibility::Public,
                    text: MessageText::parse("My order is late").unwrap(),
                    attachments: vec![],
                },
                follows_up: None,
            }),
        )
        .await;
        id
    }

    pub async fn message(&self, id: &TicketId, text: &str) {
        self.ticket(
            id,
            TicketCommand::AddMessage(AddMessage {
                message_id: MessageId::new(),
                author: Author::Staff {
                    token_id: "tok_1".into(),
                },
                visibility: MessageVisibility::Public,
                text: MessageText::parse(text).unwrap(),
                attachments: vec![],
            }),
        )
        .await;
    }

    pub async fn status(&self, id: &TicketId, to: Status) {
        self.ticket(
            id,
            TicketCommand::ChangeStatus(ChangeStatus { to, reason: None }),
        )
        .await;
    }

    /// Erase the test customer (telegram user 4242), as `POST /v1/customers/{id}/erase` does.
    pub async fn erase_customer(&self) {
        tgcrm_store::personal::erase(
            &self.db,
            WS,
            &tgcrm_store::personal::subject_for(4242),
            4242,
            &Metadata::new("token:test", Source::Api),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    }

    /// Wait until `pred` holds for delivery rows of `endpoint`.
    pub async fn wait_rows(
        &self,
        endpoint: &EndpointId,
        timeout: Duration,
        pred: impl Fn(&[Row]) -> bool,
    ) -> Vec<Row> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let rows = self.rows(endpoint).await;
            if pred(&rows) || std::time::Instant::now() >= deadline {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn rows(&self, endpoint: &EndpointId) -> Vec<Row> {
        self.db
            .fetch_all(
                "SELECT delivery_id, status, attempt_count, origin, dead_reason \
                 FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY seq",
                tgcrm_store::args![endpoint.to_string()],
            )
            .await
            .unwrap()
    }

    pub async fn event_types_in_log(&self, aggregate_id: &str) -> Vec<String> {
        #[derive(sqlx::FromRow)]
        struct T {
            event_type: String,
        }
        let rows: Vec<T> = self
            .db
            .fetch_all(
                "SELECT event_type FROM events WHERE aggregate_id = $1 ORDER BY sequence",
                tgcrm_store::args![aggregate_id],
            )
            .await
            .unwrap();
        rows.into_iter().map(|r| r.event_type).collect()
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub delivery_id: String,
    pub status: String,
    pub attempt_count: i64,
    pub origin: String,
    pub dead_reason: Option<String>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            s.stop();
        }
    }
}

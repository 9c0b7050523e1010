use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tgcrm_bot_adapter::BotConfig;
use tgcrm_domain::{Clock, ManualClock};
use tgcrm_fake_telegram::FakeBotApi;
use tgcrm_projections::runner::RunnerConfig;
use tgcrm_server::startup::Application;
use tgcrm_store::Db;
use tgcrm_testkit::TestDb;

pub const GROUP: i64 = -1_001_987_654_321;

#[allow(dead_code)]
pub struct TestBot {
    pub telegram: FakeBotApi,
    pub db: Db,
    pub address: String,
    pub clock: ManualClock,
    pub handle: actix_web::dev::ServerHandle,
    /// Owns the database: dropped with the bot (kept if the test fails).
    _test_db: TestDb,
    next_update: std::sync::atomic::AtomicI64,
    next_message: std::sync::atomic::AtomicI64,
}

/// Run a test body against the real server on SQLite and on Postgres.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                ($body)($crate::helpers::spawn_on(false, |_| {}).await).await
            }
            #[tokio::test]
            async fn postgres() {
                ($body)($crate::helpers::spawn_on(true, |_| {}).await).await
            }
        }
    };
}

pub async fn spawn_with(tweak: impl FnOnce(&mut BotConfig)) -> TestBot {
    spawn_on(false, tweak).await
}

pub async fn spawn_on(postgres: bool, tweak: impl FnOnce(&mut BotConfig)) -> TestBot {
    let test_db = if postgres {
        tgcrm_testkit::postgres().await
    } else {
        tgcrm_testkit::sqlite().await
    };
    let db = test_db.db.clone();
    let telegram = FakeBotApi::start().await.unwrap();
    let mut config = BotConfig::new("123:TEST", GROUP);
    config.api_url = telegram.url().to_owned();
    config.categories = vec!["Billing".into(), "Login".into()];
    config.poll_timeout_secs = 1;
    config.private_chat_interval_ms = 0;
    config.group_interval_ms = 0;
    tweak(&mut config);
    let clock = ManualClock::new(chrono::Utc::now());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let app = Application::build_full(
        db.clone(),
        listener,
        Arc::new(clock.clone()) as Arc<dyn Clock>,
        tgcrm_api::ApiConfig::default(),
        RunnerConfig {
            batch_size: 500,
            poll_interval: Duration::from_millis(50),
        },
        Some(config),
    )
    .await
    .unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.server_handle();
    tokio::spawn(app.run_until_stopped());
    TestBot {
        telegram,
        db,
        address,
        clock,
        handle,
        _test_db: test_db,
        next_update: 200_000_000.into(),
        next_message: 100.into(),
    }
}

impl TestBot {
    fn ids(&self) -> (i64, i64) {
        use std::sync::atomic::Ordering;
        (
            self.next_update.fetch_add(1, Ordering::SeqCst),
            self.next_message.fetch_add(1, Ordering::SeqCst),
        )
    }

    pub fn customer_text(&self, user: i64, text: &str) -> i64 {
        let (u, m) = self.ids();
        self.telegram.push_update(json!({
            "update_id": u,
            "message": {
                "message_id": m,
                "from": {"id": user, "is_bot": false, "first_name": "Ivan", "last_name": "Petrov", "username": "ivanp"},
                "chat": {"id": user, "first_name": "Ivan", "last_name": "Petrov", "username": "ivanp", "type": "private"},
                "date": 1_763_856_000,
                "text": text
            }
        }));
        m
    }

    /// One part of an album (photos sharing a media group id).
    pub fn customer_photo(&self, user: i64, group: &str, caption: Option<&str>) -> i64 {
        let (u, m) = self.ids();
        let mut msg = json!({
            "message_id": m,
            "from": {"id": user, "is_bot": false, "first_name": "Ivan", "last_name": "Petrov", "username": "ivanp"},
            "chat": {"id": user, "first_name": "Ivan", "last_name": "Petrov", "username": "ivanp", "type": "private"},
            "date": 1_763_856_010,
            "media_group_id": group,
            "photo": [
                {"file_id": format!("small{m}"), "file_unique_id": format!("us{m}"), "file_size": 1201, "width": 90, "height": 51},
                {"file_id": format!("large{m}"), "file_unique_id": format!("ul{m}"), "file_size": 48211, "width": 1280, "height": 720}
            ]
        });
        if let Some(c) = caption {
            msg["caption"] = json!(c);
        }
        self.telegram
            .push_update(json!({"update_id": u, "message": msg}));
        m
    }

    pub fn customer_edit(&self, user: i64, message_id: i64, text: &str) {
        let (u, _) = self.ids();
        self.telegram.push_update(json!({
            "update_id": u,
            "edited_message": {
                "message_id": message_id,
                "from": {"id": user, "is_bot": false, "first_name": "Ivan", "last_name": "Petrov", "username": "ivanp"},
                "chat": {"id": user, "first_name": "Ivan", "last_name": "Petrov", "username": "ivanp", "type": "private"},
                "date": 1_763_856_000,
                "edit_date": 1_763_856_100,
                "text": text
            }
        }));
    }

    /// A message written in a ticket's topic by a member of the agents' group.
    pub fn group_text(&self, user: i64, username: &str, thread: i64, text: &str) -> i64 {
        let (u, m) = self.ids();
        self.telegram.push_update(json!({
            "update_id": u,
            "message": {
                "message_id": m,
                "from": {"id": user, "is_bot": false, "first_name": "Maria", "username": username},
                "chat": {"id": GROUP, "title": "Acme Support Desk", "is_forum": true, "type": "supergroup"},
                "date": 1_763_856_200,
                "message_thread_id": thread,
                "is_topic_message": true,
                "reply_to_message": {
                    "message_id": thread,
                    "from": {"id": 7_000_000_001_i64, "is_bot": true, "first_name": "Acme Support", "username": "acme_support_bot"},
                    "chat": {"id": GROUP, "title": "Acme Support Desk", "is_forum": true, "type": "supergroup"},
                    "date": 1_763_856_050,
                    "message_thread_id": thread,
                    "forum_topic_created": {"name": "topic", "icon_color": 7_322_096},
                    "is_topic_message": true
                },
                "text": text
            }
        }));
        m
    }

    /// The forum thread of a ticket.
    pub async fn thread_of(&self, ticket: &str) -> i64 {
        #[derive(sqlx::FromRow)]
        struct T {
            thread_id: i64,
        }
        for _ in 0..100 {
            if let Some(t) = self
                .db
                .fetch_optional::<T>(
                    "SELECT thread_id FROM tg_topics WHERE ticket_id = $1",
                    tgcrm_store::args![ticket],
                )
                .await
                .unwrap()
            {
                return t.thread_id;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no topic for ticket {ticket}");
    }

    pub fn customer_callback(&self, user: i64, data: &str) {
        let (u, m) = self.ids();
        self.telegram.push_update(json!({
            "update_id": u,
            "callback_query": {
                "id": format!("cb{u}"),
                "from": {"id": user, "is_bot": false, "first_name": "Ivan", "last_name": "Petrov", "username": "ivanp"},
                "message": {
                    "message_id": m,
                    "from": {"id": 7_000_000_001_i64, "is_bot": true, "first_name": "Acme Support", "username": "acme_support_bot"},
                    "chat": {"id": user, "first_name": "Ivan", "type": "private"},
                    "date": 1_763_856_001,
                    "text": "What is your question about?"
                },
                "chat_instance": "-862013739001",
                "data": data
            }
        }));
    }

    pub async fn wait(&self, what: &str, pred: impl Fn(&[tgcrm_fake_telegram::Call]) -> bool) {
        let ok = self.telegram.wait_for(Duration::from_secs(10), pred).await;
        assert!(
            ok,
            "timed out waiting for {what}; calls: {:#?}",
            self.telegram.calls()
        );
    }

    /// The TicketOpened payloads, decrypted as any reader of the log sees them.
    pub async fn tickets(&self) -> Vec<Value> {
        let filter = tgcrm_store::reader::EventFilter {
            event_types: vec!["TicketOpened".into()],
            ..Default::default()
        };
        tgcrm_store::reader::read_after(&self.db, tgcrm_store::Position::START, 1_000, &filter)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.payload["TicketOpened"].clone())
            .collect()
    }
}

impl TestBot {
    /// An admin token's secret for the REST API.
    pub async fn admin_token(&self) -> String {
        let (_, secret) = tgcrm_store::tokens::create(
            &self.db,
            "default",
            tgcrm_store::tokens::Role::Admin,
            None,
            None,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        secret.expose().to_owned()
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let res = reqwest::Client::new()
            .post(format!("{}{}", self.address, path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn ticket(&self, token: &str, id: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}/v1/tickets/{id}", self.address))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Open a ticket for `user` through the bot without the form.
    pub async fn open_ticket(&self, user: i64, text: &str) -> String {
        self.customer_text(user, text);
        self.wait("the category keyboard", |calls| {
            calls.iter().any(|c| {
                c.name() == "sendmessage"
                    && c.params.get("reply_markup").is_some()
                    && c.params["chat_id"] == user
            })
        })
        .await;
        self.customer_callback(user, "intake:category:0");
        let n = self.tickets().await.len();
        for _ in 0..200 {
            if self.tickets().await.len() > n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let t = self.tickets().await;
        assert!(t.len() > n, "no ticket opened");
        self.wait("the topic", |calls| {
            calls.iter().any(|c| c.name() == "createforumtopic")
        })
        .await;
        t.last().unwrap()["ticket_id"].as_str().unwrap().to_owned()
    }

    pub fn calls_to(&self, chat: i64, method: &str) -> Vec<tgcrm_fake_telegram::Call> {
        self.telegram
            .calls_of(method)
            .into_iter()
            .filter(|c| c.params["chat_id"] == chat)
            .collect()
    }
}

pub fn text_of(call: &tgcrm_fake_telegram::Call) -> String {
    call.params
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

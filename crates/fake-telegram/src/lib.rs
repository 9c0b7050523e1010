//! A fake Telegram Bot API server for tests. Point teloxide at its `url()`
//! (our setting `TELEGRAM_API_URL`); it serves `getUpdates` from a script,
//! records every call (method matched without case, JSON, form or multipart
//! bodies), answers with plausible results, and can be told to fail a method
//! with a Bot API error (429 `retry_after`, "message thread not found",
//! "bot was blocked by the user", …).

use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// The bot the fake pretends to be.
pub const BOT_ID: i64 = 7_000_000_001;
pub const BOT_USERNAME: &str = "acme_support_bot";

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Call {
    /// As teloxide sent it (PascalCase, e.g. `SendMessage`).
    pub method: String,
    pub params: Value,
}

impl Call {
    /// The method name lowercased, for comparisons.
    pub fn name(&self) -> String {
        self.method.to_ascii_lowercase()
    }
}

#[derive(Default)]
struct State {
    updates: Vec<Value>,
    calls: Vec<Call>,
    failures: HashMap<String, VecDeque<(u16, Value)>>,
    next_message_id: i64,
    next_thread_id: i64,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeBotApi {
    url: String,
    state: Arc<Mutex<State>>,
    new_update: Arc<Notify>,
    handle: ServerHandle,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeBotApi {
    /// Start on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State {
            next_message_id: 1_000,
            next_thread_id: 5_000,
            ..State::default()
        }));
        let new_update = Arc::new(Notify::new());
        let data = web::Data::new((state.clone(), new_update.clone()));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(20 * 1024 * 1024))
                .route("/bot{token}/{method}", web::post().to(handle))
                .route("/bot{token}/{method}", web::get().to(handle))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            url: format!("http://127.0.0.1:{port}/"),
            state,
            new_update,
            handle,
        })
    }

    /// The base URL (`TELEGRAM_API_URL`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Queue an Update (as Telegram would send it). Its `update_id` is kept.
    pub fn push_update(&self, update: Value) {
        lock(&self.state).updates.push(update);
        self.new_update.notify_waiters();
    }

    /// Make the next call of `method` (case-insensitive) fail with this Bot API
    /// error body, e.g. `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}`.
    pub fn fail_next(&self, method: &str, error: Value) {
        let status = error
            .get("error_code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(400);
        lock(&self.state)
            .failures
            .entry(method.to_ascii_lowercase())
            .or_default()
            .push_back((status, error));
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.state).calls.clone()
    }

    /// Calls of one method (case-insensitive).
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        let m = method.to_ascii_lowercase();
        self.calls().into_iter().filter(|c| c.name() == m).collect()
    }

    /// Wait until `pred` holds for the recorded calls (polling), at most `timeout`.
    pub async fn wait_for(&self, timeout: Duration, pred: impl Fn(&[Call]) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if pred(&lock(&self.state).calls) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

type Shared = web::Data<(Arc<Mutex<State>>, Arc<Notify>)>;

fn params_of(req: &HttpRequest, body: &[u8]) -> Value {
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("application/json") {
        return serde_json::from_slice(body).unwrap_or(Value::Null);
    }
    if ct.starts_with("multipart/form-data") {
        return parse_multipart(&ct, body);
    }
    if ct.starts_with("application/x-www-form-urlencoded") {
        let mut m = serde_json::Map::new();
        for pair in String::from_utf8_lossy(body).split('&') {
            if let Some((k, v)) = pair.split_once('=') {
                m.insert(k.to_owned(), scalar(v));
            }
        }
        return Value::Object(m);
    }
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

/// Numbers and JSON come as text in forms; read them back as values.
fn scalar(v: &str) -> Value {
    serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_owned()))
}

fn parse_multipart(ct: &str, body: &[u8]) -> Value {
    let Some(boundary) = ct
        .split("boundary=")
        .nth(1)
        .map(|b| b.trim_matches('"').to_owned())
    else {
        return Value::Null;
    };
    let text = String::from_utf8_lossy(body);
    let delim = format!("--{boundary}");
    let mut m = serde_json::Map::new();
    for part in text.split(delim.as_str()) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let Some(name) = head
            .split("name=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
        else {
            continue;
        };
        let value = value.trim_end_matches("\r\n").trim_end_matches("--");
        if head.contains("filename=") {
            m.insert(name.to_owned(), json!({"file": true, "size": value.len()}));
        } else {
            m.insert(name.to_owned(), scalar(value));
        }
    }
    Value::Object(m)
}

fn ok(result: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({"ok": true, "result": result}))
}

fn bot_user() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "Acme Support", "username": BOT_USERNAME})
}

fn chat_for(id: i64) -> Value {
    if id < 0 {
        json!({"id": id, "title": "Support", "is_forum": true, "type": "supergroup"})
    } else {
        json!({"id": id, "first_name": "Customer", "type": "private"})
    }
}

async fn handle(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    shared: Shared,
) -> HttpResponse {
    let (_token, method) = path.into_inner();
    let params = params_of(&req, &body);
    let lower = method.to_ascii_lowercase();
    let (state, new_update) = (&shared.0, &shared.1);
    {
        let mut s = lock(state);
        s.calls.push(Call {
            method: method.clone(),
            params: params.clone(),
        });
        if let Some((status, err)) = s.failures.get_mut(&lower).and_then(VecDeque::pop_front) {
            return HttpResponse::build(
                actix_web::http::StatusCode::from_u16(status)
                    .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
            )
            .json(err);
        }
    }
    let now = 1_763_856_000_i64;
    match lower.as_str() {
        "getme" => ok(json!({
            "id": BOT_ID, "is_bot": true, "first_name": "Acme Support", "username": BOT_USERNAME,
            "can_join_groups": true, "can_read_all_group_messages": true, "supports_inline_queries": false,
            "can_connect_to_business": false, "has_main_web_app": false
        })),
        "getwebhookinfo" => {
            ok(json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0}))
        }
        "getupdates" => {
            let offset = params.get("offset").and_then(Value::as_i64).unwrap_or(0);
            let timeout = params
                .get("timeout")
                .and_then(Value::as_u64)
                .unwrap_or(0)
                .min(5);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
            loop {
                let pending: Vec<Value> = {
                    let s = lock(state);
                    s.updates
                        .iter()
                        .filter(|u| {
                            u.get("update_id").and_then(Value::as_i64).unwrap_or(0) >= offset
                        })
                        .cloned()
                        .collect()
                };
                if !pending.is_empty() || tokio::time::Instant::now() >= deadline {
                    return ok(Value::Array(pending));
                }
                let _ =
                    tokio::time::timeout(Duration::from_millis(100), new_update.notified()).await;
            }
        }
        "sendmessage" | "sendphoto" | "senddocument" | "sendvoice" | "sendvideo" | "sendaudio" => {
            let chat_id = params.get("chat_id").and_then(Value::as_i64).unwrap_or(0);
            let mut s = lock(state);
            s.next_message_id += 1;
            let mut msg = json!({
                "message_id": s.next_message_id, "from": bot_user(), "chat": chat_for(chat_id), "date": now,
            });
            if let Some(t) = params.get("text") {
                msg["text"] = t.clone();
            }
            if let Some(c) = params.get("caption") {
                msg["caption"] = c.clone();
            }
            if let Some(th) = params.get("message_thread_id") {
                msg["message_thread_id"] = th.clone();
                msg["is_topic_message"] = json!(true);
            }
            ok(msg)
        }
        "copymessage" | "forwardmessage" => {
            let mut s = lock(state);
            s.next_message_id += 1;
            ok(json!({"message_id": s.next_message_id}))
        }
        "createforumtopic" => {
            let mut s = lock(state);
            s.next_thread_id += 1;
            ok(json!({
                "message_thread_id": s.next_thread_id,
                "name": params.get("name").cloned().unwrap_or(json!("topic")),
                "icon_color": 7_322_096
            }))
        }
        _ => ok(json!(true)),
    }
}

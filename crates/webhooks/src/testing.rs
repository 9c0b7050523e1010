//! A real HTTP receiver on loopback for tests (feature `testing`): it records
//! every request and answers from a script per path (`/hooks/<name>`): a
//! status, a `Retry-After`, a delay, a 410. Unscripted requests get 200.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

use crate::signing::{SigningSecret, verify};

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub delay: Duration,
    pub body: String,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            retry_after: None,
            delay: Duration::ZERO,
            body: format!("status {status}"),
        }
    }

    pub fn ok() -> Self {
        Self::status(200)
    }

    pub fn retry_after(status: u16, value: &str) -> Self {
        Self {
            retry_after: Some(value.to_owned()),
            ..Self::status(status)
        }
    }

    pub fn slow(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::ok()
        }
    }

    pub fn with_body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }
}

/// A request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub name: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
    /// The status it was answered with.
    pub answered: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn webhook_id(&self) -> &str {
        self.header("webhook-id").unwrap_or_default()
    }

    /// Verify as a Standard Webhooks receiver would, with a 5-minute tolerance.
    pub fn verify(&self, secret: &str) -> bool {
        let Ok(secret) = SigningSecret::parse(secret) else {
            return false;
        };
        verify(
            &secret,
            self.header("webhook-id").unwrap_or_default(),
            self.header("webhook-timestamp").unwrap_or_default(),
            self.header("webhook-signature").unwrap_or_default(),
            self.body.as_bytes(),
            chrono::Utc::now().timestamp(),
            300,
        )
        .is_ok()
    }
}

#[derive(Default)]
struct State {
    scripts: HashMap<String, VecDeque<Reply>>,
    received: Vec<Received>,
}

pub struct Receiver {
    port: u16,
    state: Arc<Mutex<State>>,
    handle: actix_web::dev::ServerHandle,
}

async fn hook(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    let name = path.into_inner();
    let reply = {
        let mut s = state.lock().unwrap();
        s.scripts
            .get_mut(&name)
            .and_then(VecDeque::pop_front)
            .unwrap_or_else(Reply::ok)
    };
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let received = Received {
        name: name.clone(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
        answered: reply.status,
    };
    state.lock().unwrap().received.push(received);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut res = HttpResponse::build(actix_web::http::StatusCode::from_u16(reply.status).unwrap());
    if let Some(ra) = &reply.retry_after {
        res.insert_header(("Retry-After", ra.as_str()));
    }
    res.body(reply.body)
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/hooks/{name}", web::post().to(hook))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            port,
            state,
            handle,
        }
    }

    /// The URL of hook `name` on this receiver.
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/hooks/{name}", self.port)
    }

    /// Answer the next requests to `name` with these replies, in order.
    pub fn script(&self, name: &str, replies: impl IntoIterator<Item = Reply>) {
        self.state
            .lock()
            .unwrap()
            .scripts
            .entry(name.to_owned())
            .or_default()
            .extend(replies);
    }

    /// Every request to `name` so far, in arrival order.
    pub fn received(&self, name: &str) -> Vec<Received> {
        self.state
            .lock()
            .unwrap()
            .received
            .iter()
            .filter(|r| r.name == name)
            .cloned()
            .collect()
    }

    /// Wait until `pred` holds for the requests to `name`, at most `timeout`.
    pub async fn wait_for(
        &self,
        name: &str,
        timeout: Duration,
        pred: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.received(name);
            if pred(&r) || Instant::now() >= deadline {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

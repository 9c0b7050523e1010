//! The HTTP side: one keep-alive client per run, bearer tokens per role, and
//! the few calls the workloads make. Only loopback targets are accepted.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::StatusCode;
use serde_json::Value;

/// Tokens for the three kinds of caller the mix needs.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// Opens tickets, reads lists and queues.
    pub admin: String,
    /// Relays customer messages (author: customer).
    pub bot: String,
    /// Replies, assigns and changes status (author: its agent).
    pub agent: String,
}

#[derive(Clone)]
pub struct Api {
    pub base: String,
    client: reqwest::Client,
    pub tokens: Tokens,
}

/// What one request returned.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub position: Option<String>,
    pub body: Option<Value>,
    pub elapsed: Duration,
}

impl Answer {
    pub fn ok(&self) -> bool {
        self.status.is_success()
    }

    pub fn str_field(&self, name: &str) -> Option<String> {
        self.body
            .as_ref()
            .and_then(|b| b.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

/// Refuse anything but a loopback address: this tool only ever loads a
/// server on this machine.
fn check_loopback(base: &str) -> anyhow::Result<()> {
    let url = reqwest::Url::parse(base).with_context(|| format!("--url {base}"))?;
    let host = url.host_str().unwrap_or("");
    let loopback = host == "localhost"
        || host == "[::1]"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!(
            "--url must point at a server on this machine (127.0.0.0/8, localhost or ::1), not {host}"
        );
    }
    Ok(())
}

impl Api {
    pub fn new(base: &str, tokens: Tokens, connections: usize) -> anyhow::Result<Self> {
        check_loopback(base)?;
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(connections.max(1) * 2)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            client,
            tokens,
        })
    }

    async fn send(&self, req: reqwest::RequestBuilder, want_body: bool) -> anyhow::Result<Answer> {
        let started = Instant::now();
        let res = req.send().await?;
        let status = res.status();
        let position = res
            .headers()
            .get("x-event-position")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = res.bytes().await?;
        let elapsed = started.elapsed();
        let body = if want_body && !bytes.is_empty() {
            serde_json::from_slice(&bytes).ok()
        } else {
            None
        };
        Ok(Answer {
            status,
            position,
            body,
            elapsed,
        })
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> anyhow::Result<Answer> {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body);
        self.send(req, true).await
    }

    pub async fn get(&self, path: &str, token: &str, want_body: bool) -> anyhow::Result<Answer> {
        let req = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token);
        self.send(req, want_body).await
    }
}

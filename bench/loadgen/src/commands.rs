//! `tgcrm-bench commands`: N keep-alive clients send a realistic command mix
//! for a duration (closed loop, or paced at a target rate), recording latency
//! per command type and throughput. With `--probe-fraction`, a share of the
//! acknowledged commands is followed by a read of the ticket list (and the
//! queue, if the server has one) with `consistent_with=<X-Event-Position>`:
//! the time from the acknowledgement to that answer is the projection lag a
//! client experiences.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Value, json};

use crate::http::{Answer, Api};
use crate::stats::{Latency, Summary};

#[derive(Debug, Clone)]
pub struct Config {
    pub clients: usize,
    pub duration: Duration,
    pub warmup: Duration,
    /// Total commands per second to aim at; closed loop (as fast as answers come) when `None`.
    pub rate: Option<f64>,
    /// Share of acknowledged commands followed by a read-your-write probe.
    pub probe_fraction: f64,
    /// The agent the agent token is bound to (assignments name it).
    pub agent_id: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub kind: &'static str,
    pub label: String,
    pub clients: usize,
    pub seconds: f64,
    pub rate_target: Option<f64>,
    pub commands_ok: u64,
    pub throughput: f64,
    pub latency: Summary,
    pub by_type: BTreeMap<String, Summary>,
    /// Non-2xx answers and transport errors by kind, e.g. `add_message 409`.
    pub errors: BTreeMap<String, u64>,
    pub lag_list: Option<Summary>,
    pub lag_queue: Option<Summary>,
    /// Probes answered 503 (not caught up within the server's 2 s bound) or failed.
    pub probe_failures: u64,
    pub queue_path: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Open,
    CustomerMessage,
    AgentReply,
    Assign,
    Status,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Open => "open_ticket",
            Op::CustomerMessage => "customer_message",
            Op::AgentReply => "agent_reply",
            Op::Assign => "assign",
            Op::Status => "change_status",
        }
    }

    /// The mix: open 15 %, customer message 25 %, agent reply 25 %, assign 10 %, status 25 %.
    fn pick(rng: &mut StdRng) -> Op {
        match rng.gen_range(0..100) {
            0..15 => Op::Open,
            15..40 => Op::CustomerMessage,
            40..65 => Op::AgentReply,
            65..75 => Op::Assign,
            _ => Op::Status,
        }
    }
}

struct Probes {
    list: Mutex<Latency>,
    queue: Mutex<Latency>,
    failures: Mutex<u64>,
}

struct ClientResult {
    by_type: BTreeMap<Op, Latency>,
    errors: BTreeMap<String, u64>,
}

const WORDS: &[&str] = &[
    "hello", "order", "parcel", "please", "help", "payment", "refund", "tracking", "thanks",
    "update", "invoice", "delivery",
];

fn text(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn open_body(rng: &mut StdRng) -> Value {
    let tg: i64 = rng.gen_range(1_000..5_000_000);
    let priority = ["low", "normal", "normal", "high", "urgent"][rng.gen_range(0..5)];
    json!({
        "subject": format!("Bench: {}", text(rng, 4)),
        "body": text(rng, 20),
        "customer": {"telegram_user_id": tg, "name": format!("Bench customer {tg}")},
        "priority": priority,
        "tags": ["bench"],
    })
}

/// The next manual status for a ticket in `current` (all valid transitions).
fn next_status(rng: &mut StdRng, current: &str) -> &'static str {
    match current {
        "open" | "waiting_on_customer" => "in_progress",
        "in_progress" => {
            if rng.gen_bool(0.5) {
                "waiting_on_customer"
            } else {
                "resolved"
            }
        }
        _ => "open",
    }
}

fn ticket_status(a: &Answer) -> Option<String> {
    let b = a.body.as_ref()?;
    b.get("status")
        .or_else(|| b.get("ticket").and_then(|t| t.get("status")))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Does the server have a queue endpoint? (Another capability may not have landed yet.)
pub async fn queue_path(api: &Api) -> Option<String> {
    let path = "/v1/queues/all";
    match api.get(path, &api.tokens.admin, false).await {
        Ok(a) if a.ok() => Some(path.to_owned()),
        _ => None,
    }
}

async fn probe(
    api: Api,
    acked: Instant,
    position: String,
    probes: Arc<Probes>,
    queue: Option<String>,
) {
    let list = format!("/v1/tickets?limit=1&consistent_with={position}");
    match api.get(&list, &api.tokens.admin, false).await {
        Ok(a) if a.ok() => lock(&probes.list).record(acked.elapsed()),
        _ => *lock(&probes.failures) += 1,
    }
    if let Some(q) = queue {
        let path = format!("{q}?limit=1&consistent_with={position}");
        match api.get(&path, &api.tokens.admin, false).await {
            Ok(a) if a.ok() => lock(&probes.queue).record(acked.elapsed()),
            _ => *lock(&probes.failures) += 1,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[allow(clippy::too_many_arguments)]
async fn client(
    api: Api,
    config: Config,
    index: usize,
    start: Instant,
    measure_from: Instant,
    end: Instant,
    probes: Arc<Probes>,
    queue: Option<String>,
) -> anyhow::Result<ClientResult> {
    let mut rng = StdRng::seed_from_u64(0x5eed_0000 + index as u64);
    let mut by_type: BTreeMap<Op, Latency> = BTreeMap::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut tickets: VecDeque<(String, String)> = VecDeque::new();
    let interval = config
        .rate
        .map(|r| Duration::from_secs_f64(config.clients as f64 / r.max(0.001)));
    // Stagger paced clients over one interval.
    let mut next_at = start
        + interval
            .map(|i| i.mul_f64(index as f64 / config.clients as f64))
            .unwrap_or_default();
    let mut probe_tasks = Vec::new();
    loop {
        if let Some(i) = interval {
            tokio::time::sleep_until(next_at.into()).await;
            next_at += i;
        }
        if Instant::now() >= end {
            break;
        }
        let mut op = if tickets.is_empty() {
            Op::Open
        } else {
            Op::pick(&mut rng)
        };
        let pick = rng.gen_range(0..tickets.len().max(1));
        let result = match op {
            Op::Open => {
                api.post("/v1/tickets", &api.tokens.admin, &open_body(&mut rng))
                    .await
            }
            _ => {
                let (id, status) = tickets[pick].clone();
                match op {
                    Op::CustomerMessage => {
                        api.post(
                            &format!("/v1/tickets/{id}/messages"),
                            &api.tokens.bot,
                            &json!({"text": text(&mut rng, 12)}),
                        )
                        .await
                    }
                    Op::AgentReply => {
                        api.post(
                            &format!("/v1/tickets/{id}/messages"),
                            &api.tokens.agent,
                            &json!({"text": text(&mut rng, 16), "visibility": "public"}),
                        )
                        .await
                    }
                    Op::Assign => {
                        api.post(
                            &format!("/v1/tickets/{id}/assignment"),
                            &api.tokens.agent,
                            &json!({"agent_id": config.agent_id}),
                        )
                        .await
                    }
                    _ => {
                        op = Op::Status;
                        let to = next_status(&mut rng, &status);
                        api.post(
                            &format!("/v1/tickets/{id}/status"),
                            &api.tokens.agent,
                            &json!({"status": to}),
                        )
                        .await
                    }
                }
            }
        };
        let acked = Instant::now();
        match result {
            Ok(a) if a.ok() => {
                if acked >= measure_from {
                    by_type
                        .entry(op)
                        .or_insert(Latency::new()?)
                        .record(a.elapsed);
                }
                let status = ticket_status(&a).unwrap_or_else(|| "open".to_owned());
                if op == Op::Open {
                    if let Some(id) = a.str_field("id") {
                        tickets.push_back((id, status));
                        if tickets.len() > 32 {
                            tickets.pop_front();
                        }
                    }
                } else if let Some(t) = tickets.get_mut(pick) {
                    t.1 = status;
                }
                if config.probe_fraction > 0.0
                    && acked >= measure_from
                    && rng.gen_bool(config.probe_fraction.min(1.0))
                    && let Some(pos) = a.position
                {
                    probe_tasks.push(tokio::spawn(probe(
                        api.clone(),
                        acked,
                        pos,
                        probes.clone(),
                        queue.clone(),
                    )));
                }
            }
            Ok(a) => {
                *errors
                    .entry(format!("{} {}", op.name(), a.status.as_u16()))
                    .or_default() += 1;
            }
            Err(e) => {
                *errors
                    .entry(format!("{} transport: {e}", op.name()))
                    .or_default() += 1;
            }
        }
    }
    for t in probe_tasks {
        let _ = t.await;
    }
    Ok(ClientResult { by_type, errors })
}

pub async fn run(api: Api, config: Config, label: String) -> anyhow::Result<Report> {
    let queue = if config.probe_fraction > 0.0 {
        queue_path(&api).await
    } else {
        None
    };
    let probes = Arc::new(Probes {
        list: Mutex::new(Latency::new()?),
        queue: Mutex::new(Latency::new()?),
        failures: Mutex::new(0),
    });
    let start = Instant::now();
    let measure_from = start + config.warmup;
    let end = measure_from + config.duration;
    let mut handles = Vec::new();
    for i in 0..config.clients.max(1) {
        handles.push(tokio::spawn(client(
            api.clone(),
            config.clone(),
            i,
            start,
            measure_from,
            end,
            probes.clone(),
            queue.clone(),
        )));
    }
    let mut all = Latency::new()?;
    let mut by_type: BTreeMap<Op, Latency> = BTreeMap::new();
    let mut errors = BTreeMap::new();
    for h in handles {
        let r = h.await??;
        for (op, l) in r.by_type {
            all.add(&l)?;
            match by_type.get_mut(&op) {
                Some(x) => x.add(&l)?,
                None => {
                    by_type.insert(op, l);
                }
            }
        }
        for (k, v) in r.errors {
            *errors.entry(k).or_insert(0) += v;
        }
    }
    let seconds = config.duration.as_secs_f64();
    let commands_ok = all.count();
    let list = lock(&probes.list);
    let queue_lat = lock(&probes.queue);
    let report = Report {
        kind: "commands",
        label,
        clients: config.clients,
        seconds,
        rate_target: config.rate,
        commands_ok,
        throughput: commands_ok as f64 / seconds.max(1e-9),
        latency: all.summary(),
        by_type: by_type
            .iter()
            .map(|(op, l)| (op.name().to_owned(), l.summary()))
            .collect(),
        errors,
        lag_list: (config.probe_fraction > 0.0).then(|| list.summary()),
        lag_queue: queue.as_ref().map(|_| queue_lat.summary()),
        probe_failures: *lock(&probes.failures),
        queue_path: queue.clone(),
    };
    Ok(report)
}

//! A synthetic but valid history: tickets opened over a time span, each
//! worked through a realistic life (assignment, replies, waiting on the
//! customer, the customer answering, resolution, sometimes closing). Every
//! event is decided by the real domain (`tgcrm_domain::ticket::decide`) and
//! serialized with serde, so payloads have exactly the stored shape; personal
//! fields are sealed like the server seals them (`enc:v1:` + ChaCha20-Poly1305
//! with a key per customer), so a replay pays the same decryption cost.
//!
//! Tickets' lives interleave in time order (a heap of next-command times), so
//! the log looks like a real one: consecutive events belong to different
//! tickets. The SLA monitor's decisions are part of that life: when a running
//! clock's warning or due time comes before the ticket's next command, the
//! warning or breach is recorded at that moment, as `system:sla`. So at the
//! end no active ticket has a moment left unrecorded, and a server started on
//! the history has nothing of the past to catch up on.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use anyhow::anyhow;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tgcrm_domain::sla::{Calendar, DeadlineState, SlaTargets};
use tgcrm_domain::ticket::{
    AddMessage, ApplySla, Assign, Author, ChangeStatus, Channel, MessageVisibility, OpenTicket,
    RecordSla, SlaMoment, Ticket, TicketCommand, decide,
};
use tgcrm_domain::values::{
    Customer, CustomerName, Fields, MessageText, Priority, Status, Subject, Tag, TelegramUserId,
    TelegramUsername,
};
use tgcrm_domain::{AgentId, MessageId, SlaPolicyId, TeamId, TicketId, WorkspaceId};
use tgcrm_store::{Metadata, Source};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub workspace: WorkspaceId,
    pub tickets: u64,
    /// Roughly how many events in all (at least two per ticket: opening and its first message).
    pub events: u64,
    /// Roughly how many tickets are still active (open, in progress, waiting) at the end.
    pub open: u64,
    pub customers: u64,
    pub agents: usize,
    pub teams: usize,
    /// Seal personal fields as the server does.
    pub seal: bool,
    pub seed: u64,
    /// The newest event's time.
    pub end: DateTime<Utc>,
    /// How far back the first ticket was opened.
    pub span: Duration,
}

/// One row of the `events` table.
#[derive(Debug, Clone)]
pub struct Row {
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: String,
    pub metadata: String,
    pub event_id: String,
    pub actor: String,
    pub source: &'static str,
    pub correlation_id: Option<String>,
    pub request_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

/// One row of `personal_keys`.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub subject: String,
    pub key: String,
    pub created_at: DateTime<Utc>,
}

/// What one command produced.
#[derive(Debug, Default)]
pub struct Output {
    pub rows: Vec<Row>,
    pub keys: Vec<KeyRow>,
}

/// Counts of what was generated.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Tally {
    pub tickets: u64,
    pub events: u64,
    pub commands: u64,
    pub active_at_end: u64,
    pub by_type: std::collections::BTreeMap<String, u64>,
}

struct Active {
    id: TicketId,
    state: Ticket,
    customer: i64,
    /// Events this ticket may still produce (its planned life).
    budget: i64,
    stays_active: bool,
    close_after_resolve: bool,
    /// The stream's sequence: how many events the ticket has.
    version: i64,
    /// When the ticket's next command (not an SLA moment) comes; `None`
    /// once its planned life is over.
    planned: Option<DateTime<Utc>>,
}

/// Who issues a command, as the metadata names them.
#[derive(Debug, Clone, Copy)]
enum By {
    Customer,
    Agent,
    /// The SLA monitor.
    Sla,
}

/// The first SLA moment still to record on `t`: a running clock's warning
/// (if not yet warned) or breach, whichever comes first of all its clocks.
fn next_moment(t: &Ticket) -> Option<(DateTime<Utc>, RecordSla)> {
    t.sla
        .deadlines()
        .into_iter()
        .filter(|d| matches!(d.state, DeadlineState::Ok | DeadlineState::Warning))
        .filter_map(|d| {
            let warn = d.warn_at.filter(|_| !d.warned && d.warn_at < d.due_at);
            match (warn, d.due_at) {
                (Some(w), _) => Some((w, SlaMoment::Warning)),
                (None, Some(due)) => Some((due, SlaMoment::Breach)),
                (None, None) => None,
            }
            .map(|(at, moment)| {
                (
                    at,
                    RecordSla {
                        metric: d.metric,
                        moment,
                    },
                )
            })
        })
        .min_by_key(|(at, _)| *at)
}

pub struct Generator {
    spec: Spec,
    rng: StdRng,
    next_open: u64,
    /// When ticket `next_open` opens (drawn once, so the log stays in time order).
    next_open_at: Option<DateTime<Utc>>,
    heap: BinaryHeap<Reverse<(i64, u64)>>,
    active: HashMap<u64, Active>,
    keys: HashMap<i64, ChaCha20Poly1305>,
    agents: Vec<AgentId>,
    teams: Vec<TeamId>,
    /// The SLA policy every ticket is put under when it opens, as the SLA
    /// reactor does in a desk with a default policy.
    sla: ApplySla,
    start: DateTime<Utc>,
    per_ticket: f64,
    pub tally: Tally,
}

const TOPICS: &[&str] = &[
    "Order is late",
    "Refund request",
    "Cannot log in",
    "Payment failed",
    "Wrong item delivered",
    "How do I change my plan?",
    "App crashes on start",
    "Invoice needed",
];
const TAGS: &[&str] = &["billing", "shipping", "refund", "bug", "vip", "mobile"];
const WORDS: &[&str] = &[
    "hello",
    "order",
    "parcel",
    "please",
    "help",
    "yesterday",
    "payment",
    "card",
    "refund",
    "account",
    "thanks",
    "waiting",
    "tracking",
    "number",
    "still",
    "nothing",
    "arrived",
    "again",
    "support",
    "update",
    "invoice",
    "address",
    "delivery",
    "problem",
];

fn v7_at(rng: &mut StdRng, at: DateTime<Utc>) -> uuid::Uuid {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let bytes: [u8; 10] = rng.r#gen();
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
}

fn v4(rng: &mut StdRng) -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rng.r#gen()).into_uuid()
}

impl Generator {
    pub fn new(spec: Spec) -> anyhow::Result<Self> {
        if spec.tickets == 0 {
            return Err(anyhow!("--tickets must be at least 1"));
        }
        let mut rng = StdRng::seed_from_u64(spec.seed);
        let agents = (0..spec.agents.max(1))
            .map(|_| AgentId::from_uuid(v4(&mut rng)))
            .collect();
        let teams = (0..spec.teams.max(1))
            .map(|_| TeamId::from_uuid(v4(&mut rng)))
            .collect();
        let sla = ApplySla {
            policy_id: SlaPolicyId::from_uuid(v4(&mut rng)),
            policy_version: 1,
            policy_name: "Standard".to_owned(),
            calendar: Calendar::AlwaysOpen,
            warning_percent: 80,
            targets: SlaTargets::parse(Some(3600), Some(4 * 3600), Some(3 * 86_400))
                .map_err(|e| anyhow!("sla targets: {}", e.reason))?,
        };
        let start = spec.end - spec.span;
        let per_ticket = (spec.events as f64 / spec.tickets as f64).max(2.0);
        Ok(Self {
            spec,
            rng,
            next_open: 0,
            next_open_at: None,
            heap: BinaryHeap::new(),
            active: HashMap::new(),
            keys: HashMap::new(),
            agents,
            teams,
            sla,
            start,
            per_ticket,
            tally: Tally::default(),
        })
    }

    fn open_time(&mut self, i: u64) -> DateTime<Utc> {
        let span = self.spec.span.num_milliseconds() as f64;
        // Leave the last 2 % of the span for the newest tickets' lives.
        let slot = span * 0.98 / self.spec.tickets as f64;
        let jitter = self.rng.gen_range(0.0..slot.max(1.0));
        self.start + Duration::milliseconds((slot * i as f64 + jitter) as i64)
    }

    fn gap(&mut self) -> Duration {
        // Exponential, mean 40 minutes.
        let u: f64 = self.rng.gen_range(f64::EPSILON..1.0);
        Duration::seconds((-u.ln() * 2_400.0) as i64 + 1)
    }

    fn sentence(&mut self, min_words: usize, max_words: usize) -> String {
        let n = self.rng.gen_range(min_words..=max_words);
        let mut s = String::new();
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(WORDS[self.rng.gen_range(0..WORDS.len())]);
        }
        s.push('.');
        s
    }

    /// The next command's events, in time order; `None` when every ticket is done.
    pub fn next_output(&mut self) -> anyhow::Result<Option<Output>> {
        loop {
            if self.next_open_at.is_none() && self.next_open < self.spec.tickets {
                self.next_open_at = Some(self.open_time(self.next_open));
            }
            let next_open_at = self.next_open_at;
            let due = self.heap.peek().map(|Reverse((t, i))| (*t, *i));
            let open_first = match (next_open_at, due) {
                (None, None) => {
                    let left: Vec<Active> = self.active.drain().map(|(_, a)| a).collect();
                    for a in left {
                        self.finished(&a);
                    }
                    return Ok(None);
                }
                (Some(at), Some((t, _))) => at.timestamp_micros() <= t,
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            if open_first {
                let i = self.next_open;
                let at = next_open_at.ok_or_else(|| anyhow!("no ticket left to open"))?;
                self.next_open += 1;
                self.next_open_at = None;
                return self.open(i, at).map(Some);
            }
            if let Some(Reverse((t, i))) = self.heap.pop() {
                let at = DateTime::<Utc>::from_timestamp_micros(t)
                    .ok_or_else(|| anyhow!("time out of range"))?;
                if let Some(out) = self.advance(i, at)? {
                    return Ok(Some(out));
                }
            }
        }
    }

    /// The ticket's planned life: its events, whether it stays active at the
    /// end, whether it is closed after being resolved, and whether it stays
    /// unassigned in the queue (a fifth of those that stay active).
    fn plan(&mut self, i: u64) -> (i64, bool, bool, bool) {
        let k = self.per_ticket;
        let budget = self.rng.gen_range(k * 0.5..=k * 1.5).round().max(2.0) as i64;
        let window = (self.spec.open * 2).min(self.spec.tickets).max(1);
        let p_active = self.spec.open as f64 / window as f64;
        let stays_active = i >= self.spec.tickets - window && self.rng.gen_bool(p_active.min(1.0));
        let close = self.rng.gen_bool(0.3);
        let queued = stays_active && self.rng.gen_bool(0.2);
        (budget, stays_active, close, queued)
    }

    fn customer_key(&mut self, tg: i64, at: DateTime<Utc>, out: &mut Output) {
        if !self.spec.seal || self.keys.contains_key(&tg) {
            return;
        }
        let bytes: [u8; 32] = self.rng.r#gen();
        self.keys
            .insert(tg, ChaCha20Poly1305::new(Key::from_slice(&bytes)));
        out.keys.push(KeyRow {
            subject: format!("tg:{tg}"),
            key: B64.encode(bytes),
            created_at: at,
        });
    }

    fn open(&mut self, i: u64, at: DateTime<Utc>) -> anyhow::Result<Output> {
        let id = TicketId::from_uuid(v7_at(&mut self.rng, at));
        let tg = self.rng.gen_range(1..=self.spec.customers.max(1)) as i64 + 100_000;
        let topic = TOPICS[self.rng.gen_range(0..TOPICS.len())];
        let subject = Subject::parse(&format!("{topic} (#{})", 10_000 + i))
            .map_err(|e| anyhow!("subject: {}", e.reason))?;
        let username = if self.rng.gen_bool(0.6) {
            Some(
                TelegramUsername::parse(&format!("user_{tg}"))
                    .map_err(|e| anyhow!("username: {}", e.reason))?,
            )
        } else {
            None
        };
        let customer = Customer {
            telegram_user_id: TelegramUserId::parse(tg)
                .map_err(|e| anyhow!("telegram id: {}", e.reason))?,
            name: CustomerName::parse(&format!("Customer {tg}"))
                .map_err(|e| anyhow!("name: {}", e.reason))?,
            username,
        };
        let priority = match self.rng.gen_range(0..10) {
            0 | 1 => Priority::Low,
            2..=6 => Priority::Normal,
            7 | 8 => Priority::High,
            _ => Priority::Urgent,
        };
        let mut tags = BTreeSet::new();
        for _ in 0..self.rng.gen_range(0..=2) {
            let t = TAGS[self.rng.gen_range(0..TAGS.len())];
            tags.insert(Tag::parse(t).map_err(|e| anyhow!("tag: {}", e.reason))?);
        }
        let text = self.sentence(8, 40);
        let command = TicketCommand::Open(OpenTicket {
            ticket_id: id,
            workspace_id: self.spec.workspace.clone(),
            subject,
            customer,
            priority,
            channel: if self.rng.gen_bool(0.5) {
                Channel::Api
            } else {
                Channel::Telegram
            },
            tags,
            fields: Fields::default(),
            first_message: AddMessage {
                message_id: MessageId::from_uuid(v7_at(&mut self.rng, at)),
                author: Author::Customer,
                visibility: MessageVisibility::Public,
                text: MessageText::parse(&text).map_err(|e| anyhow!("text: {}", e.reason))?,
                attachments: vec![],
            },
            follows_up: None,
        });
        let (budget, stays_active, close_after_resolve, queued) = self.plan(i);
        let planned = (!queued).then(|| at + self.gap());
        let mut active = Active {
            id,
            state: Ticket::default(),
            customer: tg,
            budget,
            stays_active,
            close_after_resolve,
            version: 0,
            planned,
        };
        let mut out = Output::default();
        self.customer_key(tg, at, &mut out);
        self.decide_into(&mut active, command, at, By::Customer, &mut out)?;
        let sla = TicketCommand::ApplySla(self.sla.clone());
        self.decide_into(&mut active, sla, at, By::Customer, &mut out)?;
        self.tally.tickets += 1;
        self.schedule(i, active);
        Ok(out)
    }

    /// Put the ticket back on the heap at its next step: its planned command
    /// or its next SLA moment, whichever comes first; with neither before the
    /// end, its life is over.
    fn schedule(&mut self, i: u64, a: Active) {
        let planned = a.planned.filter(|p| *p <= self.spec.end);
        let moment = next_moment(&a.state)
            .map(|(at, _)| at)
            .filter(|at| *at <= self.spec.end);
        match planned.into_iter().chain(moment).min() {
            Some(next) => {
                self.heap.push(Reverse((next.timestamp_micros(), i)));
                self.active.insert(i, a);
            }
            None => self.finished(&a),
        }
    }

    fn middle_command(&mut self, a: &Active) -> anyhow::Result<(TicketCommand, bool)> {
        let agent = self.agents[self.rng.gen_range(0..self.agents.len())];
        if a.state.assignee.is_none() {
            let team = if self.rng.gen_bool(0.5) {
                Some(self.teams[self.rng.gen_range(0..self.teams.len())])
            } else {
                None
            };
            return Ok((
                TicketCommand::Assign(Assign {
                    agent: Some(agent),
                    team,
                    note: None,
                }),
                true,
            ));
        }
        let reply = |g: &mut Self, author: Author, visibility| -> anyhow::Result<TicketCommand> {
            let text = g.sentence(5, 60);
            Ok(TicketCommand::AddMessage(AddMessage {
                message_id: MessageId::from_uuid(v4(&mut g.rng)),
                author,
                visibility,
                text: MessageText::parse(&text).map_err(|e| anyhow!("text: {}", e.reason))?,
                attachments: vec![],
            }))
        };
        let assignee = a.state.assignee.unwrap_or(agent);
        Ok(match a.state.status {
            Status::Open => (
                TicketCommand::ChangeStatus(ChangeStatus {
                    to: Status::InProgress,
                    reason: None,
                }),
                true,
            ),
            Status::InProgress
                if a.state
                    .recent_messages
                    .back()
                    .is_none_or(|m| m.author.is_customer()) =>
            {
                let visibility = if self.rng.gen_bool(0.15) {
                    MessageVisibility::Internal
                } else {
                    MessageVisibility::Public
                };
                (
                    reply(self, Author::Agent { agent_id: assignee }, visibility)?,
                    true,
                )
            }
            Status::InProgress => (
                TicketCommand::ChangeStatus(ChangeStatus {
                    to: Status::WaitingOnCustomer,
                    reason: None,
                }),
                true,
            ),
            _ => (
                reply(self, Author::Customer, MessageVisibility::Public)?,
                false,
            ),
        })
    }

    fn advance(&mut self, i: u64, at: DateTime<Utc>) -> anyhow::Result<Option<Output>> {
        let Some(mut a) = self.active.remove(&i) else {
            return Ok(None);
        };
        let mut out = Output::default();
        // An SLA moment that has come goes before the planned command; it
        // is the monitor's, so it does not use up the ticket's planned life.
        let moment = next_moment(&a.state)
            .filter(|(due, _)| due.timestamp_micros() <= at.timestamp_micros());
        if let Some((due, record)) = moment {
            let budget = a.budget;
            let n = self.decide_into(
                &mut a,
                TicketCommand::RecordSla(record),
                due,
                By::Sla,
                &mut out,
            )?;
            if n == 0 {
                return Err(anyhow!(
                    "the ticket recorded nothing for {record:?} due at {due}"
                ));
            }
            a.budget = budget;
            self.schedule(i, a);
            return Ok(Some(out));
        }
        if a.state.status == Status::Resolved {
            let c = TicketCommand::ChangeStatus(ChangeStatus {
                to: Status::Closed,
                reason: None,
            });
            self.decide_into(&mut a, c, at, By::Agent, &mut out)?;
        } else if a.budget <= 1 && !a.stays_active {
            let c = TicketCommand::ChangeStatus(ChangeStatus {
                to: Status::Resolved,
                reason: None,
            });
            self.decide_into(&mut a, c, at, By::Agent, &mut out)?;
        } else {
            let (c, by_agent) = self.middle_command(&a)?;
            let by = if by_agent { By::Agent } else { By::Customer };
            self.decide_into(&mut a, c, at, by, &mut out)?;
        }
        a.planned = if Self::lives_on(&a) {
            Some(at + self.gap())
        } else {
            None
        };
        self.schedule(i, a);
        Ok(Some(out))
    }

    /// Has the ticket planned commands left? Not once closed, nor resolved
    /// for good, nor when it stays active and its planned life is spent.
    fn lives_on(a: &Active) -> bool {
        match a.state.status {
            Status::Closed => false,
            Status::Resolved => a.close_after_resolve,
            _ => !a.stays_active || a.budget > 0,
        }
    }

    fn finished(&mut self, a: &Active) {
        if a.state.status.is_active() {
            self.tally.active_at_end += 1;
        }
    }

    fn decide_into(
        &mut self,
        a: &mut Active,
        command: TicketCommand,
        at: DateTime<Utc>,
        by: By,
        out: &mut Output,
    ) -> anyhow::Result<usize> {
        let events =
            decide(&a.state, command, at).map_err(|e| anyhow!("the domain refused: {e}"))?;
        let n = events.len();
        let (actor, source) = match by {
            By::Agent => ("tok_bench_agent".to_owned(), Source::Api),
            By::Customer => (format!("customer:{}", a.customer), Source::Telegram),
            By::Sla => ("system:sla".to_owned(), Source::System),
        };
        let meta = Metadata {
            actor: actor.clone(),
            source,
            correlation_id: Some(v4(&mut self.rng).to_string()),
            causation_id: None,
            request_id: Some(v4(&mut self.rng).to_string()),
        };
        let meta_json = meta.to_json(self.spec.workspace.as_str()).to_string();
        let aggregate_id = a.id.to_string();
        for e in events {
            let event_type = cqrs_event_type(&e);
            let mut payload = serde_json::to_value(&e)?;
            if self.spec.seal {
                self.seal(a.customer, &event_type, &mut payload);
            }
            a.state.apply(e);
            a.budget -= 1;
            a.version += 1;
            let seq = a.version;
            *self.tally.by_type.entry(event_type.clone()).or_default() += 1;
            self.tally.events += 1;
            out.rows.push(Row {
                aggregate_id: aggregate_id.clone(),
                sequence: seq,
                event_type,
                event_version: tgcrm_domain::ticket::EVENT_VERSION.to_owned(),
                payload: payload.to_string(),
                metadata: meta_json.clone(),
                event_id: v7_at(&mut self.rng, at).to_string(),
                actor: actor.clone(),
                source: source.as_str(),
                correlation_id: meta.correlation_id.clone(),
                request_id: meta.request_id.clone(),
                occurred_at: at,
                recorded_at: at + Duration::milliseconds(3),
            });
        }
        self.tally.commands += 1;
        Ok(n)
    }

    /// Seal the personal fields of an externally tagged payload, as `tgcrm_store::personal` does.
    fn seal(&mut self, tg: i64, event_type: &str, payload: &mut Value) {
        let Some(cipher) = self.keys.get(&tg) else {
            return;
        };
        let paths: &[&[&str]] = match event_type {
            "TicketOpened" => &[
                &["subject"],
                &["customer", "name"],
                &["customer", "username"],
            ],
            "MessageAdded" => &[&["text"]],
            _ => &[],
        };
        let Some(body) = payload.get_mut(event_type) else {
            return;
        };
        for path in paths {
            let mut v = Some(&mut *body);
            for key in *path {
                v = v.and_then(|x| x.get_mut(*key));
            }
            if let Some(Value::String(s)) = v {
                let mut nonce = [0u8; 12];
                self.rng.fill(&mut nonce);
                if let Ok(ct) = cipher.encrypt(Nonce::from_slice(&nonce), s.as_bytes()) {
                    let mut blob = nonce.to_vec();
                    blob.extend(ct);
                    *s = format!(
                        "enc:v1:{}/tg:{tg}:{}",
                        self.spec.workspace.as_str(),
                        B64.encode(blob)
                    );
                }
            }
        }
    }
}

fn cqrs_event_type(e: &tgcrm_domain::ticket::TicketEvent) -> String {
    e.type_name().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(tickets: u64, open: u64) -> Spec {
        Spec {
            workspace: WorkspaceId::parse("bench").expect("workspace"),
            tickets,
            events: tickets * 6,
            open,
            customers: tickets / 3,
            agents: 5,
            teams: 2,
            seal: false,
            seed: 7,
            end: DateTime::<Utc>::from_timestamp(1_780_000_000, 0).expect("time"),
            span: Duration::days(10),
        }
    }

    /// Generate everything; the tickets' states rebuilt from the rows.
    fn generate(spec: Spec) -> (Tally, HashMap<String, Ticket>, Vec<Row>) {
        let mut g = Generator::new(spec).expect("generator");
        let mut rows = vec![];
        while let Some(out) = g.next_output().expect("output") {
            rows.extend(out.rows);
        }
        let mut tickets: HashMap<String, Ticket> = HashMap::new();
        for r in &rows {
            let e = serde_json::from_str(&r.payload).expect("payload");
            tickets.entry(r.aggregate_id.clone()).or_default().apply(e);
        }
        (g.tally, tickets, rows)
    }

    #[test]
    fn no_sla_moment_is_left_for_a_server_to_catch_up_on() {
        let s = spec(2_000, 200);
        let end = s.end;
        let (tally, tickets, rows) = generate(s);
        assert_eq!(tickets.len(), 2_000);
        assert!(tally.by_type.get("SlaBreached").copied().unwrap_or(0) > 0);
        assert!(tally.by_type.get("SlaWarning").copied().unwrap_or(0) > 0);
        for (id, t) in &tickets {
            if let Some((at, record)) = next_moment(t) {
                assert!(at > end, "{id}: {record:?} due at {at} was not recorded");
            }
        }
        // Recorded by the monitor, in time order with the rest of the log.
        let sla_rows: Vec<&Row> = rows.iter().filter(|r| r.actor == "system:sla").collect();
        assert!(sla_rows.iter().all(|r| r.event_type.starts_with("Sla")));
        assert!(
            rows.windows(2)
                .all(|w| w[0].occurred_at <= w[1].occurred_at)
        );
    }

    #[test]
    fn about_the_asked_number_of_tickets_stay_active() {
        let (tally, tickets, _) = generate(spec(2_000, 200));
        let active = tickets.values().filter(|t| t.status.is_active()).count() as u64;
        assert_eq!(active, tally.active_at_end);
        assert!((100..=300).contains(&active), "{active} active");
        // Some wait in the queue, unassigned.
        let queued = tickets
            .values()
            .filter(|t| t.status.is_active() && t.assignee.is_none())
            .count();
        assert!((10..=100).contains(&queued), "{queued} queued");
    }
}

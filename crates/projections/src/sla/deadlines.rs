//! SLA deadlines: per ticket and metric, the due time, warning time and state
//! under the applied policy version, and when the monitor must look next
//! (`next_check_at`), so the monitor reads only rows that are due instead of
//! scanning tickets or the log. Also what escalation rules select on: open
//! tickets with their age, waiting customer and segment, and the rules that
//! already fired.
//!
//! The clocks are folded with the domain's own
//! [`TicketSla`](tgcrm_domain::sla::TicketSla), so a row shows exactly what
//! the ticket aggregate decides on. A batch is folded in memory
//! (`deadlines_fold`) and each changed row written once.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tgcrm_domain::sla::{Deadline, DeadlineState};
use tgcrm_store::{Arg, Backend, Db, SqlError, StoredEvent, Tx, args};

use super::batch::{ticket_events, tickets_where};
use super::deadlines_fold::Fold;
use crate::bulk::{fetch_in, insert};
use crate::projector::Projector;
use crate::schema::ddl;

pub const NAME: &str = "sla_deadlines";

pub struct DeadlinesProjector;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS rm_sla_tickets (
        ticket_id            TEXT PRIMARY KEY,
        workspace_id         TEXT NOT NULL,
        state                {json} NOT NULL,
        status               TEXT NOT NULL,
        priority             TEXT NOT NULL,
        team_id              TEXT,
        agent_id             TEXT,
        segment              TEXT,
        active               {bool} NOT NULL,
        opened_at            {ts} NOT NULL,
        opened_event_id      TEXT NOT NULL,
        awaiting_reply_since {ts},
        awaiting_event_id    TEXT,
        last_event_id        TEXT NOT NULL,
        version              {int} NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS rm_sla_tickets_by_age ON rm_sla_tickets (workspace_id, active, opened_at)",
    "CREATE INDEX IF NOT EXISTS rm_sla_tickets_by_wait ON rm_sla_tickets (workspace_id, active, awaiting_reply_since)",
    "CREATE TABLE IF NOT EXISTS rm_sla_deadlines (
        ticket_id       TEXT NOT NULL,
        metric          TEXT NOT NULL,
        workspace_id    TEXT NOT NULL,
        cycle           {int} NOT NULL,
        policy_id       TEXT NOT NULL,
        policy_version  {int} NOT NULL,
        target_seconds  {int} NOT NULL,
        started_at      {ts} NOT NULL,
        warn_at         {ts},
        due_at          {ts},
        met_at          {ts},
        state           TEXT NOT NULL,
        warned          {bool} NOT NULL,
        breached        {bool} NOT NULL,
        next_check_at   {ts},
        next_moment     TEXT,
        source_event_id TEXT NOT NULL,
        team_id         TEXT,
        agent_id        TEXT,
        priority        TEXT NOT NULL,
        updated_at      {ts} NOT NULL,
        PRIMARY KEY (ticket_id, metric)
    )",
    "CREATE INDEX IF NOT EXISTS rm_sla_deadlines_due ON rm_sla_deadlines (next_check_at)",
    "CREATE INDEX IF NOT EXISTS rm_sla_deadlines_by_state ON rm_sla_deadlines (workspace_id, state, due_at, ticket_id)",
    "CREATE TABLE IF NOT EXISTS rm_sla_escalations (
        ticket_id    TEXT NOT NULL,
        policy_id    TEXT NOT NULL,
        rule_id      TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        tier         {int} NOT NULL,
        event_id     TEXT NOT NULL,
        escalated_at {ts} NOT NULL,
        PRIMARY KEY (ticket_id, policy_id, rule_id)
    )",
];

/// When the monitor must look at a deadline next, and for what.
pub fn next_check(d: &Deadline) -> (Option<DateTime<Utc>>, Option<&'static str>) {
    match d.state {
        DeadlineState::Ok => match d.warn_at {
            Some(w) if !d.warned && d.due_at.is_some_and(|due| w < due) => {
                (Some(w), Some("warning"))
            }
            _ => (d.due_at, d.due_at.map(|_| "breach")),
        },
        DeadlineState::Warning => (d.due_at, d.due_at.map(|_| "breach")),
        _ => (None, None),
    }
}

#[async_trait]
impl Projector for DeadlinesProjector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        1
    }

    fn reads(&self) -> &'static [&'static str] {
        &[tgcrm_domain::ticket::AGGREGATE_TYPE]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_sla_tickets", "rm_sla_deadlines", "rm_sla_escalations"]
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        SCHEMA.iter().map(|s| ddl(backend, s)).collect()
    }

    fn query_indexes(&self) -> &'static [&'static str] {
        &[
            "rm_sla_tickets_by_age",
            "rm_sla_tickets_by_wait",
            "rm_sla_deadlines_due",
            "rm_sla_deadlines_by_state",
        ]
    }

    async fn apply(&self, tx: &mut Tx, event: &StoredEvent) -> anyhow::Result<()> {
        self.apply_batch(tx, std::slice::from_ref(event)).await
    }

    async fn apply_batch(&self, tx: &mut Tx, events: &[StoredEvent]) -> anyhow::Result<()> {
        let events = ticket_events(NAME, events)?;
        let keys = tickets_where(&events, |_| true);
        if keys.is_empty() {
            return Ok(());
        }
        let tickets = fetch_in(
            tx,
            "SELECT ticket_id, workspace_id, state, status, priority, team_id, agent_id, segment, active, \
             opened_at, opened_event_id, awaiting_event_id, last_event_id, version FROM rm_sla_tickets \
             WHERE ticket_id",
            "",
            &keys,
        )
        .await?;
        let deadlines = fetch_in(
            tx,
            &format!("SELECT {DEADLINE_COLUMNS} FROM rm_sla_deadlines WHERE ticket_id"),
            "",
            &keys,
        )
        .await?;
        let mut fold = Fold::new(tickets, deadlines);
        for (stored, event) in &events {
            fold.apply(stored, event).with_context(|| {
                format!("projector {NAME} failed on event at {}", stored.position)
            })?;
        }
        write(tx, fold).await
    }
}

/// Write what a batch changed: each changed row once.
async fn write(tx: &mut Tx, fold: Fold) -> anyhow::Result<()> {
    let mut tickets = Vec::with_capacity(fold.tickets.len());
    for (id, t) in fold.tickets {
        tickets.push(args![
            id,
            t.workspace_id,
            serde_json::value::to_raw_value(&t.sla)?,
            t.status,
            t.priority,
            t.team_id,
            t.agent_id,
            t.segment,
            t.active,
            t.opened_at,
            t.opened_event_id,
            t.sla.awaiting_reply_since,
            t.awaiting_event_id,
            t.last_event_id,
            t.version
        ]);
    }
    insert(
        tx,
        "INSERT INTO rm_sla_tickets (ticket_id, workspace_id, state, status, priority, team_id, agent_id, segment, \
         active, opened_at, opened_event_id, awaiting_reply_since, awaiting_event_id, last_event_id, version)",
        "ON CONFLICT (ticket_id) DO UPDATE SET state = excluded.state, status = excluded.status, \
         priority = excluded.priority, team_id = excluded.team_id, agent_id = excluded.agent_id, \
         segment = excluded.segment, active = excluded.active, awaiting_reply_since = excluded.awaiting_reply_since, \
         awaiting_event_id = excluded.awaiting_event_id, last_event_id = excluded.last_event_id, \
         version = excluded.version",
        tickets,
    )
    .await?;
    let mut deadlines = Vec::new();
    for (id, d) in &fold.deadlines {
        // Rare: only a policy version without a target removes a deadline.
        for metric in d.removed() {
            tx.execute(
                "DELETE FROM rm_sla_deadlines WHERE ticket_id = $1 AND metric = $2",
                args![id.as_str(), metric.as_str()],
            )
            .await?;
        }
        deadlines.extend(d.written().map(|r| {
            args![
                r.ticket_id.as_str(),
                r.metric.as_str(),
                r.workspace_id.as_str(),
                r.cycle,
                r.policy_id.as_str(),
                r.policy_version,
                r.target_seconds,
                r.started_at,
                r.warn_at,
                r.due_at,
                r.met_at,
                r.state.as_str(),
                r.warned,
                r.breached,
                r.next_check_at,
                r.next_moment.as_deref(),
                r.source_event_id.as_str(),
                r.team_id.as_deref(),
                r.agent_id.as_deref(),
                r.priority.as_str(),
                r.updated_at
            ]
        }));
    }
    // `workspace_id` is updated too: it is the stored one unless the batch
    // removed the row and wrote it anew.
    insert(
        tx,
        &format!("INSERT INTO rm_sla_deadlines ({DEADLINE_COLUMNS})"),
        "ON CONFLICT (ticket_id, metric) DO UPDATE SET workspace_id = excluded.workspace_id, cycle = excluded.cycle, \
         policy_id = excluded.policy_id, policy_version = excluded.policy_version, \
         target_seconds = excluded.target_seconds, started_at = excluded.started_at, warn_at = excluded.warn_at, \
         due_at = excluded.due_at, met_at = excluded.met_at, state = excluded.state, warned = excluded.warned, \
         breached = excluded.breached, next_check_at = excluded.next_check_at, next_moment = excluded.next_moment, \
         source_event_id = excluded.source_event_id, team_id = excluded.team_id, agent_id = excluded.agent_id, \
         priority = excluded.priority, updated_at = excluded.updated_at",
        deadlines,
    )
    .await?;
    let escalations = fold
        .escalations
        .into_iter()
        .map(|e| {
            args![
                e.ticket_id,
                e.policy_id,
                e.rule_id,
                e.workspace_id,
                e.tier,
                e.event_id,
                e.escalated_at
            ]
        })
        .collect();
    insert(
        tx,
        "INSERT INTO rm_sla_escalations (ticket_id, policy_id, rule_id, workspace_id, tier, event_id, escalated_at)",
        "ON CONFLICT DO NOTHING",
        escalations,
    )
    .await?;
    Ok(())
}

/// A deadline row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeadlineRow {
    pub ticket_id: String,
    pub metric: String,
    pub workspace_id: String,
    pub cycle: i64,
    pub policy_id: String,
    pub policy_version: i64,
    pub target_seconds: i64,
    pub started_at: DateTime<Utc>,
    pub warn_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub met_at: Option<DateTime<Utc>>,
    pub state: String,
    pub warned: bool,
    pub breached: bool,
    pub next_check_at: Option<DateTime<Utc>>,
    pub next_moment: Option<String>,
    pub source_event_id: String,
    pub team_id: Option<String>,
    pub agent_id: Option<String>,
    pub priority: String,
    pub updated_at: DateTime<Utc>,
}

const DEADLINE_COLUMNS: &str = "ticket_id, metric, workspace_id, cycle, policy_id, policy_version, target_seconds, \
     started_at, warn_at, due_at, met_at, state, warned, breached, next_check_at, next_moment, source_event_id, \
     team_id, agent_id, priority, updated_at";

/// Deadlines whose next moment (warning or breach) has come by `now`, oldest first.
pub async fn due(db: &Db, now: DateTime<Utc>, limit: i64) -> Result<Vec<DeadlineRow>, SqlError> {
    db.fetch_all(
        &format!(
            "SELECT {DEADLINE_COLUMNS} FROM rm_sla_deadlines WHERE next_check_at <= $1 \
             ORDER BY next_check_at LIMIT $2"
        ),
        args![now, limit],
    )
    .await
}

/// The earliest moment any deadline needs a look, if any.
pub async fn next_moment(db: &Db) -> Result<Option<DateTime<Utc>>, SqlError> {
    #[derive(sqlx::FromRow)]
    struct Next {
        next_check_at: Option<DateTime<Utc>>,
    }
    let row: Option<Next> = db
        .fetch_optional(
            "SELECT next_check_at FROM rm_sla_deadlines WHERE next_check_at IS NOT NULL \
             ORDER BY next_check_at LIMIT 1",
            vec![],
        )
        .await?;
    Ok(row.and_then(|r| r.next_check_at))
}

/// Filters of `GET /v1/sla/breaches`.
#[derive(Debug, Clone, Default)]
pub struct BreachFilter {
    pub workspace_id: String,
    /// `breached`, `warning`, or both when empty.
    pub states: Vec<String>,
    pub team: Option<String>,
    pub agent: Option<String>,
    pub metric: Option<String>,
    pub limit: i64,
    /// Continue after this (due_at, "ticket_id|metric").
    pub after: Option<(DateTime<Utc>, String)>,
}

#[derive(Debug, Clone)]
pub struct BreachPage {
    pub items: Vec<DeadlineRow>,
    pub next_cursor: Option<String>,
}

/// Breached and at-risk deadlines, soonest (most overdue) first.
///
/// One ordered walk of `rm_sla_deadlines_by_state` per state, merged: an
/// `IN` list of states cannot use the index's order, and Postgres then
/// sorted every breached and warned deadline of the workspace (hundreds of
/// thousands at a million tickets) for each page.
pub async fn breaches(db: &Db, f: &BreachFilter) -> Result<BreachPage, SqlError> {
    let mut args: Vec<Arg> = vec![f.workspace_id.clone().into()];
    let states = if f.states.is_empty() {
        vec!["breached".to_owned(), "warning".to_owned()]
    } else {
        f.states.clone()
    };
    let mut common = String::new();
    for (col, v) in [
        ("team_id", &f.team),
        ("agent_id", &f.agent),
        ("metric", &f.metric),
    ] {
        if let Some(v) = v {
            args.push(v.clone().into());
            common.push_str(&format!(" AND {col} = ${}", args.len()));
        }
    }
    if let Some((at, key)) = &f.after {
        let (ticket, metric) = key.split_once('|').unwrap_or((key.as_str(), ""));
        args.push((*at).into());
        args.push(ticket.to_owned().into());
        args.push(metric.to_owned().into());
        let (a, b, c) = (args.len() - 2, args.len() - 1, args.len());
        common.push_str(&format!(
            " AND (due_at > ${a} OR (due_at = ${a} AND (ticket_id > ${b} OR (ticket_id = ${b} AND metric > ${c}))))"
        ));
    }
    let limit = crate::cursor::limit_clause(f.limit + 1);
    let mut walks = Vec::new();
    for s in states {
        args.push(s.into());
        walks.push(format!(
            "SELECT * FROM (SELECT {DEADLINE_COLUMNS} FROM rm_sla_deadlines \
             WHERE workspace_id = $1 AND state = ${}{common} \
             ORDER BY due_at, ticket_id, metric {limit}) AS s",
            args.len()
        ));
    }
    let sql = format!(
        "SELECT * FROM ({}) AS walks ORDER BY due_at, ticket_id, metric {limit}",
        walks.join(" UNION ALL ")
    );
    let mut items: Vec<DeadlineRow> = db.fetch_all(&sql, args).await?;
    let next_cursor = if items.len() as i64 > f.limit {
        items.truncate(usize::try_from(f.limit).unwrap_or(0));
        items.last().and_then(|r| {
            r.due_at.map(|due| {
                crate::cursor::encode_time_id(due, &format!("{}|{}", r.ticket_id, r.metric))
            })
        })
    } else {
        None
    };
    Ok(BreachPage { items, next_cursor })
}

/// Candidates for an escalation rule: what the SQL can pre-select; the ticket
/// aggregate decides for real.
#[derive(Debug, Clone, Default)]
pub struct EscalationQuery {
    pub workspace_id: String,
    pub policy_id: String,
    pub rule_id: String,
    pub opened_before: Option<DateTime<Utc>>,
    pub waiting_since_before: Option<DateTime<Utc>>,
    pub priorities: Vec<String>,
    pub segments: Vec<String>,
    /// Some deadline (of this metric, or any when `Some(None)`) in one of these states.
    pub deadline_states: Vec<&'static str>,
    pub deadline_metric: Option<String>,
    pub limit: i64,
}

/// An escalation candidate and the events that may have triggered it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Candidate {
    pub ticket_id: String,
    pub opened_event_id: String,
    pub awaiting_event_id: Option<String>,
    pub last_event_id: String,
}

/// Active tickets the rule may fire on and has not fired on yet.
pub async fn escalation_candidates(
    db: &Db,
    q: &EscalationQuery,
) -> Result<Vec<Candidate>, SqlError> {
    let mut args: Vec<Arg> = vec![
        q.workspace_id.clone().into(),
        true.into(),
        q.policy_id.clone().into(),
        q.rule_id.clone().into(),
    ];
    let mut sql = String::from(
        "SELECT t.ticket_id, t.opened_event_id, t.awaiting_event_id, t.last_event_id FROM rm_sla_tickets t \
         WHERE t.workspace_id = $1 AND t.active = $2 AND NOT EXISTS (SELECT 1 FROM rm_sla_escalations e \
         WHERE e.ticket_id = t.ticket_id AND e.policy_id = $3 AND e.rule_id = $4)",
    );
    if let Some(b) = q.opened_before {
        args.push(b.into());
        sql.push_str(&format!(" AND t.opened_at <= ${}", args.len()));
    }
    if let Some(b) = q.waiting_since_before {
        args.push(b.into());
        sql.push_str(&format!(
            " AND t.awaiting_reply_since <= ${} AND t.status <> 'waiting_on_customer'",
            args.len()
        ));
    }
    for (col, values) in [("t.priority", &q.priorities), ("t.segment", &q.segments)] {
        if values.is_empty() {
            continue;
        }
        let mut marks = Vec::new();
        for v in values {
            args.push(v.clone().into());
            marks.push(format!("${}", args.len()));
        }
        sql.push_str(&format!(" AND {col} IN ({})", marks.join(", ")));
    }
    if !q.deadline_states.is_empty() {
        let mut marks = Vec::new();
        for s in &q.deadline_states {
            args.push((*s).into());
            marks.push(format!("${}", args.len()));
        }
        let mut inner = format!(
            "SELECT 1 FROM rm_sla_deadlines d WHERE d.ticket_id = t.ticket_id AND d.state IN ({})",
            marks.join(", ")
        );
        if let Some(m) = &q.deadline_metric {
            args.push(m.clone().into());
            inner.push_str(&format!(" AND d.metric = ${}", args.len()));
        }
        sql.push_str(&format!(" AND EXISTS ({inner})"));
    }
    args.push(q.limit.into());
    sql.push_str(&format!(" ORDER BY t.opened_at LIMIT ${}", args.len()));
    db.fetch_all(&sql, args).await
}

/// The event that recorded the newest warning or breach of a ticket's
/// deadlines, for causation.
pub async fn deadline_event(
    db: &Db,
    ticket_id: &str,
    event_type: &str,
) -> Result<Option<String>, SqlError> {
    #[derive(sqlx::FromRow)]
    struct Id {
        event_id: String,
    }
    let row: Option<Id> = db
        .fetch_optional(
            "SELECT event_id FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 AND event_type = $3 \
             ORDER BY sequence DESC LIMIT 1",
            args![tgcrm_domain::ticket::AGGREGATE_TYPE, ticket_id, event_type],
        )
        .await?;
    Ok(row.map(|r| r.event_id))
}

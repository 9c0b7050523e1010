//! Service metrics as read models, so no query scans the log:
//!
//! - `rm_first_responses`: one row per ticket and resolution cycle. Cycle 1
//!   runs from opening to the first public reply of a human agent (bots,
//!   system messages and internal notes do not count); a reopened ticket's
//!   later cycles run from the reopening to the next such reply.
//! - `rm_resolutions`: one row per resolution cycle: from the cycle's start
//!   (opening or reopening) to resolved, and from the opening to that
//!   resolution, so a reopened ticket keeps its first resolution time and
//!   gains a full one.
//! - `rm_sla_outcomes`: per ticket, metric and cycle under a policy: met in
//!   time or breached.
//!
//! Every figure is in calendar seconds and in business seconds (the open
//! hours of the calendar of the SLA policy applied to the ticket; around the
//! clock when none applies).
//!
//! A batch is folded in memory (`metrics_fold`) and each changed row
//! written once.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use tgcrm_domain::ticket::TicketEvent;
use tgcrm_domain::values::Status;
use tgcrm_store::{Arg, Backend, Db, SqlError, StoredEvent, Tx, args};

use super::batch::{ticket_events, tickets_where};
use super::metrics_fold::Fold;
use crate::bulk::{fetch_in, insert};
use crate::projector::Projector;
use crate::schema::ddl;

pub const NAME: &str = "service_metrics";

pub struct MetricsProjector;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS rm_metric_tickets (
        ticket_id        TEXT PRIMARY KEY,
        workspace_id     TEXT NOT NULL,
        state            {json} NOT NULL,
        priority         TEXT NOT NULL,
        team_id          TEXT,
        agent_id         TEXT,
        opened_at        {ts} NOT NULL,
        responded_cycle  {int} NOT NULL,
        version          {int} NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS rm_first_responses (
        ticket_id        TEXT NOT NULL,
        cycle            {int} NOT NULL,
        workspace_id     TEXT NOT NULL,
        started_at       {ts} NOT NULL,
        responded_at     {ts} NOT NULL,
        calendar_seconds {int} NOT NULL,
        business_seconds {int} NOT NULL,
        responder        TEXT NOT NULL,
        agent_id         TEXT,
        team_id          TEXT,
        priority         TEXT NOT NULL,
        PRIMARY KEY (ticket_id, cycle)
    )",
    "CREATE INDEX IF NOT EXISTS rm_first_responses_by_time ON rm_first_responses (workspace_id, responded_at)",
    "CREATE TABLE IF NOT EXISTS rm_resolutions (
        ticket_id             TEXT NOT NULL,
        cycle                 {int} NOT NULL,
        workspace_id          TEXT NOT NULL,
        opened_at             {ts} NOT NULL,
        started_at            {ts} NOT NULL,
        resolved_at           {ts} NOT NULL,
        calendar_seconds      {int} NOT NULL,
        business_seconds      {int} NOT NULL,
        full_calendar_seconds {int} NOT NULL,
        full_business_seconds {int} NOT NULL,
        agent_id              TEXT,
        team_id               TEXT,
        priority              TEXT NOT NULL,
        latest                {bool} NOT NULL,
        PRIMARY KEY (ticket_id, cycle)
    )",
    "CREATE INDEX IF NOT EXISTS rm_resolutions_by_time ON rm_resolutions (workspace_id, resolved_at)",
    "CREATE TABLE IF NOT EXISTS rm_sla_outcomes (
        ticket_id      TEXT NOT NULL,
        metric         TEXT NOT NULL,
        cycle          {int} NOT NULL,
        workspace_id   TEXT NOT NULL,
        policy_id      TEXT NOT NULL,
        policy_version {int} NOT NULL,
        due_at         {ts} NOT NULL,
        completed_at   {ts},
        met            {bool} NOT NULL,
        breached       {bool} NOT NULL,
        agent_id       TEXT,
        team_id        TEXT,
        priority       TEXT NOT NULL,
        PRIMARY KEY (ticket_id, metric, cycle)
    )",
    "CREATE INDEX IF NOT EXISTS rm_sla_outcomes_by_time ON rm_sla_outcomes (workspace_id, due_at)",
];

#[async_trait]
impl Projector for MetricsProjector {
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
        &[
            "rm_metric_tickets",
            "rm_first_responses",
            "rm_resolutions",
            "rm_sla_outcomes",
        ]
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        SCHEMA.iter().map(|s| ddl(backend, s)).collect()
    }

    fn query_indexes(&self) -> &'static [&'static str] {
        &[
            "rm_first_responses_by_time",
            "rm_resolutions_by_time",
            "rm_sla_outcomes_by_time",
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
            "SELECT ticket_id, workspace_id, state, priority, team_id, agent_id, opened_at, responded_cycle, \
             version FROM rm_metric_tickets WHERE ticket_id",
            "",
            &keys,
        )
        .await?;
        // A resolution clears the mark of the ticket's earlier ones.
        let resolved = tickets_where(
            &events,
            |e| matches!(e, TicketEvent::StatusChanged { to, .. } if *to == Status::Resolved),
        );
        let resolutions = fetch_in(
            tx,
            &format!("SELECT {RESOLUTION_COLUMNS} FROM rm_resolutions WHERE ticket_id"),
            "",
            &resolved,
        )
        .await?;
        let mut fold = Fold::new(tickets, resolutions);
        for (stored, event) in &events {
            fold.apply(stored, event).with_context(|| {
                format!("projector {NAME} failed on event at {}", stored.position)
            })?;
        }
        write(tx, fold).await
    }
}

const RESOLUTION_COLUMNS: &str = "ticket_id, cycle, workspace_id, opened_at, started_at, resolved_at, \
     calendar_seconds, business_seconds, full_calendar_seconds, full_business_seconds, agent_id, team_id, \
     priority, latest";

/// Write what a batch changed: each changed row once.
async fn write(tx: &mut Tx, fold: Fold) -> anyhow::Result<()> {
    let mut tickets = Vec::with_capacity(fold.tickets.len());
    for (id, t) in fold.tickets {
        tickets.push(args![
            id,
            t.workspace_id,
            serde_json::value::to_raw_value(&t.sla)?,
            t.priority,
            t.team_id,
            t.agent_id,
            t.opened_at,
            t.responded_cycle,
            t.version
        ]);
    }
    insert(
        tx,
        "INSERT INTO rm_metric_tickets (ticket_id, workspace_id, state, priority, team_id, agent_id, opened_at, \
         responded_cycle, version)",
        "ON CONFLICT (ticket_id) DO UPDATE SET state = excluded.state, priority = excluded.priority, \
         team_id = excluded.team_id, agent_id = excluded.agent_id, responded_cycle = excluded.responded_cycle, \
         version = excluded.version",
        tickets,
    )
    .await?;
    let first_responses = fold
        .first_responses
        .into_iter()
        .map(|f| {
            args![
                f.ticket_id,
                f.cycle,
                f.workspace_id,
                f.started_at,
                f.responded_at,
                f.calendar_seconds,
                f.business_seconds,
                f.responder,
                f.agent_id,
                f.team_id,
                f.priority
            ]
        })
        .collect();
    insert(
        tx,
        "INSERT INTO rm_first_responses (ticket_id, cycle, workspace_id, started_at, responded_at, \
         calendar_seconds, business_seconds, responder, agent_id, team_id, priority)",
        "ON CONFLICT DO NOTHING",
        first_responses,
    )
    .await?;
    let resolutions = fold
        .resolutions
        .values()
        .flat_map(|r| r.written())
        .map(|r| {
            args![
                r.ticket_id.as_str(),
                r.cycle,
                r.workspace_id.as_str(),
                r.opened_at,
                r.started_at,
                r.resolved_at,
                r.calendar_seconds,
                r.business_seconds,
                r.full_calendar_seconds,
                r.full_business_seconds,
                r.agent_id.as_deref(),
                r.team_id.as_deref(),
                r.priority.as_str(),
                r.latest
            ]
        })
        .collect();
    // New cycles are inserted; a stored one only ever loses its mark.
    insert(
        tx,
        &format!("INSERT INTO rm_resolutions ({RESOLUTION_COLUMNS})"),
        "ON CONFLICT (ticket_id, cycle) DO UPDATE SET latest = excluded.latest",
        resolutions,
    )
    .await?;
    let outcomes = fold
        .outcomes
        .into_values()
        .map(|o| {
            args![
                o.ticket_id,
                o.metric,
                o.cycle,
                o.workspace_id,
                o.policy_id,
                o.policy_version,
                o.due_at,
                o.completed_at,
                o.met,
                o.breached,
                o.agent_id,
                o.team_id,
                o.priority
            ]
        })
        .collect();
    insert(
        tx,
        "INSERT INTO rm_sla_outcomes (ticket_id, metric, cycle, workspace_id, policy_id, policy_version, due_at, \
         completed_at, met, breached, agent_id, team_id, priority)",
        "ON CONFLICT (ticket_id, metric, cycle) DO UPDATE SET completed_at = excluded.completed_at, \
         met = excluded.met, breached = excluded.breached, agent_id = excluded.agent_id, team_id = excluded.team_id",
        outcomes,
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Agent,
    Team,
    Day,
    Week,
    Priority,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "agent" => Self::Agent,
            "team" => Self::Team,
            "day" => Self::Day,
            "week" => Self::Week,
            "priority" => Self::Priority,
            _ => return None,
        })
    }
}

/// Which resolution figure: each ticket's first, its full (opening to the
/// latest resolution), or every cycle on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolutionMeasure {
    First,
    Full,
    Cycles,
}

#[derive(Debug, Clone)]
pub struct MetricQuery {
    pub workspace_id: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group_by: Option<GroupBy>,
    pub team: Option<String>,
    pub agent: Option<String>,
    pub priority: Option<String>,
    /// Report only what was known at this instant: replies, resolutions and
    /// SLA outcomes that had happened by then (time travel for analysts).
    pub as_of: Option<DateTime<Utc>>,
}

/// count, mean, median, p90 in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub count: i64,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

/// Summary statistics; percentiles by linear interpolation between ranks.
pub fn stats(values: &mut [i64]) -> Stats {
    values.sort_unstable();
    let n = values.len();
    if n == 0 {
        return Stats {
            count: 0,
            mean: None,
            median: None,
            p90: None,
        };
    }
    let pct = |p: f64| {
        let rank = p * (n as f64 - 1.0);
        let lo = rank.floor() as usize;
        let hi = rank.ceil() as usize;
        let (a, b) = (values[lo] as f64, values[hi] as f64);
        a + (b - a) * (rank - lo as f64)
    };
    let sum: i64 = values.iter().sum();
    Stats {
        count: n as i64,
        mean: Some(sum as f64 / n as f64),
        median: Some(pct(0.5)),
        p90: Some(pct(0.9)),
    }
}

/// One group's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// The agent or team id, the day (`2026-03-02`), the ISO week (`2026-W10`)
    /// or the priority; `null` for rows without one (e.g. unassigned), and
    /// `all` without grouping.
    pub key: Option<String>,
    pub calendar: Stats,
    pub business: Stats,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Measured {
    at: DateTime<Utc>,
    calendar_seconds: i64,
    business_seconds: i64,
    agent_id: Option<String>,
    team_id: Option<String>,
    priority: String,
}

fn group_key(g: Option<GroupBy>, m: &Measured) -> Option<String> {
    match g {
        None => Some("all".to_owned()),
        Some(GroupBy::Agent) => m.agent_id.clone(),
        Some(GroupBy::Team) => m.team_id.clone(),
        Some(GroupBy::Day) => Some(m.at.date_naive().to_string()),
        Some(GroupBy::Week) => {
            let w = m.at.iso_week();
            Some(format!("{}-W{:02}", w.year(), w.week()))
        }
        Some(GroupBy::Priority) => Some(m.priority.clone()),
    }
}

fn group(rows: Vec<Measured>, by: Option<GroupBy>) -> Vec<Group> {
    let mut groups: std::collections::BTreeMap<Option<String>, (Vec<i64>, Vec<i64>)> =
        Default::default();
    for r in rows {
        let entry = groups.entry(group_key(by, &r)).or_default();
        entry.0.push(r.calendar_seconds);
        entry.1.push(r.business_seconds);
    }
    groups
        .into_iter()
        .map(|(key, (mut c, mut b))| Group {
            key,
            calendar: stats(&mut c),
            business: stats(&mut b),
        })
        .collect()
}

fn filters(q: &MetricQuery, time_col: &str, args: &mut Vec<Arg>, sql: &mut String) {
    args.push(q.workspace_id.clone().into());
    args.push(q.from.into());
    args.push(q.to.into());
    sql.push_str(&format!(
        " WHERE workspace_id = $1 AND {time_col} >= $2 AND {time_col} < $3"
    ));
    for (col, v) in [
        ("team_id", &q.team),
        ("agent_id", &q.agent),
        ("priority", &q.priority),
    ] {
        if let Some(v) = v {
            args.push(v.clone().into());
            sql.push_str(&format!(" AND {col} = ${}", args.len()));
        }
    }
}

/// First response figures of replies made in `[from, to)`. `all_cycles`:
/// also the first replies after reopenings.
pub async fn first_response(
    db: &Db,
    q: &MetricQuery,
    all_cycles: bool,
) -> Result<Vec<Group>, SqlError> {
    let mut args = Vec::new();
    let mut sql = String::from(
        "SELECT responded_at AS at, calendar_seconds, business_seconds, agent_id, team_id, priority \
         FROM rm_first_responses",
    );
    filters(q, "responded_at", &mut args, &mut sql);
    if let Some(t) = q.as_of {
        args.push(t.into());
        sql.push_str(&format!(" AND responded_at <= ${}", args.len()));
    }
    if !all_cycles {
        sql.push_str(" AND cycle = 1");
    }
    let rows: Vec<Measured> = db.fetch_all(&sql, args).await?;
    Ok(group(rows, q.group_by))
}

/// Resolution figures of resolutions in `[from, to)`.
pub async fn resolution(
    db: &Db,
    q: &MetricQuery,
    measure: ResolutionMeasure,
) -> Result<Vec<Group>, SqlError> {
    let (cal, bus, extra) = match measure {
        ResolutionMeasure::First => (
            "full_calendar_seconds",
            "full_business_seconds",
            " AND cycle = 1",
        ),
        ResolutionMeasure::Full => (
            "full_calendar_seconds",
            "full_business_seconds",
            " AND latest = $LATEST",
        ),
        ResolutionMeasure::Cycles => ("calendar_seconds", "business_seconds", ""),
    };
    let mut args = Vec::new();
    let mut sql = format!(
        "SELECT resolved_at AS at, {cal} AS calendar_seconds, {bus} AS business_seconds, agent_id, team_id, priority \
         FROM rm_resolutions"
    );
    filters(q, "resolved_at", &mut args, &mut sql);
    match (q.as_of, extra.contains("$LATEST")) {
        // The latest resolution known then, not the latest known now.
        (Some(t), true) => {
            args.push(t.into());
            let n = args.len();
            sql.push_str(&format!(
                " AND resolved_at <= ${n} AND cycle = (SELECT MAX(r.cycle) FROM rm_resolutions r \
                 WHERE r.ticket_id = rm_resolutions.ticket_id AND r.resolved_at <= ${n})"
            ));
        }
        (Some(t), false) => {
            args.push(t.into());
            sql.push_str(&format!(" AND resolved_at <= ${}", args.len()));
            sql.push_str(extra);
        }
        (None, true) => {
            args.push(true.into());
            sql.push_str(&extra.replace("$LATEST", &format!("${}", args.len())));
        }
        (None, false) => sql.push_str(extra),
    }
    let rows: Vec<Measured> = db.fetch_all(&sql, args).await?;
    Ok(group(rows, q.group_by))
}

/// SLA outcomes of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaGroup {
    pub key: Option<String>,
    /// Targets settled (met or breached).
    pub count: i64,
    pub met: i64,
    pub breached: i64,
    /// `met / count`; `null` when nothing was settled.
    pub met_share: Option<f64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Outcome {
    due_at: DateTime<Utc>,
    met: bool,
    agent_id: Option<String>,
    team_id: Option<String>,
    priority: String,
}

/// Outcomes of targets due in `[from, to)`, optionally of one metric.
pub async fn sla(
    db: &Db,
    q: &MetricQuery,
    metric: Option<&str>,
) -> Result<Vec<SlaGroup>, SqlError> {
    let mut args = Vec::new();
    let mut sql =
        String::from("SELECT due_at, met, agent_id, team_id, priority FROM rm_sla_outcomes");
    filters(q, "due_at", &mut args, &mut sql);
    if let Some(t) = q.as_of {
        // Settled by then: met when completed in time, breached once due.
        args.push(true.into());
        let yes = args.len();
        args.push(t.into());
        let n = args.len();
        sql.push_str(&format!(
            " AND ((met = ${yes} AND completed_at <= ${n}) OR (breached = ${yes} AND due_at <= ${n}))"
        ));
    }
    if let Some(m) = metric {
        args.push(m.into());
        sql.push_str(&format!(" AND metric = ${}", args.len()));
    }
    let rows: Vec<Outcome> = db.fetch_all(&sql, args).await?;
    let mut groups: std::collections::BTreeMap<Option<String>, (i64, i64)> = Default::default();
    for r in rows {
        let key = group_key(
            q.group_by,
            &Measured {
                at: r.due_at,
                calendar_seconds: 0,
                business_seconds: 0,
                agent_id: r.agent_id,
                team_id: r.team_id,
                priority: r.priority,
            },
        );
        let e = groups.entry(key).or_default();
        e.0 += 1;
        if r.met {
            e.1 += 1;
        }
    }
    Ok(groups
        .into_iter()
        .map(|(key, (count, met))| SlaGroup {
            key,
            count,
            met,
            breached: count - met,
            met_share: (count > 0).then(|| met as f64 / count as f64),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_interpolate_percentiles() {
        let s = stats(&mut [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
        assert_eq!(s.count, 10);
        assert_eq!(s.mean, Some(55.0));
        assert_eq!(s.median, Some(55.0));
        assert_eq!(s.p90, Some(91.0));
        assert_eq!(stats(&mut []).mean, None);
        assert_eq!(stats(&mut [7]).p90, Some(7.0));
    }
}

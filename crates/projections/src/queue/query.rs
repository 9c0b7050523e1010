//! Reading the queues. Queue order: tickets placed by hand first (in their
//! manual order), then by priority, then SLA due time (tickets with one
//! first), then longest waiting, then ticket id. Pages are keyset-paged on
//! that whole sort key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use tgcrm_store::{Arg, Db, SqlError, args};

use super::queue_key;
use crate::cursor::{BadCursor, limit_clause};

/// Stands for "no manual place" in sort keys: after every real rank.
const NO_RANK: i64 = i64::MAX / 2;

/// Stands for "no SLA due time" in sort keys: after every real one.
fn no_due() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Which queue: a team's, or the whole workspace (`all`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueRef {
    All,
    Team(String),
}

impl QueueRef {
    fn key(&self, workspace: &str) -> String {
        match self {
            Self::All => queue_key(workspace, None),
            Self::Team(t) => queue_key(workspace, Some(t)),
        }
    }
}

/// The sort key of the last item of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCursor {
    rank: i64,
    priority: i64,
    due: DateTime<Utc>,
    waiting: DateTime<Utc>,
    ticket: String,
}

impl QueueCursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(raw: &str) -> Result<Self, BadCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| BadCursor)?;
        let c: Self = serde_json::from_slice(&bytes).map_err(|_| BadCursor)?;
        if c.ticket.is_empty() || c.ticket.len() > 100 {
            return Err(BadCursor);
        }
        Ok(c)
    }
}

/// A waiting ticket, in queue order.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct QueueItem {
    pub ticket_id: String,
    pub subject: Option<String>,
    pub team_id: Option<String>,
    pub priority: String,
    pub status: String,
    /// Skills the ticket needs (its `skill:<name>` tags).
    pub needs: serde_json::Value,
    pub opened_at: DateTime<Utc>,
    pub waiting_since: DateTime<Utc>,
    pub sla_due_at: Option<DateTime<Utc>>,
    /// Its place in the manual order (0 = first), if an admin placed it.
    pub manual_rank: Option<i64>,
    #[serde(skip)]
    k_rank: i64,
    #[serde(skip)]
    k_due: DateTime<Utc>,
    #[serde(skip)]
    priority_rank: i64,
}

impl QueueItem {
    /// The cursor that continues after this item.
    pub fn cursor(&self) -> QueueCursor {
        QueueCursor {
            rank: self.k_rank,
            priority: self.priority_rank,
            due: self.k_due,
            waiting: self.waiting_since,
            ticket: self.ticket_id.clone(),
        }
    }
}

/// The sort key of a row's SLA due time: the time, or after every real one.
pub(super) fn due_key(due: Option<DateTime<Utc>>) -> DateTime<Utc> {
    due.unwrap_or_else(no_due)
}

/// The order after the manual rank: what the waiting-ticket indexes give.
const ORDER: &str = "q.priority_rank, q.sla_due_key, q.waiting_since, q.ticket_id";

/// Waiting tickets: the predicate of the waiting-ticket indexes, word for word.
const WAITING: &str = "q.active = TRUE AND q.assignee_agent_id IS NULL";

const COLUMNS: &str = "q.ticket_id, t.subject, q.team_id, q.priority, q.status, q.needs, q.opened_at, \
     q.waiting_since, q.sla_due_at, q.sla_due_key AS k_due, q.priority_rank";

/// One page of a queue, after `after`: the tickets placed by hand (few), in
/// their manual order, then the rest from an index in queue order. Two
/// queries, so that neither sorts the whole queue. `placed` is false when
/// the queue's settings hold no manual order (its aggregate is newer than
/// this projection): then the order rows are not read at all.
pub async fn list(
    db: &Db,
    workspace: &str,
    queue: &QueueRef,
    after: Option<&QueueCursor>,
    limit: i64,
    placed: bool,
) -> Result<Vec<QueueItem>, SqlError> {
    let mut items = Vec::new();
    let unranked_after = match after {
        Some(c) if c.rank >= NO_RANK => Some(c),
        _ if !placed => None,
        _ => {
            items = ranked(db, workspace, queue, after, limit).await?;
            None
        }
    };
    let wanted = limit - i64::try_from(items.len()).unwrap_or(limit);
    if wanted > 0 {
        let page = unranked(db, workspace, queue, unranked_after, wanted, placed).await?;
        items.extend(page);
    }
    Ok(items)
}

/// The first arguments and text every page query shares; `from` joins `q`.
/// `$1` is the workspace, `$2` the queue's key when `keyed`.
fn page_query(
    workspace: &str,
    queue: &QueueRef,
    select: &str,
    from: &str,
    keyed: bool,
) -> (Vec<Arg>, String) {
    let mut args: Vec<Arg> = args![workspace];
    if keyed {
        args.push(queue.key(workspace).into());
    }
    let mut sql = format!(
        "SELECT {COLUMNS}, {select} FROM {from} \
         LEFT JOIN rm_tickets t ON t.ticket_id = q.ticket_id \
         WHERE q.workspace_id = $1 AND {WAITING}"
    );
    if let QueueRef::Team(team) = queue {
        args.push(team.clone().into());
        sql.push_str(&format!(" AND q.team_id = ${}", args.len()));
    }
    (args, sql)
}

/// Appends `AND (columns) > (cursor…)` for the cursor's values `values`.
fn push_after(sql: &mut String, args: &mut Vec<Arg>, columns: &str, values: Vec<Arg>) {
    let first = args.len() + 1;
    let marks: Vec<String> = (first..first + values.len())
        .map(|n| format!("${n}"))
        .collect();
    args.extend(values);
    sql.push_str(&format!(" AND ({columns}) > ({})", marks.join(", ")));
}

/// The tickets of the queue's manual order, after `after`.
async fn ranked(
    db: &Db,
    workspace: &str,
    queue: &QueueRef,
    after: Option<&QueueCursor>,
    limit: i64,
) -> Result<Vec<QueueItem>, SqlError> {
    let (mut args, mut sql) = page_query(
        workspace,
        queue,
        "o.rank AS manual_rank, o.rank AS k_rank",
        "rm_queue_order o JOIN rm_queue q ON q.ticket_id = o.ticket_id AND o.queue_key = $2",
        true,
    );
    if let Some(c) = after {
        let values = args![c.rank, c.priority, c.due, c.waiting, c.ticket.clone()];
        push_after(&mut sql, &mut args, &format!("o.rank, {ORDER}"), values);
    }
    sql.push_str(&format!(
        " ORDER BY o.rank, {ORDER} {}",
        limit_clause(limit)
    ));
    db.fetch_all(&sql, args).await
}

/// The tickets the queue's manual order leaves out (all of them when
/// nothing is `placed`), after `after`.
async fn unranked(
    db: &Db,
    workspace: &str,
    queue: &QueueRef,
    after: Option<&QueueCursor>,
    limit: i64,
    placed: bool,
) -> Result<Vec<QueueItem>, SqlError> {
    let (mut args, mut sql) = page_query(
        workspace,
        queue,
        &format!("CAST(NULL AS BIGINT) AS manual_rank, {NO_RANK} AS k_rank"),
        "rm_queue q",
        placed,
    );
    if placed {
        sql.push_str(
            " AND NOT EXISTS (SELECT 1 FROM rm_queue_order o \
             WHERE o.queue_key = $2 AND o.ticket_id = q.ticket_id)",
        );
    }
    if let Some(c) = after {
        let values = args![c.priority, c.due, c.waiting, c.ticket.clone()];
        push_after(&mut sql, &mut args, ORDER, values);
    }
    sql.push_str(&format!(" ORDER BY {ORDER} {}", limit_clause(limit)));
    db.fetch_all(&sql, args).await
}

/// Every ticket id of a queue, in queue order (what a reorder decides against).
pub async fn queued_ids(
    db: &Db,
    workspace: &str,
    queue: &QueueRef,
) -> Result<Vec<String>, SqlError> {
    let mut out = Vec::new();
    let mut after: Option<QueueCursor> = None;
    loop {
        let page = list(db, workspace, queue, after.as_ref(), 1000, true).await?;
        let done = page.len() < 1000;
        after = page.last().map(QueueItem::cursor);
        out.extend(page.into_iter().map(|i| i.ticket_id));
        if done {
            return Ok(out);
        }
    }
}

/// A ticket waiting for an agent, as distribution sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WaitingTicket {
    pub ticket_id: String,
    pub team_id: Option<String>,
    pub needs: serde_json::Value,
    pub released_by: Option<String>,
    pub priority_rank: i64,
    pub k_due: DateTime<Utc>,
    pub waiting_since: DateTime<Utc>,
}

impl WaitingTicket {
    /// The needed skills as strings.
    pub fn needs(&self) -> Vec<String> {
        match &self.needs {
            serde_json::Value::String(s) => serde_json::from_str(s).unwrap_or_default(),
            v => serde_json::from_value(v.clone()).unwrap_or_default(),
        }
    }
}

/// Every waiting ticket of the workspace, each queue's in its own queue
/// order (a team's tickets by the team's manual order, tickets of no team by
/// the workspace queue's), grouped by team.
pub async fn waiting(db: &Db, workspace: &str) -> Result<Vec<WaitingTicket>, SqlError> {
    db.fetch_all(
        &format!(
            "SELECT q.ticket_id, q.team_id, q.needs, q.released_by, q.priority_rank, \
             q.sla_due_key AS k_due, q.waiting_since \
             FROM rm_queue q \
             LEFT JOIN rm_queue_order o ON o.queue_key = COALESCE(q.team_id, $3) AND o.ticket_id = q.ticket_id \
             WHERE q.workspace_id = $1 AND {WAITING} \
             ORDER BY q.team_id, COALESCE(o.rank, $2), {ORDER}"
        ),
        args![workspace, NO_RANK, queue_key(workspace, None)],
    )
    .await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AgentLoad {
    pub agent_id: String,
    /// Active tickets assigned to them, by anyone.
    pub load: i64,
}

/// The load of every agent of the workspace who has any.
pub async fn agent_loads(db: &Db, workspace: &str) -> Result<Vec<AgentLoad>, SqlError> {
    db.fetch_all(
        "SELECT assignee_agent_id AS agent_id, COUNT(*) AS load FROM rm_queue \
         WHERE workspace_id = $1 AND active = $2 AND assignee_agent_id IS NOT NULL \
         GROUP BY assignee_agent_id",
        args![workspace, true],
    )
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct LastRow {
    agent_id: String,
    last_assigned: i64,
}

/// When each agent of the workspace was last given a ticket (a log position).
pub async fn last_assigned(db: &Db, workspace: &str) -> Result<Vec<(String, i64)>, SqlError> {
    let rows: Vec<LastRow> = db
        .fetch_all(
            "SELECT agent_id, last_assigned FROM rm_queue_agents WHERE workspace_id = $1",
            args![workspace],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.agent_id, r.last_assigned))
        .collect())
}

/// Depth and age of a queue, per priority.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct QueueStats {
    pub priority: String,
    pub count: i64,
    pub oldest_waiting_since: Option<DateTime<Utc>>,
}

/// Per-priority counts and oldest wait of the tickets waiting in `queue`.
pub async fn stats(
    db: &Db,
    workspace: &str,
    queue: &QueueRef,
) -> Result<Vec<QueueStats>, SqlError> {
    let mut args: Vec<Arg> = args![workspace];
    let mut sql = format!(
        "SELECT q.priority, COUNT(*) AS count, MIN(q.waiting_since) AS oldest_waiting_since \
         FROM rm_queue q WHERE q.workspace_id = $1 AND {WAITING}"
    );
    if let QueueRef::Team(team) = queue {
        args.push(team.clone().into());
        sql.push_str(" AND q.team_id = $2");
    }
    sql.push_str(" GROUP BY q.priority");
    db.fetch_all(&sql, args).await
}

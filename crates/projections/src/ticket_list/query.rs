//! Reading the ticket list: the filters of `GET /v1/tickets`, newest first,
//! keyset-paginated.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tgcrm_store::{Arg, Db, SqlError};

use super::row::COLUMNS;
use crate::cursor::encode_time_id;

#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub workspace_id: String,
    pub status: Option<String>,
    pub priority: Option<String>,
    /// An agent id, or `None` inside `Some` for unassigned tickets.
    pub assignee: Option<Option<String>>,
    pub team: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub tag: Option<String>,
    pub include_archived: bool,
    pub limit: i64,
    /// Continue after this (created_at, ticket_id).
    pub after: Option<(DateTime<Utc>, String)>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TicketSummary {
    pub ticket_id: String,
    pub workspace_id: String,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub channel: String,
    pub customer_telegram_id: i64,
    pub customer_name: String,
    pub customer_username: Option<String>,
    pub assignee_agent_id: Option<String>,
    pub team_id: Option<String>,
    pub tags: serde_json::Value,
    pub archived: bool,
    pub message_count: i64,
    pub first_response_at: Option<DateTime<Utc>>,
    pub last_message_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct TicketPage {
    pub items: Vec<TicketSummary>,
    pub next_cursor: Option<String>,
}

pub async fn list(db: &Db, f: &TicketFilter) -> Result<TicketPage, SqlError> {
    let mut args: Vec<Arg> = vec![f.workspace_id.clone().into()];
    let mut sql = format!("SELECT {COLUMNS} FROM rm_tickets t WHERE workspace_id = $1");
    let mut push = |sql: &mut String, clause: &str, arg: Arg| {
        args.push(arg);
        sql.push_str(&clause.replace('?', &format!("${}", args.len())));
    };
    if let Some(s) = &f.status {
        push(&mut sql, " AND status = ?", s.clone().into());
    }
    if let Some(p) = &f.priority {
        push(&mut sql, " AND priority = ?", p.clone().into());
    }
    match &f.assignee {
        Some(Some(a)) => push(&mut sql, " AND assignee_agent_id = ?", a.clone().into()),
        Some(None) => sql.push_str(" AND assignee_agent_id IS NULL"),
        None => {}
    }
    if let Some(t) = &f.team {
        push(&mut sql, " AND team_id = ?", t.clone().into());
    }
    if let Some(a) = f.created_after {
        push(&mut sql, " AND created_at >= ?", a.into());
    }
    if let Some(b) = f.created_before {
        push(&mut sql, " AND created_at < ?", b.into());
    }
    if let Some(tag) = &f.tag {
        push(
            &mut sql,
            " AND EXISTS (SELECT 1 FROM rm_ticket_tags g WHERE g.ticket_id = t.ticket_id AND g.tag = ?)",
            tag.clone().into(),
        );
    }
    if !f.include_archived {
        push(&mut sql, " AND archived = ?", false.into());
    }
    if let Some((at, id)) = &f.after {
        args.push((*at).into());
        args.push(id.clone().into());
        let (a, b) = (args.len() - 1, args.len());
        sql.push_str(&format!(
            " AND (created_at < ${a} OR (created_at = ${a} AND ticket_id < ${b}))"
        ));
    }
    sql.push_str(&format!(
        " ORDER BY created_at DESC, ticket_id DESC {}",
        crate::cursor::limit_clause(f.limit + 1)
    ));
    let mut items: Vec<TicketSummary> = db.fetch_all(&sql, args).await?;
    let next_cursor = if items.len() as i64 > f.limit {
        items.truncate(usize::try_from(f.limit).unwrap_or(0));
        items
            .last()
            .map(|t| encode_time_id(t.created_at, &t.ticket_id))
    } else {
        None
    };
    Ok(TicketPage { items, next_cursor })
}

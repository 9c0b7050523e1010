//! Reading the knowledge base: article lists, versions, ranked full-text
//! search (Postgres `ts_rank`, SQLite `bm25`), and links shown from both sides.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tgcrm_store::fulltext::{self, Match};
use tgcrm_store::{Arg, Backend, Db, SqlError, args};

use crate::canned::like_escape_pub as like_escape;
use crate::cursor::encode_time_id;

#[derive(Debug, Clone, Default)]
pub struct ArticleFilter {
    pub workspace_id: String,
    /// `draft` or `published`; every status when `None`.
    pub status: Option<String>,
    pub tag: Option<String>,
    pub limit: i64,
    /// Continue after this (updated_at, id).
    pub after: Option<(DateTime<Utc>, String)>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ArticleRow {
    pub article_id: String,
    pub title: String,
    pub body: String,
    pub tags: serde_json::Value,
    pub status: String,
    pub source: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct ArticlePage {
    pub items: Vec<ArticleRow>,
    pub next_cursor: Option<String>,
}

/// Articles, most recently changed first.
pub async fn list(db: &Db, f: &ArticleFilter) -> Result<ArticlePage, SqlError> {
    let mut args: Vec<Arg> = vec![f.workspace_id.clone().into()];
    let mut sql = String::from(
        "SELECT article_id, title, body, tags, status, source, created_at, updated_at, version \
         FROM rm_kb_articles WHERE workspace_id = $1",
    );
    if let Some(s) = &f.status {
        args.push(s.clone().into());
        sql.push_str(&format!(" AND status = ${}", args.len()));
    }
    if let Some(t) = &f.tag {
        args.push(format!("% {} %", like_escape(t)).into());
        sql.push_str(&format!(" AND tags_text LIKE ${} ESCAPE '\\'", args.len()));
    }
    if let Some((at, id)) = &f.after {
        args.push((*at).into());
        args.push(id.clone().into());
        let (a, b) = (args.len() - 1, args.len());
        sql.push_str(&format!(
            " AND (updated_at < ${a} OR (updated_at = ${a} AND article_id < ${b}))"
        ));
    }
    args.push((f.limit + 1).into());
    sql.push_str(&format!(
        " ORDER BY updated_at DESC, article_id DESC LIMIT ${}",
        args.len()
    ));
    let mut items: Vec<ArticleRow> = db.fetch_all(&sql, args).await?;
    let next_cursor = if items.len() as i64 > f.limit {
        items.truncate(usize::try_from(f.limit).unwrap_or(0));
        items
            .last()
            .map(|r| encode_time_id(r.updated_at, &r.article_id))
    } else {
        None
    };
    Ok(ArticlePage { items, next_cursor })
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ArticleVersionRow {
    pub article_id: String,
    pub version: i64,
    pub title: String,
    pub body: String,
    pub tags: serde_json::Value,
    pub status: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
}

const VERSION_COLUMNS: &str = "article_id, version, title, body, tags, status, author, created_at FROM rm_kb_article_versions";

/// Every version of an article, newest first.
pub async fn versions(
    db: &Db,
    workspace_id: &str,
    article_id: &str,
) -> Result<Vec<ArticleVersionRow>, SqlError> {
    db.fetch_all(
        &format!(
            "SELECT {VERSION_COLUMNS} WHERE workspace_id = $1 AND article_id = $2 ORDER BY version DESC"
        ),
        args![workspace_id, article_id],
    )
    .await
}

pub async fn version(
    db: &Db,
    workspace_id: &str,
    article_id: &str,
    version: i64,
) -> Result<Option<ArticleVersionRow>, SqlError> {
    db.fetch_optional(
        &format!(
            "SELECT {VERSION_COLUMNS} WHERE workspace_id = $1 AND article_id = $2 AND version = $3"
        ),
        args![workspace_id, article_id, version],
    )
    .await
}

/// A ranked search result.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SearchHit {
    pub article_id: String,
    pub title: String,
    pub status: String,
    pub tags: serde_json::Value,
    /// The best matching passage of the body, matches in `**bold**`.
    pub snippet: String,
    /// Higher is better; comparable only within one answer.
    pub rank: f64,
    pub updated_at: DateTime<Utc>,
}

/// Articles matching `terms`, best first. `status` limits to one status.
pub async fn search(
    db: &Db,
    workspace_id: &str,
    terms: &[String],
    mode: Match,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<SearchHit>, SqlError> {
    let Some(q) = fulltext::query(db.backend(), terms, mode) else {
        return Ok(vec![]);
    };
    let status = status.unwrap_or("any").to_owned();
    let sql = match db.backend() {
        Backend::Postgres => {
            "SELECT a.article_id, a.title, a.status, a.tags, a.updated_at, \
             ts_rank(f.search, q)::float8 AS rank, \
             ts_headline('english', a.body, q, 'StartSel=**, StopSel=**, MaxWords=30, MinWords=10, MaxFragments=1') AS snippet \
             FROM rm_kb_fts f JOIN rm_kb_articles a ON a.article_id = f.article_id, websearch_to_tsquery('english', $2) q \
             WHERE f.workspace_id = $1 AND f.search @@ q AND ($3 = 'any' OR a.status = $3) \
             ORDER BY rank DESC, a.article_id LIMIT $4"
        }
        Backend::Sqlite => {
            // bm25 is lower for better matches; the column weights follow the
            // Postgres ones (title, then tags, then body).
            "SELECT a.article_id, a.title, a.status, a.tags, a.updated_at, \
             -bm25(rm_kb_fts, 0.0, 0.0, 10.0, 4.0, 2.0) AS rank, \
             snippet(rm_kb_fts, 4, '**', '**', '…', 24) AS snippet \
             FROM rm_kb_fts JOIN rm_kb_articles a ON a.article_id = rm_kb_fts.article_id \
             WHERE rm_kb_fts MATCH $2 AND rm_kb_fts.workspace_id = $1 AND ($3 = 'any' OR a.status = $3) \
             ORDER BY rank DESC, a.article_id LIMIT $4"
        }
    };
    db.fetch_all(sql, args![workspace_id, q, status, limit])
        .await
}

/// What the customer wrote on a ticket and the agents' internal notes about
/// it (not the replies: they answer rather than describe), newest first,
/// for suggestions.
pub async fn ticket_text(
    db: &Db,
    workspace_id: &str,
    ticket_id: &str,
    max_messages: i64,
) -> Result<Vec<String>, SqlError> {
    #[derive(sqlx::FromRow)]
    struct Text {
        text: String,
    }
    let rows: Vec<Text> = db
        .fetch_all(
            "SELECT text FROM rm_messages WHERE workspace_id = $1 AND ticket_id = $2 \
             AND (author_kind = 'customer' OR visibility = 'internal') ORDER BY sequence DESC LIMIT $3",
            args![workspace_id, ticket_id, max_messages],
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.text).collect())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LinkedArticle {
    pub article_id: String,
    pub title: String,
    pub status: String,
    pub linked_by: String,
    pub linked_at: DateTime<Utc>,
}

/// The articles linked to a ticket, oldest link first.
pub async fn ticket_links(
    db: &Db,
    workspace_id: &str,
    ticket_id: &str,
) -> Result<Vec<LinkedArticle>, SqlError> {
    db.fetch_all(
        "SELECT l.article_id, a.title, a.status, l.linked_by, l.linked_at FROM rm_kb_links l \
         JOIN rm_kb_articles a ON a.article_id = l.article_id \
         WHERE l.workspace_id = $1 AND l.ticket_id = $2 ORDER BY l.linked_at, l.article_id",
        args![workspace_id, ticket_id],
    )
    .await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LinkedTicket {
    pub ticket_id: String,
    /// From the ticket list; absent while it has not caught up.
    pub subject: Option<String>,
    pub status: Option<String>,
    pub linked_by: String,
    pub linked_at: DateTime<Utc>,
}

/// The tickets linked to an article, oldest link first.
pub async fn article_links(
    db: &Db,
    workspace_id: &str,
    article_id: &str,
) -> Result<Vec<LinkedTicket>, SqlError> {
    db.fetch_all(
        "SELECT l.ticket_id, t.subject, t.status, l.linked_by, l.linked_at FROM rm_kb_links l \
         LEFT JOIN rm_tickets t ON t.ticket_id = l.ticket_id \
         WHERE l.workspace_id = $1 AND l.article_id = $2 ORDER BY l.linked_at, l.ticket_id",
        args![workspace_id, article_id],
    )
    .await
}

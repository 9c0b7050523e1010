//! Listing canned responses: by name, optionally one category or a name search.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tgcrm_store::{Arg, Db, SqlError};

use crate::writing_cursor::encode_key_id;

#[derive(Debug, Clone, Default)]
pub struct CannedFilter {
    pub workspace_id: String,
    pub category: Option<String>,
    /// Part of the name, any case.
    pub name_contains: Option<String>,
    pub limit: i64,
    /// Continue after this (name key, id).
    pub after: Option<(String, String)>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CannedRow {
    pub canned_response_id: String,
    pub name: String,
    pub name_key: String,
    pub category: Option<String>,
    pub body: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct CannedPage {
    pub items: Vec<CannedRow>,
    pub next_cursor: Option<String>,
}

/// `%`, `_` and `\` in a LIKE pattern taken literally.
pub(crate) fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub async fn list(db: &Db, f: &CannedFilter) -> Result<CannedPage, SqlError> {
    let mut args: Vec<Arg> = vec![f.workspace_id.clone().into()];
    let mut sql = String::from(
        "SELECT canned_response_id, name, name_key, category, body, created_by, created_at, updated_at, version \
         FROM rm_canned_responses WHERE workspace_id = $1",
    );
    if let Some(c) = &f.category {
        args.push(c.clone().into());
        sql.push_str(&format!(" AND category = ${}", args.len()));
    }
    if let Some(q) = &f.name_contains {
        args.push(format!("%{}%", like_escape(&tgcrm_domain::name_claim::normalize(q))).into());
        sql.push_str(&format!(" AND name_key LIKE ${} ESCAPE '\\'", args.len()));
    }
    if let Some((key, id)) = &f.after {
        args.push(key.clone().into());
        args.push(id.clone().into());
        let (a, b) = (args.len() - 1, args.len());
        sql.push_str(&format!(
            " AND (name_key > ${a} OR (name_key = ${a} AND canned_response_id > ${b}))"
        ));
    }
    args.push((f.limit + 1).into());
    sql.push_str(&format!(
        " ORDER BY name_key, canned_response_id LIMIT ${}",
        args.len()
    ));
    let mut items: Vec<CannedRow> = db.fetch_all(&sql, args).await?;
    let next_cursor = if items.len() as i64 > f.limit {
        items.truncate(usize::try_from(f.limit).unwrap_or(0));
        items
            .last()
            .map(|r| encode_key_id(&r.name_key, &r.canned_response_id))
    } else {
        None
    };
    Ok(CannedPage { items, next_cursor })
}

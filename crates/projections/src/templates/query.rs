//! Reading templates: lists limited to what the viewer may see, and versions.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tgcrm_store::{Arg, Db, SqlError, args};

use crate::canned::like_escape_pub as like_escape;
use crate::writing_cursor::encode_key_id;

/// Who is looking: admins see every template; others see workspace-wide
/// ones, their own private ones and those of their teams.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    pub sees_all: bool,
    pub agent_id: Option<String>,
    pub team_ids: Vec<String>,
}

impl Viewer {
    /// A SQL condition (and its arguments, numbered after `args`) limiting
    /// rows to what this viewer may see.
    fn clause(&self, args: &mut Vec<Arg>) -> String {
        if self.sees_all {
            return String::new();
        }
        let mut parts = vec!["sharing_scope = 'workspace'".to_owned()];
        if let Some(agent) = &self.agent_id {
            args.push(agent.clone().into());
            parts.push(format!(
                "(sharing_scope = 'private' AND sharing_subject = ${})",
                args.len()
            ));
        }
        if !self.team_ids.is_empty() {
            let mut placeholders = Vec::new();
            for t in &self.team_ids {
                args.push(t.clone().into());
                placeholders.push(format!("${}", args.len()));
            }
            parts.push(format!(
                "(sharing_scope = 'team' AND sharing_subject IN ({}))",
                placeholders.join(", ")
            ));
        }
        format!(" AND ({})", parts.join(" OR "))
    }
}

#[derive(Debug, Clone, Default)]
pub struct TemplateFilter {
    pub workspace_id: String,
    pub viewer: Viewer,
    pub category: Option<String>,
    pub name_contains: Option<String>,
    /// `private`, `team` or `workspace`.
    pub scope: Option<String>,
    pub limit: i64,
    pub after: Option<(String, String)>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TemplateRow {
    pub template_id: String,
    pub name: String,
    pub name_key: String,
    pub category: Option<String>,
    pub body: String,
    pub sharing_scope: String,
    pub sharing_subject: Option<String>,
    pub owner_agent_id: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct TemplatePage {
    pub items: Vec<TemplateRow>,
    pub next_cursor: Option<String>,
}

pub async fn list(db: &Db, f: &TemplateFilter) -> Result<TemplatePage, SqlError> {
    let mut args: Vec<Arg> = vec![f.workspace_id.clone().into()];
    let mut sql = String::from(
        "SELECT template_id, name, name_key, category, body, sharing_scope, sharing_subject, owner_agent_id, \
         created_by, created_at, updated_at, version FROM rm_templates WHERE workspace_id = $1",
    );
    let visible = f.viewer.clause(&mut args);
    sql.push_str(&visible);
    if let Some(c) = &f.category {
        args.push(c.clone().into());
        sql.push_str(&format!(" AND category = ${}", args.len()));
    }
    if let Some(s) = &f.scope {
        args.push(s.clone().into());
        sql.push_str(&format!(" AND sharing_scope = ${}", args.len()));
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
            " AND (name_key > ${a} OR (name_key = ${a} AND template_id > ${b}))"
        ));
    }
    args.push((f.limit + 1).into());
    sql.push_str(&format!(
        " ORDER BY name_key, template_id LIMIT ${}",
        args.len()
    ));
    let mut items: Vec<TemplateRow> = db.fetch_all(&sql, args).await?;
    let next_cursor = if items.len() as i64 > f.limit {
        items.truncate(usize::try_from(f.limit).unwrap_or(0));
        items
            .last()
            .map(|r| encode_key_id(&r.name_key, &r.template_id))
    } else {
        None
    };
    Ok(TemplatePage { items, next_cursor })
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct VersionRow {
    pub template_id: String,
    pub version: i64,
    pub name: String,
    pub category: Option<String>,
    pub body: String,
    pub sharing_scope: String,
    pub sharing_subject: Option<String>,
    pub author: String,
    pub created_at: DateTime<Utc>,
    /// Messages sent from this version.
    pub uses: i64,
}

const VERSION_COLUMNS: &str = "v.template_id, v.version, v.name, v.category, v.body, v.sharing_scope, \
     v.sharing_subject, v.author, v.created_at, \
     (SELECT COUNT(*) FROM rm_template_uses u WHERE u.template_id = v.template_id AND u.version = v.version) AS uses";

/// Every version of a template, newest first.
pub async fn versions(
    db: &Db,
    workspace_id: &str,
    template_id: &str,
) -> Result<Vec<VersionRow>, SqlError> {
    db.fetch_all(
        &format!(
            "SELECT {VERSION_COLUMNS} FROM rm_template_versions v WHERE v.workspace_id = $1 AND v.template_id = $2 \
             ORDER BY v.version DESC"
        ),
        args![workspace_id, template_id],
    )
    .await
}

pub async fn version(
    db: &Db,
    workspace_id: &str,
    template_id: &str,
    version: i64,
) -> Result<Option<VersionRow>, SqlError> {
    db.fetch_optional(
        &format!(
            "SELECT {VERSION_COLUMNS} FROM rm_template_versions v WHERE v.workspace_id = $1 AND v.template_id = $2 \
             AND v.version = $3"
        ),
        args![workspace_id, template_id, version],
    )
    .await
}

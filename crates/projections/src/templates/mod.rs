//! Response templates: the current text of each (for lists, filtered by who
//! may see it), every version ever saved, and which messages used which
//! version (of templates and canned responses alike).

mod query;

pub use query::{
    TemplateFilter, TemplatePage, TemplateRow, VersionRow, Viewer, list, version, versions,
};

use async_trait::async_trait;
use tgcrm_domain::name_claim::normalize;
use tgcrm_domain::response_template::{ResponseTemplate, Sharing, TemplateEvent};
use tgcrm_domain::ticket::TicketEvent;
use tgcrm_store::{Backend, StoredEvent, Tx, args};

use crate::projector::Projector;
use crate::schema::ddl;

pub const NAME: &str = "response_templates";

pub struct TemplatesProjector;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS rm_templates (
        template_id     TEXT PRIMARY KEY,
        workspace_id    TEXT NOT NULL,
        name            TEXT NOT NULL,
        name_key        TEXT NOT NULL,
        category        TEXT,
        body            TEXT NOT NULL,
        sharing_scope   TEXT NOT NULL,
        sharing_subject TEXT,
        owner_agent_id  TEXT,
        created_by      TEXT NOT NULL,
        created_at      {ts} NOT NULL,
        updated_at      {ts} NOT NULL,
        version         {int} NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS rm_templates_by_name ON rm_templates (workspace_id, name_key, template_id)",
    "CREATE INDEX IF NOT EXISTS rm_templates_by_sharing ON rm_templates (workspace_id, sharing_scope, sharing_subject)",
    "CREATE TABLE IF NOT EXISTS rm_template_versions (
        template_id     TEXT NOT NULL,
        version         {int} NOT NULL,
        workspace_id    TEXT NOT NULL,
        name            TEXT NOT NULL,
        category        TEXT,
        body            TEXT NOT NULL,
        sharing_scope   TEXT NOT NULL,
        sharing_subject TEXT,
        author          TEXT NOT NULL,
        created_at      {ts} NOT NULL,
        PRIMARY KEY (template_id, version)
    )",
    "CREATE TABLE IF NOT EXISTS rm_template_uses (
        message_id   TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL,
        ticket_id    TEXT NOT NULL,
        kind         TEXT NOT NULL,
        template_id  TEXT NOT NULL,
        version      {int} NOT NULL,
        author       TEXT NOT NULL,
        used_at      {ts} NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS rm_template_uses_by_template ON rm_template_uses (template_id, version)",
];

fn sharing_columns(s: &Sharing) -> (&'static str, Option<String>) {
    (s.scope(), s.subject())
}

#[async_trait]
impl Projector for TemplatesProjector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        1
    }

    fn reads(&self) -> &'static [&'static str] {
        &[
            tgcrm_domain::response_template::AGGREGATE_TYPE,
            tgcrm_domain::ticket::AGGREGATE_TYPE,
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_templates", "rm_template_versions", "rm_template_uses"]
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        SCHEMA.iter().map(|s| ddl(backend, s)).collect()
    }

    async fn apply(&self, tx: &mut Tx, stored: &StoredEvent) -> anyhow::Result<()> {
        if let Some(event) = stored.ticket_event() {
            if let TicketEvent::MessageAdded {
                message_id,
                author,
                at,
                template: Some(t),
                ..
            } = event?
            {
                let author = match &author {
                    tgcrm_domain::ticket::Author::Agent { agent_id } => format!("agent:{agent_id}"),
                    other => other.kind().to_owned(),
                };
                tx.execute(
                    "INSERT INTO rm_template_uses (message_id, workspace_id, ticket_id, kind, template_id, version, author, \
                     used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (message_id) DO NOTHING",
                    args![
                        message_id.to_string(),
                        stored.workspace_id.as_str(),
                        stored.aggregate_id.as_str(),
                        t.kind.as_str(),
                        t.id,
                        t.version,
                        author,
                        at,
                    ],
                )
                .await?;
            }
            return Ok(());
        }
        let Some(event) = stored.decode::<ResponseTemplate>() else {
            return Ok(());
        };
        let id = stored.aggregate_id.as_str();
        let seq = stored.sequence;
        let version_row =
            |name: &str, category: Option<&str>, body: &str, sharing: &Sharing, at| {
                let (scope, subject) = sharing_columns(sharing);
                args![
                    id,
                    seq,
                    stored.workspace_id.as_str(),
                    name,
                    category,
                    body,
                    scope,
                    subject,
                    stored.actor.as_str(),
                    at,
                ]
            };
        let insert_version = "INSERT INTO rm_template_versions (template_id, version, workspace_id, name, category, body, \
             sharing_scope, sharing_subject, author, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (template_id, version) DO NOTHING";
        match event? {
            TemplateEvent::Created {
                workspace_id,
                name,
                category,
                body,
                sharing,
                owner,
                at,
                ..
            } => {
                let (scope, subject) = sharing_columns(&sharing);
                tx.execute(
                    "INSERT INTO rm_templates (template_id, workspace_id, name, name_key, category, body, sharing_scope, \
                     sharing_subject, owner_agent_id, created_by, created_at, updated_at, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) ON CONFLICT (template_id) DO NOTHING",
                    args![
                        id,
                        workspace_id.as_str(),
                        name.as_str(),
                        normalize(name.as_str()),
                        category.as_ref().map(|c| c.as_str()),
                        body.as_str(),
                        scope,
                        subject,
                        owner.map(|o| o.to_string()),
                        stored.actor.as_str(),
                        at,
                        seq,
                    ],
                )
                .await?;
                tx.execute(
                    insert_version,
                    version_row(
                        name.as_str(),
                        category.as_ref().map(|c| c.as_str()),
                        &body,
                        &sharing,
                        at,
                    ),
                )
                .await?;
            }
            TemplateEvent::Edited {
                name,
                category,
                body,
                sharing,
                at,
            } => {
                let (scope, subject) = sharing_columns(&sharing);
                tx.execute(
                    "UPDATE rm_templates SET name = $3, name_key = $4, category = $5, body = $6, sharing_scope = $7, \
                     sharing_subject = $8, updated_at = $9, version = $2 WHERE template_id = $1 AND version < $2",
                    args![
                        id,
                        seq,
                        name.as_str(),
                        normalize(name.as_str()),
                        category.as_ref().map(|c| c.as_str()),
                        body.as_str(),
                        scope,
                        subject,
                        at,
                    ],
                )
                .await?;
                tx.execute(
                    insert_version,
                    version_row(
                        name.as_str(),
                        category.as_ref().map(|c| c.as_str()),
                        &body,
                        &sharing,
                        at,
                    ),
                )
                .await?;
            }
            TemplateEvent::Deleted { .. } => {
                tx.execute("DELETE FROM rm_templates WHERE template_id = $1", args![id])
                    .await?;
            }
        }
        Ok(())
    }
}

//! The agent directory: one row per agent, with their Telegram identity (the
//! bot recognises agents by it) and availability.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tgcrm_domain::agent::{Agent, AgentEvent, Profile};
use tgcrm_store::{Backend, Db, SqlError, StoredEvent, Tx, args};

use crate::projector::Projector;
use crate::schema::ddl;

pub const NAME: &str = "agents";

pub struct AgentsProjector;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS rm_agents (
        agent_id          TEXT PRIMARY KEY,
        workspace_id      TEXT NOT NULL,
        name              TEXT NOT NULL,
        telegram_user_id  {int},
        telegram_username TEXT,
        teams             {json} NOT NULL,
        skills            {json} NOT NULL,
        max_concurrent    {int},
        availability      TEXT NOT NULL,
        active            {bool} NOT NULL,
        created_at        {ts} NOT NULL,
        updated_at        {ts} NOT NULL,
        version           {int} NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS rm_agents_by_telegram ON rm_agents (workspace_id, telegram_user_id)",
    "CREATE INDEX IF NOT EXISTS rm_agents_by_workspace ON rm_agents (workspace_id, name)",
];

/// A profile as the columns it is stored in.
struct ProfileColumns {
    name: String,
    telegram_user_id: Option<i64>,
    telegram_username: Option<String>,
    teams: serde_json::Value,
    skills: serde_json::Value,
    max_concurrent: Option<i64>,
}

fn columns(p: &Profile) -> anyhow::Result<ProfileColumns> {
    Ok(ProfileColumns {
        name: p.name.as_str().to_owned(),
        telegram_user_id: p.telegram_user_id.map(|t| t.get()),
        telegram_username: p.telegram_username.as_ref().map(|u| u.as_str().to_owned()),
        teams: serde_json::to_value(&p.teams)?,
        skills: serde_json::to_value(&p.skills)?,
        max_concurrent: p.max_concurrent.map(i64::from),
    })
}

#[async_trait]
impl Projector for AgentsProjector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        // 2: max_concurrent may be null (the queue's default applies).
        2
    }

    fn reads(&self) -> &'static [&'static str] {
        &[tgcrm_domain::agent::AGGREGATE_TYPE]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_agents"]
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        SCHEMA.iter().map(|s| ddl(backend, s)).collect()
    }

    async fn apply(&self, tx: &mut Tx, stored: &StoredEvent) -> anyhow::Result<()> {
        let Some(event) = stored.decode::<Agent>() else {
            return Ok(());
        };
        let id = stored.aggregate_id.as_str();
        let seq = stored.sequence;
        let guard = "WHERE agent_id = $1 AND version < $2";
        match event? {
            AgentEvent::Registered {
                workspace_id,
                profile,
                at,
                ..
            } => {
                let c = columns(&profile)?;
                tx.execute(
                    "INSERT INTO rm_agents (agent_id, workspace_id, name, telegram_user_id, telegram_username, teams, \
                     skills, max_concurrent, availability, active, created_at, updated_at, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'offline', $9, $10, $10, $11) ON CONFLICT (agent_id) DO NOTHING",
                    args![
                        id,
                        workspace_id.as_str(),
                        c.name,
                        c.telegram_user_id,
                        c.telegram_username,
                        c.teams,
                        c.skills,
                        c.max_concurrent,
                        true,
                        at,
                        seq
                    ],
                )
                .await?;
            }
            AgentEvent::ProfileChanged { profile, at } => {
                let c = columns(&profile)?;
                let sql = format!(
                    "UPDATE rm_agents SET name = $3, telegram_user_id = $4, telegram_username = $5, teams = $6, \
                     skills = $7, max_concurrent = $8, updated_at = $9, version = $2 {guard}"
                );
                tx.execute(
                    &sql,
                    args![
                        id,
                        seq,
                        c.name,
                        c.telegram_user_id,
                        c.telegram_username,
                        c.teams,
                        c.skills,
                        c.max_concurrent,
                        at
                    ],
                )
                .await?;
            }
            AgentEvent::AvailabilityChanged { to, at, .. } => {
                let sql = format!(
                    "UPDATE rm_agents SET availability = $3, updated_at = $4, version = $2 {guard}"
                );
                tx.execute(&sql, args![id, seq, to.as_str(), at]).await?;
            }
            AgentEvent::Deactivated { at } => {
                let sql = format!(
                    "UPDATE rm_agents SET active = $3, availability = 'offline', updated_at = $4, version = $2 {guard}"
                );
                tx.execute(&sql, args![id, seq, false, at]).await?;
            }
            AgentEvent::Reactivated { at } => {
                let sql = format!(
                    "UPDATE rm_agents SET active = $3, updated_at = $4, version = $2 {guard}"
                );
                tx.execute(&sql, args![id, seq, true, at]).await?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AgentRow {
    pub agent_id: String,
    pub name: String,
    pub telegram_user_id: Option<i64>,
    pub telegram_username: Option<String>,
    pub teams: serde_json::Value,
    pub skills: serde_json::Value,
    pub max_concurrent: Option<i64>,
    pub availability: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

const COLUMNS: &str = "agent_id, name, telegram_user_id, telegram_username, teams, skills, max_concurrent, \
     availability, active, created_at, updated_at, version";

/// The workspace's agents by name, after `after` (an agent id) for paging.
pub async fn list(
    db: &Db,
    workspace: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<AgentRow>, SqlError> {
    db.fetch_all(
        &format!("SELECT {COLUMNS} FROM rm_agents WHERE workspace_id = $1 AND agent_id > $2 ORDER BY agent_id LIMIT $3"),
        args![workspace, after.unwrap_or(""), limit],
    )
    .await
}

/// The active agent with this Telegram user id, if any.
pub async fn by_telegram_id(
    db: &Db,
    workspace: &str,
    telegram_user_id: i64,
) -> Result<Option<AgentRow>, SqlError> {
    db.fetch_optional(
        &format!(
            "SELECT {COLUMNS} FROM rm_agents WHERE workspace_id = $1 AND telegram_user_id = $2 AND active = $3 \
             ORDER BY created_at DESC LIMIT 1"
        ),
        args![workspace, telegram_user_id, true],
    )
    .await
}

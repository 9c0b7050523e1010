//! Who in the agents' group is an agent: Telegram user ids bound to agent
//! records (the agents read model). Messages from anyone else are ignored.

use tgcrm_domain::AgentId;
use tgcrm_store::{Db, SqlError, args};

#[derive(Debug, Clone)]
pub struct KnownAgent {
    pub agent_id: AgentId,
    pub name: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    agent_id: String,
    name: String,
}

impl Row {
    fn known(self) -> Option<KnownAgent> {
        Some(KnownAgent {
            agent_id: self.agent_id.parse().ok()?,
            name: self.name,
        })
    }
}

/// The active agent with this Telegram user id in the workspace.
pub async fn by_telegram_id(
    db: &Db,
    workspace: &str,
    telegram_user_id: i64,
) -> Result<Option<KnownAgent>, SqlError> {
    let row: Option<Row> = db
        .fetch_optional(
            "SELECT agent_id, name FROM rm_agents WHERE workspace_id = $1 AND telegram_user_id = $2 AND active = $3",
            args![workspace, telegram_user_id, true],
        )
        .await?;
    Ok(row.and_then(Row::known))
}

/// The active agent with this Telegram username (without `@`, any case).
pub async fn by_username(
    db: &Db,
    workspace: &str,
    username: &str,
) -> Result<Option<KnownAgent>, SqlError> {
    let row: Option<Row> = db
        .fetch_optional(
            "SELECT agent_id, name FROM rm_agents WHERE workspace_id = $1 AND LOWER(telegram_username) = LOWER($2) \
             AND active = $3",
            args![workspace, username.trim_start_matches('@'), true],
        )
        .await?;
    Ok(row.and_then(Row::known))
}

/// An agent's display name, for topic notices.
pub async fn name_of(db: &Db, workspace: &str, agent_id: &str) -> Result<Option<String>, SqlError> {
    #[derive(sqlx::FromRow)]
    struct N {
        name: String,
    }
    let row: Option<N> = db
        .fetch_optional(
            "SELECT name FROM rm_agents WHERE workspace_id = $1 AND agent_id = $2",
            args![workspace, agent_id],
        )
        .await?;
    Ok(row.map(|n| n.name))
}

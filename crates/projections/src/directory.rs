//! Who is who, from the agents directory's read model (`rm_agents`): an
//! agent's display name (for `{{agent_name}}`) and the teams it belongs to
//! (for templates shared with a team). When the table is missing (an older
//! database before its projector ran), an agent has no name and no teams.

use tgcrm_store::{Backend, Db, SqlError, args};

/// Is there a table of this name (a read model of another part of the
/// system that may not be deployed)?
pub async fn table_exists(db: &Db, name: &str) -> Result<bool, SqlError> {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let sql = match db.backend() {
        Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = $1 \
             AND table_schema = current_schema()"
        }
        Backend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = $1"
        }
    };
    let row: N = db.fetch_one(sql, args![name]).await?;
    Ok(row.n > 0)
}

/// An agent's display name, from the agents directory.
pub async fn agent_name(
    db: &Db,
    workspace: &str,
    agent_id: &str,
) -> Result<Option<String>, SqlError> {
    if !table_exists(db, "rm_agents").await? {
        return Ok(None);
    }
    #[derive(sqlx::FromRow)]
    struct Name {
        name: String,
    }
    let row: Option<Name> = db
        .fetch_optional(
            "SELECT name FROM rm_agents WHERE workspace_id = $1 AND agent_id = $2",
            args![workspace, agent_id],
        )
        .await?;
    Ok(row.map(|r| r.name))
}

/// The teams an agent belongs to, from the agents directory (`rm_agents.teams`,
/// a JSON list of team ids).
pub async fn agent_teams(
    db: &Db,
    workspace: &str,
    agent_id: &str,
) -> Result<Vec<String>, SqlError> {
    if !table_exists(db, "rm_agents").await? {
        return Ok(vec![]);
    }
    #[derive(sqlx::FromRow)]
    struct Teams {
        teams: serde_json::Value,
    }
    let row: Option<Teams> = db
        .fetch_optional(
            "SELECT teams FROM rm_agents WHERE workspace_id = $1 AND agent_id = $2",
            args![workspace, agent_id],
        )
        .await?;
    Ok(row
        .and_then(|r| serde_json::from_value::<Vec<String>>(r.teams).ok())
        .unwrap_or_default())
}

//! Who is who, from the agents and teams read models of the agents
//! directory: an agent's display name (for `{{agent_name}}`) and the teams it
//! belongs to (for templates shared with a team). Those read models belong to
//! another part of the system; when a deployment lacks them, an agent has no
//! name and no teams.

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

/// The teams an agent belongs to, from the teams directory.
pub async fn agent_teams(
    db: &Db,
    workspace: &str,
    agent_id: &str,
) -> Result<Vec<String>, SqlError> {
    if !table_exists(db, "rm_team_members").await? {
        return Ok(vec![]);
    }
    #[derive(sqlx::FromRow)]
    struct Team {
        team_id: String,
    }
    let rows: Vec<Team> = db
        .fetch_all(
            "SELECT team_id FROM rm_team_members WHERE workspace_id = $1 AND agent_id = $2",
            args![workspace, agent_id],
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.team_id).collect())
}

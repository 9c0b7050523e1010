//! Reading teams, their members and queue settings.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tgcrm_domain::agent::Availability;
use tgcrm_store::{Db, SqlError, args};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TeamRow {
    pub team_id: String,
    pub name: String,
    pub lead_agent_id: Option<String>,
    pub strategy: String,
    pub paused: bool,
    pub default_capacity: Option<i64>,
    pub member_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

const TEAM_COLUMNS: &str = "t.team_id, t.name, t.lead_agent_id, t.strategy, t.paused, t.default_capacity, \
     (SELECT COUNT(*) FROM rm_team_members m WHERE m.team_id = t.team_id) AS member_count, \
     t.created_at, t.updated_at, t.version";

/// The workspace's teams by id, after `after` (a team id) for paging.
pub async fn list(
    db: &Db,
    workspace: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<TeamRow>, SqlError> {
    db.fetch_all(
        &format!(
            "SELECT {TEAM_COLUMNS} FROM rm_teams t WHERE t.workspace_id = $1 AND t.team_id > $2 \
             ORDER BY t.team_id LIMIT $3"
        ),
        args![workspace, after.unwrap_or(""), limit],
    )
    .await
}

/// One team of the workspace.
pub async fn get(db: &Db, workspace: &str, team: &str) -> Result<Option<TeamRow>, SqlError> {
    db.fetch_optional(
        &format!(
            "SELECT {TEAM_COLUMNS} FROM rm_teams t WHERE t.workspace_id = $1 AND t.team_id = $2"
        ),
        args![workspace, team],
    )
    .await
}

/// A member as queue pages show them: availability, load and capacity.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct MemberRow {
    pub agent_id: String,
    pub name: String,
    pub availability: String,
    pub active: bool,
    /// Their own capacity setting, if any.
    pub max_concurrent: Option<i64>,
    pub skills: serde_json::Value,
    /// Active tickets assigned to them now.
    pub load: i64,
}

/// The members of `team` (every agent of the workspace when `None`), active
/// or not, with their load.
pub async fn members(
    db: &Db,
    workspace: &str,
    team: Option<&str>,
) -> Result<Vec<MemberRow>, SqlError> {
    let load = "(SELECT COUNT(*) FROM rm_queue q WHERE q.workspace_id = a.workspace_id \
                AND q.assignee_agent_id = a.agent_id AND q.active = $2) AS load";
    let cols =
        format!("a.agent_id, a.name, a.availability, a.active, a.max_concurrent, a.skills, {load}");
    match team {
        Some(team) => {
            db.fetch_all(
                &format!(
                    "SELECT {cols} FROM rm_agents a JOIN rm_team_members m ON m.agent_id = a.agent_id \
                     WHERE a.workspace_id = $1 AND m.team_id = $3 ORDER BY a.agent_id"
                ),
                args![workspace, true, team],
            )
            .await
        }
        None => {
            db.fetch_all(
                &format!("SELECT {cols} FROM rm_agents a WHERE a.workspace_id = $1 ORDER BY a.agent_id"),
                args![workspace, true],
            )
            .await
        }
    }
}

#[derive(sqlx::FromRow)]
struct Online {
    n: i64,
}

/// Whether an active agent of `workspace` is online: distribution hands
/// tickets to nobody else, and counting everyone's load (a count over the
/// queue per agent) is wasted on a workspace where nobody is.
pub async fn anyone_online(db: &Db, workspace: &str) -> Result<bool, SqlError> {
    let row: Online = db
        .fetch_one(
            "SELECT COUNT(*) AS n FROM rm_agents \
             WHERE workspace_id = $1 AND active = $2 AND availability = $3",
            args![workspace, true, Availability::Online.as_str()],
        )
        .await?;
    Ok(row.n > 0)
}

/// A queue's settings as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct QueueSettingsRow {
    pub strategy: String,
    pub paused: bool,
    pub default_capacity: Option<i64>,
}

/// A team's queue settings (`None`: no such team in the workspace).
pub async fn settings(
    db: &Db,
    workspace: &str,
    team: &str,
) -> Result<Option<QueueSettingsRow>, SqlError> {
    db.fetch_optional(
        "SELECT strategy, paused, default_capacity FROM rm_teams WHERE workspace_id = $1 AND team_id = $2",
        args![workspace, team],
    )
    .await
}

/// The workspace queue's settings (the defaults until it is first changed).
pub async fn workspace_settings(db: &Db, workspace: &str) -> Result<QueueSettingsRow, SqlError> {
    Ok(db
        .fetch_optional(
            "SELECT strategy, paused, default_capacity FROM rm_workspace_queues WHERE workspace_id = $1",
            args![workspace],
        )
        .await?
        .unwrap_or(QueueSettingsRow {
            strategy: tgcrm_domain::routing::Strategy::default()
                .as_str()
                .to_owned(),
            paused: false,
            default_capacity: None,
        }))
}

/// A team's queue settings, for distribution.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TeamSettingsRow {
    pub team_id: String,
    pub strategy: String,
    pub paused: bool,
    pub default_capacity: Option<i64>,
}

/// Every team's queue settings in the workspace.
pub async fn all_settings(db: &Db, workspace: &str) -> Result<Vec<TeamSettingsRow>, SqlError> {
    db.fetch_all(
        "SELECT team_id, strategy, paused, default_capacity FROM rm_teams WHERE workspace_id = $1",
        args![workspace],
    )
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MembershipRow {
    pub team_id: String,
    pub agent_id: String,
}

/// Who is in which team, in the workspace.
pub async fn memberships(db: &Db, workspace: &str) -> Result<Vec<MembershipRow>, SqlError> {
    db.fetch_all(
        "SELECT team_id, agent_id FROM rm_team_members WHERE workspace_id = $1",
        args![workspace],
    )
    .await
}

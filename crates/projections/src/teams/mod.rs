//! Teams and queue settings: one row per team (name, lead, strategy, paused,
//! default capacity), the team members (from the agents' profiles, where
//! membership is recorded), and one row per workspace queue.

mod query;

pub use query::{
    MemberRow, MembershipRow, QueueSettingsRow, TeamRow, TeamSettingsRow, all_settings,
    anyone_online, get, list, members, memberships, settings, workspace_settings,
};

use async_trait::async_trait;
use tgcrm_domain::agent::{Agent, AgentEvent, Profile};
use tgcrm_domain::queue::{QueueChange, WorkspaceQueue, WorkspaceQueueEvent};
use tgcrm_domain::team::{Team, TeamEvent};
use tgcrm_store::{Backend, StoredEvent, Tx, args};

use crate::projector::Projector;
use crate::schema::ddl;

pub const NAME: &str = "teams";

pub struct TeamsProjector;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS rm_teams (
        team_id          TEXT PRIMARY KEY,
        workspace_id     TEXT NOT NULL,
        name             TEXT NOT NULL,
        lead_agent_id    TEXT,
        strategy         TEXT NOT NULL,
        paused           {bool} NOT NULL,
        default_capacity {int},
        created_at       {ts} NOT NULL,
        updated_at       {ts} NOT NULL,
        version          {int} NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS rm_teams_by_workspace ON rm_teams (workspace_id, team_id)",
    "CREATE TABLE IF NOT EXISTS rm_team_members (
        team_id      TEXT NOT NULL,
        agent_id     TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        PRIMARY KEY (team_id, agent_id)
    )",
    "CREATE INDEX IF NOT EXISTS rm_team_members_by_agent ON rm_team_members (agent_id)",
    "CREATE TABLE IF NOT EXISTS rm_workspace_queues (
        workspace_id     TEXT PRIMARY KEY,
        strategy         TEXT NOT NULL,
        paused           {bool} NOT NULL,
        default_capacity {int},
        updated_at       {ts} NOT NULL,
        version          {int} NOT NULL
    )",
];

#[async_trait]
impl Projector for TeamsProjector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        1
    }

    fn reads(&self) -> &'static [&'static str] {
        &[
            tgcrm_domain::team::AGGREGATE_TYPE,
            tgcrm_domain::queue::WORKSPACE_QUEUE_AGGREGATE_TYPE,
            tgcrm_domain::agent::AGGREGATE_TYPE,
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_teams", "rm_team_members", "rm_workspace_queues"]
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        SCHEMA.iter().map(|s| ddl(backend, s)).collect()
    }

    async fn apply(&self, tx: &mut Tx, stored: &StoredEvent) -> anyhow::Result<()> {
        if let Some(event) = stored.decode::<Team>() {
            return team(tx, stored, event?).await;
        }
        if let Some(event) = stored.decode::<WorkspaceQueue>() {
            return workspace_queue(tx, stored, event?).await;
        }
        if let Some(event) = stored.decode::<Agent>() {
            match event? {
                AgentEvent::Registered { profile, .. }
                | AgentEvent::ProfileChanged { profile, .. } => {
                    membership(tx, stored, &profile).await?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// An agent's teams replace their membership rows (applied in log order, once).
async fn membership(tx: &mut Tx, stored: &StoredEvent, profile: &Profile) -> anyhow::Result<()> {
    let agent = stored.aggregate_id.as_str();
    tx.execute(
        "DELETE FROM rm_team_members WHERE agent_id = $1",
        args![agent],
    )
    .await?;
    for team in &profile.teams {
        tx.execute(
            "INSERT INTO rm_team_members (team_id, agent_id, workspace_id) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
            args![team.to_string(), agent, stored.workspace_id.as_str()],
        )
        .await?;
    }
    Ok(())
}

async fn team(tx: &mut Tx, stored: &StoredEvent, event: TeamEvent) -> anyhow::Result<()> {
    let id = stored.aggregate_id.as_str();
    let seq = stored.sequence;
    let at = event.at();
    let guard = "WHERE team_id = $1 AND version < $2";
    match event {
        TeamEvent::Created {
            workspace_id,
            name,
            strategy,
            default_capacity,
            lead,
            at,
            ..
        } => {
            tx.execute(
                "INSERT INTO rm_teams (team_id, workspace_id, name, lead_agent_id, strategy, paused, \
                 default_capacity, created_at, updated_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) ON CONFLICT (team_id) DO NOTHING",
                args![
                    id,
                    workspace_id.as_str(),
                    name.as_str(),
                    lead.map(|l| l.to_string()),
                    strategy.as_str(),
                    false,
                    default_capacity.map(i64::from),
                    at,
                    seq
                ],
            )
            .await?;
        }
        TeamEvent::Renamed { to, .. } => {
            let sql =
                format!("UPDATE rm_teams SET name = $3, updated_at = $4, version = $2 {guard}");
            tx.execute(&sql, args![id, seq, to.as_str(), at]).await?;
        }
        TeamEvent::LeadChanged { to, .. } => {
            let sql = format!(
                "UPDATE rm_teams SET lead_agent_id = $3, updated_at = $4, version = $2 {guard}"
            );
            tx.execute(&sql, args![id, seq, to.map(|l| l.to_string()), at])
                .await?;
        }
        other => {
            if let Some(change) = other.queue_change() {
                let (set, arg) = setting(&change);
                if let Some(set) = set {
                    let sql =
                        format!("UPDATE rm_teams SET {set}, updated_at = $4, version = $2 {guard}");
                    tx.execute(&sql, args![id, seq, arg, at]).await?;
                }
            }
        }
    }
    Ok(())
}

/// The column a settings change sets (`… = $3`) and the value; `None` for a
/// reorder (kept by the queue projector).
fn setting(change: &QueueChange) -> (Option<&'static str>, tgcrm_store::Arg) {
    use tgcrm_store::Arg;
    match change {
        QueueChange::Paused => (Some("paused = $3"), Arg::Bool(true)),
        QueueChange::Resumed => (Some("paused = $3"), Arg::Bool(false)),
        QueueChange::CapacityChanged { to, .. } => (
            Some("default_capacity = $3"),
            Arg::OptI64(to.map(i64::from)),
        ),
        QueueChange::StrategyChanged { to, .. } => {
            (Some("strategy = $3"), Arg::Text(to.as_str().to_owned()))
        }
        QueueChange::Reordered { .. } => (None, Arg::Bool(false)),
    }
}

async fn workspace_queue(
    tx: &mut Tx,
    stored: &StoredEvent,
    event: WorkspaceQueueEvent,
) -> anyhow::Result<()> {
    let ws = stored.workspace_id.as_str();
    let seq = stored.sequence;
    let at = event.at();
    if let WorkspaceQueueEvent::Opened { .. } = event {
        tx.execute(
            "INSERT INTO rm_workspace_queues (workspace_id, strategy, paused, default_capacity, updated_at, version) \
             VALUES ($1, $2, $3, NULL, $4, $5) ON CONFLICT (workspace_id) DO NOTHING",
            args![
                ws,
                tgcrm_domain::routing::Strategy::default().as_str(),
                false,
                at,
                seq
            ],
        )
        .await?;
        return Ok(());
    }
    if let Some(change) = event.change() {
        let (set, arg) = setting(&change);
        if let Some(set) = set {
            let sql = format!(
                "UPDATE rm_workspace_queues SET {set}, updated_at = $4, version = $2 \
                 WHERE workspace_id = $1 AND version < $2"
            );
            tx.execute(&sql, args![ws, seq, arg, at]).await?;
        }
    }
    Ok(())
}

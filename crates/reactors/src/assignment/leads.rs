//! Team leads for escalations (`assign_team_lead`), from the team aggregate.

use async_trait::async_trait;
use tgcrm_domain::team::Team;
use tgcrm_domain::{AgentId, TeamId};
use tgcrm_store::EventStore;

/// Reads a team's lead from its event stream (never from a read model that
/// may trail), and only for a team of the asking workspace.
#[derive(Debug, Clone)]
pub struct TeamLeadsFromTeams {
    store: EventStore,
}

impl TeamLeadsFromTeams {
    pub fn new(store: EventStore) -> Self {
        Self { store }
    }
}

#[async_trait]
impl crate::sla::TeamLeads for TeamLeadsFromTeams {
    async fn lead_of(&self, workspace: &str, team: &TeamId) -> anyhow::Result<Option<AgentId>> {
        let loaded = tgcrm_store::load::load::<Team>(self.store.db(), &team.to_string()).await?;
        Ok(loaded
            .state
            .lead
            .filter(|_| loaded.state.workspace_id.as_ref().map(|w| w.as_str()) == Some(workspace)))
    }
}

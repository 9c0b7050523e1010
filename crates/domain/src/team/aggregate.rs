//! The cqrs-es and store faces of the team.

use chrono::{DateTime, Utc};

use super::{EVENT_VERSION, Team, TeamCommand, TeamError, TeamEvent};

impl cqrs_es::DomainEvent for TeamEvent {
    fn event_type(&self) -> String {
        self.type_name().to_owned()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_owned()
    }
}

crate::cqrs_aggregate!(
    Team,
    super::AGGREGATE_TYPE,
    TeamCommand,
    TeamEvent,
    TeamError
);

impl crate::decider::DomainFact for TeamEvent {
    fn at(&self) -> DateTime<Utc> {
        TeamEvent::at(self)
    }
}

impl crate::decider::Refusal for TeamError {
    fn is_not_found(&self) -> bool {
        matches!(self, TeamError::NotFound)
    }
}

impl crate::decider::Decider for Team {
    type Fact = TeamEvent;
    type Cmd = TeamCommand;
    type Refused = TeamError;

    fn decide(
        &self,
        command: TeamCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<TeamEvent>, TeamError> {
        Team::decide(self, command, now)
    }

    fn evolve(&mut self, event: TeamEvent) {
        Team::apply(self, event);
    }

    fn workspace(&self) -> Option<&crate::ids::WorkspaceId> {
        self.workspace_id.as_ref()
    }
}

/// Team names are unique in a workspace.
impl crate::name_claim::Named for Team {
    const NAME_SCOPE: &'static str = super::AGGREGATE_TYPE;

    fn claimed_name(&self) -> Option<&str> {
        self.name.as_ref().map(|n| n.as_str())
    }
}

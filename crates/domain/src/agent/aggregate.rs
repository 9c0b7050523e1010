//! The cqrs-es and store faces of the agent.

use chrono::{DateTime, Utc};

use super::{Agent, AgentCommand, AgentError, AgentEvent, EVENT_VERSION};

impl cqrs_es::DomainEvent for AgentEvent {
    fn event_type(&self) -> String {
        self.type_name().to_owned()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_owned()
    }
}

crate::cqrs_aggregate!(
    Agent,
    super::AGGREGATE_TYPE,
    AgentCommand,
    AgentEvent,
    AgentError
);

impl crate::decider::DomainFact for AgentEvent {
    fn at(&self) -> DateTime<Utc> {
        AgentEvent::at(self)
    }
}

impl crate::decider::Refusal for AgentError {
    fn is_not_found(&self) -> bool {
        matches!(self, AgentError::NotFound)
    }
}

impl crate::decider::Decider for Agent {
    type Fact = AgentEvent;
    type Cmd = AgentCommand;
    type Refused = AgentError;

    fn decide(
        &self,
        command: AgentCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<AgentEvent>, AgentError> {
        Agent::decide(self, command, now)
    }

    fn evolve(&mut self, event: AgentEvent) {
        Agent::apply(self, event);
    }

    fn workspace(&self) -> Option<&crate::ids::WorkspaceId> {
        self.workspace_id.as_ref()
    }
}

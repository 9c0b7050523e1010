//! The cqrs-es and store faces of the canned response.

use chrono::{DateTime, Utc};

use super::commands::CannedCommand;
use super::errors::CannedError;
use super::events::CannedEvent;
use super::state::CannedResponse;

crate::cqrs_aggregate!(
    CannedResponse,
    super::AGGREGATE_TYPE,
    CannedCommand,
    CannedEvent,
    CannedError
);

impl crate::decider::DomainFact for CannedEvent {
    fn at(&self) -> DateTime<Utc> {
        CannedEvent::at(self)
    }
}

impl crate::decider::Refusal for CannedError {
    fn is_not_found(&self) -> bool {
        matches!(self, CannedError::NotFound)
    }
}

impl crate::decider::Decider for CannedResponse {
    type Fact = CannedEvent;
    type Cmd = CannedCommand;
    type Refused = CannedError;

    fn decide(
        &self,
        command: CannedCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<CannedEvent>, CannedError> {
        CannedResponse::decide(self, command, now)
    }

    fn evolve(&mut self, event: CannedEvent) {
        CannedResponse::apply(self, event);
    }

    fn workspace(&self) -> Option<&crate::ids::WorkspaceId> {
        self.workspace_id.as_ref()
    }
}

impl crate::name_claim::Named for CannedResponse {
    const NAME_SCOPE: &'static str = super::AGGREGATE_TYPE;

    fn claimed_name(&self) -> Option<&str> {
        self.name
            .as_ref()
            .filter(|_| self.is_live())
            .map(|n| n.as_str())
    }
}

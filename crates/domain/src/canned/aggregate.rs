//! The cqrs-es and store faces of the canned response.

use chrono::{DateTime, Utc};

use super::commands::CannedCommand;
use super::errors::CannedError;
use super::events::CannedEvent;
use super::state::CannedResponse;

impl cqrs_es::Aggregate for CannedResponse {
    const TYPE: &'static str = super::AGGREGATE_TYPE;
    type Command = (CannedCommand, DateTime<Utc>);
    type Event = CannedEvent;
    type Error = CannedError;
    type Services = ();

    async fn handle(
        &mut self,
        (command, now): Self::Command,
        _services: &Self::Services,
        sink: &cqrs_es::event_sink::EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in CannedResponse::decide(self, command, now)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        CannedResponse::apply(self, event);
    }
}

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

//! The cqrs-es and store faces of the response template.

use chrono::{DateTime, Utc};

use super::commands::TemplateCommand;
use super::errors::TemplateRefused;
use super::events::TemplateEvent;
use super::state::ResponseTemplate;

crate::cqrs_aggregate!(
    ResponseTemplate,
    super::AGGREGATE_TYPE,
    TemplateCommand,
    TemplateEvent,
    TemplateRefused
);

impl crate::decider::DomainFact for TemplateEvent {
    fn at(&self) -> DateTime<Utc> {
        TemplateEvent::at(self)
    }
}

impl crate::decider::Refusal for TemplateRefused {
    fn is_not_found(&self) -> bool {
        matches!(self, TemplateRefused::NotFound)
    }
}

impl crate::decider::Decider for ResponseTemplate {
    type Fact = TemplateEvent;
    type Cmd = TemplateCommand;
    type Refused = TemplateRefused;

    fn decide(
        &self,
        command: TemplateCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<TemplateEvent>, TemplateRefused> {
        ResponseTemplate::decide(self, command, now)
    }

    fn evolve(&mut self, event: TemplateEvent) {
        ResponseTemplate::apply(self, event);
    }

    fn workspace(&self) -> Option<&crate::ids::WorkspaceId> {
        self.workspace_id.as_ref()
    }
}

impl crate::name_claim::Named for ResponseTemplate {
    const NAME_SCOPE: &'static str = super::AGGREGATE_TYPE;

    fn claimed_name(&self) -> Option<&str> {
        self.name
            .as_ref()
            .filter(|_| self.is_live())
            .map(|n| n.as_str())
    }
}

//! The escalation policy aggregate: a named, ordered list of rules. Versioned
//! like SLA policies: every change is a whole new definition.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{EscalationPolicyId, WorkspaceId};
use crate::values::{ResourceName, ValueError};

use super::EscalationRule;

/// Frozen aggregate type name.
pub const AGGREGATE_TYPE: &str = "escalation_policy";
pub const EVENT_VERSION: &str = "1.0";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationPolicyDefinition {
    pub name: ResourceName,
    #[serde(default)]
    pub description: Option<String>,
    pub enabled: bool,
    /// In order: a rule's tier is its 1-based position.
    pub rules: Vec<EscalationRule>,
}

impl EscalationPolicyDefinition {
    pub const MAX_RULES: usize = 20;

    pub fn new(
        name: ResourceName,
        description: Option<String>,
        enabled: bool,
        rules: Vec<EscalationRule>,
    ) -> Result<Self, ValueError> {
        if rules.is_empty() || rules.len() > Self::MAX_RULES {
            return Err(ValueError::new(
                "rules",
                format!("give 1–{} rules", Self::MAX_RULES),
            ));
        }
        let mut ids: Vec<_> = rules.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        if ids.len() != rules.len() {
            return Err(ValueError::new("rules", "rule ids must be unique"));
        }
        let description = description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 1000)
        {
            return Err(ValueError::new(
                "description",
                "must be at most 1000 characters",
            ));
        }
        Ok(Self {
            name,
            description,
            enabled,
            rules,
        })
    }

    /// The rule and its tier.
    pub fn rule(&self, id: &crate::ids::EscalationRuleId) -> Option<(usize, &EscalationRule)> {
        self.rules
            .iter()
            .enumerate()
            .find(|(_, r)| &r.id == id)
            .map(|(i, r)| (i + 1, r))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum EscalationPolicyCommand {
    Create {
        id: EscalationPolicyId,
        workspace_id: WorkspaceId,
        definition: EscalationPolicyDefinition,
    },
    Update(EscalationPolicyDefinition),
    Delete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EscalationPolicyEvent {
    #[serde(rename = "EscalationPolicyCreated")]
    Created {
        policy_id: EscalationPolicyId,
        workspace_id: WorkspaceId,
        definition: EscalationPolicyDefinition,
        at: DateTime<Utc>,
    },
    #[serde(rename = "EscalationPolicyUpdated")]
    Updated {
        definition: EscalationPolicyDefinition,
        at: DateTime<Utc>,
    },
    #[serde(rename = "EscalationPolicyDeleted")]
    Deleted { at: DateTime<Utc> },
}

impl EscalationPolicyEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Created { .. } => "EscalationPolicyCreated",
            Self::Updated { .. } => "EscalationPolicyUpdated",
            Self::Deleted { .. } => "EscalationPolicyDeleted",
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Created { at, .. } | Self::Updated { at, .. } | Self::Deleted { at } => *at,
        }
    }
}

impl cqrs_es::DomainEvent for EscalationPolicyEvent {
    fn event_type(&self) -> String {
        self.type_name().to_owned()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscalationPolicyRefused {
    #[error("the escalation policy does not exist")]
    NotFound,
    #[error(
        "an escalation policy created with this id was deleted; create it again without the same Idempotency-Key"
    )]
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EscalationPolicy {
    pub id: Option<EscalationPolicyId>,
    pub workspace_id: Option<WorkspaceId>,
    pub definition: Option<EscalationPolicyDefinition>,
    pub deleted: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl EscalationPolicy {
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    pub fn is_live(&self) -> bool {
        self.exists() && !self.deleted
    }

    pub fn decide(
        &self,
        command: EscalationPolicyCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<EscalationPolicyEvent>, EscalationPolicyRefused> {
        match command {
            EscalationPolicyCommand::Create {
                id,
                workspace_id,
                definition,
            } => {
                if self.deleted {
                    return Err(EscalationPolicyRefused::Deleted);
                }
                if self.exists() {
                    return Ok(vec![]);
                }
                Ok(vec![EscalationPolicyEvent::Created {
                    policy_id: id,
                    workspace_id,
                    definition,
                    at: now,
                }])
            }
            EscalationPolicyCommand::Update(definition) => {
                if !self.is_live() {
                    return Err(EscalationPolicyRefused::NotFound);
                }
                if self.definition.as_ref() == Some(&definition) {
                    return Ok(vec![]);
                }
                Ok(vec![EscalationPolicyEvent::Updated {
                    definition,
                    at: now,
                }])
            }
            EscalationPolicyCommand::Delete => {
                if !self.is_live() {
                    return Err(EscalationPolicyRefused::NotFound);
                }
                Ok(vec![EscalationPolicyEvent::Deleted { at: now }])
            }
        }
    }

    pub fn apply(&mut self, event: EscalationPolicyEvent) {
        self.updated_at = Some(event.at());
        match event {
            EscalationPolicyEvent::Created {
                policy_id,
                workspace_id,
                definition,
                at,
            } => {
                self.id = Some(policy_id);
                self.workspace_id = Some(workspace_id);
                self.definition = Some(definition);
                self.created_at = Some(at);
            }
            EscalationPolicyEvent::Updated { definition, .. } => self.definition = Some(definition),
            EscalationPolicyEvent::Deleted { .. } => self.deleted = true,
        }
    }
}

crate::cqrs_aggregate!(
    EscalationPolicy,
    AGGREGATE_TYPE,
    EscalationPolicyCommand,
    EscalationPolicyEvent,
    EscalationPolicyRefused
);

impl crate::decider::DomainFact for EscalationPolicyEvent {
    fn at(&self) -> DateTime<Utc> {
        EscalationPolicyEvent::at(self)
    }
}

impl crate::decider::Refusal for EscalationPolicyRefused {
    fn is_not_found(&self) -> bool {
        matches!(self, EscalationPolicyRefused::NotFound)
    }
}

impl crate::decider::Decider for EscalationPolicy {
    type Fact = EscalationPolicyEvent;
    type Cmd = EscalationPolicyCommand;
    type Refused = EscalationPolicyRefused;

    fn decide(
        &self,
        command: EscalationPolicyCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<EscalationPolicyEvent>, EscalationPolicyRefused> {
        EscalationPolicy::decide(self, command, now)
    }

    fn evolve(&mut self, event: EscalationPolicyEvent) {
        EscalationPolicy::apply(self, event);
    }

    fn workspace(&self) -> Option<&WorkspaceId> {
        self.workspace_id.as_ref()
    }
}

//! The SLA policy aggregate: targets per priority, which tickets it covers,
//! its calendar and warning threshold. Versioned: every change is an event
//! and the policy's version is its stream's sequence; a ticket records the
//! version applied to it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{SlaPolicyId, WorkspaceId};
use crate::ticket::{Channel, Ticket};
use crate::values::{FieldKey, Priority, ResourceName, Tag, ValueError};

use super::{Calendar, SlaTargets};

/// Frozen aggregate type name.
pub const AGGREGATE_TYPE: &str = "sla_policy";
pub const EVENT_VERSION: &str = "1.0";

/// The custom field that names a customer's segment (`vip`, `enterprise`, …).
pub const SEGMENT_FIELD: &str = "segment";

/// A customer segment: the ticket's `segment` custom field, 1–64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Segment(String);

impl Segment {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let t = raw.trim();
        if t.is_empty() || t.chars().count() > 64 {
            return Err(ValueError::new("segment", "must be 1–64 characters"));
        }
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ticket's segment, if its `segment` field holds text.
    pub fn of(ticket: &Ticket) -> Option<Segment> {
        let key = FieldKey::parse(SEGMENT_FIELD).ok()?;
        match ticket.fields.get(&key)? {
            serde_json::Value::String(s) => Segment::parse(s).ok(),
            serde_json::Value::Number(n) => Segment::parse(&n.to_string()).ok(),
            serde_json::Value::Bool(b) => Segment::parse(&b.to_string()).ok(),
            _ => None,
        }
    }
}

/// Which tickets a policy covers. An empty list matches anything; a ticket
/// must match every non-empty list (any one of its entries; for tags, any tag).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SlaConditions {
    #[serde(default)]
    pub priorities: BTreeSet<Priority>,
    #[serde(default)]
    pub tags: BTreeSet<Tag>,
    #[serde(default)]
    pub segments: BTreeSet<Segment>,
    #[serde(default)]
    pub channels: Vec<Channel>,
}

impl SlaConditions {
    pub fn matches(&self, ticket: &Ticket) -> bool {
        let priority_ok = self.priorities.is_empty() || self.priorities.contains(&ticket.priority);
        let tags_ok = self.tags.is_empty() || self.tags.iter().any(|t| ticket.tags.contains(t));
        let segment_ok = self.segments.is_empty()
            || Segment::of(ticket).is_some_and(|s| self.segments.contains(&s));
        let channel_ok =
            self.channels.is_empty() || ticket.channel.is_some_and(|c| self.channels.contains(&c));
        priority_ok && tags_ok && segment_ok && channel_ok
    }
}

/// Everything a policy says; each version is a whole definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaPolicyDefinition {
    pub name: ResourceName,
    #[serde(default)]
    pub description: Option<String>,
    /// Policies are tried in ascending rank (then by creation); the first that
    /// matches a ticket applies.
    pub rank: i64,
    pub enabled: bool,
    #[serde(default)]
    pub conditions: SlaConditions,
    pub calendar: Calendar,
    /// Warn when this share of a target has passed (1–99; 0 = no warning).
    pub warning_percent: u8,
    /// Targets per priority; a priority without an entry has no targets.
    pub targets: BTreeMap<Priority, SlaTargets>,
}

impl SlaPolicyDefinition {
    pub const MAX_DESCRIPTION: usize = 1000;

    /// A definition: at least one priority with targets, a warning threshold of 0–99 %.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: ResourceName,
        description: Option<String>,
        rank: i64,
        enabled: bool,
        conditions: SlaConditions,
        calendar: Calendar,
        warning_percent: u8,
        targets: BTreeMap<Priority, SlaTargets>,
    ) -> Result<Self, ValueError> {
        if targets.is_empty() {
            return Err(ValueError::new(
                "targets",
                "give targets for at least one priority",
            ));
        }
        if warning_percent > 99 {
            return Err(ValueError::new(
                "warning_percent",
                "must be 0–99 (0: no warning)",
            ));
        }
        let description = description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > Self::MAX_DESCRIPTION)
        {
            return Err(ValueError::new(
                "description",
                format!("must be at most {} characters", Self::MAX_DESCRIPTION),
            ));
        }
        Ok(Self {
            name,
            description,
            rank,
            enabled,
            conditions,
            calendar,
            warning_percent,
            targets,
        })
    }

    /// Does this policy cover `ticket`, with targets for its priority?
    pub fn applies_to(&self, ticket: &Ticket) -> bool {
        self.enabled
            && self.conditions.matches(ticket)
            && self.targets.contains_key(&ticket.priority)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SlaPolicyCommand {
    Create {
        id: SlaPolicyId,
        workspace_id: WorkspaceId,
        definition: SlaPolicyDefinition,
    },
    /// Replace the definition (a new version, when anything changed).
    Update(SlaPolicyDefinition),
    Delete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SlaPolicyEvent {
    /// Version 1.
    #[serde(rename = "SlaPolicyCreated")]
    Created {
        policy_id: SlaPolicyId,
        workspace_id: WorkspaceId,
        definition: SlaPolicyDefinition,
        at: DateTime<Utc>,
    },
    /// The next version: the whole definition after the change.
    #[serde(rename = "SlaPolicyUpdated")]
    Updated {
        definition: SlaPolicyDefinition,
        at: DateTime<Utc>,
    },
    #[serde(rename = "SlaPolicyDeleted")]
    Deleted { at: DateTime<Utc> },
}

impl SlaPolicyEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Created { .. } => "SlaPolicyCreated",
            Self::Updated { .. } => "SlaPolicyUpdated",
            Self::Deleted { .. } => "SlaPolicyDeleted",
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Created { at, .. } | Self::Updated { at, .. } | Self::Deleted { at } => *at,
        }
    }
}

impl cqrs_es::DomainEvent for SlaPolicyEvent {
    fn event_type(&self) -> String {
        self.type_name().to_owned()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaPolicyRefused {
    #[error("the SLA policy does not exist")]
    NotFound,
    #[error(
        "an SLA policy created with this id was deleted; create it again without the same Idempotency-Key"
    )]
    Deleted,
}

/// The policy as its events shaped it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SlaPolicy {
    pub id: Option<SlaPolicyId>,
    pub workspace_id: Option<WorkspaceId>,
    pub definition: Option<SlaPolicyDefinition>,
    pub deleted: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl SlaPolicy {
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    pub fn is_live(&self) -> bool {
        self.exists() && !self.deleted
    }

    pub fn decide(
        &self,
        command: SlaPolicyCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<SlaPolicyEvent>, SlaPolicyRefused> {
        match command {
            SlaPolicyCommand::Create {
                id,
                workspace_id,
                definition,
            } => {
                if self.deleted {
                    return Err(SlaPolicyRefused::Deleted);
                }
                if self.exists() {
                    return Ok(vec![]);
                }
                Ok(vec![SlaPolicyEvent::Created {
                    policy_id: id,
                    workspace_id,
                    definition,
                    at: now,
                }])
            }
            SlaPolicyCommand::Update(definition) => {
                if !self.is_live() {
                    return Err(SlaPolicyRefused::NotFound);
                }
                if self.definition.as_ref() == Some(&definition) {
                    return Ok(vec![]);
                }
                Ok(vec![SlaPolicyEvent::Updated {
                    definition,
                    at: now,
                }])
            }
            SlaPolicyCommand::Delete => {
                if !self.is_live() {
                    return Err(SlaPolicyRefused::NotFound);
                }
                Ok(vec![SlaPolicyEvent::Deleted { at: now }])
            }
        }
    }

    pub fn apply(&mut self, event: SlaPolicyEvent) {
        self.updated_at = Some(event.at());
        match event {
            SlaPolicyEvent::Created {
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
            SlaPolicyEvent::Updated { definition, .. } => self.definition = Some(definition),
            SlaPolicyEvent::Deleted { .. } => self.deleted = true,
        }
    }
}

crate::cqrs_aggregate!(
    SlaPolicy,
    AGGREGATE_TYPE,
    SlaPolicyCommand,
    SlaPolicyEvent,
    SlaPolicyRefused
);

impl crate::decider::DomainFact for SlaPolicyEvent {
    fn at(&self) -> DateTime<Utc> {
        SlaPolicyEvent::at(self)
    }
}

impl crate::decider::Refusal for SlaPolicyRefused {
    fn is_not_found(&self) -> bool {
        matches!(self, SlaPolicyRefused::NotFound)
    }
}

impl crate::decider::Decider for SlaPolicy {
    type Fact = SlaPolicyEvent;
    type Cmd = SlaPolicyCommand;
    type Refused = SlaPolicyRefused;

    fn decide(
        &self,
        command: SlaPolicyCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<SlaPolicyEvent>, SlaPolicyRefused> {
        SlaPolicy::decide(self, command, now)
    }

    fn evolve(&mut self, event: SlaPolicyEvent) {
        SlaPolicy::apply(self, event);
    }

    fn workspace(&self) -> Option<&WorkspaceId> {
        self.workspace_id.as_ref()
    }
}

/// Choose the policy for `ticket` among `(policy, version, definition)`
/// candidates: the enabled, matching one of lowest rank (ties: the order given).
pub fn choose<'a>(
    ticket: &Ticket,
    candidates: &'a [(SlaPolicyId, i64, SlaPolicyDefinition)],
) -> Option<&'a (SlaPolicyId, i64, SlaPolicyDefinition)> {
    candidates
        .iter()
        .enumerate()
        .filter(|(_, (_, _, d))| d.applies_to(ticket))
        .min_by_key(|(i, (_, _, d))| (d.rank, *i))
        .map(|(_, c)| c)
}

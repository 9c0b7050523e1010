//! Unique names per workspace. A name is held by a claim: an aggregate whose id
//! is derived from the workspace, the kind of resource and the normalized name
//! (UUID v5), so every writer that wants a name appends to the same stream and
//! optimistic concurrency lets only one of them have it. The store changes a
//! resource and the claims on its old and new names in one transaction
//! (`tgcrm_store::named`), so a claim never outlives the name it stands for.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::WorkspaceId;

/// Frozen aggregate type name.
pub const AGGREGATE_TYPE: &str = "name_claim";
pub const EVENT_VERSION: &str = "1.0";

/// Frozen: changing it would let a second resource take a claimed name.
const CLAIM_NAMESPACE: Uuid = Uuid::from_u128(0x2b8e_41c7_95d3_4f0a_8c61_7d2e_0a94_b35f);

/// An aggregate whose name is unique in its workspace.
pub trait Named: crate::Decider {
    /// Which names it competes with (`canned_response`, `response_template`).
    const NAME_SCOPE: &'static str;
    /// The name it holds now; `None` when it does not exist or was deleted.
    fn claimed_name(&self) -> Option<&str>;
}

/// How names compare: trimmed, inner whitespace collapsed, case folded.
pub fn normalize(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The id of the claim on `name` for resources of `scope` in `workspace`.
pub fn claim_id(workspace: &WorkspaceId, scope: &str, name: &str) -> String {
    let key = format!("{}/{}/{}", workspace.as_str(), scope, normalize(name));
    Uuid::new_v5(&CLAIM_NAMESPACE, key.as_bytes()).to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NameClaim {
    pub workspace_id: Option<WorkspaceId>,
    pub scope: Option<String>,
    pub name: Option<String>,
    /// The id of the resource holding the name.
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameClaimCommand {
    Claim {
        workspace_id: WorkspaceId,
        scope: String,
        name: String,
        owner: String,
    },
    Release {
        owner: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NameClaimEvent {
    #[serde(rename = "NameClaimed")]
    Claimed {
        workspace_id: WorkspaceId,
        scope: String,
        name: String,
        owner: String,
        at: DateTime<Utc>,
    },
    #[serde(rename = "NameReleased")]
    Released { owner: String, at: DateTime<Utc> },
}

impl NameClaimEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Claimed { .. } => "NameClaimed",
            Self::Released { .. } => "NameReleased",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameClaimError {
    #[error("the name is already taken by {owner}")]
    Taken { owner: String },
}

impl NameClaim {
    pub fn decide(
        &self,
        command: NameClaimCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<NameClaimEvent>, NameClaimError> {
        match command {
            NameClaimCommand::Claim {
                workspace_id,
                scope,
                name,
                owner,
            } => match &self.owner {
                Some(o) if o == &owner => Ok(vec![]),
                Some(o) => Err(NameClaimError::Taken { owner: o.clone() }),
                None => Ok(vec![NameClaimEvent::Claimed {
                    workspace_id,
                    scope,
                    name,
                    owner,
                    at: now,
                }]),
            },
            NameClaimCommand::Release { owner } => match &self.owner {
                Some(o) if o == &owner => Ok(vec![NameClaimEvent::Released { owner, at: now }]),
                _ => Ok(vec![]),
            },
        }
    }

    pub fn apply(&mut self, event: NameClaimEvent) {
        match event {
            NameClaimEvent::Claimed {
                workspace_id,
                scope,
                name,
                owner,
                ..
            } => {
                self.workspace_id = Some(workspace_id);
                self.scope = Some(scope);
                self.name = Some(name);
                self.owner = Some(owner);
            }
            NameClaimEvent::Released { .. } => self.owner = None,
        }
    }
}

impl cqrs_es::DomainEvent for NameClaimEvent {
    fn event_type(&self) -> String {
        self.type_name().to_owned()
    }
    fn event_version(&self) -> String {
        EVENT_VERSION.to_owned()
    }
}

impl crate::decider::DomainFact for NameClaimEvent {
    fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Claimed { at, .. } | Self::Released { at, .. } => *at,
        }
    }
}

impl crate::decider::Refusal for NameClaimError {
    fn is_not_found(&self) -> bool {
        false
    }
}

crate::cqrs_aggregate!(
    NameClaim,
    AGGREGATE_TYPE,
    NameClaimCommand,
    NameClaimEvent,
    NameClaimError
);

impl crate::decider::Decider for NameClaim {
    type Fact = NameClaimEvent;
    type Cmd = NameClaimCommand;
    type Refused = NameClaimError;

    fn decide(
        &self,
        command: NameClaimCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<NameClaimEvent>, NameClaimError> {
        NameClaim::decide(self, command, now)
    }

    fn evolve(&mut self, event: NameClaimEvent) {
        NameClaim::apply(self, event);
    }

    fn workspace(&self) -> Option<&WorkspaceId> {
        self.workspace_id.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
    }

    fn claim(owner: &str) -> NameClaimCommand {
        NameClaimCommand::Claim {
            workspace_id: WorkspaceId::parse("acme").unwrap(),
            scope: "canned_response".into(),
            name: "Refund".into(),
            owner: owner.into(),
        }
    }

    fn history(events: Vec<NameClaimEvent>) -> NameClaim {
        let mut s = NameClaim::default();
        for e in events {
            s.apply(e);
        }
        s
    }

    #[test]
    fn names_compare_without_case_or_extra_spaces() {
        assert_eq!(normalize("  Refund   Policy "), "refund policy");
        let ws = WorkspaceId::parse("acme").unwrap();
        assert_eq!(
            claim_id(&ws, "canned_response", "Refund policy"),
            claim_id(&ws, "canned_response", " REFUND  policy")
        );
        assert_ne!(
            claim_id(&ws, "canned_response", "Refund"),
            claim_id(&ws, "response_template", "Refund")
        );
        assert_ne!(
            claim_id(&ws, "canned_response", "Refund"),
            claim_id(
                &WorkspaceId::parse("globex").unwrap(),
                "canned_response",
                "Refund"
            )
        );
    }

    #[test]
    fn a_free_name_is_claimed_and_a_taken_one_refused() {
        let free = NameClaim::default();
        let events = free.decide(claim("a"), now()).unwrap();
        assert_eq!(events.len(), 1);
        let held = history(events);
        assert_eq!(held.decide(claim("a"), now()).unwrap(), vec![]);
        assert_eq!(
            held.decide(claim("b"), now()).unwrap_err(),
            NameClaimError::Taken { owner: "a".into() }
        );
    }

    #[test]
    fn only_the_owner_releases_a_name() {
        let held = history(NameClaim::default().decide(claim("a"), now()).unwrap());
        assert_eq!(
            held.decide(NameClaimCommand::Release { owner: "b".into() }, now())
                .unwrap(),
            vec![]
        );
        let released = held
            .decide(NameClaimCommand::Release { owner: "a".into() }, now())
            .unwrap();
        let free = {
            let mut s = held.clone();
            for e in released {
                s.apply(e);
            }
            s
        };
        assert_eq!(free.decide(claim("b"), now()).unwrap().len(), 1);
    }
}

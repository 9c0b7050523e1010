//! Identifiers. Random ids are UUID v7 (time-ordered); ids derived from a client's
//! idempotency key are UUID v5 of the workspace and the key, so a repeated request
//! names the same ticket or message and the aggregate can ignore it.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Namespace for ids derived from idempotency keys. Frozen: changing it would
/// make retried requests create duplicates.
const IDEMPOTENCY_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a0e_8d4b_4e55_9a3c_1b7e_52d0_c4a1);

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new random, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The id a client's idempotency key maps to in a workspace.
            pub fn from_idempotency_key(workspace: &WorkspaceId, key: &str) -> Self {
                let name = format!("{}/{}/{}", $kind, workspace.as_str(), key);
                Self(Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, name.as_bytes()))
            }

            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A ticket; also the aggregate id of its event stream.
    TicketId, "ticket"
);
uuid_id!(
    /// A message within a ticket's conversation.
    MessageId, "message"
);
uuid_id!(
    /// A support agent.
    AgentId, "agent"
);
uuid_id!(
    /// A team of agents.
    TeamId, "team"
);
uuid_id!(
    /// A canned response.
    CannedResponseId, "canned_response"
);
uuid_id!(
    /// A versioned response template.
    TemplateId, "response_template"
);
uuid_id!(
    /// A knowledge base article.
    ArticleId, "kb_article"
);
uuid_id!(
    /// A service-level (SLA) policy.
    SlaPolicyId, "sla_policy"
);
uuid_id!(
    /// An escalation policy.
    EscalationPolicyId, "escalation_policy"
);
uuid_id!(
    /// A rule of an escalation policy.
    EscalationRuleId, "escalation_rule"
);

/// A tenant. Every resource belongs to exactly one workspace; names are slugs
/// (lowercase letters, digits, `-`, `_`; 1–64 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkspaceId(String);

impl WorkspaceId {
    pub fn parse(raw: &str) -> Result<Self, crate::values::ValueError> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(crate::values::ValueError::new(
                "workspace",
                "must be 1–64 characters of a-z, 0-9, '-' or '_'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for WorkspaceId {
    /// The workspace named `default`.
    fn default() -> Self {
        Self("default".to_owned())
    }
}

impl TryFrom<String> for WorkspaceId {
    type Error = crate::values::ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<WorkspaceId> for String {
    fn from(value: WorkspaceId) -> Self {
        value.0
    }
}

impl fmt::Display for WorkspaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_idempotency_key_gives_the_same_id_within_a_workspace() {
        let ws = WorkspaceId::parse("acme").unwrap();
        let other = WorkspaceId::parse("globex").unwrap();
        assert_eq!(
            TicketId::from_idempotency_key(&ws, "k1"),
            TicketId::from_idempotency_key(&ws, "k1")
        );
        assert_ne!(
            TicketId::from_idempotency_key(&ws, "k1"),
            TicketId::from_idempotency_key(&other, "k1")
        );
        assert_ne!(
            TicketId::from_idempotency_key(&ws, "k1").as_uuid(),
            MessageId::from_idempotency_key(&ws, "k1").as_uuid()
        );
    }

    #[test]
    fn workspace_names_are_slugs() {
        assert!(WorkspaceId::parse("acme-support_1").is_ok());
        assert!(WorkspaceId::parse("").is_err());
        assert!(WorkspaceId::parse("Acme").is_err());
        assert!(WorkspaceId::parse("a b").is_err());
    }
}

//! Ticket status. The rules for moving between statuses live in
//! `ticket::workflow`; this is only the vocabulary.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ValueError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Open,
    InProgress,
    WaitingOnCustomer,
    Resolved,
    Closed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Self::Open,
        Self::InProgress,
        Self::WaitingOnCustomer,
        Self::Resolved,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::InProgress => "in_progress",
            Self::WaitingOnCustomer => "waiting_on_customer",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    /// Active tickets still need work from someone: they sit in queues and count
    /// toward an agent's load.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Self::Open | Self::InProgress | Self::WaitingOnCustomer
        )
    }
}

impl FromStr for Status {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            ValueError::new(
                "status",
                format!("unknown status '{s}'; expected one of open, in_progress, waiting_on_customer, resolved, closed"),
            )
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

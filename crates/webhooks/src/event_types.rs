//! The event types integrators subscribe to, and which log events they stand for.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WebhookEventType {
    #[serde(rename = "ticket.created")]
    TicketCreated,
    #[serde(rename = "ticket.status_changed")]
    TicketStatusChanged,
    #[serde(rename = "ticket.assigned")]
    TicketAssigned,
    #[serde(rename = "ticket.priority_changed")]
    TicketPriorityChanged,
    #[serde(rename = "message.created")]
    MessageCreated,
    #[serde(rename = "sla.warning")]
    SlaWarning,
    #[serde(rename = "sla.breached")]
    SlaBreached,
    #[serde(rename = "ticket.escalated")]
    TicketEscalated,
    /// `*`: a subscription filter only, never the type of a delivery.
    #[serde(rename = "*")]
    All,
}

impl WebhookEventType {
    /// Every type a delivery can have.
    pub const KNOWN: [WebhookEventType; 8] = [
        Self::TicketCreated,
        Self::TicketStatusChanged,
        Self::TicketAssigned,
        Self::TicketPriorityChanged,
        Self::MessageCreated,
        Self::SlaWarning,
        Self::SlaBreached,
        Self::TicketEscalated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TicketCreated => "ticket.created",
            Self::TicketStatusChanged => "ticket.status_changed",
            Self::TicketAssigned => "ticket.assigned",
            Self::TicketPriorityChanged => "ticket.priority_changed",
            Self::MessageCreated => "message.created",
            Self::SlaWarning => "sla.warning",
            Self::SlaBreached => "sla.breached",
            Self::TicketEscalated => "ticket.escalated",
            Self::All => "*",
        }
    }

    /// A known type or `*`.
    pub fn parse_filter(s: &str) -> Option<Self> {
        if s == "*" {
            return Some(Self::All);
        }
        Self::KNOWN.into_iter().find(|t| t.as_str() == s)
    }

    /// The webhook type a log event becomes, if any. SLA and escalation events
    /// are named by the SLA issue (`SlaWarning`, `SlaBreached`,
    /// `TicketEscalated`), whichever aggregate records them.
    pub fn for_log_event(event_type: &str) -> Option<Self> {
        Some(match event_type {
            "TicketOpened" => Self::TicketCreated,
            "StatusChanged" => Self::TicketStatusChanged,
            "TicketAssigned" => Self::TicketAssigned,
            "PriorityChanged" => Self::TicketPriorityChanged,
            "MessageAdded" => Self::MessageCreated,
            "SlaWarning" => Self::SlaWarning,
            "SlaBreached" => Self::SlaBreached,
            "TicketEscalated" => Self::TicketEscalated,
            _ => return None,
        })
    }
}

impl std::fmt::Display for WebhookEventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

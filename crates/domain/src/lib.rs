//! The tgcrm domain: aggregates, commands, events and the pure rules that decide
//! between them. Nothing here touches a database, the network or the wall clock.

pub mod agent;
pub mod canned;
pub mod clock;
pub mod decider;
pub mod escalation;
pub mod ids;
pub mod kb;
pub mod name_claim;
pub mod queue;
pub mod response_template;
pub mod routing;
pub mod sla;
pub mod team;
pub mod templating;
pub mod ticket;
pub mod values;

pub use clock::{Clock, ManualClock};
pub use decider::{Decider, DomainFact, Refusal};
pub use ids::{AgentId, MessageId, TeamId, TicketId, WorkspaceId};
pub use ids::{ArticleId, CannedResponseId, TemplateId};
pub use ids::{EscalationPolicyId, EscalationRuleId, SlaPolicyId};

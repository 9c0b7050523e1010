//! Read models. Each projector tails the ordered global log with its own
//! checkpoint and writes plain SQL tables shaped for the queries that read
//! them; its table writes and its checkpoint commit in one transaction.

pub mod agents;
pub mod audit_chain;
pub mod bulk;
pub mod canned;
pub mod consistency;
pub mod conversation;
pub mod cursor;
pub mod directory;
pub mod group;
pub mod kb;
pub mod lock;
pub mod projector;
pub mod queue;
pub mod rebuild;
pub mod runner;
pub mod schema;
pub mod shadow;
pub mod sla;
pub mod statistics;
pub mod teams;
pub mod templates;
pub mod ticket_list;
pub mod writing_cursor;

pub use consistency::Consistency;
pub use projector::Projector;

use std::sync::Arc;

/// Every projector of the system, in the order they are started.
pub fn all() -> Vec<Arc<dyn Projector>> {
    vec![
        Arc::new(ticket_list::TicketListProjector),
        Arc::new(conversation::ConversationProjector),
        Arc::new(audit_chain::AuditChainProjector),
        Arc::new(agents::AgentsProjector),
        Arc::new(teams::TeamsProjector),
        Arc::new(queue::QueueProjector),
        Arc::new(canned::CannedProjector),
        Arc::new(templates::TemplatesProjector),
        Arc::new(kb::KnowledgeBaseProjector),
        Arc::new(sla::policies::PoliciesProjector),
        Arc::new(sla::deadlines::DeadlinesProjector),
        Arc::new(sla::metrics::MetricsProjector),
    ]
}

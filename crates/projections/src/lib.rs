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

/// The projectors split into the two groups a server runs side by side (see
/// [`group`]), each with its own read of the log and its own transaction:
/// `[lists, figures]`.
///
/// The lists are what people wait to see after a command (the ticket list,
/// the conversation, the queues) and the small directories; the figures are
/// the SLA clocks, the metrics and the audit chain, whose folds take most of
/// a batch's time. Run in one group, a write reached the ticket list only
/// once the figures of its whole batch had been written too, and those set
/// the tail of the projection lag under load.
pub fn groups() -> [Vec<Arc<dyn Projector>>; 2] {
    let names = [audit_chain::NAME, sla::deadlines::NAME, sla::metrics::NAME];
    let (figures, lists) = all().into_iter().partition(|p| names.contains(&p.name()));
    [lists, figures]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_projector_runs_in_exactly_one_group_and_the_lists_apart_from_the_figures() {
        let [lists, figures] = groups();
        let mut grouped: Vec<_> = lists.iter().chain(&figures).map(|p| p.name()).collect();
        let first: Vec<_> = lists.iter().map(|p| p.name()).collect();
        assert!(first.contains(&ticket_list::NAME), "{first:?}");
        assert!(first.contains(&queue::NAME), "{first:?}");
        assert!(!first.contains(&sla::metrics::NAME), "{first:?}");
        let mut every: Vec<_> = all().iter().map(|p| p.name()).collect();
        grouped.sort_unstable();
        every.sort_unstable();
        assert_eq!(grouped, every);
    }

    #[test]
    fn every_query_index_a_projector_names_is_an_index_of_its_schema() {
        for p in all() {
            for backend in [tgcrm_store::Backend::Postgres, tgcrm_store::Backend::Sqlite] {
                let schema = p.schema(backend);
                let indexes: Vec<_> = schema
                    .iter()
                    .filter_map(|s| shadow::index_name(s))
                    .collect();
                for name in p.query_indexes() {
                    assert!(
                        indexes.contains(name),
                        "{}: {name} is not in {indexes:?}",
                        p.name()
                    );
                }
            }
        }
    }
}

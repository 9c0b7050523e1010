//! Service-level read models: the policies ([`policies`]), each open
//! ticket's deadlines and escalation standing ([`deadlines`]), and the
//! first-response, resolution and SLA metrics ([`metrics`]).

mod batch;
pub mod deadlines;
mod deadlines_fold;
pub mod metrics;
mod metrics_fold;
pub mod policies;

pub(crate) use batch::sla_state;

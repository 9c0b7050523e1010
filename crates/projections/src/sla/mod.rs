//! Service-level read models: the policies ([`policies`]), each open
//! ticket's deadlines and escalation standing ([`deadlines`]), and the
//! first-response, resolution and SLA metrics ([`metrics`]).

pub mod deadlines;
pub mod metrics;
pub mod policies;

//! What every handler can reach.

use std::sync::Arc;
use std::time::Duration;

use tgcrm_domain::Clock;
use tgcrm_projections::Consistency;
use tgcrm_store::EventStore;

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// How long a query with `consistent_with` may wait for projections.
    pub consistency_timeout: Duration,
    /// Largest accepted JSON body, in bytes.
    pub max_body_bytes: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            consistency_timeout: Duration::from_secs(2),
            max_body_bytes: 256 * 1024,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: EventStore,
    pub clock: Arc<dyn Clock>,
    pub consistency: Consistency,
    pub config: ApiConfig,
    /// Fires when the server is shutting down: long-lived responses end.
    pub shutdown: tgcrm_store::shutdown::Stop,
}

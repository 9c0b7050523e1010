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
    /// How long a request may take to answer (its response head).
    pub request_timeout: Duration,
    /// Largest accepted JSON body, in bytes.
    pub max_body_bytes: usize,
    /// The environment this deployment's tokens belong to (`crm_live_…` / `crm_test_…`).
    pub token_env: tgcrm_store::tokens::TokenEnv,
    pub rate_limits: crate::rate_limit::RateLimitConfig,
    /// How long a rotated token's old secret keeps working by default.
    pub rotation_grace: chrono::Duration,
    /// Webhook delivery settings (`CRM_WEBHOOK_*`), shared with the delivery worker.
    pub webhooks: tgcrm_webhooks::WebhookConfig,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            consistency_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 256 * 1024,
            token_env: tgcrm_store::tokens::TokenEnv::default(),
            rate_limits: crate::rate_limit::RateLimitConfig::default(),
            rotation_grace: chrono::Duration::hours(24),
            webhooks: tgcrm_webhooks::WebhookConfig::default(),
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
    pub limiter: Arc<crate::rate_limit::RateLimits>,
}

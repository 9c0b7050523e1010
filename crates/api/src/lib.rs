//! The REST API (actix-web): routes by resource, bearer-token auth with roles,
//! problem+json errors, ETag/If-Match, cursor pagination, read-your-writes,
//! and the OpenAPI document generated from these handlers.

pub mod auth;
pub mod dto;
pub mod dto_queues;
pub mod dto_sla;
pub mod dto_webhooks;
pub mod dto_writing;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod rate_limit;
pub mod request_meta;
pub mod request_timeout;
pub mod routes;
pub mod state;

pub use error::ApiError;
pub use state::{ApiConfig, AppState};

use actix_web::web;

/// Register every route and the extractor configuration.
pub fn configure(cfg: &mut web::ServiceConfig) {
    extract::configure(cfg);
    routes::configure(cfg);
}

//! A ceiling on how long a request may take to produce its response head
//! (`CRM_REQUEST_TIMEOUT_SECONDS`, default 30 s). Past it the client gets a
//! 503 problem+json instead of a hanging connection. Streaming bodies (the
//! live feed, exports) are not cut: their head is answered at once.
//!
//! A command that timed out may still have been recorded; clients retry with
//! the same `Idempotency-Key` and get the first answer.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

use crate::error::ApiError;
use crate::state::AppState;

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map_or(Duration::from_secs(30), |s| s.config.request_timeout);
    // Not a clone of the request: handlers need it to themselves.
    let path = req.path().to_owned();
    match tokio::time::timeout(limit, next.call(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(%path, timeout_s = limit.as_secs_f64(), "request timed out");
            Err(ApiError::Unavailable(format!(
                "the request took longer than {} s; if it was a command, retry it with the same Idempotency-Key",
                limit.as_secs()
            ))
            .into())
        }
    }
}

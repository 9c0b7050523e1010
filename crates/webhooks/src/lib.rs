//! Outgoing webhooks, following the Standard Webhooks specification.
//!
//! Subscriptions are an event-sourced aggregate ([`endpoint`]); delivery is a
//! reactor in two halves: the [`router`] turns log events into delivery rows
//! (exactly once, in log order), and the [`worker`] POSTs them, signed, with
//! retries, dead letters and auto-disable (at least once, in order per
//! ticket). Requests only append events ([`app`]); nothing is sent from a
//! request.

pub mod app;
pub mod config;
pub mod context;
pub mod endpoint;
pub mod event_types;
pub mod payload;
pub mod queries;
pub mod replay;
pub mod router;
pub mod signing;
pub mod ssrf;
#[cfg(feature = "testing")]
pub mod testing;
pub mod worker;

pub use config::WebhookConfig;
pub use event_types::WebhookEventType;
pub use router::WebhookRouter;
pub use worker::DeliveryWorker;

use std::sync::Arc;

use tgcrm_domain::Clock;
use tgcrm_projections::Consistency;
use tgcrm_projections::runner::{self, RunnerConfig};
use tgcrm_store::EventStore;
use tgcrm_store::shutdown::Stop;

/// Start the router and the delivery worker; their tasks end when `stop` fires.
/// `timer` is wall time (retry schedules); `clock` stamps the events recorded.
/// A server runs the router in one of its projector groups instead (see
/// [`start_worker`]).
pub fn start(
    store: &EventStore,
    consistency: &Consistency,
    clock: Arc<dyn Clock>,
    timer: Arc<dyn Clock>,
    config: WebhookConfig,
    runner_config: RunnerConfig,
    stop: &Stop,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut tasks = vec![tokio::spawn(runner::run(
        store.clone(),
        Arc::new(WebhookRouter::new()),
        consistency.clone(),
        clock.clone(),
        runner_config,
        stop.clone(),
    ))];
    tasks.extend(start_worker(store, clock, timer, config, stop)?);
    Ok(tasks)
}

/// Start the delivery worker alone, for a process that runs the router
/// (a projector: [`WebhookRouter`]) with its other projectors.
pub fn start_worker(
    store: &EventStore,
    clock: Arc<dyn Clock>,
    timer: Arc<dyn Clock>,
    config: WebhookConfig,
    stop: &Stop,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let send = config.send;
    let worker = DeliveryWorker::new(store.clone(), clock, timer, config)?;
    if send {
        Ok(Some(tokio::spawn(worker.run(stop.clone()))))
    } else {
        tracing::warn!("CRM_WEBHOOK_SEND=false: webhook deliveries are enqueued but not sent");
        Ok(None)
    }
}

//! Building and running the application: the HTTP API, the projectors and the
//! log listener side by side under one shutdown signal.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tgcrm_api::{ApiConfig, AppState};
use tgcrm_domain::Clock;
use tgcrm_projections::Consistency;
use tgcrm_projections::runner::{self, RunnerConfig};
use tgcrm_store::shutdown::{StopHandle, stop_signal};
use tgcrm_store::{Db, EventStore};

use crate::config::Settings;

pub struct Application {
    port: u16,
    server: Server,
    stop: StopHandle,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    store: EventStore,
}

/// Connect to the database named by the settings and bring its schema up to date.
pub async fn connect_and_migrate(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect_sized(settings.database_url(), settings.max_connections)
        .await
        .with_context(|| format!("connecting to {}", settings.database_display()))?;
    db.migrate().await.context("applying migrations")?;
    Ok(db)
}

impl Application {
    /// Connect, migrate, start projectors and bind the HTTP listener (port 0 picks a free port).
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let db = connect_and_migrate(&settings).await?;
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let bot = tgcrm_bot_adapter::BotConfig::from_env()?;
        Self::build_full(
            db,
            listener,
            clock,
            settings.api.clone(),
            RunnerConfig::default(),
            bot,
        )
        .await
    }

    pub async fn build_with(
        db: Db,
        listener: TcpListener,
        clock: Arc<dyn Clock>,
        api_config: ApiConfig,
        runner_config: RunnerConfig,
    ) -> anyhow::Result<Self> {
        Self::build_full(db, listener, clock, api_config, runner_config, None).await
    }

    /// Everything, with the Telegram bot when `bot` is given.
    pub async fn build_full(
        db: Db,
        listener: TcpListener,
        clock: Arc<dyn Clock>,
        api_config: ApiConfig,
        runner_config: RunnerConfig,
        bot: Option<tgcrm_bot_adapter::BotConfig>,
    ) -> anyhow::Result<Self> {
        let _ = tgcrm_api::metrics::handle();
        let store = EventStore::new(db);
        let consistency = Consistency::default();
        let (stop, stopped) = stop_signal();
        let mut tasks = Vec::new();
        if let Some(t) = store.spawn_listener(stopped.clone()) {
            tasks.push(t);
        }
        if let Some(t) = store.spawn_announcer(stopped.clone()) {
            tasks.push(t);
        }
        for projector in tgcrm_projections::all() {
            if let Err(e) = runner::ensure_tables(store.db(), projector.as_ref()).await {
                // Another node may be creating them right now; its runner will finish the job.
                tracing::warn!(projector = projector.name(), error = ?e, "could not create read-model tables yet");
            }
        }
        tasks.push(tokio::spawn(crate::backlog_metrics::run(
            store.db().clone(),
            stopped.clone(),
        )));
        // Two groups, each with one read and one transaction per batch for
        // its projectors: the lists do not wait for the SLA figures. The
        // webhook router (a projector too) goes with the figures: a delivery
        // may wait a few milliseconds more, a list should not.
        let [lists, mut figures] = tgcrm_projections::groups();
        figures.push(Arc::new(tgcrm_webhooks::WebhookRouter::new()));
        for projectors in [lists, figures] {
            tasks.push(tokio::spawn(tgcrm_projections::group::run(
                store.clone(),
                projectors,
                consistency.clone(),
                clock.clone(),
                runner_config,
                stopped.clone(),
            )));
        }
        tasks.extend(tgcrm_webhooks::start_worker(
            &store,
            clock.clone(),
            Arc::new(tgcrm_store::SystemClock),
            api_config.webhooks.clone(),
            &stopped,
        )?);
        tasks.extend(tgcrm_reactors::sla::start(
            &store,
            &consistency,
            clock.clone(),
            tgcrm_reactors::sla::SlaConfig::from_env()?,
            tgcrm_reactors::runner::ReactorConfig {
                poll_interval: runner_config.poll_interval,
                ..Default::default()
            },
            Arc::new(tgcrm_reactors::assignment::TeamLeadsFromTeams::new(
                store.clone(),
            )),
            &stopped,
        ));
        tasks.push(tokio::spawn(tgcrm_reactors::runner::run(
            store.clone(),
            Arc::new(tgcrm_reactors::assignment::AssignmentReactor::new(
                store.clone(),
                clock.clone(),
                consistency.clone(),
            )),
            clock.clone(),
            tgcrm_reactors::runner::ReactorConfig {
                poll_interval: runner_config.poll_interval,
                ..Default::default()
            },
            stopped.clone(),
        )));
        let bot_context = match bot {
            Some(config) => {
                let ctx = tgcrm_bot_adapter::adapter::BotContext::new(
                    config,
                    store.clone(),
                    clock.clone(),
                )?;
                let adapter = tgcrm_bot_adapter::BotAdapter::start(ctx.clone(), stopped.clone());
                tasks.extend(adapter.tasks);
                Some(ctx)
            }
            None => None,
        };
        let webhook = bot_context.filter(|c| c.config.mode == tgcrm_bot_adapter::Mode::Webhook);
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState {
            store: store.clone(),
            clock,
            consistency,
            config: api_config.clone(),
            shutdown: stopped.clone(),
            limiter: Arc::new(tgcrm_api::rate_limit::RateLimits::new(
                &api_config.rate_limits,
            )),
        });
        let body_limit = api_config.max_body_bytes;
        let server = HttpServer::new(move || {
            App::new()
                .wrap(
                    ErrorHandlers::new()
                        .handler(StatusCode::METHOD_NOT_ALLOWED, method_not_allowed),
                )
                .wrap(from_fn(tgcrm_api::request_timeout::middleware))
                .wrap(from_fn(tgcrm_api::rate_limit::headers))
                .wrap(from_fn(tgcrm_api::metrics::middleware))
                .wrap(from_fn(tgcrm_api::request_meta::middleware))
                .app_data(state.clone())
                .configure(tgcrm_api::configure)
                .configure(|cfg| {
                    if let Some(ctx) = webhook.clone() {
                        tgcrm_bot_adapter::webhook::configure(ctx)(cfg);
                    }
                })
                .app_data(tgcrm_api::extract::json_config(body_limit))
                .default_service(web::to(not_found))
        })
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(10)
        .run();
        tracing::info!(port, "listening");
        Ok(Self {
            port,
            server,
            stop,
            tasks,
            store,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that stops the HTTP server (graceful).
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serve until SIGINT/SIGTERM (or the handle stops it), then stop the background tasks.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let stop = Arc::new(self.stop);
        let stop_on_signal = stop.clone();
        let signals = tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown signal received; finishing requests");
            // Background tasks and live streams end first, then in-flight requests finish.
            stop_on_signal.stop();
            handle.stop(true).await;
        });
        let result = self.server.await;
        signals.abort();
        stop.stop();
        for t in self.tasks {
            let _ = t.await;
        }
        self.store.db().close().await;
        tracing::info!("stopped");
        result.context("HTTP server failed")
    }
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// actix answers a known path with an unknown method by an empty 405; give it
/// a problem+json body like every other refusal, keeping its `Allow` header.
fn method_not_allowed<B>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    use actix_web::ResponseError;
    let (req, old) = res.into_parts();
    let detail = format!("{} is not allowed on {}", req.method(), req.path());
    let mut new = tgcrm_api::ApiError::MethodNotAllowed(detail).error_response();
    if let Some(allow) = old.headers().get(actix_web::http::header::ALLOW) {
        new.headers_mut()
            .insert(actix_web::http::header::ALLOW, allow.clone());
    }
    let res = actix_web::dev::ServiceResponse::new(req, new).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

async fn not_found() -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    tgcrm_api::ApiError::NotFound("no such route".into()).error_response()
}

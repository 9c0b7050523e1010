//! The second half of the delivery reactor: the worker sends due deliveries.
//!
//! - One lane per endpoint: an endpoint gets one request at a time, and at
//!   most `concurrency` endpoints are sent to at once, so a slow or failing
//!   endpoint holds back only itself, and never a command.
//! - Per (endpoint, ticket) deliveries go strictly in enqueue order: only the
//!   oldest pending delivery of a ticket is ever a candidate, so a later one
//!   waits until the earlier one succeeded or was dead-lettered.
//! - At least once: a delivery stays `pending` until its attempt is recorded;
//!   a crash or restart in between sends it again with the same `webhook-id`.
//! - One worker across processes (advisory lock), like every reactor.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tgcrm_domain::{Clock, WorkspaceId};
use tgcrm_projections::lock;
use tgcrm_store::commands::{CommandContext, SideWrite, execute_with};
use tgcrm_store::load::load;
use tgcrm_store::shutdown::Stop;
use tgcrm_store::{Db, EventStore, Metadata, Source, args};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::config::WebhookConfig;
use crate::endpoint::{DisableReason, Exhausted, WebhookCommand, WebhookEndpoint};
use crate::signing::{SigningSecret, signature_header};
use crate::ssrf::{GuardedResolver, check_url};

pub const LOCK_NAME: &str = "webhook_delivery";
/// The actor recorded on events the worker causes.
pub const ACTOR: &str = "system:webhooks";
/// Longest response excerpt kept per attempt, in bytes.
pub const EXCERPT_BYTES: usize = 1024;

/// The HTTP client deliveries use: no redirects, no proxies, the SSRF guard
/// as its resolver, the configured timeout.
pub fn http_client(config: &WebhookConfig) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(config.timeout)
        .connect_timeout(config.timeout.min(Duration::from_secs(10)))
        .dns_resolver(Arc::new(GuardedResolver {
            allow_private: config.allow_private,
        }))
        .user_agent(concat!("tgcrm-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct DueRow {
    delivery_id: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct DeliveryRow {
    delivery_id: String,
    endpoint_id: String,
    workspace_id: String,
    event_id: String,
    webhook_type: String,
    body: String,
    status: String,
    attempt_count: i64,
    cycle_attempts: i64,
    next_attempt_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct SecretRow {
    secret: String,
}

#[derive(sqlx::FromRow)]
struct HealthRow {
    failing_since: Option<DateTime<Utc>>,
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub status_code: Option<u16>,
    pub latency: Duration,
    pub error: Option<String>,
    pub excerpt: Option<String>,
    pub retry_after: Option<Duration>,
}

impl AttemptResult {
    /// A 2xx, read completely within the timeout.
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

pub struct DeliveryWorker {
    store: EventStore,
    /// The domain clock, for the events the worker records.
    clock: Arc<dyn Clock>,
    /// Wall time, for retry schedules, timestamps and the failing period.
    timer: Arc<dyn Clock>,
    config: WebhookConfig,
    client: reqwest::Client,
    busy: Mutex<HashSet<String>>,
    permits: Arc<Semaphore>,
}

struct LaneGuard<'a> {
    worker: &'a DeliveryWorker,
    endpoint: String,
}

impl Drop for LaneGuard<'_> {
    fn drop(&mut self) {
        self.worker
            .busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.endpoint);
    }
}

fn since(t: Instant) -> Duration {
    t.elapsed()
}

/// `Retry-After` as seconds or an HTTP date.
pub fn parse_retry_after(v: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    (at - now).to_std().ok().or(Some(Duration::ZERO))
}

impl DeliveryWorker {
    pub fn new(
        store: EventStore,
        clock: Arc<dyn Clock>,
        timer: Arc<dyn Clock>,
        config: WebhookConfig,
    ) -> anyhow::Result<Arc<Self>> {
        let client = http_client(&config)?;
        let permits = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Ok(Arc::new(Self {
            store,
            clock,
            timer,
            config,
            client,
            busy: Mutex::new(HashSet::new()),
            permits,
        }))
    }

    fn db(&self) -> &Db {
        self.store.db()
    }

    /// Run until `stop`: send due deliveries, work off replays.
    pub async fn run(self: Arc<Self>, stop: Stop) {
        let replays = crate::replay::Replayer::new(self.store.clone(), self.timer.clone());
        'leadership: loop {
            let _lock = loop {
                match lock::try_acquire(self.db(), LOCK_NAME).await {
                    Ok(Some(l)) => break l,
                    Ok(None) => tracing::debug!("another process sends webhooks; standing by"),
                    Err(e) => tracing::warn!(error = %e, "could not take the webhook worker lock"),
                }
                if stop.sleep_or_stop(Duration::from_secs(2)).await {
                    return;
                }
            };
            tracing::info!("webhook delivery worker running");
            let mut lanes = JoinSet::new();
            loop {
                if stop.is_stopped() {
                    // In-flight attempts are abandoned; their deliveries are
                    // still pending and go out again after a restart.
                    lanes.abort_all();
                    return;
                }
                while lanes.try_join_next().is_some() {}
                if let Err(e) = replays.step(500).await {
                    tracing::warn!(error = ?e, "webhook replay step failed");
                }
                match self.clone().schedule(&mut lanes).await {
                    Ok(()) => {}
                    Err(e) => {
                        tracing::warn!(error = ?e, "finding due webhook deliveries failed");
                        if stop.sleep_or_stop(Duration::from_secs(1)).await {
                            lanes.abort_all();
                            return;
                        }
                        continue 'leadership;
                    }
                }
                if stop.sleep_or_stop(self.config.poll_interval).await {
                    lanes.abort_all();
                    return;
                }
            }
        }
    }

    /// The oldest pending delivery of each of an endpoint's tickets, when due.
    async fn due_heads(&self, endpoint: &str, limit: i64) -> anyhow::Result<Vec<DueRow>> {
        Ok(self
            .db()
            .fetch_all(
                "SELECT d.delivery_id FROM webhook_deliveries d \
                 WHERE d.endpoint_id = $1 AND d.status = 'pending' AND d.next_attempt_at <= $2 \
                 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id \
                 AND p.ordering_key = d.ordering_key AND p.status = 'pending' AND p.seq < d.seq) \
                 ORDER BY d.seq LIMIT $3",
                args![endpoint, self.timer.now(), limit],
            )
            .await?)
    }

    /// Start a lane for every endpoint with due deliveries that has none running.
    async fn schedule(self: Arc<Self>, lanes: &mut JoinSet<()>) -> anyhow::Result<()> {
        // Endpoints, not deliveries: one endpoint's backlog never hides another's.
        #[derive(sqlx::FromRow)]
        struct Due {
            endpoint_id: String,
        }
        let endpoints: Vec<Due> = self
            .db()
            .fetch_all(
                "SELECT DISTINCT d.endpoint_id FROM webhook_deliveries d \
                 JOIN webhook_endpoints e ON e.endpoint_id = d.endpoint_id \
                 WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND e.active = $2 AND e.deleted = $3 \
                 LIMIT 10000",
                args![self.timer.now(), true, false],
            )
            .await?;
        for Due {
            endpoint_id: endpoint,
        } in endpoints
        {
            {
                let busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
                if busy.contains(&endpoint) {
                    continue;
                }
            }
            let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                break;
            };
            self.busy
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(endpoint.clone());
            let worker = self.clone();
            lanes.spawn(async move {
                let _permit = permit;
                let _guard = LaneGuard {
                    worker: &worker,
                    endpoint: endpoint.clone(),
                };
                if let Err(e) = worker.lane(&endpoint).await {
                    tracing::warn!(endpoint = %endpoint, error = ?e, "webhook lane failed; will retry");
                }
            });
        }
        Ok(())
    }

    /// Send an endpoint's due deliveries one at a time until none is due.
    async fn lane(&self, endpoint_id: &str) -> anyhow::Result<()> {
        loop {
            let state = load::<WebhookEndpoint>(self.db(), endpoint_id).await?.state;
            if !state.exists() || !state.active {
                return Ok(());
            }
            let Some(url) = state.url.as_ref().and_then(|u| u.url()) else {
                return Ok(());
            };
            let due = self.due_heads(endpoint_id, 50).await?;
            if due.is_empty() {
                return Ok(());
            }
            let secrets = self.secrets(endpoint_id).await?;
            for d in due {
                let Some(row) = self.delivery(&d.delivery_id).await? else {
                    continue;
                };
                if row.status != "pending"
                    || row.next_attempt_at.is_none_or(|t| t > self.timer.now())
                {
                    continue;
                }
                let result = self.attempt(&url, &secrets, &row).await;
                metrics::counter!(
                    "webhook_attempts_total",
                    "outcome" => if result.succeeded() { "success" } else { "failure" }
                )
                .increment(1);
                if self.record(&row, &result).await? == Next::StopLane {
                    return Ok(());
                }
            }
        }
    }

    async fn secrets(&self, endpoint_id: &str) -> anyhow::Result<Vec<SigningSecret>> {
        let rows: Vec<SecretRow> = self
            .db()
            .fetch_all(
                "SELECT secret FROM webhook_secrets WHERE endpoint_id = $1 \
                 AND (expires_at IS NULL OR expires_at > $2) ORDER BY created_at DESC",
                args![endpoint_id, self.timer.now()],
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| SigningSecret::parse(&r.secret).ok())
            .collect())
    }

    async fn delivery(&self, id: &str) -> anyhow::Result<Option<DeliveryRow>> {
        Ok(self
            .db()
            .fetch_optional(
                "SELECT delivery_id, endpoint_id, workspace_id, event_id, webhook_type, body, status, \
                 attempt_count, cycle_attempts, next_attempt_at FROM webhook_deliveries WHERE delivery_id = $1",
                args![id],
            )
            .await?)
    }

    /// One POST, signed with every live key.
    async fn attempt(
        &self,
        url: &reqwest::Url,
        secrets: &[SigningSecret],
        row: &DeliveryRow,
    ) -> AttemptResult {
        let started = Instant::now();
        let failed = |error: String| AttemptResult {
            status_code: None,
            latency: since(started),
            error: Some(error),
            excerpt: None,
            retry_after: None,
        };
        if let Err(e) = check_url(url, self.config.allow_private).await {
            return failed(format!("refused by the SSRF guard: {e}"));
        }
        if secrets.is_empty() {
            return failed("the endpoint has no signing secret".into());
        }
        let now = self.timer.now();
        let ts = now.timestamp();
        let signature = match signature_header(secrets, &row.delivery_id, ts, row.body.as_bytes()) {
            Ok(s) => s,
            Err(e) => return failed(format!("signing failed: {e}")),
        };
        let sent = self
            .client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", row.delivery_id.as_str())
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(row.body.clone())
            .send()
            .await;
        let mut res = match sent {
            Ok(r) => r,
            Err(e) => return failed(describe(&e, self.config.timeout)),
        };
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now));
        // Read at most the excerpt; the rest of a large or endless body is dropped.
        let mut excerpt = Vec::new();
        let mut body_error = None;
        while excerpt.len() < EXCERPT_BYTES {
            match res.chunk().await {
                Ok(Some(c)) => excerpt.extend_from_slice(&c),
                Ok(None) => break,
                Err(e) => {
                    body_error = Some(describe(&e, self.config.timeout));
                    break;
                }
            }
        }
        excerpt.truncate(EXCERPT_BYTES);
        let mut excerpt = String::from_utf8_lossy(&excerpt).into_owned();
        while excerpt.len() > EXCERPT_BYTES {
            excerpt.pop();
        }
        let excerpt = (!excerpt.is_empty()).then_some(excerpt);
        let error = match body_error {
            Some(e) => Some(e),
            None if (200..300).contains(&status) => None,
            None => Some(format!("the receiver answered {status}")),
        };
        AttemptResult {
            status_code: Some(status),
            latency: since(started),
            error,
            excerpt,
            retry_after,
        }
    }

    fn command_context(&self, row: &DeliveryRow) -> anyhow::Result<CommandContext> {
        let workspace = WorkspaceId::parse(&row.workspace_id)?;
        Ok(CommandContext {
            workspace_id: workspace,
            metadata: Metadata {
                actor: ACTOR.to_owned(),
                source: Source::System,
                correlation_id: Some(row.delivery_id.clone()),
                causation_id: Some(row.event_id.clone()),
                request_id: None,
            },
            expected_version: None,
        })
    }

    /// Store the attempt and what follows from it.
    async fn record(&self, row: &DeliveryRow, r: &AttemptResult) -> anyhow::Result<Next> {
        let now = self.timer.now();
        let attempt_no = row.attempt_count + 1;
        let latency_ms = i64::try_from(r.latency.as_millis()).unwrap_or(i64::MAX);
        let attempt = SideWrite {
            sql: "INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, latency_ms, error, \
                  response_excerpt, succeeded) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                  ON CONFLICT (delivery_id, attempt) DO NOTHING"
                .into(),
            args: args![
                row.delivery_id.as_str(),
                attempt_no,
                now,
                r.status_code.map(i64::from),
                latency_ms,
                r.error.clone(),
                r.excerpt.clone(),
                r.succeeded()
            ],
        };
        let code = r.status_code.map(i64::from);
        if r.succeeded() {
            let writes = [
                attempt,
                SideWrite {
                    sql: "UPDATE webhook_deliveries SET status = 'succeeded', attempt_count = $2, \
                          cycle_attempts = cycle_attempts + 1, last_status_code = $3, last_error = NULL, \
                          succeeded_at = $4, updated_at = $4, next_attempt_at = NULL \
                          WHERE delivery_id = $1 AND status = 'pending'"
                        .into(),
                    args: args![row.delivery_id.as_str(), attempt_no, code, now],
                },
                SideWrite {
                    sql: "UPDATE webhook_endpoints SET failing_since = NULL, last_success_at = $2 WHERE endpoint_id = $1"
                        .into(),
                    args: args![row.endpoint_id.as_str(), now],
                },
            ];
            self.plain(&writes).await?;
            return Ok(Next::Continue);
        }
        let health = SideWrite {
            sql: "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2), last_failure_at = $2 \
                  WHERE endpoint_id = $1"
                .into(),
            args: args![row.endpoint_id.as_str(), now],
        };
        if r.status_code == Some(410) {
            let dead = dead_write(
                row,
                attempt_no,
                code,
                r,
                now,
                "the receiver answered 410 Gone; the endpoint was disabled",
            );
            self.command(
                row,
                WebhookCommand::Disable {
                    reason: DisableReason::Gone,
                    detail: Some(format!(
                        "the receiver answered 410 Gone to delivery {}",
                        row.delivery_id
                    )),
                },
                &[attempt, dead, health],
            )
            .await?;
            return Ok(Next::StopLane);
        }
        let cycle = usize::try_from(row.cycle_attempts + 1).unwrap_or(usize::MAX);
        let failing_since: Option<HealthRow> = self
            .db()
            .fetch_optional(
                "SELECT failing_since FROM webhook_endpoints WHERE endpoint_id = $1",
                args![row.endpoint_id.as_str()],
            )
            .await?;
        let failing_since = failing_since.and_then(|h| h.failing_since).unwrap_or(now);
        let failing_too_long = chrono::Duration::from_std(self.config.disable_after)
            .map(|d| now - failing_since >= d)
            .unwrap_or(false);
        match self.config.backoff(cycle) {
            None => {
                let reason = format!("no success after {cycle} attempts");
                let dead = dead_write(row, attempt_no, code, r, now, &reason);
                self.command(
                    row,
                    WebhookCommand::RecordExhausted(Exhausted {
                        delivery_id: row.delivery_id.clone(),
                        event_id: row.event_id.clone(),
                        webhook_type: row.webhook_type.clone(),
                        attempts: attempt_no,
                        last_status_code: code,
                        last_error: r.error.clone(),
                    }),
                    &[attempt, dead, health],
                )
                .await?;
                metrics::counter!("webhook_dead_letters_total").increment(1);
            }
            Some(pause) => {
                let pause = match r.retry_after {
                    Some(ra) => ra.min(self.config.max_retry_after),
                    None => pause,
                };
                let next =
                    now + chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::zero());
                let retry = SideWrite {
                    sql: "UPDATE webhook_deliveries SET attempt_count = $2, cycle_attempts = cycle_attempts + 1, \
                          last_status_code = $3, last_error = $4, next_attempt_at = $5, updated_at = $6 \
                          WHERE delivery_id = $1 AND status = 'pending'"
                        .into(),
                    args: args![row.delivery_id.as_str(), attempt_no, code, r.error.clone(), next, now],
                };
                self.plain(&[attempt, retry, health]).await?;
            }
        }
        if failing_too_long {
            self.command(
                row,
                WebhookCommand::Disable {
                    reason: DisableReason::Failing,
                    detail: Some(format!(
                        "every delivery attempt failed since {}",
                        failing_since.to_rfc3339()
                    )),
                },
                &[],
            )
            .await?;
            return Ok(Next::StopLane);
        }
        Ok(Next::Continue)
    }

    async fn plain(&self, writes: &[SideWrite]) -> anyhow::Result<()> {
        let mut tx = self.db().begin().await?;
        for w in writes {
            tx.execute(&w.sql, w.args.clone()).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Issue a command on the endpoint with `writes` in its transaction; if the
    /// endpoint refuses (deleted meanwhile), the writes still commit.
    async fn command(
        &self,
        row: &DeliveryRow,
        command: WebhookCommand,
        writes: &[SideWrite],
    ) -> anyhow::Result<()> {
        let ctx = self.command_context(row)?;
        match execute_with::<WebhookEndpoint>(
            &self.store,
            self.clock.as_ref(),
            &row.endpoint_id,
            &ctx,
            command,
            writes,
        )
        .await
        {
            Ok(_) => Ok(()),
            Err(tgcrm_store::commands::CommandError::Refused(_))
            | Err(tgcrm_store::commands::CommandError::NotFound) => self.plain(writes).await,
            Err(e) => Err(anyhow::Error::new(e)),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Next {
    Continue,
    StopLane,
}

fn dead_write(
    row: &DeliveryRow,
    attempt_no: i64,
    code: Option<i64>,
    r: &AttemptResult,
    now: DateTime<Utc>,
    reason: &str,
) -> SideWrite {
    SideWrite {
        sql: "UPDATE webhook_deliveries SET status = 'dead', attempt_count = $2, cycle_attempts = cycle_attempts + 1, \
              last_status_code = $3, last_error = $4, dead_reason = $5, dead_at = $6, updated_at = $6, \
              next_attempt_at = NULL WHERE delivery_id = $1 AND status = 'pending'"
            .into(),
        args: args![row.delivery_id.as_str(), attempt_no, code, r.error.clone(), reason, now],
    }
}

/// A transport error as an admin can read it (never the request's headers).
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out after {} ms", timeout.as_millis());
    }
    let mut msg = if e.is_connect() {
        "could not connect".to_owned()
    } else if e.is_redirect() {
        "redirects are not followed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg.chars().take(500).collect()
}

/// Deliveries waiting per endpoint (for metrics and tests).
pub async fn pending_counts(db: &Db) -> anyhow::Result<HashMap<String, i64>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        endpoint_id: String,
        n: i64,
    }
    let rows: Vec<Row> = db
        .fetch_all(
            "SELECT endpoint_id, COUNT(*) AS n FROM webhook_deliveries WHERE status = 'pending' GROUP BY endpoint_id",
            vec![],
        )
        .await?;
    Ok(rows.into_iter().map(|r| (r.endpoint_id, r.n)).collect())
}

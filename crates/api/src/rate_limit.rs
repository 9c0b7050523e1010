//! Per-token rate limits (requests per minute, configured per role), with
//! `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` on every
//! authenticated response and 429 + `Retry-After` beyond the limit. GCRA from
//! the `governor` crate: the budget refills smoothly rather than per window.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use tgcrm_store::tokens::Role;

type Limiter =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// Requests per minute for each role.
#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    pub per_minute: HashMap<Role, u32>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let per_minute = Role::ALL
            .into_iter()
            .map(|r| {
                let n = match r {
                    Role::Admin | Role::Agent => 600,
                    Role::Bot => 1_200,
                    Role::Analyst | Role::Auditor => 300,
                };
                (r, n)
            })
            .collect();
        Self { per_minute }
    }
}

impl RateLimitConfig {
    /// Defaults, overridden by `CRM_RATE_LIMIT_<ROLE>` (requests per minute).
    pub fn from_env() -> Self {
        let mut c = Self::default();
        for r in Role::ALL {
            let key = format!("CRM_RATE_LIMIT_{}", r.as_str().to_uppercase());
            if let Some(n) = std::env::var(key)
                .ok()
                .and_then(|v| v.parse::<u32>().ok())
                .filter(|n| *n > 0)
            {
                c.per_minute.insert(r, n);
            }
        }
        c
    }
}

pub struct RateLimits {
    limiters: HashMap<Role, (u32, Limiter)>,
    clock: DefaultClock,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits").finish_non_exhaustive()
    }
}

/// The outcome of one check, also the content of the response headers.
#[derive(Debug, Clone, Copy)]
pub struct RateState {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the budget is full again (or, when refused, until the next request may pass).
    pub reset_seconds: u64,
    pub allowed: bool,
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig) -> Self {
        let limiters = config
            .per_minute
            .iter()
            .filter_map(|(role, n)| {
                let n = NonZeroU32::new(*n)?;
                let limiter = RateLimiter::keyed(Quota::per_minute(n))
                    .with_middleware::<StateInformationMiddleware>();
                Some((*role, (n.get(), limiter)))
            })
            .collect();
        Self {
            limiters,
            clock: DefaultClock::default(),
        }
    }

    /// Count one request of `token_id`.
    pub fn check(&self, role: Role, token_id: &str) -> Option<RateState> {
        let (limit, limiter) = self.limiters.get(&role)?;
        let per_request = 60.0 / f64::from(*limit);
        Some(match limiter.check_key(&token_id.to_owned()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = limit.saturating_sub(remaining);
                RateState {
                    limit: *limit,
                    remaining,
                    reset_seconds: (f64::from(used) * per_request).ceil() as u64,
                    allowed: true,
                }
            }
            Err(not_until) => {
                let wait: Duration = not_until.wait_time_from(self.clock.now());
                RateState {
                    limit: *limit,
                    remaining: 0,
                    reset_seconds: wait.as_secs_f64().ceil().max(1.0) as u64,
                    allowed: false,
                }
            }
        })
    }

    /// Forget idle keys (call now and then).
    pub fn housekeeping(&self) {
        for (_, l) in self.limiters.values() {
            l.retain_recent();
        }
    }
}

/// Middleware: copy the rate state the auth extractor recorded into headers.
pub async fn headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let state = res.request().extensions().get::<RateState>().copied();
    if let Some(s) = state {
        let h = res.headers_mut();
        for (name, value) in [
            ("ratelimit-limit", s.limit.to_string()),
            ("ratelimit-remaining", s.remaining.to_string()),
            ("ratelimit-reset", s.reset_seconds.to_string()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(HeaderName::from_static(name), v);
            }
        }
        if !s.allowed
            && let Ok(v) = HeaderValue::from_str(&s.reset_seconds.to_string())
        {
            h.insert(actix_web::http::header::RETRY_AFTER, v);
        }
    }
    Ok(res)
}

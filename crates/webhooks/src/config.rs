//! Webhook settings, from the environment in production and set directly by tests.

use std::time::Duration;

/// How deliveries are made and retried.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Pauses after each failed attempt (`CRM_WEBHOOK_RETRY_SCHEDULE`, default
    /// `5s,5m,30m,2h,5h,10h,10h`): 1 + len attempts in all, then dead letter.
    pub retry_schedule: Vec<Duration>,
    /// Each pause is stretched or shrunk by up to this share, at random (0.0–0.5).
    pub jitter: f64,
    /// A delivery succeeds with a 2xx within this time (`CRM_WEBHOOK_TIMEOUT`, default 15 s).
    pub timeout: Duration,
    /// Allow loopback and private targets (`CRM_WEBHOOK_ALLOW_PRIVATE=true`).
    pub allow_private: bool,
    /// An endpoint whose attempts all failed for this long is disabled
    /// (`CRM_WEBHOOK_DISABLE_AFTER`, default 5 days).
    pub disable_after: Duration,
    /// At most this many endpoints are sent to at once (`CRM_WEBHOOK_CONCURRENCY`, default 16).
    pub concurrency: usize,
    /// How often the worker looks for due deliveries.
    pub poll_interval: Duration,
    /// How long a rotated secret keeps signing by default (24 h).
    pub rotation_grace: Duration,
    /// A `Retry-After` longer than this is cut to it.
    pub max_retry_after: Duration,
    /// Send deliveries (`CRM_WEBHOOK_SEND`, default true). When false they are
    /// still enqueued and listed, but nothing leaves the machine: for staging
    /// copies and fuzzing runs.
    pub send: bool,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            retry_schedule: default_schedule(),
            jitter: 0.2,
            timeout: Duration::from_secs(15),
            allow_private: false,
            disable_after: Duration::from_secs(5 * 86_400),
            concurrency: 16,
            poll_interval: Duration::from_millis(250),
            rotation_grace: Duration::from_secs(86_400),
            max_retry_after: Duration::from_secs(86_400),
            send: true,
        }
    }
}

fn default_schedule() -> Vec<Duration> {
    [5, 300, 1800, 7200, 18_000, 36_000, 36_000]
        .into_iter()
        .map(Duration::from_secs)
        .collect()
}

/// A duration like `250ms`, `5s`, `5m`, `2h`, `5d` (a bare number is seconds).
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let s = raw.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{raw}' is not a duration like 5s, 5m, 2h or 1d"))?;
    let unit_ms: u64 = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("'{raw}' has an unknown unit; use ms, s, m, h or d")),
    };
    n.checked_mul(unit_ms)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("'{raw}' is too long"))
}

fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(format!("'{other}' is not true or false")),
    }
}

/// A comma-separated schedule: `5s,5m,30m`.
pub fn parse_schedule(raw: &str) -> Result<Vec<Duration>, String> {
    let v: Result<Vec<_>, _> = raw
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(parse_duration)
        .collect();
    let v = v?;
    if v.is_empty() || v.len() > 50 {
        return Err("the retry schedule needs 1–50 durations".into());
    }
    Ok(v)
}

impl WebhookConfig {
    /// Defaults overridden by `CRM_WEBHOOK_*` variables; a malformed value is an error.
    pub fn from_env() -> Result<Self, String> {
        let mut c = Self::default();
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        if let Some(v) = var("CRM_WEBHOOK_RETRY_SCHEDULE") {
            c.retry_schedule =
                parse_schedule(&v).map_err(|e| format!("CRM_WEBHOOK_RETRY_SCHEDULE: {e}"))?;
        }
        if let Some(v) = var("CRM_WEBHOOK_TIMEOUT") {
            c.timeout = parse_duration(&v).map_err(|e| format!("CRM_WEBHOOK_TIMEOUT: {e}"))?;
        }
        if let Some(v) = var("CRM_WEBHOOK_ALLOW_PRIVATE") {
            c.allow_private =
                parse_bool(&v).map_err(|e| format!("CRM_WEBHOOK_ALLOW_PRIVATE: {e}"))?;
        }
        if let Some(v) = var("CRM_WEBHOOK_SEND") {
            c.send = parse_bool(&v).map_err(|e| format!("CRM_WEBHOOK_SEND: {e}"))?;
        }
        if let Some(v) = var("CRM_WEBHOOK_DISABLE_AFTER") {
            c.disable_after =
                parse_duration(&v).map_err(|e| format!("CRM_WEBHOOK_DISABLE_AFTER: {e}"))?;
        }
        if let Some(v) = var("CRM_WEBHOOK_CONCURRENCY") {
            c.concurrency = v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1024).contains(n))
                .ok_or("CRM_WEBHOOK_CONCURRENCY: must be 1–1024")?;
        }
        Ok(c)
    }

    /// Attempts a delivery gets before it is dead-lettered.
    pub fn max_attempts(&self) -> usize {
        self.retry_schedule.len() + 1
    }

    /// The pause after failed attempt `n` (1-based) of a delivery, with
    /// jitter; `None` when that was the last attempt.
    pub fn backoff(&self, n: usize) -> Option<Duration> {
        let base = *self.retry_schedule.get(n.checked_sub(1)?)?;
        let j = self.jitter.clamp(0.0, 0.5);
        if j == 0.0 {
            return Some(base);
        }
        let factor = 1.0 + rand::Rng::gen_range(&mut rand::thread_rng(), -j..=j);
        Some(base.mul_f64(factor))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_default_schedule_is_the_standard_webhooks_one() {
        assert_eq!(
            parse_schedule("5s,5m,30m,2h,5h,10h,10h").unwrap(),
            default_schedule()
        );
        assert_eq!(WebhookConfig::default().max_attempts(), 8);
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("5d").unwrap(), Duration::from_secs(432_000));
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_schedule(",").is_err());
    }

    #[test]
    fn backoff_stays_within_the_jitter_and_ends_after_the_schedule() {
        let c = WebhookConfig {
            retry_schedule: vec![Duration::from_secs(10), Duration::from_secs(100)],
            jitter: 0.2,
            ..Default::default()
        };
        for _ in 0..100 {
            let d = c.backoff(2).unwrap();
            assert!(d >= Duration::from_secs(80) && d <= Duration::from_secs(120));
        }
        assert!(c.backoff(3).is_none());
        assert!(c.backoff(0).is_none());
    }
}

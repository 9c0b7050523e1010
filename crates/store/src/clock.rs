//! The production clock. Truncated to microseconds so a time reads back the same
//! from Postgres and SQLite.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use tgcrm_domain::Clock;

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        now.duration_trunc(TimeDelta::microseconds(1))
            .unwrap_or(now)
    }
}

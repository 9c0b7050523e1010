//! Service levels: business-hours calendars and deadline arithmetic
//! ([`calendar`]), a ticket's clocks folded from its events ([`clocks`]), and
//! the versioned SLA policy aggregate ([`policy`]).

pub mod calendar;
pub mod clocks;
pub mod policy;

#[cfg(test)]
mod calendar_tests;
#[cfg(test)]
pub(crate) mod clocks_tests;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::SlaPolicyId;
use crate::values::ValueError;

pub use calendar::{BusinessHours, Calendar, Day, DayTime, Pause, WeeklyInterval};
pub use clocks::{Deadline, DeadlineState, MetricClock, TicketSla, escalation_key};

/// What a service level measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    FirstResponse,
    NextResponse,
    Resolution,
}

impl Metric {
    pub const ALL: [Metric; 3] = [Self::FirstResponse, Self::NextResponse, Self::Resolution];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstResponse => "first_response",
            Self::NextResponse => "next_response",
            Self::Resolution => "resolution",
        }
    }
}

impl FromStr for Metric {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                ValueError::new(
                    "metric",
                    format!(
                        "unknown metric '{s}'; expected first_response, next_response or resolution"
                    ),
                )
            })
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Targets in (business) seconds; a metric without a target is not measured
/// against one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SlaTargets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_response: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<i64>,
}

impl SlaTargets {
    /// Longest accepted target: one year.
    pub const MAX_SECONDS: i64 = 366 * 24 * 3600;

    pub fn get(&self, metric: Metric) -> Option<i64> {
        match metric {
            Metric::FirstResponse => self.first_response,
            Metric::NextResponse => self.next_response,
            Metric::Resolution => self.resolution,
        }
    }

    /// Targets of 1 s up to a year each, at least one given.
    pub fn parse(
        first_response: Option<i64>,
        next_response: Option<i64>,
        resolution: Option<i64>,
    ) -> Result<Self, ValueError> {
        for (name, v) in [
            ("first_response", first_response),
            ("next_response", next_response),
            ("resolution", resolution),
        ] {
            if let Some(v) = v
                && !(1..=Self::MAX_SECONDS).contains(&v)
            {
                return Err(ValueError::new(
                    name,
                    format!("must be 1–{} seconds", Self::MAX_SECONDS),
                ));
            }
        }
        if first_response.is_none() && next_response.is_none() && resolution.is_none() {
            return Err(ValueError::new(
                "targets",
                "give at least one of first_response, next_response, resolution",
            ));
        }
        Ok(Self {
            first_response,
            next_response,
            resolution,
        })
    }
}

/// The policy version a ticket is measured against, as recorded on the ticket
/// (the calendar included, so a replay reproduces its deadlines even after
/// the policy changed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedSla {
    pub policy_id: SlaPolicyId,
    pub policy_version: i64,
    #[serde(default)]
    pub policy_name: String,
    pub calendar: Calendar,
    /// Warn when this share of a target has passed (1–99; 0 = no warning).
    pub warning_percent: u8,
    pub targets: SlaTargets,
    pub applied_at: DateTime<Utc>,
}

impl AppliedSla {
    /// How much of `target_seconds` passes before the warning.
    pub fn warning_after(&self, target_seconds: i64) -> Option<Duration> {
        warning_after(self.warning_percent, target_seconds)
    }
}

/// The warning point of a target: `percent` of it, in milliseconds precision.
pub fn warning_after(percent: u8, target_seconds: i64) -> Option<Duration> {
    if !(1..=99).contains(&percent) {
        return None;
    }
    Some(Duration::milliseconds(
        target_seconds * 1000 * i64::from(percent) / 100,
    ))
}

//! Business-hours calendars and the deadline arithmetic of service levels: when
//! a target of so many business seconds falls due, and how much business time
//! passed between two instants, with pauses (a ticket waiting on its customer)
//! taken out. Weekly hours are local times in an IANA time zone, so a day
//! with a daylight-saving change has as many business hours as its wall clock
//! shows; holidays are local dates.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::values::ValueError;

/// How far ahead the arithmetic looks for open hours before it gives up: a
/// target that does not fall due within this many days has no due time.
pub const HORIZON_DAYS: i64 = 3 * 366;

/// A stretch of time the clock does not run (the ticket waited on its
/// customer). `to: None` means the pause has not ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub from: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    pub const ALL: [Day; 7] = [
        Self::Mon,
        Self::Tue,
        Self::Wed,
        Self::Thu,
        Self::Fri,
        Self::Sat,
        Self::Sun,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mon => "mon",
            Self::Tue => "tue",
            Self::Wed => "wed",
            Self::Thu => "thu",
            Self::Fri => "fri",
            Self::Sat => "sat",
            Self::Sun => "sun",
        }
    }

    fn of(weekday: Weekday) -> Self {
        match weekday {
            Weekday::Mon => Self::Mon,
            Weekday::Tue => Self::Tue,
            Weekday::Wed => Self::Wed,
            Weekday::Thu => Self::Thu,
            Weekday::Fri => Self::Fri,
            Weekday::Sat => Self::Sat,
            Weekday::Sun => Self::Sun,
        }
    }
}

impl FromStr for Day {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|d| lower == d.as_str() || (lower.len() > 3 && full_name(*d) == lower))
            .ok_or_else(|| {
                ValueError::new(
                    "day",
                    format!("unknown day '{s}'; expected mon, tue, wed, thu, fri, sat or sun"),
                )
            })
    }
}

fn full_name(d: Day) -> &'static str {
    match d {
        Day::Mon => "monday",
        Day::Tue => "tuesday",
        Day::Wed => "wednesday",
        Day::Thu => "thursday",
        Day::Fri => "friday",
        Day::Sat => "saturday",
        Day::Sun => "sunday",
    }
}

/// A wall-clock time of day, `HH:MM`, from `00:00` to `24:00` (the end of the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DayTime(u16);

impl DayTime {
    pub const MIDNIGHT: DayTime = DayTime(0);
    pub const END_OF_DAY: DayTime = DayTime(24 * 60);

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let bad = || ValueError::new("time", format!("'{raw}' is not a time of day like 09:30"));
        let (h, m) = raw.split_once(':').ok_or_else(bad)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        if m >= 60 || h > 24 || (h == 24 && m != 0) {
            return Err(bad());
        }
        Ok(Self(h * 60 + m))
    }

    /// Minutes since midnight.
    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl TryFrom<String> for DayTime {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DayTime> for String {
    fn from(t: DayTime) -> Self {
        t.to_string()
    }
}

impl fmt::Display for DayTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// Open hours on one day of the week: `start` up to (not including) `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyInterval {
    pub day: Day,
    pub start: DayTime,
    pub end: DayTime,
}

/// Weekly open hours in a time zone, minus holidays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessHours {
    time_zone: Tz,
    /// Sorted by day and start; intervals of one day do not overlap.
    weekly: Vec<WeeklyInterval>,
    #[serde(default)]
    holidays: BTreeSet<NaiveDate>,
}

impl BusinessHours {
    pub const MAX_INTERVALS: usize = 7 * 8;
    pub const MAX_HOLIDAYS: usize = 1000;

    /// Open hours: an IANA zone name (`Europe/Berlin`), at least one interval
    /// with `start < end`, intervals of one day not overlapping, holidays as
    /// local dates.
    pub fn new(
        time_zone: &str,
        mut weekly: Vec<WeeklyInterval>,
        holidays: BTreeSet<NaiveDate>,
    ) -> Result<Self, ValueError> {
        let tz: Tz = time_zone.parse().map_err(|_| {
            ValueError::new(
                "time_zone",
                format!("'{time_zone}' is not an IANA time zone like Europe/Berlin"),
            )
        })?;
        if weekly.is_empty() {
            return Err(ValueError::new(
                "weekly",
                "give at least one open interval (or use the always-open calendar)",
            ));
        }
        if weekly.len() > Self::MAX_INTERVALS {
            return Err(ValueError::new(
                "weekly",
                format!("at most {} intervals", Self::MAX_INTERVALS),
            ));
        }
        if holidays.len() > Self::MAX_HOLIDAYS {
            return Err(ValueError::new(
                "holidays",
                format!("at most {} holidays", Self::MAX_HOLIDAYS),
            ));
        }
        for (i, w) in weekly.iter().enumerate() {
            if w.start >= w.end {
                return Err(ValueError::new(
                    format!("weekly[{i}]"),
                    "start must be before end",
                ));
            }
        }
        weekly.sort_by_key(|w| (w.day, w.start));
        for pair in weekly.windows(2) {
            if let [a, b] = pair
                && a.day == b.day
                && b.start < a.end
            {
                return Err(ValueError::new(
                    "weekly",
                    format!(
                        "intervals on {} overlap ({}–{} and {}–{})",
                        a.day.as_str(),
                        a.start,
                        a.end,
                        b.start,
                        b.end
                    ),
                ));
            }
        }
        Ok(Self {
            time_zone: tz,
            weekly,
            holidays,
        })
    }

    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    pub fn weekly(&self) -> &[WeeklyInterval] {
        &self.weekly
    }

    pub fn holidays(&self) -> &BTreeSet<NaiveDate> {
        &self.holidays
    }

    /// The instant a local wall-clock time names. A time skipped by a
    /// daylight-saving change maps to the first instant after the gap; a time
    /// that occurs twice maps to its first occurrence for a start and to its
    /// second for an end, so an interval covers every hour the wall clock shows.
    fn instant(&self, date: NaiveDate, at: DayTime, is_end: bool) -> Option<DateTime<Utc>> {
        let (date, minutes) = if at == DayTime::END_OF_DAY {
            (date.succ_opt()?, 0)
        } else {
            (date, at.minutes())
        };
        let naive = date.and_hms_opt(u32::from(minutes / 60), u32::from(minutes % 60), 0)?;
        match self.time_zone.from_local_datetime(&naive) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, second) => Some(if is_end {
                second.with_timezone(&Utc)
            } else {
                first.with_timezone(&Utc)
            }),
            LocalResult::None => {
                // In a gap: the wall clock jumps; the first minute that exists
                // is the instant of the change.
                (1..=24 * 60).find_map(|m| {
                    let later = naive.checked_add_signed(Duration::minutes(m))?;
                    match self.time_zone.from_local_datetime(&later) {
                        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                            Some(t.with_timezone(&Utc))
                        }
                        LocalResult::None => None,
                    }
                })
            }
        }
    }

    /// Open spans of one local date, in order.
    fn spans_of(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.holidays.contains(&date) {
            return vec![];
        }
        let day = Day::of(date.weekday());
        self.weekly
            .iter()
            .filter(|w| w.day == day)
            .filter_map(|w| {
                let s = self.instant(date, w.start, false)?;
                let e = self.instant(date, w.end, true)?;
                (s < e).then_some((s, e))
            })
            .collect()
    }
}

/// When the clock of a service level runs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Calendar {
    /// Around the clock, every day.
    #[default]
    AlwaysOpen,
    /// Weekly hours in a time zone, minus holidays.
    BusinessHours(BusinessHours),
}

type Span = (DateTime<Utc>, DateTime<Utc>);

impl Calendar {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::AlwaysOpen => "always_open",
            Self::BusinessHours(_) => "business_hours",
        }
    }

    /// Open spans that end after `from`, in order, the first clipped to start
    /// at `from`, up to [`HORIZON_DAYS`] ahead.
    fn spans_from(&self, from: DateTime<Utc>) -> Box<dyn Iterator<Item = Span> + '_> {
        match self {
            Self::AlwaysOpen => {
                let end = from
                    .checked_add_signed(Duration::days(HORIZON_DAYS))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                Box::new(std::iter::once((from, end)))
            }
            Self::BusinessHours(b) => {
                // Start a day early: the local date of `from` may be ahead of
                // an interval that is still open.
                let first = from.with_timezone(&b.time_zone).date_naive();
                Box::new(
                    (-1..=HORIZON_DAYS)
                        .filter_map(move |d| first.checked_add_signed(Duration::days(d)))
                        .flat_map(move |date| b.spans_of(date))
                        .filter(move |(_, e)| *e > from)
                        .map(move |(s, e)| (s.max(from), e)),
                )
            }
        }
    }

    /// Is the calendar open at `at`?
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.spans_from(at).next().is_some_and(|(s, _)| s <= at)
    }

    /// The instant at which `target` of open time, counted from `start` and
    /// not counting `pauses`, has passed. `None` when the clock is paused
    /// with no end in sight, or the calendar has no open time left within the
    /// horizon.
    pub fn due(
        &self,
        start: DateTime<Utc>,
        target: Duration,
        pauses: &[Pause],
    ) -> Option<DateTime<Utc>> {
        let mut remaining = target;
        if remaining <= Duration::zero() {
            return Some(start);
        }
        for span in self.spans_from(start) {
            for (s, e) in without_pauses(span, pauses) {
                let len = e - s;
                if len >= remaining {
                    return Some(s + remaining);
                }
                remaining -= len;
            }
            if pauses.iter().any(|p| p.to.is_none() && p.from <= span.1) {
                // The clock stopped for good within this span.
                return None;
            }
        }
        None
    }

    /// Open time between `from` and `to`, not counting `pauses`.
    pub fn elapsed(&self, from: DateTime<Utc>, to: DateTime<Utc>, pauses: &[Pause]) -> Duration {
        let mut total = Duration::zero();
        if to <= from {
            return total;
        }
        for (s, e) in self.spans_from(from) {
            if s >= to {
                break;
            }
            for (ps, pe) in without_pauses((s, e.min(to)), pauses) {
                total += pe - ps;
            }
        }
        total
    }
}

/// `span` minus the pauses, as ordered sub-spans.
fn without_pauses(span: Span, pauses: &[Pause]) -> Vec<Span> {
    let (mut start, end) = span;
    let mut cut: Vec<Span> = pauses
        .iter()
        .map(|p| (p.from, p.to.unwrap_or(DateTime::<Utc>::MAX_UTC)))
        .filter(|(f, t)| f < t && *t > start && *f < end)
        .collect();
    cut.sort();
    let mut out = Vec::new();
    for (f, t) in cut {
        if f > start {
            out.push((start, f.min(end)));
        }
        start = start.max(t);
        if start >= end {
            return out;
        }
    }
    if start < end {
        out.push((start, end));
    }
    out
}

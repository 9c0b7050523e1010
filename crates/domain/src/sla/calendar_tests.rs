//! Deadline arithmetic: business hours, weekends, holidays, pauses across
//! closed hours, daylight-saving changes (Europe/Berlin in March and October,
//! America/New_York), and targets spanning days and weeks. Every expectation
//! is worked out by hand in the comment beside it.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::calendar::*;

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn t(s: &str) -> DayTime {
    DayTime::parse(s).unwrap()
}

fn hours(h: i64) -> Duration {
    Duration::hours(h)
}

fn interval(day: Day, start: &str, end: &str) -> WeeklyInterval {
    WeeklyInterval {
        day,
        start: t(start),
        end: t(end),
    }
}

fn weekdays(tz: &str, start: &str, end: &str, holidays: &[&str]) -> Calendar {
    let weekly = [Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri]
        .into_iter()
        .map(|d| interval(d, start, end))
        .collect();
    let holidays = holidays.iter().map(|h| date(h)).collect();
    Calendar::BusinessHours(BusinessHours::new(tz, weekly, holidays).unwrap())
}

/// Mon–Fri 09:00–17:00 in Berlin.
fn berlin_office() -> Calendar {
    weekdays("Europe/Berlin", "09:00", "17:00", &[])
}

fn only(tz: &str, intervals: Vec<WeeklyInterval>) -> Calendar {
    Calendar::BusinessHours(BusinessHours::new(tz, intervals, BTreeSet::new()).unwrap())
}

#[test]
fn around_the_clock_the_due_time_is_the_start_plus_the_target() {
    let c = Calendar::AlwaysOpen;
    let start = utc("2026-03-01T09:00:00Z");
    assert_eq!(
        c.due(start, hours(30), &[]),
        Some(utc("2026-03-02T15:00:00Z"))
    );
    assert_eq!(
        c.elapsed(start, utc("2026-03-02T15:00:00Z"), &[]),
        hours(30)
    );
    assert!(c.is_open(start));
}

#[test]
fn a_target_within_open_hours_falls_due_the_same_day() {
    // Tuesday 2026-03-03 10:00 CET (09:00Z) + 2 h = 12:00 CET = 11:00Z.
    assert_eq!(
        berlin_office().due(utc("2026-03-03T09:00:00Z"), hours(2), &[]),
        Some(utc("2026-03-03T11:00:00Z"))
    );
}

#[test]
fn a_ticket_opened_before_opening_starts_counting_at_opening() {
    // Tuesday 07:00 CET (06:00Z): the clock starts at 09:00 CET; + 30 min = 09:30 CET = 08:30Z.
    assert_eq!(
        berlin_office().due(utc("2026-03-03T06:00:00Z"), Duration::minutes(30), &[]),
        Some(utc("2026-03-03T08:30:00Z"))
    );
}

#[test]
fn a_target_that_runs_past_friday_evening_continues_on_monday() {
    // Friday 2026-03-06 16:00 CET (15:00Z), 2 h: one hour on Friday, then
    // Monday 2026-03-09 09:00–10:00 CET → 10:00 CET = 09:00Z.
    let c = berlin_office();
    assert_eq!(
        c.due(utc("2026-03-06T15:00:00Z"), hours(2), &[]),
        Some(utc("2026-03-09T09:00:00Z"))
    );
    // A ticket opened on Saturday starts on Monday at 09:00 CET (08:00Z).
    assert_eq!(
        c.due(utc("2026-03-07T12:00:00Z"), hours(1), &[]),
        Some(utc("2026-03-09T09:00:00Z"))
    );
    assert!(!c.is_open(utc("2026-03-07T12:00:00Z")));
    assert!(c.is_open(utc("2026-03-09T08:00:00Z")));
    assert!(!c.is_open(utc("2026-03-09T16:00:00Z")));
}

#[test]
fn elapsed_business_time_skips_nights_and_weekends() {
    // Friday 16:00 CET → Monday 10:00 CET: 1 h + 1 h.
    assert_eq!(
        berlin_office().elapsed(
            utc("2026-03-06T15:00:00Z"),
            utc("2026-03-09T09:00:00Z"),
            &[]
        ),
        hours(2)
    );
    // Backwards or empty ranges are zero.
    assert_eq!(
        berlin_office().elapsed(
            utc("2026-03-09T09:00:00Z"),
            utc("2026-03-06T15:00:00Z"),
            &[]
        ),
        Duration::zero()
    );
}

#[test]
fn the_spring_change_in_berlin_moves_monday_opening_to_a_new_utc_offset() {
    // Friday 2026-03-27 16:00 CET (15:00Z), 2 h. Clocks go forward on Sunday
    // 2026-03-29; Monday 2026-03-30 09:00 CEST is 07:00Z, + 1 h = 08:00Z.
    let c = berlin_office();
    assert_eq!(
        c.due(utc("2026-03-27T15:00:00Z"), hours(2), &[]),
        Some(utc("2026-03-30T08:00:00Z"))
    );
    assert_eq!(
        c.elapsed(
            utc("2026-03-27T15:00:00Z"),
            utc("2026-03-30T08:00:00Z"),
            &[]
        ),
        hours(2)
    );
}

#[test]
fn the_autumn_change_in_berlin_moves_monday_opening_the_other_way() {
    // Friday 2026-10-23 16:00 CEST (14:00Z), 2 h. Clocks go back on Sunday
    // 2026-10-25; Monday 09:00 CET is 08:00Z, + 1 h = 09:00Z.
    assert_eq!(
        berlin_office().due(utc("2026-10-23T14:00:00Z"), hours(2), &[]),
        Some(utc("2026-10-26T09:00:00Z"))
    );
}

#[test]
fn open_hours_across_a_spring_gap_are_as_long_as_the_wall_clock_shows() {
    // Sunday 2026-03-29 00:00–06:00 local: 02:00–03:00 does not exist, so 5 h.
    let c = only("Europe/Berlin", vec![interval(Day::Sun, "00:00", "06:00")]);
    assert_eq!(
        c.elapsed(
            utc("2026-03-28T00:00:00Z"),
            utc("2026-03-30T00:00:00Z"),
            &[]
        ),
        hours(5)
    );
    // 00:00 CET is 23:00Z the day before; 4 h of open time: 00–02 CET, then
    // 03:00 CEST (01:00Z) + 2 h = 03:00Z.
    assert_eq!(
        c.due(utc("2026-03-28T12:00:00Z"), hours(4), &[]),
        Some(utc("2026-03-29T03:00:00Z"))
    );
}

#[test]
fn an_interval_that_starts_inside_the_spring_gap_starts_when_the_clock_jumps() {
    // 02:30 does not exist on 2026-03-29 in Berlin: the interval starts at
    // 03:00 CEST (01:00Z) and ends at 04:00 CEST (02:00Z).
    let c = only("Europe/Berlin", vec![interval(Day::Sun, "02:30", "04:00")]);
    assert_eq!(
        c.elapsed(
            utc("2026-03-28T00:00:00Z"),
            utc("2026-03-30T00:00:00Z"),
            &[]
        ),
        hours(1)
    );
    assert_eq!(
        c.due(utc("2026-03-28T00:00:00Z"), Duration::minutes(1), &[]),
        Some(utc("2026-03-29T01:01:00Z"))
    );
}

#[test]
fn open_hours_across_an_autumn_fold_are_as_long_as_the_wall_clock_shows() {
    // Sunday 2026-10-25 00:00–06:00 local: 02:00–03:00 happens twice, so 7 h.
    let c = only("Europe/Berlin", vec![interval(Day::Sun, "00:00", "06:00")]);
    assert_eq!(
        c.elapsed(
            utc("2026-10-24T00:00:00Z"),
            utc("2026-10-26T00:00:00Z"),
            &[]
        ),
        hours(7)
    );
    // An interval starting at the ambiguous 02:30 starts at its first
    // occurrence (02:30 CEST = 00:30Z) and ends at 04:00 CET (03:00Z): 2.5 h.
    let c = only("Europe/Berlin", vec![interval(Day::Sun, "02:30", "04:00")]);
    assert_eq!(
        c.elapsed(
            utc("2026-10-24T00:00:00Z"),
            utc("2026-10-26T00:00:00Z"),
            &[]
        ),
        Duration::minutes(150)
    );
}

#[test]
fn new_york_changes_its_clocks_on_another_weekend() {
    // Friday 2026-03-06 16:00 EST (21:00Z), 2 h; DST starts 2026-03-08;
    // Monday 2026-03-09 09:00 EDT is 13:00Z, + 1 h = 14:00Z.
    let c = weekdays("America/New_York", "09:00", "17:00", &[]);
    assert_eq!(
        c.due(utc("2026-03-06T21:00:00Z"), hours(2), &[]),
        Some(utc("2026-03-09T14:00:00Z"))
    );
}

#[test]
fn holidays_are_closed_all_day() {
    // Wednesday 2026-12-23 16:00 CET (15:00Z), 3 h. Thursday 24th and Friday
    // 25th are holidays, then the weekend: 1 h on Wednesday, 2 h on Monday
    // 2026-12-28 from 09:00 CET → 11:00 CET = 10:00Z.
    let c = weekdays(
        "Europe/Berlin",
        "09:00",
        "17:00",
        &["2026-12-24", "2026-12-25"],
    );
    assert_eq!(
        c.due(utc("2026-12-23T15:00:00Z"), hours(3), &[]),
        Some(utc("2026-12-28T10:00:00Z"))
    );
    assert!(!c.is_open(utc("2026-12-24T10:00:00Z")));
    assert_eq!(
        c.elapsed(
            utc("2026-12-23T15:00:00Z"),
            utc("2026-12-28T10:00:00Z"),
            &[]
        ),
        hours(3)
    );
}

#[test]
fn a_pause_that_spans_the_night_only_removes_the_open_hours_it_covers() {
    // Monday 2026-03-02 16:00 CET (15:00Z), 2 h. Paused from 16:30 CET
    // (15:30Z) to Tuesday 10:00 CET (09:00Z): 30 min counted on Monday, none
    // during the night, Tuesday 09:00–10:00 paused, then 1.5 h from 10:00 →
    // 11:30 CET = 10:30Z.
    let pauses = [Pause {
        from: utc("2026-03-02T15:30:00Z"),
        to: Some(utc("2026-03-03T09:00:00Z")),
    }];
    let c = berlin_office();
    assert_eq!(
        c.due(utc("2026-03-02T15:00:00Z"), hours(2), &pauses),
        Some(utc("2026-03-03T10:30:00Z"))
    );
    assert_eq!(
        c.elapsed(
            utc("2026-03-02T15:00:00Z"),
            utc("2026-03-03T10:30:00Z"),
            &pauses
        ),
        hours(2)
    );
}

#[test]
fn several_pauses_add_up_and_overlapping_ones_count_once() {
    // Around the clock from 00:00Z, 3 h, paused 01:00–02:00 and 01:30–02:30
    // (together 01:00–02:30) and 03:00–03:15. Counted: 00:00–01:00 (1 h),
    // 02:30–03:00 (0.5 h), 03:15–04:45 (1.5 h) → due at 04:45Z.
    let pauses = [
        Pause {
            from: utc("2026-03-02T01:00:00Z"),
            to: Some(utc("2026-03-02T02:00:00Z")),
        },
        Pause {
            from: utc("2026-03-02T01:30:00Z"),
            to: Some(utc("2026-03-02T02:30:00Z")),
        },
        Pause {
            from: utc("2026-03-02T03:00:00Z"),
            to: Some(utc("2026-03-02T03:15:00Z")),
        },
    ];
    assert_eq!(
        Calendar::AlwaysOpen.due(utc("2026-03-02T00:00:00Z"), hours(3), &pauses),
        Some(utc("2026-03-02T04:45:00Z"))
    );
}

#[test]
fn a_pause_without_an_end_leaves_no_due_time() {
    let pauses = [Pause {
        from: utc("2026-03-02T15:30:00Z"),
        to: None,
    }];
    assert_eq!(
        berlin_office().due(utc("2026-03-02T15:00:00Z"), hours(2), &pauses),
        None
    );
    // What passed before the pause still counts.
    assert_eq!(
        berlin_office().elapsed(
            utc("2026-03-02T15:00:00Z"),
            utc("2026-03-09T15:00:00Z"),
            &pauses
        ),
        Duration::minutes(30)
    );
}

#[test]
fn a_forty_hour_target_takes_a_working_week_and_one_more_hour_takes_the_next_monday() {
    // From Monday 2026-03-02 09:00 CET (08:00Z): 40 h end exactly at Friday
    // 17:00 CET (16:00Z); 41 h reach Monday 2026-03-09 10:00 CET (09:00Z).
    let c = berlin_office();
    let start = utc("2026-03-02T08:00:00Z");
    assert_eq!(
        c.due(start, hours(40), &[]),
        Some(utc("2026-03-06T16:00:00Z"))
    );
    assert_eq!(
        c.due(start, hours(41), &[]),
        Some(utc("2026-03-09T09:00:00Z"))
    );
}

#[test]
fn a_two_week_target_spanning_the_spring_change_ends_on_summer_time() {
    // 80 h from Monday 2026-03-23 09:00 CET (08:00Z): two working weeks, the
    // second in summer time; Friday 2026-04-03 17:00 CEST = 15:00Z.
    assert_eq!(
        berlin_office().due(utc("2026-03-23T08:00:00Z"), hours(80), &[]),
        Some(utc("2026-04-03T15:00:00Z"))
    );
}

#[test]
fn a_lunch_break_splits_the_day() {
    // 09:00–12:00 and 13:00–17:00 on Tuesday (UTC zone): from 11:00, 2 h →
    // 1 h before lunch, 1 h after → 14:00.
    let c = only(
        "UTC",
        vec![
            interval(Day::Tue, "09:00", "12:00"),
            interval(Day::Tue, "13:00", "17:00"),
        ],
    );
    assert_eq!(
        c.due(utc("2026-03-03T11:00:00Z"), hours(2), &[]),
        Some(utc("2026-03-03T14:00:00Z"))
    );
}

#[test]
fn a_day_open_until_midnight_ends_at_24_00() {
    let c = only("UTC", vec![interval(Day::Tue, "20:00", "24:00")]);
    assert_eq!(
        c.due(utc("2026-03-03T22:00:00Z"), hours(2), &[]),
        Some(utc("2026-03-04T00:00:00Z"))
    );
    // … and the next open time is a week later.
    assert_eq!(
        c.due(utc("2026-03-03T22:00:00Z"), hours(3), &[]),
        Some(utc("2026-03-10T21:00:00Z"))
    );
}

#[test]
fn calendars_are_checked_when_they_are_built() {
    assert!(
        BusinessHours::new(
            "Mars/Olympus",
            vec![interval(Day::Mon, "09:00", "17:00")],
            BTreeSet::new()
        )
        .is_err()
    );
    assert!(BusinessHours::new("Europe/Berlin", vec![], BTreeSet::new()).is_err());
    assert!(
        BusinessHours::new(
            "Europe/Berlin",
            vec![interval(Day::Mon, "17:00", "09:00")],
            BTreeSet::new()
        )
        .is_err()
    );
    assert!(
        BusinessHours::new(
            "Europe/Berlin",
            vec![
                interval(Day::Mon, "09:00", "13:00"),
                interval(Day::Mon, "12:00", "17:00")
            ],
            BTreeSet::new()
        )
        .is_err()
    );
    assert!(DayTime::parse("24:00").is_ok());
    assert!(DayTime::parse("24:30").is_err());
    assert!(DayTime::parse("9:5").is_err());
    assert!(DayTime::parse("09:60").is_err());
    assert_eq!("Monday".parse::<Day>().unwrap(), Day::Mon);
    assert!("Mo".parse::<Day>().is_err());
}

#[test]
fn a_calendar_round_trips_through_json() {
    let c = weekdays("Europe/Berlin", "09:00", "17:30", &["2026-12-25"]);
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["kind"], "business_hours");
    assert_eq!(json["time_zone"], "Europe/Berlin");
    assert_eq!(json["weekly"][0]["start"], "09:00");
    assert_eq!(json["weekly"][0]["end"], "17:30");
    assert_eq!(json["holidays"][0], "2026-12-25");
    let back: Calendar = serde_json::from_value(json).unwrap();
    assert_eq!(back, c);
    let always: Calendar =
        serde_json::from_value(serde_json::json!({"kind": "always_open"})).unwrap();
    assert_eq!(always, Calendar::AlwaysOpen);
}

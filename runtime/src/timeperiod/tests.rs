use super::*;

fn period(name: &str, tz: &str, days: &[(&str, &str)], exclude: &[&str]) -> TimePeriod {
    TimePeriod {
        name: name.into(),
        alias: None,
        timezone: Some(tz.into()),
        tz: TimeZone::get(tz).unwrap(),
        rules: days
            .iter()
            .map(|(d, r)| Rule { day: parse_day(d).unwrap(), ranges: parse_ranges(r).unwrap() })
            .collect(),
        exclude: exclude.iter().map(|s| s.to_string()).collect(),
    }
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn a_night_shift_runs_across_midnight() {
    // 2026-12-07 is a Monday.
    let all = [period("night", "UTC", &[("monday", "22:00-24:00"), ("tuesday", "00:00-06:00")], &[])];
    let p = Period::build("night", &all).unwrap();
    assert!(!p.contains(at("2026-12-07T21:59:59Z")));
    assert!(p.contains(at("2026-12-07T22:00:00Z")));
    assert!(p.contains(at("2026-12-07T23:59:59Z")));
    assert!(p.contains(at("2026-12-08T00:00:00Z")));
    assert!(!p.contains(at("2026-12-08T06:00:00Z")));
    assert_eq!(p.next_start(at("2026-12-07T12:00:00Z")), Some(at("2026-12-07T22:00:00Z")));
    // Midnight is no end: the Tuesday range goes on from the Monday one.
    assert_eq!(p.next_end(at("2026-12-07T22:30:00Z")), Some(at("2026-12-08T06:00:00Z")));
    // After the Tuesday range, the next start is a week on.
    assert_eq!(p.next_start(at("2026-12-08T06:00:00Z")), Some(at("2026-12-14T22:00:00Z")));
    assert_eq!(p.next_start(at("2026-12-07T23:00:00Z")), Some(at("2026-12-07T23:00:00Z")));
}

#[test]
fn an_excluded_weekend_ends_a_whole_week_period() {
    let every_day: Vec<(&str, &str)> = WEEKDAYS.iter().map(|(name, _)| (*name, "00:00-24:00")).collect();
    let all = [
        period("workdays", "UTC", &every_day, &["weekend"]),
        period("weekend", "UTC", &[("saturday", "00:00-24:00"), ("sunday", "00:00-24:00")], &[]),
    ];
    let p = Period::build("workdays", &all).unwrap();
    // 2026-12-11 is a Friday.
    assert!(p.contains(at("2026-12-11T23:59:59Z")));
    assert!(!p.contains(at("2026-12-12T10:00:00Z")));
    assert_eq!(p.next_end(at("2026-12-11T12:00:00Z")), Some(at("2026-12-12T00:00:00Z")));
    assert_eq!(p.next_start(at("2026-12-12T10:00:00Z")), Some(at("2026-12-14T00:00:00Z")));
    // Every day, every hour: no end within the horizon.
    let always = Period::build("weekend", &[period("weekend", "UTC", &every_day, &[])]).unwrap();
    assert_eq!(always.next_end(at("2026-12-11T12:00:00Z")), None);
    assert_eq!(always.next_start(at("2026-12-11T12:00:00Z")), Some(at("2026-12-11T12:00:00Z")));
}

#[test]
fn local_time_holds_across_daylight_saving_changes() {
    let all = [period("early", "Europe/Berlin", &[("sunday", "01:00-04:00")], &[])];
    let p = Period::build("early", &all).unwrap();
    // 2026-03-29: at 02:00 CET the clocks go to 03:00 CEST. 01:00 CET is
    // 00:00Z, 04:00 CEST is 02:00Z: two hours.
    assert_eq!(p.next_start(at("2026-03-28T12:00:00Z")), Some(at("2026-03-29T00:00:00Z")));
    assert_eq!(p.next_end(at("2026-03-29T00:30:00Z")), Some(at("2026-03-29T02:00:00Z")));
    assert!(p.contains(at("2026-03-29T01:00:00Z")), "03:00 CEST");
    // 2026-10-25: at 03:00 CEST the clocks go back to 02:00 CET. 01:00
    // CEST is 23:00Z the day before, 04:00 CET is 03:00Z: four hours.
    assert_eq!(p.next_start(at("2026-10-24T12:00:00Z")), Some(at("2026-10-24T23:00:00Z")));
    assert_eq!(p.next_end(at("2026-10-24T23:30:00Z")), Some(at("2026-10-25T03:00:00Z")));
    // A range in the skipped hour never holds; one starting in it starts
    // when the clocks have moved on.
    let all = [period("gap", "Europe/Berlin", &[("2026-03-29", "02:00-02:30"), ("2026-03-30", "02:00-02:30")], &[])];
    let gap = Period::build("gap", &all).unwrap();
    assert_eq!(gap.next_start(at("2026-03-28T12:00:00Z")), Some(at("2026-03-30T00:00:00Z")));
    let all = [period("late", "Europe/Berlin", &[("2026-03-29", "02:30-04:00")], &[])];
    let late = Period::build("late", &all).unwrap();
    assert_eq!(late.next_start(at("2026-03-28T12:00:00Z")), Some(at("2026-03-29T01:00:00Z")));
}

#[test]
fn dates_win_over_weekdays_as_in_nagios() {
    let all = [period(
        "office",
        "UTC",
        &[
            ("friday", "09:00-17:00"),
            ("december 25", "10:00-11:00"),
            ("day -1", "20:00-21:00"),
            ("monday -1 may", "12:00-13:00"),
            ("thursday 4 november", "06:00-07:00"),
            ("2026-12-18", "00:00-01:00"),
        ],
        &[],
    )];
    let p = Period::build("office", &all).unwrap();
    // 2026-12-25 is a Friday: its date's range replaces the Friday one.
    assert!(!p.contains(at("2026-12-25T12:00:00Z")));
    assert!(p.contains(at("2026-12-25T10:30:00Z")));
    assert!(p.contains(at("2026-12-11T12:00:00Z")), "a plain Friday");
    assert!(!p.contains(at("2026-12-18T12:00:00Z")), "Friday 2026-12-18 has a date of its own");
    assert!(p.contains(at("2026-12-18T00:30:00Z")));
    assert!(p.contains(at("2026-02-28T20:30:00Z")), "the last day of February");
    assert!(p.contains(at("2026-05-25T12:30:00Z")), "the last Monday of May");
    assert!(!p.contains(at("2026-05-18T12:30:00Z")));
    assert!(p.contains(at("2026-11-26T06:30:00Z")), "the fourth Thursday of November");
    // A December 31 that is a Thursday: "day -1" is the only rule.
    assert_eq!(p.next_start(at("2026-12-25T11:00:00Z")), Some(at("2026-12-31T20:00:00Z")));
}

#[test]
fn bad_days_and_ranges_are_refused() {
    for bad in [
        "mon",
        "2026-02-30",
        "february 30",
        "day 0",
        "day 32",
        "monday 6",
        "monday 1 mai",
        "26-12-25",
        "",
        "day -128",
        "december -128",
        "monday -128",
        "monday -128 may",
    ] {
        assert_eq!(parse_day(bad), None, "{bad}");
    }
    assert_eq!(parse_day("Day 1"), Some(Day::DayOfMonth(1)));
    assert_eq!(parse_ranges("9:00-17:30").unwrap(), [TimeRange { start: 9 * 3600, end: 17 * 3600 + 1800 }]);
    for (bad, why) in [
        ("25:00-26:00", "not a range"),
        ("09:00", "not a range"),
        ("09:00-17:00,", "not a range"),
        ("09:60-10:00", "not a range"),
        ("24:30-24:45", "not a range"),
        ("17:00-09:00", "ends before it starts"),
    ] {
        let e = parse_ranges(bad).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn an_empty_range_takes_its_day_out_as_in_nagios_holidays() {
    assert_eq!(parse_ranges("00:00-00:00").unwrap(), []);
    assert_eq!(parse_ranges("10:00-10:00,12:00-13:00").unwrap(), [TimeRange { start: 12 * 3600, end: 13 * 3600 }]);
    // Nagios' sample: 24x7_sans_holidays uses us-holidays' exceptions.
    let every_day: Vec<(&str, &str)> = WEEKDAYS.iter().map(|(name, _)| (*name, "00:00-24:00")).collect();
    let mut days = every_day.clone();
    days.extend([("december 25", "00:00-00:00"), ("thursday 4 november", "00:00-00:00")]);
    let all = [period("24x7_sans_holidays", "UTC", &days, &[])];
    let p = Period::build("24x7_sans_holidays", &all).unwrap();
    assert!(p.contains(at("2026-12-24T23:59:59Z")));
    assert!(!p.contains(at("2026-12-25T00:00:00Z")), "Christmas");
    assert!(!p.contains(at("2026-11-26T12:00:00Z")), "Thanksgiving");
    assert_eq!(p.next_end(at("2026-12-24T12:00:00Z")), Some(at("2026-12-25T00:00:00Z")));
    assert_eq!(p.next_start(at("2026-12-25T08:00:00Z")), Some(at("2026-12-26T00:00:00Z")));
}

#[test]
fn exclusions_name_known_periods_without_cycles() {
    let all = [period("a", "UTC", &[], &["b"]), period("b", "UTC", &[], &["a"])];
    assert_eq!(Period::build("a", &all).unwrap_err(), "time period exclusions form a cycle: a excludes b excludes a");
    let all = [period("a", "UTC", &[], &["nope"])];
    assert_eq!(Period::build("a", &all).unwrap_err(), "no time period named \"nope\" (time periods: a)");
}

#[test]
fn instants_convert_both_ways() {
    let d = Duration::new(1_796_119_200, 5);
    assert_eq!(since_epoch(timestamp(d)), d);
    assert_eq!(timestamp(d), at("2026-12-01T10:00:00.000000005Z"));
}

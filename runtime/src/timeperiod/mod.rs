//! Time periods as Nagios has them (`[[timeperiod]]`): time ranges per
//! weekday, per date (`2026-12-25`, `december 25`, `day 1`, `monday 1
//! may`), exclusions of other periods, in a time zone. Pure: a [`Period`]
//! answers [`Period::contains`], [`Period::next_start`] and
//! [`Period::next_end`] for an instant, nothing reads a clock.
//!
//! Which ranges hold on a local date: the rules of the most specific kind
//! that matches the date, as Nagios ranks them (a calendar date, then a
//! month and day, then a day of every month, then a weekday of a given
//! month, then a weekday of every month, then the plain weekday); the
//! ranges of every matching rule of that kind count. A period's instant is
//! in it when its local time of day is in one of those ranges and no
//! excluded period contains the instant. Each period reads local time in
//! its own zone (UTC by default), and so does each period it excludes.
//!
//! Local times that do not exist (the hour skipped when daylight saving
//! time starts) are never in a period; a range that starts in that hour
//! starts when the clocks have moved on. A repeated hour (when it ends) is
//! in a period both times.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

#[cfg(test)]
mod tests;

/// How far ahead [`Period::next_start`] and [`Period::next_end`] look:
/// four years and a day covers every yearly date and February 29.
const HORIZON_DAYS: i64 = 4 * 366 + 1;
/// The days searched at a time.
const WINDOW_DAYS: i64 = 7;

/// A time period as configured (`[[timeperiod]]`).
#[derive(Clone, Debug, PartialEq)]
pub struct TimePeriod {
    /// Unique name, what `check_period`, `notification_period` and
    /// `exclude` name.
    pub name: String,
    /// A description, if any.
    pub alias: Option<String>,
    /// `timezone`: an IANA time zone name; `None` is UTC.
    pub timezone: Option<String>,
    /// The zone (UTC without `timezone`).
    pub tz: TimeZone,
    /// Its days and their ranges, in file order.
    pub rules: Vec<Rule>,
    /// The names of the periods it excludes.
    pub exclude: Vec<String>,
}

/// One day entry of a period: which days, and the ranges on them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The days it applies to.
    pub day: Day,
    /// Time ranges, each from its start (included) to its end (excluded).
    pub ranges: Vec<TimeRange>,
}

/// A range of the time of day, in seconds since local midnight; `end` may
/// be 86,400 (`24:00`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// The first second in it.
    pub start: u32,
    /// The first second after it.
    pub end: u32,
}

/// Which days a rule applies to, in Nagios' forms. A negative day counts
/// from the end of the month (`-1` is its last day); a negative `n` of a
/// weekday counts from the end too (`-1`: the last such weekday).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Day {
    /// `2026-12-25`.
    Date(Date),
    /// `december 25`: that day of that month every year.
    MonthDay {
        /// 1 to 12.
        month: i8,
        /// 1 to 31, or -1 to -31.
        day: i8,
    },
    /// `day 1`: that day of every month.
    DayOfMonth(i8),
    /// `monday 1 may` (a month) or `monday 1` (every month): the nth such
    /// weekday.
    NthWeekday {
        /// The weekday.
        weekday: Weekday,
        /// 1 to 5, or -1 to -5.
        n: i8,
        /// The month, or every month.
        month: Option<i8>,
    },
    /// `monday`: every such weekday.
    Weekday(Weekday),
}

impl Day {
    /// Nagios' precedence: lower wins.
    fn rank(&self) -> u8 {
        match self {
            Day::Date(_) => 0,
            Day::MonthDay { .. } => 1,
            Day::DayOfMonth(_) => 2,
            Day::NthWeekday { month: Some(_), .. } => 3,
            Day::NthWeekday { month: None, .. } => 4,
            Day::Weekday(_) => 5,
        }
    }

    fn matches(&self, d: Date) -> bool {
        let day_is = |n: i8| if n > 0 { d.day() == n } else { d.day() == d.days_in_month() + n + 1 };
        match *self {
            Day::Date(date) => d == date,
            Day::MonthDay { month, day } => d.month() == month && day_is(day),
            Day::DayOfMonth(day) => day_is(day),
            Day::NthWeekday { weekday, n, month } => {
                d.weekday() == weekday
                    && month.is_none_or(|m| d.month() == m)
                    && if n > 0 { (d.day() - 1) / 7 + 1 == n } else { (d.days_in_month() - d.day()) / 7 + 1 == -n }
            }
            Day::Weekday(w) => d.weekday() == w,
        }
    }
}

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Monday),
    ("tuesday", Weekday::Tuesday),
    ("wednesday", Weekday::Wednesday),
    ("thursday", Weekday::Thursday),
    ("friday", Weekday::Friday),
    ("saturday", Weekday::Saturday),
    ("sunday", Weekday::Sunday),
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// What a day key may be, for messages.
pub const DAY_FORMS: &str = "a weekday such as monday, a date such as \"2026-12-25\", \"december 25\", \
    \"day 1\", \"day -1\", \"monday 1\" or \"monday -1 may\"";

/// What a ranges value may be, for messages.
pub const RANGE_FORMS: &str = "time ranges such as \"09:00-17:00\" or \"00:00-09:00,17:00-24:00\"";

/// Reads a day key (`monday`, `2026-12-25`, `december 25`, `day 1`,
/// `monday 1`, `monday -1 may`); `None` if it is none of them.
pub fn parse_day(key: &str) -> Option<Day> {
    let words: Vec<String> = key.split_whitespace().map(str::to_lowercase).collect();
    let weekday = |w: &str| WEEKDAYS.iter().find(|(n, _)| *n == w).map(|(_, d)| *d);
    let month = |w: &str| MONTHS.iter().position(|m| *m == w).map(|i| i as i8 + 1);
    // `unsigned_abs`: `-128` has no `abs` in an i8.
    let number = |w: &str, max: u8| w.parse::<i8>().ok().filter(|n| *n != 0 && n.unsigned_abs() <= max);
    match words.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [w] => {
            if let Some(d) = weekday(w) {
                return Some(Day::Weekday(d));
            }
            let parts: Vec<&str> = w.split('-').collect();
            match parts[..] {
                [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
                    Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok().map(Day::Date)
                }
                _ => None,
            }
        }
        ["day", n] => number(n, 31).map(Day::DayOfMonth),
        [a, n] => {
            if let Some(m) = month(a) {
                let day = number(n, 31)?;
                // February 30 never comes.
                let longest = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m as usize - 1];
                return (day.abs() <= longest).then_some(Day::MonthDay { month: m, day });
            }
            Some(Day::NthWeekday { weekday: weekday(a)?, n: number(n, 5)?, month: None })
        }
        [a, n, m] => Some(Day::NthWeekday { weekday: weekday(a)?, n: number(n, 5)?, month: Some(month(m)?) }),
        _ => None,
    }
}

/// Reads `"09:00-17:00,18:00-20:00"`; the error says what is wrong. A
/// range that ends where it starts (`00:00-00:00`) is empty: a date rule
/// with only such ranges takes its day out of the period, as in Nagios.
pub fn parse_ranges(text: &str) -> Result<Vec<TimeRange>, String> {
    let clock = |s: &str| -> Option<u32> {
        let (h, m) = s.trim().split_once(':')?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 3600 + m * 60)
    };
    let mut ranges = Vec::new();
    for part in text.split(',') {
        let bad = || format!("\"{}\" is not a range of the form HH:MM-HH:MM", part.trim());
        let (a, b) = part.split_once('-').ok_or_else(bad)?;
        let (start, end) = (clock(a).ok_or_else(bad)?, clock(b).ok_or_else(bad)?);
        // Nagios' way of saying "not on this day" (`december 25 00:00-00:00`
        // in its sample holidays): an empty range, which still makes the day's
        // rule the one that counts.
        if start == end {
            continue;
        }
        if start > end {
            return Err(format!(
                "\"{}\" ends before it starts (a range across midnight is two: \"22:00-24:00\" on one day, \
                 \"00:00-06:00\" on the next)",
                part.trim()
            ));
        }
        ranges.push(TimeRange { start, end });
    }
    Ok(ranges)
}

/// A period ready to answer questions: its rules, its zone and the periods
/// it excludes (each resolved in turn). Cheap to clone.
#[derive(Clone, Debug, PartialEq)]
pub struct Period(Arc<Inner>);

#[derive(Debug, PartialEq)]
struct Inner {
    name: String,
    tz: TimeZone,
    rules: Vec<Rule>,
    exclude: Vec<Period>,
}

impl Period {
    /// The period `name` of `all`, with its exclusions resolved. An error
    /// names an unknown period or a cycle of exclusions.
    pub fn build(name: &str, all: &[TimePeriod]) -> Result<Period, String> {
        Self::build_inner(name, all, &mut Vec::new())
    }

    fn build_inner(name: &str, all: &[TimePeriod], path: &mut Vec<String>) -> Result<Period, String> {
        if path.iter().any(|p| p == name) {
            path.push(name.to_string());
            return Err(format!("time period exclusions form a cycle: {}", path.join(" excludes ")));
        }
        let Some(def) = all.iter().find(|p| p.name == name) else {
            let known: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
            let known = if known.is_empty() { "none are defined".to_string() } else { known.join(", ") };
            return Err(format!("no time period named \"{name}\" (time periods: {known})"));
        };
        path.push(name.to_string());
        let exclude = def.exclude.iter().map(|e| Self::build_inner(e, all, path)).collect::<Result<_, _>>()?;
        path.pop();
        Ok(Period(Arc::new(Inner { name: def.name.clone(), tz: def.tz.clone(), rules: def.rules.clone(), exclude })))
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The ranges in effect on local date `d`: those of the matching rules
    /// of the most specific kind.
    fn ranges_on(&self, d: Date) -> impl Iterator<Item = &TimeRange> {
        let best = self.0.rules.iter().filter(|r| r.day.matches(d)).map(|r| r.day.rank()).min();
        self.0.rules.iter().filter(move |r| Some(r.day.rank()) == best && r.day.matches(d)).flat_map(|r| &r.ranges)
    }

    /// Whether the instant `t` is in the period.
    pub fn contains(&self, t: Timestamp) -> bool {
        let z = t.to_zoned(self.0.tz.clone());
        let second = z.hour() as u32 * 3600 + z.minute() as u32 * 60 + z.second() as u32;
        self.ranges_on(z.date()).any(|r| r.start <= second && second < r.end)
            && !self.0.exclude.iter().any(|e| e.contains(t))
    }

    /// The first instant at or after `t` in the period; `None` if there is
    /// none within four years.
    pub fn next_start(&self, t: Timestamp) -> Option<Timestamp> {
        self.next_where(t, true)
    }

    /// The first instant at or after `t` outside the period; `None` if it
    /// lasts four years from `t` (a period of every hour of every day).
    pub fn next_end(&self, t: Timestamp) -> Option<Timestamp> {
        self.next_where(t, false)
    }

    fn next_where(&self, t: Timestamp, inside: bool) -> Option<Timestamp> {
        if self.contains(t) == inside {
            return Some(t);
        }
        // Whether an instant is in the period changes only where a range of
        // it or of a period it excludes begins or ends: try those, in
        // order, a window of days at a time. The candidates of the local
        // dates two days either side of the window cover every zone's
        // offset from UTC.
        let day = jiff::SignedDuration::from_hours(24);
        let mut low = t;
        let mut candidates = Vec::new();
        for _ in 0..HORIZON_DAYS / WINDOW_DAYS + 1 {
            let high = low.checked_add(day * WINDOW_DAYS as i32).ok()?;
            let first = low.to_zoned(TimeZone::UTC).date().checked_sub(jiff::Span::new().days(2)).ok()?;
            let last = high.to_zoned(TimeZone::UTC).date().checked_add(jiff::Span::new().days(2)).ok()?;
            candidates.clear();
            self.boundaries(first, last, &mut candidates);
            candidates.retain(|c| *c > low && *c <= high);
            candidates.sort_unstable();
            candidates.dedup();
            if let Some(c) = candidates.iter().find(|c| self.contains(**c) == inside) {
                return Some(*c);
            }
            low = high;
        }
        None
    }

    /// Every instant where a range of this period or of one it excludes
    /// begins or ends on the local dates `first` to `last` (both times of a
    /// repeated local time).
    fn boundaries(&self, first: Date, last: Date, out: &mut Vec<Timestamp>) {
        let mut d = first;
        while d <= last {
            for r in self.ranges_on(d) {
                for second in [r.start, r.end] {
                    let (date, second) = match second {
                        86_400 => match d.tomorrow() {
                            Ok(next) => (next, 0),
                            Err(_) => continue,
                        },
                        s => (d, s),
                    };
                    let local = date.at((second / 3600) as i8, (second / 60 % 60) as i8, 0, 0);
                    let ambiguous = self.0.tz.to_ambiguous_timestamp(local);
                    out.extend(ambiguous.earlier().ok());
                    out.extend(ambiguous.later().ok());
                }
            }
            let Ok(next) = d.tomorrow() else { break };
            d = next;
        }
        // A change of the clocks (daylight saving) moves local time under
        // a range: a range the skipped hour cut starts when it ends.
        let from = first.to_zoned(self.0.tz.clone()).map(|z| z.timestamp());
        let to = last.tomorrow().and_then(|d| d.to_zoned(self.0.tz.clone())).map(|z| z.timestamp());
        if let (Ok(from), Ok(to)) = (from, to) {
            out.extend(self.0.tz.following(from).map(|t| t.timestamp()).take_while(|t| *t <= to));
        }
        for e in &self.0.exclude {
            e.boundaries(first, last, out);
        }
    }
}

/// The instant of `since_epoch` (time since the UNIX epoch).
pub fn timestamp(since_epoch: Duration) -> Timestamp {
    let secs = i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX);
    Timestamp::new(secs, since_epoch.subsec_nanos() as i32).unwrap_or(Timestamp::MAX)
}

/// The time since the UNIX epoch of `t` (zero before it).
pub fn since_epoch(t: Timestamp) -> Duration {
    let secs = u64::try_from(t.as_second()).unwrap_or(0);
    Duration::new(secs, t.subsec_nanosecond().max(0) as u32)
}

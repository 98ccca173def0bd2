//! Reading check parameters with errors that name the parameter, what was
//! expected and what was given.
//!
//! ```
//! use std::time::Duration;
//! use wasmon_sdk::{params, CheckError, Param};
//!
//! let list = vec![
//!     Param { name: "port".into(), value: "80".into() },
//!     Param { name: "timeout".into(), value: "500ms".into() },
//! ];
//! let p = params(&list);
//! p.reject_unknown(&["port", "timeout"])?;
//! assert_eq!(p.parse_in::<u16>("port", 443, 1..=65535)?, 80);
//! assert_eq!(p.duration("timeout", Duration::from_secs(10))?, Duration::from_millis(500));
//! # Ok::<(), CheckError>(())
//! ```

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use crate::{CheckError, CheckRequest, DiscoverRequest, Levels, Param, Range, State, Target, Thresholds};

/// Gives requests a [`Params`] view of their parameters.
pub trait RequestExt {
    /// The request's parameters.
    fn params(&self) -> Params<'_>;
}

impl RequestExt for CheckRequest {
    fn params(&self) -> Params<'_> {
        Params::new(&self.params)
    }
}

impl RequestExt for DiscoverRequest {
    fn params(&self) -> Params<'_> {
        Params::new(&self.params)
    }
}

impl CheckRequest {
    /// A request for target `target_name` at `target_address`, without an
    /// item, with `params` as (name, value) pairs and `timeout_ms` of wall
    /// time from the host: what a check's unit tests pass to the code that
    /// reads a request (the host builds the real ones).
    ///
    /// ```
    /// use wasmon_sdk::{CheckRequest, RequestExt};
    /// let req = CheckRequest::new("www", "192.0.2.1", &[("port", "80")], 10_000);
    /// assert_eq!(req.params().get("port"), Some("80"));
    /// ```
    pub fn new(target_name: &str, target_address: &str, params: &[(&str, &str)], timeout_ms: u32) -> CheckRequest {
        CheckRequest {
            target: Target { name: target_name.to_owned(), address: target_address.to_owned() },
            item: None,
            params: Param::list(params),
            timeout_ms,
        }
    }

    /// The time the check may spend on its own I/O (connecting, reading,
    /// resolving): parameter `timeout` (default `default`), but never more
    /// than 90% of the wall time the host gives this run
    /// ([`CheckRequest::timeout_ms`]). The check then reports its own
    /// timeout ("Socket timeout after 9 seconds") before the host would cut
    /// it off with "Check timed out". A zero or malformed `timeout` is a
    /// [`CheckError::BadParams`].
    pub fn io_timeout(&self, default: Duration) -> Result<Duration, CheckError> {
        let wanted = self.params().duration("timeout", default)?;
        if wanted.is_zero() {
            return Err(bad_param(
                "timeout",
                "a duration of more than 0 seconds",
                self.params().get("timeout").unwrap_or("0"),
            ));
        }
        if self.timeout_ms == 0 {
            return Ok(wanted);
        }
        let budget = Duration::from_millis(u64::from(self.timeout_ms) * 9 / 10);
        Ok(wanted.min(budget.max(Duration::from_millis(1))))
    }

    /// The item to check, or [`CheckError::BadParams`] when the service has none
    /// (for checks that always need an item).
    pub fn required_item(&self) -> Result<&str, CheckError> {
        self.item.as_deref().ok_or_else(|| CheckError::BadParams("this check needs an item, but none was given".into()))
    }
}

impl Param {
    /// A parameter list from (name, value) pairs, for tests:
    /// `Param::list(&[("port", "80")])`.
    pub fn list(pairs: &[(&str, &str)]) -> Vec<Param> {
        pairs.iter().map(|&(name, value)| Param { name: name.to_owned(), value: value.to_owned() }).collect()
    }
}

/// A [`Params`] view of a parameter list.
pub fn params(list: &[Param]) -> Params<'_> {
    Params::new(list)
}

/// A [`CheckError::BadParams`] in the standard form
/// `parameter 'NAME': expected EXPECTED, got 'VALUE'`.
pub fn bad_param(name: &str, expected: &str, got: &str) -> CheckError {
    CheckError::BadParams(format!("parameter '{name}': expected {expected}, got '{got}'"))
}

/// A [`CheckError::BadParams`] in the form `parameter 'NAME': MESSAGE`, for
/// what [`bad_param`]'s expected/got form does not fit.
pub fn invalid_param(name: &str, message: impl Display) -> CheckError {
    CheckError::BadParams(format!("parameter '{name}': {message}"))
}

/// What a value of a standard type looks like, for error messages.
fn expected_for<T>() -> Option<&'static str> {
    let expected = match std::any::type_name::<T>() {
        "u8" => "an integer from 0 to 255",
        "u16" => "an integer from 0 to 65535",
        "u32" => "an integer from 0 to 4294967295",
        "u64" | "u128" | "usize" => "a non-negative integer",
        "i8" => "an integer from -128 to 127",
        "i16" => "an integer from -32768 to 32767",
        "i32" | "i64" | "i128" | "isize" => "an integer",
        "f32" | "f64" => "a number",
        "bool" => "true or false",
        "char" => "a single character",
        _ => return None,
    };
    Some(expected)
}

fn is_integer<T>() -> bool {
    matches!(
        std::any::type_name::<T>(),
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128" | "isize"
    )
}

/// The parameters of one request. A later duplicate overrides an earlier one.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    list: &'a [Param],
}

impl<'a> Params<'a> {
    /// A view of `list`.
    pub fn new(list: &'a [Param]) -> Params<'a> {
        Params { list }
    }

    /// The value of parameter `name`; the last one wins when it is given twice.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.list.iter().rev().find(|p| p.name == name).map(|p| p.value.as_str())
    }

    /// Whether parameter `name` is given.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// All parameters as (name, value), in the order given, duplicates included.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.list.iter().map(|p| (p.name.as_str(), p.value.as_str()))
    }

    /// Fails with [`CheckError::BadParams`] naming the first parameter whose name
    /// is not in `known`. Checks call this first, so a typo is not ignored.
    pub fn reject_unknown(&self, known: &[&str]) -> Result<(), CheckError> {
        match self.list.iter().find(|p| !known.contains(&p.name.as_str())) {
            None => Ok(()),
            Some(p) => {
                let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
                Err(CheckError::BadParams(format!("unknown parameter '{}' (this check understands: {known})", p.name)))
            }
        }
    }

    /// Parses parameter `name` with `FromStr` (blanks around the value ignored),
    /// or returns `None` when it is not given.
    pub fn optional<T>(&self, name: &str) -> Result<Option<T>, CheckError>
    where
        T: FromStr,
        T::Err: Display,
    {
        let Some(raw) = self.get(name) else { return Ok(None) };
        match raw.trim().parse::<T>() {
            Ok(v) => Ok(Some(v)),
            Err(e) => Err(match expected_for::<T>() {
                Some(expected) => bad_param(name, expected, raw),
                None => {
                    let msg = e.to_string();
                    if msg.contains(raw) {
                        invalid_param(name, msg)
                    } else {
                        invalid_param(name, format!("{msg} (got '{raw}')"))
                    }
                }
            }),
        }
    }

    /// Parses parameter `name`, or returns `default` when it is not given.
    pub fn parse<T>(&self, name: &str, default: T) -> Result<T, CheckError>
    where
        T: FromStr,
        T::Err: Display,
    {
        Ok(self.optional(name)?.unwrap_or(default))
    }

    /// Parses parameter `name`, which must be given.
    pub fn required<T>(&self, name: &str) -> Result<T, CheckError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.optional(name)?.ok_or_else(|| CheckError::BadParams(format!("parameter '{name}' is required")))
    }

    /// Like [`Params::parse`], and the value must lie within `bounds`:
    /// `parameter 'port': expected an integer from 1 to 65535, got '0'`.
    pub fn parse_in<T>(&self, name: &str, default: T, bounds: RangeInclusive<T>) -> Result<T, CheckError>
    where
        T: FromStr + PartialOrd + Display,
    {
        let Some(raw) = self.get(name) else { return Ok(default) };
        let kind = if is_integer::<T>() { "an integer" } else { "a number" };
        let expected = format!("{kind} from {} to {}", bounds.start(), bounds.end());
        match raw.trim().parse::<T>() {
            Ok(v) if bounds.contains(&v) => Ok(v),
            _ => Err(bad_param(name, &expected, raw)),
        }
    }

    /// A finite number (`nan` and `inf` are refused), or `default`.
    pub fn number(&self, name: &str, default: f64) -> Result<f64, CheckError> {
        Ok(self.optional_number(name)?.unwrap_or(default))
    }

    /// A finite number, or `None` when not given.
    pub fn optional_number(&self, name: &str) -> Result<Option<f64>, CheckError> {
        let Some(raw) = self.get(name) else { return Ok(None) };
        match raw.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(bad_param(name, "a number", raw)),
        }
    }

    /// A boolean: `true`/`false`, `yes`/`no`, `on`/`off` or `1`/`0`
    /// (case-insensitive), or `default`.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, CheckError> {
        let Some(raw) = self.get(name) else { return Ok(default) };
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" => Ok(false),
            _ => Err(bad_param(name, "true or false (also yes/no, on/off, 1/0)", raw)),
        }
    }

    /// A state name (see [`State`]'s `FromStr`), or `default`.
    pub fn state(&self, name: &str, default: State) -> Result<State, CheckError> {
        self.parse(name, default)
    }

    /// A duration: a number with unit `ms`, `s`, `m` (or `min`) or `h`, or a plain
    /// number of seconds (`10s`, `500ms`, `2m`, `1.5`); or `default`.
    pub fn duration(&self, name: &str, default: Duration) -> Result<Duration, CheckError> {
        let Some(raw) = self.get(name) else { return Ok(default) };
        parse_duration(raw).ok_or_else(|| bad_param(name, "a duration such as 10s, 500ms, 2m or 1.5 (seconds)", raw))
    }

    /// A threshold range in the plugin syntax (`10`, `10:`, `~:10`, `10:20`,
    /// `@10:20`), or `None` when not given.
    pub fn range(&self, name: &str) -> Result<Option<Range>, CheckError> {
        let Some(raw) = self.get(name) else { return Ok(None) };
        Range::parse(raw).map(Some).map_err(|e| invalid_param(name, e))
    }

    /// A percentage (`20%`, 0 to 100) or a size with unit (`10GiB`, see
    /// [`parse_bytes`]), or `None` when not given.
    pub fn amount(&self, name: &str) -> Result<Option<Amount>, CheckError> {
        let Some(raw) = self.get(name) else { return Ok(None) };
        let t = raw.trim();
        let parsed = match t.strip_suffix('%') {
            Some(p) => p.trim().parse::<f64>().ok().filter(|v| (0.0..=100.0).contains(v)).map(Amount::Percent),
            None => parse_bytes(t).map(Amount::Bytes),
        };
        parsed.map(Some).ok_or_else(|| {
            bad_param(
                name,
                "a percentage from 0% to 100% or a size such as 500MiB or 10GiB (units B, KiB, MiB, GiB, TiB)",
                raw,
            )
        })
    }

    /// Warning and critical ranges from two parameters (`-w`/`-c` style).
    pub fn thresholds(&self, warn_name: &str, crit_name: &str) -> Result<Thresholds, CheckError> {
        Ok(Thresholds { warn: self.range(warn_name)?, crit: self.range(crit_name)? })
    }

    /// Upper [`Levels`] (alert at or above) from two number parameters.
    ///
    /// A parameter not given takes its half of `default`; with no default, both
    /// must be given together, and none given means no levels.
    pub fn levels_upper(
        &self,
        warn_name: &str,
        crit_name: &str,
        default: Option<(f64, f64)>,
    ) -> Result<Levels, CheckError> {
        Ok(match self.level_pair(warn_name, crit_name, default)? {
            Some((w, c)) => Levels::upper(w, c),
            None => Levels::none(),
        })
    }

    /// Lower [`Levels`] (alert below) from two number parameters, with the same
    /// rules as [`Params::levels_upper`].
    pub fn levels_lower(
        &self,
        warn_name: &str,
        crit_name: &str,
        default: Option<(f64, f64)>,
    ) -> Result<Levels, CheckError> {
        Ok(match self.level_pair(warn_name, crit_name, default)? {
            Some((w, c)) => Levels::lower(w, c),
            None => Levels::none(),
        })
    }

    fn level_pair(
        &self,
        warn_name: &str,
        crit_name: &str,
        default: Option<(f64, f64)>,
    ) -> Result<Option<(f64, f64)>, CheckError> {
        let warn = self.optional_number(warn_name)?;
        let crit = self.optional_number(crit_name)?;
        let missing = |given: &str, missing: &str| {
            CheckError::BadParams(format!("parameter '{given}' is given without '{missing}': give both or neither"))
        };
        match (warn, crit, default) {
            (Some(w), Some(c), _) => Ok(Some((w, c))),
            (Some(w), None, Some((_, c))) => Ok(Some((w, c))),
            (None, Some(c), Some((w, _))) => Ok(Some((w, c))),
            (None, None, default) => Ok(default),
            (Some(_), None, None) => Err(missing(warn_name, crit_name)),
            (None, Some(_), None) => Err(missing(crit_name, warn_name)),
        }
    }
}

/// A threshold given either as a percentage or as an absolute size, as the
/// Monitoring Plugins' `check_disk -w 20%` or `-w 100` (see [`Params::amount`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    /// A percentage, 0 to 100.
    Percent(f64),
    /// A size in bytes.
    Bytes(f64),
}

impl std::fmt::Display for Amount {
    /// `20%` or the size in binary units, `10.00 GiB`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Amount::Percent(p) => f.write_str(&crate::render::percent(*p)),
            Amount::Bytes(b) => f.write_str(&crate::render::bytes(*b)),
        }
    }
}

/// Parses a size with a unit: `B`, `K`/`KB`/`KiB`, `M`/`MB`/`MiB`, `G`/`GB`/`GiB`,
/// `T`/`TB`/`TiB` (case-insensitive, a blank before the unit allowed). Every
/// unit is a power of 1024, as `check_disk -u MB` of the Monitoring Plugins
/// counts. A plain number without unit is refused, to avoid guessing.
///
/// ```
/// assert_eq!(wasmon_sdk::parse_bytes("1.5 GiB"), Some(1.5 * 1024.0 * 1024.0 * 1024.0));
/// assert_eq!(wasmon_sdk::parse_bytes("500MB"), Some(500.0 * 1024.0 * 1024.0));
/// assert_eq!(wasmon_sdk::parse_bytes("500"), None);
/// ```
pub fn parse_bytes(text: &str) -> Option<f64> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().ok().filter(|v: &f64| v.is_finite())?;
    let power = match unit.trim().to_ascii_lowercase().as_str() {
        "b" => 0,
        "k" | "kb" | "kib" => 1,
        "m" | "mb" | "mib" => 2,
        "g" | "gb" | "gib" => 3,
        "t" | "tb" | "tib" => 4,
        _ => return None,
    };
    Some(value * 1024f64.powi(power))
}

/// Parses `10s`, `500ms`, `2m`, `2min`, `1h`, `1.5` (seconds); not negative.
fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    if number.is_empty() {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(value * factor).ok()
}

#[cfg(test)]
mod tests;

//! Performance data by the Monitoring Plugins development guidelines:
//! `'label'=value[UOM];[warn];[crit];[min];[max]`, entries separated by
//! blanks.

use std::fmt;

use crate::outcome::{Metric, Range};

/// The units of measurement the guidelines allow: none (a plain number),
/// `s`/`ms`/`us` (time), `%`, `B`/`KB`/`MB`/`GB`/`TB` (bytes) and `c` (a
/// continuous counter). Compared case-sensitively, as written there.
pub const UNITS: [&str; 11] = ["", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"];

/// Longest part of a bad entry quoted in its message, in characters.
const QUOTED_MAX: usize = 60;

/// A performance data entry that does not follow the guidelines, and why.
/// It is left out of the metrics; its [`Display`](fmt::Display) is the line
/// the long output shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PerfdataError {
    /// The entry as the plugin wrote it.
    pub entry: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for PerfdataError {
    /// `Ignored bad performance data 'x=abc': value 'abc' is not a number`;
    /// a long entry is cut to its first 60 characters and `...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ignored bad performance data '{}': {}", shorten(&self.entry), self.reason)
    }
}

impl std::error::Error for PerfdataError {}

fn shorten(s: &str) -> String {
    match s.char_indices().nth(QUOTED_MAX) {
        Some((at, _)) => format!("{}...", &s[..at]),
        None => s.to_string(),
    }
}

/// Parses performance data text into metrics, in order, and the entries
/// that break the guidelines.
///
/// Entries are separated by whitespace. A label is quoted with `'` when it
/// holds blanks, `=` or `'` (written `''` inside the quotes); unquoted it
/// may hold anything but whitespace, `=` and `'`. The value is a decimal
/// number (an exponent is accepted) or `U` (the value could not be
/// determined: NaN, rendered back as `U`), directly followed by a unit:
/// one of [`UNITS`], or any other word of letters (`W`, `dBm`), kept as
/// written. Warn and crit are ranges ([`parse_range`]), min and max
/// numbers; each may be empty, trailing empty fields may be left out, and
/// empty fields after the fifth are ignored.
/// Everything is kept as written, units included.
pub fn parse_perfdata(text: &str) -> (Vec<Metric>, Vec<PerfdataError>) {
    let mut metrics = Vec::new();
    let mut errors = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let len = entry_len(rest);
        let entry = &rest[..len];
        match parse_entry(entry) {
            Ok(metric) => metrics.push(metric),
            Err(reason) => errors.push(PerfdataError { entry: entry.to_string(), reason }),
        }
        rest = rest[len..].trim_start();
    }
    (metrics, errors)
}

/// The length of the entry at the start of `s`: up to the first whitespace
/// outside a quoted label. An unclosed quote runs to the end.
fn entry_len(s: &str) -> usize {
    let mut start = 0;
    if s.starts_with('\'') {
        match closing_quote(s) {
            Some(end) => start = end + 1,
            None => return s.len(),
        }
    }
    s[start..].find(char::is_whitespace).map_or(s.len(), |i| start + i)
}

/// The byte index of the quote that closes the label opened at index 0,
/// skipping doubled quotes.
fn closing_quote(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

fn parse_entry(entry: &str) -> Result<Metric, String> {
    let (label, data) = if entry.starts_with('\'') {
        let end = closing_quote(entry).ok_or("the quote that opens the label is not closed")?;
        let label = entry[1..end].replace("''", "'");
        let data = entry[end + 1..]
            .strip_prefix('=')
            .ok_or_else(|| format!("expected '=' after the quoted label, found '{}'", &entry[end + 1..]))?;
        (label, data)
    } else {
        let (label, data) = entry.split_once('=').ok_or("no '=' between label and value")?;
        if label.contains('\'') {
            return Err(format!(
                "the label '{label}' holds a quote: quote the whole label and double the quote ('it''s')"
            ));
        }
        (label.to_string(), data)
    };
    if label.is_empty() {
        return Err("the label is empty".into());
    }
    let mut fields: Vec<&str> = data.split(';').collect();
    // Some plugins end every entry with a `;` (`a=1;2;3;4;5;`): empty
    // fields after the fifth say nothing.
    while fields.len() > 5 && fields.last() == Some(&"") {
        fields.pop();
    }
    if fields.len() > 5 {
        return Err(format!("{} fields, expected at most 5 (value;warn;crit;min;max)", fields.len()));
    }
    let field = |i: usize| fields.get(i).copied().unwrap_or_default();
    let (value, uom) = parse_value(field(0))?;
    let range = |i: usize, what: &str| -> Result<Option<Range>, String> {
        match field(i) {
            "" => Ok(None),
            text => parse_range(text).map(Some).map_err(|why| format!("{what} threshold '{text}' {why}")),
        }
    };
    let number = |i: usize, what: &str| -> Result<Option<f64>, String> {
        match field(i) {
            "" => Ok(None),
            text => parse_number(text).map(Some).ok_or_else(|| format!("{what} '{text}' is not a number")),
        }
    };
    Ok(Metric {
        label,
        value,
        uom,
        warn: range(1, "warning")?,
        crit: range(2, "critical")?,
        min: number(3, "minimum")?,
        max: number(4, "maximum")?,
    })
}

/// The value and its unit: a number directly followed by a unit of
/// letters or `%`, or `U`.
fn parse_value(text: &str) -> Result<(f64, String), String> {
    if text.is_empty() {
        return Err("no value after '='".into());
    }
    if text == "U" {
        return Ok((f64::NAN, String::new()));
    }
    let len = number_len(text);
    let (number, unit) = text.split_at(len);
    // A unit is letters or `%`; anything else after the digits (a comma,
    // a second point) means the number itself is malformed.
    if len == 0 || !unit.chars().all(|c| c.is_alphabetic() || c == '%') {
        return Err(format!("value '{text}' is not a number"));
    }
    let value = number.parse::<f64>().map_err(|_| format!("value '{text}' is not a number"))?;
    // A unit the guidelines do not list (`W`, `dBm`, `KiB`, `µs`) is kept
    // as written, not dropped: sinks normalise what they know and pass
    // the rest on (`crate::export::Unit::Other`).
    Ok((value, unit.to_string()))
}

/// The length of the decimal number at the start of `s`:
/// `-?(digits[.digits]|.digits)([eE][+-]?digits)?`, or 0.
fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = usize::from(b.first() == Some(&b'-'));
    let int_end = digits(i);
    let mut end = int_end;
    if b.get(end) == Some(&b'.') {
        end = digits(end + 1);
    }
    // At least one digit before or after the point.
    if end - i <= usize::from(b.get(int_end) == Some(&b'.')) {
        return 0;
    }
    i = end;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_end = digits(j);
        if exp_end > j {
            i = exp_end;
        }
    }
    i
}

/// A whole string that is a decimal number (see [`parse_perfdata`]).
fn parse_number(text: &str) -> Option<f64> {
    (number_len(text) == text.len() && !text.is_empty()).then(|| text.parse().ok()).flatten()
}

/// Parses a threshold range of the Monitoring Plugins guidelines: `10`
/// (0 to 10), `10:` (10 to infinity), `~:10` (negative infinity to 10),
/// `10:20`, and any of them after `@` to alert inside rather than outside.
/// An empty start (`:10`) is 0, as in the guidelines' reference
/// implementation. The start may not exceed the end.
pub fn parse_range(text: &str) -> Result<Range, String> {
    let (inside, body) = match text.strip_prefix('@') {
        Some(body) => (true, body),
        None => (false, text),
    };
    let bound = |s: &str| parse_number(s).ok_or_else(|| format!("is not a range: '{s}' is not a number"));
    let (start, end) = match body.split_once(':') {
        None if body.is_empty() => return Err("is not a range: it is empty".into()),
        None => (Some(0.0), Some(bound(body)?)),
        Some((start, end)) => {
            let start = match start {
                "~" => None,
                "" => Some(0.0),
                s => Some(bound(s)?),
            };
            let end = match end {
                "" => None,
                e => Some(bound(e)?),
            };
            (start, end)
        }
    };
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err("is not a range: the start is greater than the end".into());
    }
    Ok(Range { start, end, inside })
}

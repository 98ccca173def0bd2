//! The one sanitiser for every text a check or an API client provides:
//! summaries and long output, metric labels and units, log lines, event
//! handler output, comments. Whatever enters through a check run
//! (the sandbox), a passive result or the API passes through here
//! before it is stored, logged or printed, so no guest or client can forge
//! a line of plugin output, inject performance data, write terminal escape
//! sequences to the daemon's log or outgrow the output limit.
//!
//! The rules:
//! - Text: control characters are dropped except line breaks and tabs
//!   (a CR, a NUL or an ESC never gets through); `|`, which would start
//!   performance data, becomes `¦`.
//! - One-line text (log lines, authors): line breaks and tabs become blanks
//!   too, and the text is cut to a bounded length.
//! - Labels: at most [`MAX_LABEL_LEN`] bytes, control characters and line
//!   breaks become blanks, `=` (which perfdata readers split on) becomes
//!   `_` and `|` becomes `¦`; a label with blanks, quotes, `|` or `;` is quoted when rendered,
//!   a quote doubled, as the plugin guidelines require.
//! - Units: letters and `%` only, at most [`MAX_UNIT_LEN`] bytes: a blank,
//!   digit, `;` or quote can never start another metric or field.
//! - Numbers: a value that is NaN or infinite is unknown (`U`); a minimum
//!   or maximum that is not finite is left out; a range with a NaN bound,
//!   an impossible infinite bound or a start above its end is left out. No
//!   `NaN` or `inf` is ever printed as performance data.
//! - Size: summary, performance data and long output together fit the
//!   output limit (`fit_output`); metrics count against it.

use std::borrow::Cow;
use std::time::Duration;

use crate::outcome::{Metric, Outcome, Range};
use crate::sandbox::policy::Limits;

/// The text that marks cut output.
pub(crate) const TRUNCATED: &str = "(output truncated)";
/// Longest metric label, in bytes.
pub const MAX_LABEL_LEN: usize = 128;
/// Longest unit of measurement, in bytes.
pub const MAX_UNIT_LEN: usize = 16;
/// Longest comment or author of an acknowledgement or a downtime, in bytes.
pub const MAX_COMMENT_LEN: usize = 4096;
/// Longest duration accepted anywhere (configuration, command line, API):
/// ten years. Longer ones are refused, not turned into a panic when a
/// deadline is computed.
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 31_557_600);
/// Latest time accepted (the end of year 9999, as RFC 3339 can write it),
/// in seconds since the UNIX epoch.
pub const MAX_TIME_SECS: f64 = 253_402_300_799.0;
/// Room kept after the performance data for the notes on what was cut.
const NOTE_ROOM: usize = 96;

/// Multi-line text: control characters dropped but for line breaks and
/// tabs, `|` replaced by `¦`. Borrowed when nothing changes.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '|') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .filter(|&c| !c.is_control() || c == '\n' || c == '\t')
            .map(|c| if c == '|' { '¦' } else { c })
            .collect(),
    )
}

/// One line of at most `max` bytes: [`text`], with line breaks and tabs as
/// blanks. Cut text ends in ` (truncated)`.
pub fn line(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .filter_map(|c| match c {
            '\n' | '\t' => Some(' '),
            '|' => Some('¦'),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    if out.len() > max {
        cut(&mut out, max);
        out.push_str(" (truncated)");
    }
    out
}

/// Multi-line [`text`] of at most `max` bytes (comments, authors).
pub fn bounded_text(s: &str, max: usize) -> String {
    let mut out = text(s).into_owned();
    if out.len() > max {
        cut(&mut out, max);
        out.push_str(" (truncated)");
    }
    out
}

/// A metric label: at most [`MAX_LABEL_LEN`] bytes, no control characters
/// or line breaks (blanks instead), no `=` (`_` instead) or `|` (`¦`),
/// never empty.
pub fn label(s: &str) -> Cow<'_, str> {
    let clean = |c: char| !c.is_control() && c != '=' && c != '|' && (c == ' ' || !c.is_whitespace());
    if !s.is_empty() && s.len() <= MAX_LABEL_LEN && s.chars().all(clean) {
        return Cow::Borrowed(s);
    }
    let mut out: String = s
        .chars()
        .map(|c| match c {
            '=' => '_',
            '|' => '¦',
            c if c.is_control() || c.is_whitespace() => ' ',
            c => c,
        })
        .collect();
    cut(&mut out, MAX_LABEL_LEN);
    if out.is_empty() {
        out.push('_');
    }
    Cow::Owned(out)
}

/// A unit of measurement: its letters and `%`, at most [`MAX_UNIT_LEN`]
/// bytes.
pub fn unit(s: &str) -> Cow<'_, str> {
    let clean = |c: char| c.is_alphabetic() || c == '%';
    if s.len() <= MAX_UNIT_LEN && s.chars().all(clean) {
        return Cow::Borrowed(s);
    }
    let mut out: String = s.chars().filter(|&c| clean(c)).collect();
    cut(&mut out, MAX_UNIT_LEN);
    Cow::Owned(out)
}

/// A range that can be printed and means what it says, or `None`: a NaN
/// bound, a start of +∞ or an end of -∞ or a start above the end drop the
/// range; a start of -∞ or an end of +∞ are the open ends they mean.
pub fn range(r: Range) -> Option<Range> {
    let start = match r.start {
        Some(s) if s.is_nan() || s == f64::INFINITY => return None,
        Some(s) if s == f64::NEG_INFINITY => None,
        s => s,
    };
    let end = match r.end {
        Some(e) if e.is_nan() || e == f64::NEG_INFINITY => return None,
        Some(e) if e == f64::INFINITY => None,
        e => e,
    };
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return None;
    }
    Some(Range { start, end, inside: r.inside })
}

/// A metric as it may be kept: label, unit and numbers by the rules above.
pub fn metric(m: Metric) -> Metric {
    Metric {
        label: label(&m.label).into_owned(),
        value: if m.value.is_finite() { m.value } else { f64::NAN },
        uom: unit(&m.uom).into_owned(),
        warn: m.warn.and_then(range),
        crit: m.crit.and_then(range),
        min: m.min.filter(|v| v.is_finite()),
        max: m.max.filter(|v| v.is_finite()),
    }
}

/// Most perfdata diagnostics kept per result.
const MAX_PERFDATA_ERRORS: usize = 11;
/// Longest perfdata diagnostic, in bytes.
const MAX_PERFDATA_ERROR_LEN: usize = 256;

/// Keeps an outcome within the limits: text sanitised, one summary line,
/// at most `limits.metrics` metrics, and summary, performance data (as
/// rendered, with the ` | ` before them) and long output together within
/// `limits.output` bytes. The summary comes first, then the metrics, then
/// the long output; what is cut is marked, and dropped metrics are
/// counted in the long output.
pub(crate) fn fit_output(o: &mut Outcome, limits: &Limits) {
    // The diagnostics quote the check's own entries: one clean line each,
    // as many as the parser names (ten and a count).
    o.perfdata_errors = std::mem::take(&mut o.perfdata_errors)
        .into_iter()
        .take(MAX_PERFDATA_ERRORS)
        .map(|l| line(&l, MAX_PERFDATA_ERROR_LEN))
        .collect();
    let mut summary = text(&o.summary).into_owned();
    let mut long = o.long_output.as_deref().map(|l| text(l).into_owned());
    if let Some((first, rest)) = summary.split_once('\n') {
        let rest = rest.to_string();
        summary = first.trim_end().to_string();
        long = Some(match long {
            Some(l) => format!("{rest}\n{l}"),
            None => rest,
        });
    }
    let mut metrics: Vec<Metric> = std::mem::take(&mut o.metrics).into_iter().map(metric).collect();
    let over_count = metrics.len().saturating_sub(limits.metrics);
    metrics.truncate(limits.metrics);
    let budget = limits.output.max(TRUNCATED.len() + 2);
    let mut truncated = over_count > 0;
    if summary.len() > budget {
        cut(&mut summary, budget - TRUNCATED.len() - 1);
        summary.push(' ');
        summary.push_str(TRUNCATED);
        o.summary = summary;
        o.long_output = None;
        o.metrics = Vec::new();
        o.truncated = true;
        return;
    }
    // Performance data next, as `plugin_output` renders it, leaving room
    // for the notes.
    let room = budget.saturating_sub(NOTE_ROOM);
    let mut used = summary.len();
    let mut kept = 0;
    for m in &metrics {
        let len = m.perfdata().len() + if kept == 0 { 3 } else { 1 };
        if used + len > room {
            break;
        }
        used += len;
        kept += 1;
    }
    let over_size = metrics.len() - kept;
    metrics.truncate(kept);
    let mut notes = Vec::new();
    if over_count > 0 {
        notes.push(format!("({over_count} metrics over the limit of {} were dropped)", limits.metrics));
    }
    if over_size > 0 {
        notes.push(format!(
            "({over_size} metrics over the output limit of {} were dropped)",
            crate::output::human_bytes(limits.output as u64)
        ));
        truncated = true;
    }
    let note = (!notes.is_empty()).then(|| notes.join("\n"));
    let mut text = long.unwrap_or_default();
    if let Some(note) = &note {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(note);
    }
    // The long output follows the summary after a line break.
    let room = budget.saturating_sub(used + 1);
    if text.len() > room {
        let tail = match &note {
            Some(note) => format!("\n{TRUNCATED}\n{note}"),
            None => format!("\n{TRUNCATED}"),
        };
        cut(&mut text, room.saturating_sub(tail.len()));
        text.push_str(&tail);
        cut(&mut text, room);
        truncated = true;
    }
    o.summary = summary;
    o.long_output = Some(text).filter(|l| !l.is_empty());
    o.metrics = metrics;
    o.truncated = truncated;
}

/// A number of seconds as a duration of at most `max`: `None` for NaN,
/// negative numbers and anything longer.
pub fn seconds(secs: f64, max: Duration) -> Option<Duration> {
    Duration::try_from_secs_f64(secs).ok().filter(|d| *d <= max)
}

/// Cuts `s` to at most `len` bytes, on a character boundary.
pub(crate) fn cut(s: &mut String, len: usize) {
    if s.len() <= len {
        return;
    }
    let mut at = len;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s.truncate(at);
}

#[cfg(test)]
mod tests;

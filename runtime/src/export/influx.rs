//! InfluxDB line protocol, in Icinga 2's scheme: measurement = the check,
//! tags `host`, `service` (absent for a host result), `metric` (the
//! label) and `unit` (when there is one: a tag, not Icinga 2's string
//! field, which stores a bogus 0 series in VictoriaMetrics), fields
//! `value`, `warn`, `crit`, `min`, `max` (the high end of a range, as
//! Icinga 2 writes it) plus `warn_low`, `crit_low`, `warn_inside`,
//! `crit_inside`.
//! An unknown value (`U`) is written as the field `unknown=true` without
//! `value`. Metadata points go to the measurement of the check with the
//! tag `metadata` instead of `metric`.
//!
//! ```text
//! dummy,host=web1,service=Disk\ C:/,metric=C:/\ used,unit=B value=1200000000.0,warn=1600000000.0 1765101600000000000
//! ```
//!
//! Escaping, as InfluxDB 1.x, 2.x and VictoriaMetrics parse it: in the
//! measurement `,` and space get a backslash; in tag keys, tag values and
//! field keys `,`, `=` and space do. A backslash that would read as an
//! escape (before one of those or at the end, the `C:\` case that breaks
//! whole batches elsewhere) becomes `/`, other backslashes stay. Line
//! breaks, tabs and other control characters become a space. An empty tag
//! value is left out (the protocol has none). The timestamp is in the precision the URL asks for
//! (`precision=s|ms|u|ns`, default ns).

use super::sink::Format;
use super::spool::Record;
use super::{Origin, Point};

/// The timestamp unit a write URL asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// Seconds.
    Seconds,
    /// Milliseconds.
    Millis,
    /// Microseconds.
    Micros,
    /// Nanoseconds (the protocol's default).
    Nanos,
}

/// The line protocol encoder.
#[derive(Clone, Debug)]
pub struct Influx {
    /// The timestamps' unit.
    pub precision: Precision,
}

impl Influx {
    /// The encoder for a write URL (its `precision` parameter).
    pub fn for_url(url: &str) -> Influx {
        let precision = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.query_pairs().find(|(k, _)| k == "precision").map(|(_, v)| v.into_owned()));
        let precision = match precision.as_deref() {
            Some("s") => Precision::Seconds,
            Some("ms") => Precision::Millis,
            Some("u") | Some("us") => Precision::Micros,
            _ => Precision::Nanos,
        };
        Influx { precision }
    }

    /// One point as one line (with its newline); `None` if it has no
    /// field to write.
    pub fn line(&self, p: &Point) -> Option<String> {
        let mut s = String::with_capacity(128);
        escape(&mut s, &p.check, &[',', ' ']);
        tag(&mut s, "host", &p.host);
        if let Some(svc) = &p.service {
            tag(&mut s, "service", svc);
        }
        tag(&mut s, if p.origin == Origin::Metadata { "metadata" } else { "metric" }, &p.label);
        tag(&mut s, "unit", p.unit.symbol());
        let mut fields = Vec::new();
        if p.known() {
            fields.push(("value".to_string(), number(p.value)));
        } else {
            fields.push(("unknown".to_string(), "true".to_string()));
        }
        for (name, v) in p.thresholds() {
            let v = if name.ends_with("_inside") { "true".to_string() } else { number(v) };
            fields.push((name.to_string(), v));
        }
        s.push(' ');
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(k);
            s.push('=');
            s.push_str(v);
        }
        let ts = match self.precision {
            Precision::Seconds => p.t.floor() as i64,
            Precision::Millis => (p.t * 1e3).round() as i64,
            Precision::Micros => (p.t * 1e6).round() as i64,
            Precision::Nanos => (p.t * 1e6).round() as i64 * 1000,
        };
        s.push(' ');
        s.push_str(&ts.to_string());
        s.push('\n');
        Some(s)
    }
}

impl Format for Influx {
    fn encode(&self, p: &Point, out: &mut Vec<Record>) {
        out.extend(self.line(p).map(String::into_bytes));
    }
}

/// `,key=value` unless the value is empty.
fn tag(s: &mut String, key: &str, value: &str) {
    if value.is_empty() {
        return;
    }
    s.push(',');
    escape(s, key, &[',', '=', ' ']);
    s.push('=');
    escape(s, value, &[',', '=', ' ']);
}

/// Appends `text` with `special` escaped, control characters as spaces
/// (escaped too) and ambiguous backslashes as `/`.
fn escape(s: &mut String, text: &str, special: &[char]) {
    let chars: Vec<char> = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '\\' {
            let next = chars.get(i + 1);
            if next.is_none_or(|n| special.contains(n) || *n == '\\') {
                s.push('/');
                continue;
            }
        }
        if special.contains(&c) {
            s.push('\\');
        }
        s.push(c);
    }
}

/// A float field: always with a decimal point or exponent (so InfluxDB
/// types it float, never integer).
fn number(v: f64) -> String {
    let s = format!("{v:?}");
    if s.contains(['.', 'e', 'E']) { s } else { format!("{s}.0") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::{awkward, point};

    #[test]
    fn lines_for_awkward_labels() {
        let f = Influx { precision: Precision::Seconds };
        let p = point("C:\\", 1.5, "GB");
        assert_eq!(
            f.line(&p).unwrap(),
            "dummy,host=web\\ 1,service=Disk\\,\\ all,metric=C:/,unit=B value=1500000000.0,warn=1000000000.0,\
             warn_low=10000000.0,crit=2000000000.0,crit_inside=true,min=0.0 1765101600\n"
        );
        let expected = [
            "with\\ space",
            "comma\\,here",
            "equals\\=sign",
            "\"quoted\"",
            "back\\slash",
            "ends/",
            "a.b",
            "c:d",
            "Größe",
            "new\\ line",
            "double//",
        ];
        for (label, want) in awkward().iter().zip(expected) {
            let line = f.line(&point(label, 1.0, "")).unwrap();
            assert!(line.contains(&format!(",metric={want} value=1.0")), "{label:?}: {line}");
            assert_eq!(line.matches('\n').count(), 1, "{line}");
        }
    }

    #[test]
    fn unknown_values_and_units_are_kept() {
        let f = Influx { precision: Precision::Nanos };
        let mut p = point("power", f64::NAN, "W");
        p.warn = None;
        p.crit = None;
        p.min = None;
        assert_eq!(
            f.line(&p).unwrap(),
            "dummy,host=web\\ 1,service=Disk\\,\\ all,metric=power,unit=W unknown=true 1765101600000000000\n"
        );
        assert_eq!(Influx::for_url("http://x/write?db=a&precision=s").precision, Precision::Seconds);
        assert_eq!(Influx::for_url("http://x/write?db=a").precision, Precision::Nanos);
    }
}

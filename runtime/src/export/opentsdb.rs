//! OpenTSDB: `wasmon.service.<label>` (`wasmon.host.<label>` for a host
//! result, `wasmon.meta.<name>` for metadata) with the tags `host`,
//! `service` and `check`, and `unit` when the point has one; thresholds as
//! `<metric>.warn`, `.crit`, `.min`, `.max` (and `.warn_low`, `.crit_low`,
//! `.warn_inside`, `.crit_inside`). Sent as gzip JSON to `/api/put`
//! (millisecond timestamps) or as telnet `put` lines (seconds).
//!
//! ```text
//! put wasmon.service.C__ 1765101600 1500000000 host=web_1 service=Disk__all check=dummy unit=B
//! ```
//!
//! OpenTSDB allows only `[A-Za-z0-9-_./]` in names and tag values: every
//! other character becomes `_` (an empty value becomes `_`). A `U` is not
//! written (OpenTSDB has no unknown value), its thresholds are.
//!
//! `denormalize` rules are tsdbrelay's: `METRIC__TAG[__TAG…]` adds, for
//! each point of METRIC, a copy named `__<value of TAG>[.<value>…].METRIC`
//! with the same tags (Opserver's fast host-in-name series).

use serde_json::{Map, Value, json};

use super::sink::Format;
use super::spool::Record;
use super::{Origin, Point};

/// A tsdbrelay denormalisation rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denormal {
    /// The metric it applies to.
    pub metric: String,
    /// The tags whose values go into the copy's name, in order.
    pub tags: Vec<String>,
}

impl Denormal {
    /// Parses `os.cpu__host` (a metric, then `__` and a tag name, once or more).
    pub fn parse(rule: &str) -> Result<Denormal, String> {
        let mut parts = rule.split("__");
        let metric = parts.next().unwrap_or_default().to_string();
        let tags: Vec<String> = parts.map(str::to_string).collect();
        if metric.is_empty() || tags.is_empty() || tags.iter().any(String::is_empty) {
            return Err(format!(
                "expected METRIC__TAG such as \"wasmon.service.load1__host\" (a metric, then one or more tag names each after \"__\"), found \"{rule}\""
            ));
        }
        Ok(Denormal { metric, tags })
    }
}

/// The OpenTSDB encoder.
#[derive(Clone, Debug)]
pub struct OpenTsdb {
    /// `put` lines instead of JSON.
    pub telnet: bool,
    /// The denormalisation rules.
    pub denormalize: Vec<Denormal>,
}

/// One OpenTSDB data point.
#[derive(Clone, Debug, PartialEq)]
pub struct DataPoint {
    /// The metric name.
    pub metric: String,
    /// Seconds since the epoch (fractional).
    pub t: f64,
    /// The value.
    pub value: f64,
    /// The tags, in order.
    pub tags: Vec<(&'static str, String)>,
}

impl OpenTsdb {
    /// The data points of a point: the value, its thresholds and their
    /// denormalised copies.
    pub fn data_points(&self, p: &Point) -> Vec<DataPoint> {
        let scope = match (p.origin, &p.service) {
            (Origin::Metadata, _) => "meta",
            (_, Some(_)) => "service",
            (_, None) => "host",
        };
        let metric = format!("wasmon.{scope}.{}", clean(&p.label));
        let mut tags = vec![("host", clean(&p.host))];
        if let Some(s) = &p.service {
            tags.push(("service", clean(s)));
        }
        tags.push(("check", clean(&p.check)));
        if !p.unit.symbol().is_empty() {
            tags.push(("unit", clean(p.unit.symbol())));
        }
        let mut out = Vec::new();
        if p.known() {
            out.push(DataPoint { metric: metric.clone(), t: p.t, value: p.value, tags: tags.clone() });
        }
        for (name, v) in p.thresholds() {
            out.push(DataPoint { metric: format!("{metric}.{name}"), t: p.t, value: v, tags: tags.clone() });
        }
        let mut copies = Vec::new();
        for d in &out {
            for rule in self.denormalize.iter().filter(|r| r.metric == d.metric) {
                let values: Option<Vec<&str>> = rule
                    .tags
                    .iter()
                    .map(|t| d.tags.iter().find(|(k, _)| *k == t.as_str()).map(|(_, v)| v.as_str()))
                    .collect();
                if let Some(values) = values {
                    let mut c = d.clone();
                    c.metric = format!("__{}.{}", values.join("."), d.metric);
                    copies.push(c);
                }
            }
        }
        out.extend(copies);
        out
    }
}

impl DataPoint {
    /// A telnet `put` line, with its newline.
    pub fn put_line(&self) -> String {
        let tags: Vec<String> = self.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("put {} {} {} {}\n", self.metric, self.t.floor() as i64, self.value, tags.join(" "))
    }

    /// The JSON object `/api/put` takes.
    pub fn json(&self) -> Value {
        let tags: Map<String, Value> = self.tags.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        json!({ "metric": self.metric, "timestamp": (self.t * 1000.0).round() as i64, "value": self.value, "tags": tags })
    }
}

impl Format for OpenTsdb {
    fn encode(&self, p: &Point, out: &mut Vec<Record>) {
        let points = self.data_points(p);
        if points.is_empty() {
            return;
        }
        let record = if self.telnet {
            points.iter().map(DataPoint::put_line).collect::<String>()
        } else {
            points.iter().map(|d| d.json().to_string()).collect::<Vec<_>>().join(",")
        };
        out.push(record.into_bytes());
    }

    fn body(&self, records: &[Record]) -> Vec<u8> {
        if self.telnet {
            return records.concat();
        }
        let mut body = Vec::with_capacity(records.iter().map(Vec::len).sum::<usize>() + records.len() + 2);
        body.push(b'[');
        for (i, r) in records.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(r);
        }
        body.push(b']');
        body
    }
}

/// A name or tag value with only `[A-Za-z0-9-_./]`; never empty.
pub fn clean(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/') { c } else { '_' })
        .collect();
    if s.is_empty() { "_".to_string() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::{awkward, point};

    #[test]
    fn names_and_tags_for_awkward_labels() {
        let f = OpenTsdb { telnet: true, denormalize: Vec::new() };
        let p = point("C:\\", 1.5, "GB");
        let lines: String = f.data_points(&p).iter().map(DataPoint::put_line).collect();
        let tags = "host=web_1 service=Disk__all check=dummy unit=B";
        assert_eq!(
            lines,
            format!(
                "put wasmon.service.C__ 1765101600 1500000000 {tags}\n\
                 put wasmon.service.C__.warn 1765101600 1000000000 {tags}\n\
                 put wasmon.service.C__.warn_low 1765101600 10000000 {tags}\n\
                 put wasmon.service.C__.crit 1765101600 2000000000 {tags}\n\
                 put wasmon.service.C__.crit_inside 1765101600 1 {tags}\n\
                 put wasmon.service.C__.min 1765101600 0 {tags}\n"
            )
        );
        let expected = [
            "with_space",
            "comma_here",
            "equals_sign",
            "_quoted_",
            "back_slash",
            "ends_",
            "a.b",
            "c_d",
            "Gr__e",
            "new_line",
            "double__",
        ];
        for (label, want) in awkward().iter().zip(expected) {
            let mut p = point(label, 2.0, "");
            (p.warn, p.crit, p.min) = (None, None, None);
            let d = f.data_points(&p);
            assert_eq!(d.len(), 1);
            assert_eq!(d[0].metric, format!("wasmon.service.{want}"), "{label:?}");
        }
    }

    #[test]
    fn json_batches_and_rules() {
        let rule = Denormal::parse("wasmon.service.load1__host").unwrap();
        let f = OpenTsdb { telnet: false, denormalize: vec![rule] };
        let mut p = point("load1", 0.5, "");
        (p.warn, p.crit, p.min) = (None, None, None);
        let mut records = Vec::new();
        f.encode(&p, &mut records);
        f.encode(&p, &mut records);
        let body: Value = serde_json::from_slice(&f.body(&records)).unwrap();
        assert_eq!(body.as_array().unwrap().len(), 4);
        assert_eq!(body[1]["metric"], "__web_1.wasmon.service.load1");
        assert_eq!(
            body[2],
            json!({"metric": "wasmon.service.load1", "timestamp": 1765101600000i64, "value": 0.5,
                   "tags": {"host": "web_1", "service": "Disk__all", "check": "dummy"}})
        );
        assert!(Denormal::parse("os.cpu").is_err());
        assert!(Denormal::parse("os.cpu__").is_err());
        assert_eq!(Denormal::parse("os.cpu__host__x").unwrap().tags, ["host", "x"]);
    }
}

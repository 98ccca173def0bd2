//! OTLP/HTTP protobuf (`ExportMetricsServiceRequest`, the official
//! `opentelemetry-proto` types): every point is a gauge data point.
//!
//! - resource attributes: `service.name` = "wasmon", `host.name` = the
//!   host, `wasmon.service.name` = the service (absent for a host result);
//! - scope `wasmon`;
//! - the value as the metric `wasmon.perfdata` with the data point
//!   attributes `label` (as the check wrote it) and `check`, and the
//!   metric's `unit` in UCUM (`s`, `By`, `%`, `{count}`, or as written);
//! - thresholds as the metric `wasmon.threshold`, same attributes plus
//!   `threshold` (warn, crit, min, max), and for warn and crit `bound`
//!   (low, high) and `inside`;
//! - metadata as `wasmon.check.<name>` (`state`, `state_type`, `attempt`,
//!   `execution_time`, `latency`);
//! - an unknown value (`U`) as a data point without a value, flagged
//!   "no recorded value".
//!
//! Protobuf strings hold any text, so labels are sent exactly. Each point
//! is encoded alone as a request; a batch is their concatenation, which
//! protobuf reads as one request with all their resource metrics.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use super::sink::Format;
use super::spool::Record;
use super::{Origin, Point, Unit};

/// The OTLP encoder.
#[derive(Clone, Copy, Debug, Default)]
pub struct Otlp;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.to_string())) }),
        ..Default::default()
    }
}

/// The UCUM unit of a point.
pub fn ucum(unit: &Unit) -> &str {
    match unit {
        Unit::None => "",
        Unit::Seconds => "s",
        Unit::Bytes => "By",
        Unit::Percent => "%",
        Unit::Counter => "{count}",
        Unit::Other(u) => u,
    }
}

impl Otlp {
    /// The request that carries one point.
    pub fn request(&self, p: &Point) -> ExportMetricsServiceRequest {
        let time_unix_nano = (p.t * 1e6).round() as u64 * 1000;
        let point = |attributes: Vec<KeyValue>, v: Option<f64>| NumberDataPoint {
            attributes,
            time_unix_nano,
            value: v.map(number_data_point::Value::AsDouble),
            flags: if v.is_some() { 0 } else { 1 },
            ..Default::default()
        };
        let gauge = |name: String, points: Vec<NumberDataPoint>| Metric {
            name,
            unit: ucum(&p.unit).to_string(),
            data: Some(metric::Data::Gauge(Gauge { data_points: points })),
            ..Default::default()
        };
        let base = vec![kv("label", &p.label), kv("check", &p.check)];
        let value = p.known().then_some(p.value);
        let mut metrics = Vec::new();
        if p.origin == Origin::Metadata {
            metrics.push(gauge(format!("wasmon.check.{}", p.label), vec![point(vec![kv("check", &p.check)], value)]));
        } else {
            metrics.push(gauge("wasmon.perfdata".into(), vec![point(base.clone(), value)]));
            let mut thresholds = Vec::new();
            for (name, b) in [("warn", p.warn), ("crit", p.crit)] {
                let Some(b) = b else { continue };
                for (bound, v) in [("low", b.low), ("high", b.high)] {
                    let Some(v) = v.filter(|v| v.is_finite()) else { continue };
                    let mut a = base.clone();
                    a.extend([kv("threshold", name), kv("bound", bound), kv("inside", &b.inside.to_string())]);
                    thresholds.push(point(a, Some(v)));
                }
            }
            for (name, v) in [("min", p.min), ("max", p.max)] {
                if let Some(v) = v.filter(|v| v.is_finite()) {
                    let mut a = base.clone();
                    a.push(kv("threshold", name));
                    thresholds.push(point(a, Some(v)));
                }
            }
            if !thresholds.is_empty() {
                metrics.push(gauge("wasmon.threshold".into(), thresholds));
            }
        }
        let mut attributes = vec![kv("service.name", "wasmon"), kv("host.name", &p.host)];
        if let Some(s) = &p.service {
            attributes.push(kv("wasmon.service.name", s));
        }
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource { attributes, ..Default::default() }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope { name: "wasmon".into(), ..Default::default() }),
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }
}

impl Format for Otlp {
    fn encode(&self, p: &Point, out: &mut Vec<Record>) {
        out.push(self.request(p).encode_to_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::{awkward, point};

    fn string(v: &Option<AnyValue>) -> &str {
        match v.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => s,
            _ => panic!("not a string: {v:?}"),
        }
    }

    #[test]
    fn a_batch_decodes_as_one_request_with_labels_exact() {
        let mut records = Vec::new();
        for label in awkward() {
            Otlp.encode(&point(label, 1.5, "GB"), &mut records);
        }
        Otlp.encode(&point("unknown", f64::NAN, "dBm"), &mut records);
        let body = Otlp.body(&records);
        let req = ExportMetricsServiceRequest::decode(body.as_slice()).unwrap();
        assert_eq!(req.resource_metrics.len(), awkward().len() + 1);
        for (rm, label) in req.resource_metrics.iter().zip(awkward()) {
            let attrs = &rm.resource.as_ref().unwrap().attributes;
            assert_eq!(string(&attrs[1].value), "web 1");
            assert_eq!(string(&attrs[2].value), "Disk, all");
            let m = &rm.scope_metrics[0].metrics;
            assert_eq!((m[0].name.as_str(), m[0].unit.as_str()), ("wasmon.perfdata", "By"));
            let Some(metric::Data::Gauge(g)) = &m[0].data else { panic!() };
            assert_eq!(string(&g.data_points[0].attributes[0].value), label);
            assert_eq!(g.data_points[0].value, Some(number_data_point::Value::AsDouble(1.5e9)));
            assert_eq!(g.data_points[0].time_unix_nano, 1_765_101_600_000_000_000);
            let Some(metric::Data::Gauge(t)) = &m[1].data else { panic!() };
            assert_eq!(t.data_points.len(), 4, "warn low and high, crit high, min");
        }
        let last = req.resource_metrics.last().unwrap();
        let m = &last.scope_metrics[0].metrics[0];
        assert_eq!(m.unit, "dBm");
        let Some(metric::Data::Gauge(g)) = &m.data else { panic!() };
        assert_eq!((g.data_points[0].value, g.data_points[0].flags), (None, 1));
    }
}

//! The Prometheus text exposition (`GET /metrics` on the sink's `listen`),
//! rendered at scrape time from the latest point of every series, without
//! timestamps (Prometheus stamps the scrape).
//!
//! One family per base unit, with the labels `host`, `service` (empty for
//! a host result), `check` and `label`:
//!
//! | unit | family |
//! |---|---|
//! | s, ms, us, µs, ns | `wasmon_metric_seconds` |
//! | B, KB, …, KiB, … | `wasmon_metric_bytes` |
//! | % | `wasmon_metric_ratio` (divided by 100) |
//! | c | `wasmon_metric_total` (a counter) |
//! | none, or another unit | `wasmon_metric` (another unit in the label `unit`) |
//!
//! Thresholds go to `wasmon_threshold_seconds`, `…_bytes`, `…_ratio` or
//! `wasmon_threshold` with the labels above plus `threshold` (warn, crit,
//! min, max) and for warn and crit `bound` (low, high) and `inside`.
//! Metadata: `wasmon_check_state`, `wasmon_check_state_type` (1 HARD),
//! `wasmon_check_attempt`, `wasmon_check_execution_seconds`,
//! `wasmon_check_latency_seconds`. wasmon's own sink counters are
//! `wasmon_sink_sent_total`, `…_dropped_total`, `…_rejected_total`,
//! `…_retries_total`, `wasmon_sink_queued_points` and
//! `wasmon_sink_spooled_points`, labelled `sink` and `type`.
//!
//! ```text
//! wasmon_metric_bytes{host="web 1",service="Disk, all",check="dummy",label="C:\\"} 1.5e9
//! ```
//!
//! Label values escape `\`, `"` and line breaks as the format says; any
//! other text is kept, so every label is held exactly. A `U` is `NaN`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::queue::Queue;
use super::{Counters, Origin, Point, Selection, SinkHandle, Unit, sink_error};
use crate::config::model::Sink as SinkConfig;
use crate::error::Error;

type Key = (Arc<str>, Option<Arc<str>>, String, bool);

/// The latest point of every series, rendered at scrape time.
#[derive(Default)]
pub struct Exposition {
    latest: HashMap<Key, Point>,
}

/// A family: its name, type and help.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
}

const fn family(name: &'static str, kind: &'static str, help: &'static str) -> Family {
    Family { name, kind, help }
}

impl Exposition {
    /// Keeps `p` as its series' latest point.
    pub fn update(&mut self, p: Point) {
        let key = (p.host.clone(), p.service.clone(), p.label.clone(), p.origin == Origin::Metadata);
        self.latest.insert(key, p);
    }

    /// The exposition text; `sinks` adds every sink's own counters.
    pub fn render(&self, sinks: &[SinkHandle]) -> String {
        let mut families: BTreeMap<&'static str, (Family, Vec<String>)> = BTreeMap::new();
        let mut add = |f: Family, labels: String, value: f64| {
            families.entry(f.name).or_insert_with(|| (f, Vec::new())).1.push(format!("{labels} {}", number(value)));
        };
        for p in self.latest.values() {
            let mut labels = String::new();
            label(&mut labels, "host", &p.host);
            label(&mut labels, "service", p.service.as_deref().unwrap_or(""));
            label(&mut labels, "check", &p.check);
            if p.origin == Origin::Metadata {
                let f = match p.label.as_str() {
                    "state" => family(
                        "wasmon_check_state",
                        "gauge",
                        "The check's state: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
                    ),
                    "state_type" => family("wasmon_check_state_type", "gauge", "The state type: 0 SOFT, 1 HARD."),
                    "attempt" => family("wasmon_check_attempt", "gauge", "The check attempt."),
                    "execution_time" => family("wasmon_check_execution_seconds", "gauge", "How long the check ran."),
                    _ => family("wasmon_check_latency_seconds", "gauge", "How late the check started."),
                };
                add(f, format!("{{{labels}}}"), p.value);
                continue;
            }
            label(&mut labels, "label", &p.label);
            if let Unit::Other(u) = &p.unit {
                label(&mut labels, "unit", u);
            }
            let scale = if p.unit == Unit::Percent { 0.01 } else { 1.0 };
            let (value, threshold) = match p.unit {
                Unit::Seconds => (
                    family("wasmon_metric_seconds", "gauge", "A check's metric in seconds."),
                    family("wasmon_threshold_seconds", "gauge", "A metric's thresholds in seconds."),
                ),
                Unit::Bytes => (
                    family("wasmon_metric_bytes", "gauge", "A check's metric in bytes."),
                    family("wasmon_threshold_bytes", "gauge", "A metric's thresholds in bytes."),
                ),
                Unit::Percent => (
                    family("wasmon_metric_ratio", "gauge", "A check's percentage as a ratio (0 to 1)."),
                    family("wasmon_threshold_ratio", "gauge", "A percentage's thresholds as ratios."),
                ),
                Unit::Counter => (
                    family("wasmon_metric_total", "counter", "A check's continuous counter."),
                    family("wasmon_threshold", "gauge", "A metric's thresholds in its unit."),
                ),
                Unit::None | Unit::Other(_) => (
                    family("wasmon_metric", "gauge", "A check's metric without a unit, or in the unit of label unit."),
                    family("wasmon_threshold", "gauge", "A metric's thresholds in its unit."),
                ),
            };
            add(value, format!("{{{labels}}}"), p.value * scale);
            let mut t = |name: &str, bound: Option<(&str, bool)>, v: Option<f64>| {
                let Some(v) = v.filter(|v| v.is_finite()) else { return };
                let mut l = labels.clone();
                label(&mut l, "threshold", name);
                if let Some((b, inside)) = bound {
                    label(&mut l, "bound", b);
                    label(&mut l, "inside", if inside { "true" } else { "false" });
                }
                let f = Family { name: threshold.name, kind: threshold.kind, help: threshold.help };
                add(f, format!("{{{l}}}"), v * scale);
            };
            for (name, b) in [("warn", p.warn), ("crit", p.crit)] {
                if let Some(b) = b {
                    t(name, Some(("low", b.inside)), b.low);
                    t(name, Some(("high", b.inside)), b.high);
                }
            }
            t("min", None, p.min);
            t("max", None, p.max);
        }
        for s in sinks {
            let st = s.status();
            let mut labels = String::new();
            label(&mut labels, "sink", &st.name);
            label(&mut labels, "type", &st.kind);
            let labels = format!("{{{labels}}}");
            let c = |n: u64| n as f64;
            add(family("wasmon_sink_sent_total", "counter", "Points a sink sent."), labels.clone(), c(st.sent));
            add(
                family("wasmon_sink_dropped_total", "counter", "Points a sink dropped (queue or spool full)."),
                labels.clone(),
                c(st.dropped),
            );
            add(
                family("wasmon_sink_rejected_total", "counter", "Points the database rejected."),
                labels.clone(),
                c(st.rejected),
            );
            add(
                family("wasmon_sink_retries_total", "counter", "Sends a sink tried again."),
                labels.clone(),
                c(st.retries),
            );
            add(
                family("wasmon_sink_queued_points", "gauge", "Points waiting in a sink's memory queue."),
                labels.clone(),
                c(st.queued),
            );
            add(family("wasmon_sink_spooled_points", "gauge", "Points in a sink's spool."), labels, c(st.spooled));
        }
        let mut out = String::new();
        for (name, (f, mut lines)) in families {
            lines.sort();
            let _ = writeln!(out, "# HELP {name} {}", f.help);
            let _ = writeln!(out, "# TYPE {name} {}", f.kind);
            for l in lines {
                let _ = writeln!(out, "{name}{l}");
            }
        }
        out
    }
}

/// Appends `name="value"` (comma-separated), the value escaped.
fn label(out: &mut String, name: &str, value: &str) {
    if !out.is_empty() {
        out.push(',');
    }
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        format!("{v:?}")
    }
}

/// How long the exposition may lag behind the results: the sink's thread
/// takes what came this often (and sooner when its queue fills).
const TAKE_EVERY: Duration = Duration::from_millis(500);

/// Binds `listen` and starts the sink's threads: one takes results from
/// the queue into the exposition, the other serves `GET /metrics`. The
/// handle returned ends once both have.
pub(crate) fn start(
    c: &SinkConfig,
    listen: SocketAddr,
    queue: Arc<Queue>,
    counters: Arc<Counters>,
    sinks: Arc<Vec<SinkHandle>>,
) -> Result<std::thread::JoinHandle<()>, Error> {
    let name = c.name.clone();
    let listener = std::net::TcpListener::bind(listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| sink_error(&name, format!("listen: cannot listen on {listen}"), e))?;
    let selection = Selection::of(c);
    let exposition = Arc::new(Mutex::new(Exposition::default()));
    let served = exposition.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server_name = name.clone();
    let server = std::thread::Builder::new()
        .name(format!("wasmon-sink-{name}-http"))
        .spawn(move || {
            let name = server_name;
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return tracing::error!(sink = %name, "cannot start its runtime: {e}"),
            };
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => return tracing::error!(sink = %name, "cannot listen: {e}"),
                };
                let app = axum::Router::new().route(
                    "/metrics",
                    axum::routing::get(move || {
                        let text = served.lock().expect("exposition lock").render(&sinks);
                        async move {
                            ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
                        }
                    }),
                );
                tracing::info!(sink = %name, address = %listen, "sink: serving GET /metrics");
                // Stopped: the runtime goes, and its connections with it.
                tokio::select! {
                    served = axum::serve(listener, app).into_future() => if let Err(e) = served {
                        tracing::error!(sink = %name, "sink: GET /metrics: {e}");
                    },
                    _ = stopped => {}
                }
            });
        })
        .map_err(|e| sink_error(&c.name, "cannot start its thread".into(), e))?;
    std::thread::Builder::new()
        .name(format!("wasmon-sink-{name}"))
        .spawn(move || {
            let mut points = Vec::new();
            while let Some(results) = queue.take(TAKE_EVERY) {
                if results.is_empty() {
                    continue;
                }
                let mut e = exposition.lock().expect("exposition lock");
                for r in results {
                    selection.points(&r, &mut points);
                    counters.sent.fetch_add(points.len() as u64, Ordering::Relaxed);
                    for p in points.drain(..) {
                        e.update(p);
                    }
                }
            }
            let _ = stop.send(());
            let _ = server.join();
        })
        .map_err(|e| sink_error(&c.name, "cannot start its thread".into(), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::{awkward, point};

    #[test]
    fn families_per_unit_and_escaped_labels() {
        let mut e = Exposition::default();
        e.update(point("C:\\", 1.5, "GB"));
        let text = e.render(&[]);
        let l = r#"host="web 1",service="Disk, all",check="dummy",label="C:\\""#;
        assert!(text.contains(&format!("wasmon_metric_bytes{{{l}}} 1500000000.0\n")), "{text}");
        assert!(text.contains(&format!(
            "wasmon_threshold_bytes{{{l},threshold=\"warn\",bound=\"high\",inside=\"false\"}} 1000000000.0\n"
        )));
        assert!(text.contains(&format!(
            "wasmon_threshold_bytes{{{l},threshold=\"crit\",bound=\"high\",inside=\"true\"}} 2000000000.0\n"
        )));
        assert!(text.contains("# TYPE wasmon_metric_bytes gauge\n"));
        assert!(!text.contains("1765101600"), "no timestamps");

        let mut e = Exposition::default();
        e.update(point("pct", 85.0, "%"));
        e.update(point("rta", 20.0, "ms"));
        e.update(point("hits", 7.0, "c"));
        e.update(point("power", f64::NAN, "W"));
        let text = e.render(&[]);
        assert!(
            text.contains(
                "wasmon_metric_ratio{host=\"web 1\",service=\"Disk, all\",check=\"dummy\",label=\"pct\"} 0.85\n"
            ),
            "{text}"
        );
        assert!(text.contains("label=\"rta\"} 0.02\n"), "{text}");
        assert!(text.contains("# TYPE wasmon_metric_total counter\nwasmon_metric_total{"), "{text}");
        assert!(text.contains("label=\"power\",unit=\"W\"} NaN\n"), "{text}");

        let expected = [
            "with space",
            "comma,here",
            "equals=sign",
            "\\\"quoted\\\"",
            "back\\\\slash",
            "ends\\\\",
            "a.b",
            "c:d",
            "Größe",
            "new\\nline",
            "double\\\\\\\\",
        ];
        for (label, want) in awkward().iter().zip(expected) {
            let mut e = Exposition::default();
            e.update(point(label, 1.0, ""));
            let text = e.render(&[]);
            assert!(text.contains(&format!("label=\"{want}\"}} 1.0\n")), "{label:?}: {text}");
        }
    }
}

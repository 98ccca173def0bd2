//! Metric sinks: every metric of every result, out to the time-series
//! databases people run (`[[sink]]` tables, see [`crate::config::model::Sink`]).
//!
//! A result event becomes [`Point`]s: one per metric, its value and
//! thresholds in the base unit where the unit is known (ms, µs, ns → s; KB,
//! MB, … and KiB, MiB, … → B; `%` stays percent here and becomes a ratio
//! where the format wants one), any other unit kept as the plugin wrote it,
//! and a `U` value kept as unknown (NaN). Warn and crit ranges keep their
//! low and high ends and whether they alert inside. With `metadata = true`
//! a result adds the points `state`, `state_type`, `attempt`,
//! `execution_time` and `latency`.
//!
//! Each format has a file: [`prometheus`] (a scraped text exposition),
//! [`influx`] (line protocol), [`graphite`] (plaintext), [`opentsdb`]
//! (`/api/put` gzip JSON or telnet `put` lines) and [`otlp`] (OTLP/HTTP
//! protobuf). Every name and value is escaped as the format's own parser
//! requires, and what a format cannot hold is mapped (documented in each
//! file), so one odd label never breaks a batch.
//!
//! # Nothing lost
//!
//! The engine only hands each sink the shared result event: a bounded
//! queue per sink (`queue`, in points and bytes; when it is full the
//! oldest are dropped and counted, the engine never waits). Each sink has a
//! thread of its own that encodes, batches and sends (`sink`). When a
//! send fails, the batch and everything after it go to the sink's
//! `spool` and are sent from there, oldest first, once the database
//! answers again; retries back off with jitter and honour `Retry-After`. A
//! batch the database rejects (a 4xx) is dropped, counted and logged with
//! its first line, never retried. The spool is a SQLite file beside the
//! retention file (`<state_file>.spool`), so it survives a restart and a
//! `kill -9`; without a retention file it is kept in memory (same cap, lost
//! with the process). Beyond `spool_points` the oldest are dropped, counted
//! and logged. On stop each sink sends what it holds for up to its
//! `timeout`, then spools the rest.
//!
//! Each sink's counters (sent, queued, spooled, dropped, rejected, retries,
//! last error) are in `GET /api/v1/sinks` and, as `wasmon_sink_*`, in every
//! Prometheus sink's exposition.

pub mod graphite;
pub mod influx;
pub mod opentsdb;
pub mod otlp;
pub mod prometheus;
pub(crate) mod queue;
pub(crate) mod sink;
pub(crate) mod spool;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::config::model::{Sink as SinkConfig, SinkTarget};
use crate::config::read::glob;
use crate::error::Error;
use crate::event::{Event, ResultEvent};
use crate::outcome::Range;
use crate::pipeline::Subscriber;
use crate::state::StateType;

/// A metric's unit after normalisation.
#[derive(Clone, Debug, PartialEq)]
pub enum Unit {
    /// No unit.
    None,
    /// Seconds (from s, ms, us, µs, ns).
    Seconds,
    /// Bytes (from B, KB, MB, GB, TB, PB and KiB, MiB, GiB, TiB, PiB).
    Bytes,
    /// Percent, 0 to 100 (a format that wants a ratio divides by 100).
    Percent,
    /// A continuous counter (`c`).
    Counter,
    /// Any other unit, as written (`W`, `dBm`, `GBP`, `Bytes`).
    Other(String),
}

impl Unit {
    /// The unit of `uom` and the factor that brings a value in `uom` to it.
    pub fn normalise(uom: &str) -> (Unit, f64) {
        let bytes = |f: f64| (Unit::Bytes, f);
        match uom {
            "" => (Unit::None, 1.0),
            "s" => (Unit::Seconds, 1.0),
            "ms" => (Unit::Seconds, 1e-3),
            "us" | "µs" | "μs" => (Unit::Seconds, 1e-6),
            "ns" => (Unit::Seconds, 1e-9),
            "%" => (Unit::Percent, 1.0),
            "c" => (Unit::Counter, 1.0),
            "B" => bytes(1.0),
            "KB" | "kB" => bytes(1e3),
            "MB" => bytes(1e6),
            "GB" => bytes(1e9),
            "TB" => bytes(1e12),
            "PB" => bytes(1e15),
            "KiB" => bytes(1024.0),
            "MiB" => bytes(1024.0 * 1024.0),
            "GiB" => bytes(1024.0 * 1024.0 * 1024.0),
            "TiB" => bytes(1024f64.powi(4)),
            "PiB" => bytes(1024f64.powi(5)),
            other => (Unit::Other(other.to_string()), 1.0),
        }
    }

    /// The unit as a short symbol: "", "s", "B", "%", "c" or as written.
    pub fn symbol(&self) -> &str {
        match self {
            Unit::None => "",
            Unit::Seconds => "s",
            Unit::Bytes => "B",
            Unit::Percent => "%",
            Unit::Counter => "c",
            Unit::Other(s) => s,
        }
    }
}

/// A threshold range in the base unit: alerts outside `[low, high]`, or
/// inside it when `inside`; a missing end is infinite.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    /// The low end.
    pub low: Option<f64>,
    /// The high end.
    pub high: Option<f64>,
    /// Alerts inside the range (`@low:high`).
    pub inside: bool,
}

impl Bounds {
    fn of(r: &Range, factor: f64) -> Bounds {
        Bounds { low: r.start.map(|v| v * factor), high: r.end.map(|v| v * factor), inside: r.inside }
    }
}

/// Whether a point is a check's metric or the result's metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A metric the check returned.
    Perfdata,
    /// State, state type, attempt, execution time or latency.
    Metadata,
}

/// One metric of one result, ready for a format.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// When the result was applied (seconds since the UNIX epoch).
    pub t: f64,
    /// The host.
    pub host: Arc<str>,
    /// The service; `None` for a host result.
    pub service: Option<Arc<str>>,
    /// The check's short name (see [`check_name`]).
    pub check: String,
    /// The metric's label as the check wrote it.
    pub label: String,
    /// The value in `unit`; NaN when unknown (`U`).
    pub value: f64,
    /// The unit.
    pub unit: Unit,
    /// Warning range.
    pub warn: Option<Bounds>,
    /// Critical range.
    pub crit: Option<Bounds>,
    /// Smallest possible value.
    pub min: Option<f64>,
    /// Largest possible value.
    pub max: Option<f64>,
    /// Metric or metadata.
    pub origin: Origin,
}

impl Point {
    /// Whether the value is known (not a `U`).
    pub fn known(&self) -> bool {
        self.value.is_finite()
    }

    /// `(name, value)` of the thresholds a format writes beside the value:
    /// `warn`/`crit` (the high end, as Icinga 2 writes them), `warn_low`,
    /// `crit_low`, `warn_inside`/`crit_inside` (1 when set), `min`, `max`.
    pub fn thresholds(&self) -> Vec<(&'static str, f64)> {
        let mut out = Vec::new();
        for (name, low, inside, b) in
            [("warn", "warn_low", "warn_inside", self.warn), ("crit", "crit_low", "crit_inside", self.crit)]
        {
            let Some(b) = b else { continue };
            if let Some(h) = b.high {
                out.push((name, h));
            }
            if let Some(l) = b.low {
                out.push((low, l));
            }
            if b.inside {
                out.push((inside, 1.0));
            }
        }
        out.extend(self.min.map(|v| ("min", v)));
        out.extend(self.max.map(|v| ("max", v)));
        out.retain(|(_, v)| v.is_finite());
        out
    }
}

/// The check's name as formats show it: a standard check's name, a
/// module file's name without folder and `.wasm`; "passive" for an object
/// without a check.
pub fn check_name(r: &ResultEvent) -> String {
    let Some(c) = &r.check else { return "passive".to_string() };
    let m: &str = &c.module;
    let file = m.rsplit('/').next().unwrap_or(m);
    file.strip_suffix(".wasm").unwrap_or(file).to_string()
}

/// Which results and metrics a sink takes, and what it adds.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    hosts: Vec<String>,
    services: Vec<String>,
    labels: Vec<String>,
    thresholds: bool,
    metadata: bool,
}

impl Selection {
    /// The selection a sink's configuration describes.
    pub fn of(c: &SinkConfig) -> Selection {
        Selection {
            hosts: c.hosts.clone(),
            services: c.services.clone(),
            labels: c.labels.clone(),
            thresholds: c.thresholds,
            metadata: c.metadata,
        }
    }

    /// Every metric, thresholds, no metadata.
    pub fn all() -> Selection {
        Selection { thresholds: true, ..Selection::default() }
    }

    fn matches(patterns: &[String], name: &str) -> bool {
        patterns.is_empty() || patterns.iter().any(|p| glob(p, name))
    }

    /// The points of `r` this sink sends.
    pub fn points(&self, r: &ResultEvent, out: &mut Vec<Point>) {
        if !Self::matches(&self.hosts, &r.host) {
            return;
        }
        if !self.services.is_empty() && !r.service.as_deref().is_some_and(|s| Self::matches(&self.services, s)) {
            return;
        }
        let check = check_name(r);
        let base = |label: &str, value: f64, unit: Unit, origin: Origin| Point {
            t: r.t,
            host: r.host.clone(),
            service: r.service.clone(),
            check: check.clone(),
            label: label.to_string(),
            value,
            unit,
            warn: None,
            crit: None,
            min: None,
            max: None,
            origin,
        };
        for m in &r.metrics {
            if !Self::matches(&self.labels, &m.label) {
                continue;
            }
            let (unit, f) = Unit::normalise(&m.uom);
            let mut p = base(&m.label, m.value * f, unit, Origin::Perfdata);
            if self.thresholds {
                p.warn = m.warn.as_ref().map(|w| Bounds::of(w, f));
                p.crit = m.crit.as_ref().map(|c| Bounds::of(c, f));
                p.min = m.min.map(|v| v * f);
                p.max = m.max.map(|v| v * f);
            }
            out.push(p);
        }
        if self.metadata {
            let state = f64::from(r.state.state().exit_code());
            let hard = if r.state_type == StateType::Hard { 1.0 } else { 0.0 };
            out.push(base("state", state, Unit::None, Origin::Metadata));
            out.push(base("state_type", hard, Unit::None, Origin::Metadata));
            out.push(base("attempt", r.attempt.into(), Unit::None, Origin::Metadata));
            if let Some(e) = r.execution_time {
                out.push(base("execution_time", e, Unit::Seconds, Origin::Metadata));
            }
            if let (Some(s), Some(ran)) = (r.scheduled, r.ran) {
                out.push(base("latency", (ran - s).max(0.0), Unit::Seconds, Origin::Metadata));
            }
        }
    }
}

/// One sink's counters, shared by its thread, the API and the Prometheus
/// exposition.
#[derive(Debug, Default)]
pub struct Counters {
    /// Points the database accepted (for a Prometheus sink: taken into
    /// the exposition).
    pub sent: AtomicU64,
    /// Points waiting in memory now.
    pub queued: AtomicU64,
    /// Points in the spool now.
    pub spooled: AtomicU64,
    /// Points dropped: the memory queue or the spool was full (oldest first).
    pub dropped: AtomicU64,
    /// Points the database rejected (a 4xx): dropped, never retried.
    pub rejected: AtomicU64,
    /// Sends that failed and were tried again.
    pub retries: AtomicU64,
    /// The last error, if any.
    pub last_error: Mutex<Option<String>>,
}

impl Counters {
    pub(crate) fn error(&self, message: String) {
        *self.last_error.lock().expect("last error lock") = Some(message);
    }
}

/// A sink's status, as `GET /api/v1/sinks` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SinkStatus {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Points the database accepted.
    pub sent: u64,
    /// Points waiting in memory.
    pub queued: u64,
    /// Points in the spool.
    pub spooled: u64,
    /// Points dropped (queue or spool full).
    pub dropped: u64,
    /// Points the database rejected.
    pub rejected: u64,
    /// Failed sends that were retried.
    pub retries: u64,
    /// The last error; null if none.
    pub last_error: Option<String>,
}

/// A sink's name, type and counters.
#[derive(Debug)]
pub struct SinkHandle {
    /// Its name.
    pub name: String,
    /// Its type.
    pub kind: &'static str,
    /// Its counters.
    pub counters: Arc<Counters>,
}

impl SinkHandle {
    /// The counters now.
    pub fn status(&self) -> SinkStatus {
        let c = &self.counters;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SinkStatus {
            name: self.name.clone(),
            kind: self.kind.to_string(),
            sent: n(&c.sent),
            queued: n(&c.queued),
            spooled: n(&c.spooled),
            dropped: n(&c.dropped),
            rejected: n(&c.rejected),
            retries: n(&c.retries),
            last_error: c.last_error.lock().expect("last error lock").clone(),
        }
    }
}

/// Every configured sink: their handles, and the subscriber that feeds them.
pub(crate) struct Sinks {
    queues: Vec<Arc<queue::Queue>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// A sink that cannot start: what failed and why.
pub(crate) fn sink_error(sink: &str, what: String, source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Sink { sink: sink.to_string(), what, source: Box::new(source) }
}

/// The spool file beside a retention file: `<state_file>.spool`.
pub fn spool_path(state_file: &std::path::Path) -> PathBuf {
    let mut s = state_file.as_os_str().to_owned();
    s.push(".spool");
    PathBuf::from(s)
}

impl Sinks {
    /// Starts a thread per sink; `spool` is the spool file (`None`: spools
    /// in memory). Prometheus sinks bind their address now.
    pub(crate) fn start(
        configs: &[SinkConfig],
        spool: Option<PathBuf>,
    ) -> Result<(Sinks, Arc<Vec<SinkHandle>>), Error> {
        let handles: Vec<SinkHandle> = configs
            .iter()
            .map(|c| SinkHandle { name: c.name.clone(), kind: c.target.kind(), counters: Arc::default() })
            .collect();
        let handles = Arc::new(handles);
        let mut sinks = Sinks { queues: Vec::new(), threads: Vec::new() };
        for (i, c) in configs.iter().enumerate() {
            let counters = handles[i].counters.clone();
            // A pushing sink wants a batch at a time; the exposition takes
            // what came at its own pace and wakes only under pressure.
            let wake = match c.target {
                SinkTarget::Prometheus { .. } => c.queue_points / 2,
                _ => c.batch,
            };
            let q = Arc::new(queue::Queue::new(c.queue_points, c.queue_bytes, wake, c.metadata, counters.clone()));
            let thread = match &c.target {
                SinkTarget::Prometheus { listen } => {
                    prometheus::start(c, *listen, q.clone(), counters, handles.clone())?
                }
                _ => sink::start(c, spool.clone(), q.clone(), counters)?,
            };
            sinks.queues.push(q);
            sinks.threads.push(thread);
        }
        Ok((sinks, handles))
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }
}

impl Subscriber for Sinks {
    fn events(&mut self, step: &[Event]) {
        for event in step {
            if let Event::Result(r) = event {
                for q in &self.queues {
                    q.push(r.clone());
                }
            }
        }
    }
}

impl Drop for Sinks {
    fn drop(&mut self) {
        for q in &self.queues {
            q.close();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;

//! Live updates: the recent events the *Events* page shows, the metric
//! samples kept in memory without a retention file, and `GET /web/events`,
//! the stream the page's rows are swapped from.

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{self, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use tokio::sync::{broadcast, watch};

use super::Web;
use super::view::{self, Summary, object_id, rows};
use crate::event::Event;
use crate::monitor::Monitor;
use crate::retention::{MetricSeries, ObjectKey, SAMPLE_SPACING, SAMPLES_KEPT};
use crate::state::Time;

/// Most recent events kept for the *Events* page.
pub const RECENT_KEPT: usize = 500;

/// How long the stream gathers changes before it sends them: one render
/// per object per window, however many results arrive.
const WINDOW: Duration = Duration::from_millis(250);

/// One line of the *Events* page.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) t: f64,
    pub(crate) kind: &'static str,
    pub(crate) host: Option<String>,
    pub(crate) service: Option<String>,
    pub(crate) state: Option<&'static str>,
    pub(crate) text: String,
}

/// Samples of one object's metrics, kept in memory.
#[derive(Default)]
struct Sampled {
    last: Option<Time>,
    series: Vec<MetricSeries>,
}

/// What the page keeps from the event stream.
#[derive(Clone, Default)]
pub(crate) struct Recent {
    events: Arc<Mutex<VecDeque<Entry>>>,
    samples: Arc<Mutex<HashMap<ObjectKey, Sampled>>>,
}

impl Recent {
    /// The recent events, newest first.
    pub(crate) fn list(&self) -> Vec<Entry> {
        self.events.lock().expect("recent lock").iter().rev().cloned().collect()
    }

    fn push(&self, e: Entry) {
        let mut all = self.events.lock().expect("recent lock");
        if all.len() == RECENT_KEPT {
            all.pop_front();
        }
        all.push_back(e);
    }

    /// The object's metric samples since `since`, kept in memory.
    pub(crate) fn samples(&self, key: &ObjectKey, since: Time) -> Vec<MetricSeries> {
        let all = self.samples.lock().expect("samples lock");
        let Some(s) = all.get(key) else { return Vec::new() };
        s.series
            .iter()
            .map(|m| MetricSeries {
                label: m.label.clone(),
                uom: m.uom.clone(),
                points: m.points.iter().filter(|(t, _)| *t >= since).copied().collect(),
            })
            .filter(|m| !m.points.is_empty())
            .collect()
    }

    fn sample(&self, r: &crate::event::ResultEvent) {
        if r.metrics.is_empty() {
            return;
        }
        let key = ObjectKey { host: r.host.to_string(), service: r.service.as_deref().map(str::to_string) };
        let time = r.private.time;
        let mut all = self.samples.lock().expect("samples lock");
        let s = all.entry(key).or_default();
        if s.last.is_some_and(|last| time < last + SAMPLE_SPACING) {
            return;
        }
        s.last = Some(time);
        for m in r.metrics.iter().filter(|m| m.value.is_finite()) {
            let series = match s.series.iter().position(|x| x.label == m.label) {
                Some(i) => &mut s.series[i],
                None => {
                    s.series.push(MetricSeries { label: m.label.clone(), uom: m.uom.clone(), points: Vec::new() });
                    s.series.last_mut().expect("just pushed")
                }
            };
            series.uom = m.uom.clone();
            series.points.push((time, m.value));
            if series.points.len() > SAMPLES_KEPT {
                series.points.remove(0);
            }
        }
        // Metrics the object no longer reports go once older than the
        // graphs reach, as in the retention file.
        let oldest = time.saturating_sub(SAMPLE_SPACING * u32::try_from(2 * SAMPLES_KEPT).unwrap_or(u32::MAX));
        s.series.retain(|m| m.points.last().is_some_and(|(t, _)| *t >= oldest));
    }

    fn record(&self, event: &Event, keep_samples: bool) {
        let entry = match event {
            Event::Result(r) => {
                if keep_samples {
                    self.sample(r);
                }
                if !r.state_changed {
                    return;
                }
                Entry {
                    t: r.t,
                    kind: if r.hard_state_changed { "hard state change" } else { "state change" },
                    host: Some(r.host.to_string()),
                    service: r.service.as_deref().map(str::to_string),
                    state: Some(r.state.as_str()),
                    text: format!("{} → {} ({}): {}", r.previous_state, r.state, r.state_type, r.output),
                }
            }
            Event::Notification(n) => Entry {
                t: n.t,
                kind: "notification",
                host: Some(n.host.to_string()),
                service: n.service.as_deref().map(str::to_string),
                state: Some(n.state.as_str()),
                text: format!(
                    "{:?} to {} by {}: {}",
                    n.kind,
                    n.contact.as_deref().unwrap_or("(no contact)"),
                    n.method.as_deref().unwrap_or("-"),
                    n.output
                ),
            },
            Event::Module { t, module, action, version, digest, reason } => Entry {
                t: *t,
                kind: "module",
                host: None,
                service: None,
                state: None,
                text: format!(
                    "{module}: {} {}{}{}",
                    format!("{action:?}").to_lowercase(),
                    version.as_deref().map(|v| format!("version {v} ")).unwrap_or_default(),
                    digest.as_deref().map(|d| format!("sha256 {}", d.get(..12).unwrap_or(d))).unwrap_or_default(),
                    reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default(),
                ),
            },
            Event::Acknowledgement { t, host, service, author, comment, active, .. } => Entry {
                t: *t,
                kind: "acknowledgement",
                host: Some(host.clone()),
                service: service.clone(),
                state: None,
                text: if *active { format!("acknowledged by {author}: {comment}") } else { "cleared".into() },
            },
            Event::Downtime { t, host, service, id, started, author, comment, .. } => Entry {
                t: *t,
                kind: "downtime",
                host: Some(host.clone()),
                service: service.clone(),
                state: None,
                text: format!("downtime {id} {} ({author}: {comment})", if *started { "started" } else { "ended" }),
            },
            Event::Flapping { t, host, service, started, percent_state_change } => Entry {
                t: *t,
                kind: "flapping",
                host: Some(host.clone()),
                service: service.clone(),
                state: None,
                text: format!(
                    "flapping {} at {percent_state_change:.1} %",
                    if *started { "started" } else { "stopped" }
                ),
            },
            _ => return,
        };
        self.push(entry);
    }
}

/// Keeps `recent` from the monitor's events until `stopping`.
pub(crate) fn keep_recent(monitor: &Monitor, recent: Recent, mut stopping: watch::Receiver<bool>) {
    let mut events = monitor.subscribe();
    let keep_samples = monitor.retention_file().is_none();
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                _ = stopping.wait_for(|s| *s) => break,
                next = events.recv() => next,
            };
            match next {
                Ok(e) => recent.record(&e, keep_samples),
                Err(broadcast::error::RecvError::Lagged(n)) => recent.push(Entry {
                    t: 0.0,
                    kind: "lagged",
                    host: None,
                    service: None,
                    state: None,
                    text: format!("{n} events were missed (too many at once)"),
                }),
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// Which rows an event changes: one object, or every object of a host.
fn touched(event: &Event, keys: &mut HashSet<(String, Option<String>)>, hosts: &mut HashSet<String>) {
    match event {
        Event::Result(r) => {
            keys.insert((r.host.to_string(), r.service.as_deref().map(str::to_string)));
        }
        Event::Acknowledgement { host, service, .. } | Event::Flapping { host, service, .. } => {
            keys.insert((host.clone(), service.clone()));
        }
        Event::Downtime { host, service: None, .. } => {
            hosts.insert(host.clone());
        }
        Event::Downtime { host, service, .. } => {
            keys.insert((host.clone(), service.clone()));
        }
        _ => {}
    }
}

/// The stream's state between messages.
struct Live {
    web: Web,
    events: broadcast::Receiver<Event>,
    stopping: watch::Receiver<bool>,
    view: String,
    out: VecDeque<sse::Event>,
}

fn message(name: &str, html: String) -> sse::Event {
    // A carriage return cannot travel in SSE data; in HTML it is the same
    // as its reference.
    sse::Event::default().event(name).data(html.replace('\r', "&#13;"))
}

impl Live {
    /// Waits for events, gathers what else comes within [`WINDOW`], and
    /// queues the rows, the header and (for the problems page) its table.
    /// `None` when the stream ends.
    async fn gather(&mut self) -> Option<()> {
        let mut keys = HashSet::new();
        let mut hosts = HashSet::new();
        let mut everything = false;
        let first = tokio::select! {
            _ = self.stopping.wait_for(|s| *s) => return None,
            next = self.events.recv() => next,
        };
        let mut take = |next: Result<Event, broadcast::error::RecvError>| match next {
            Ok(e) => {
                touched(&e, &mut keys, &mut hosts);
                true
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                everything = true;
                true
            }
            Err(broadcast::error::RecvError::Closed) => false,
        };
        if !take(first) {
            return None;
        }
        let until = Instant::now() + WINDOW;
        while let Ok(next) = tokio::time::timeout_at(until.into(), self.events.recv()).await {
            if !take(next) {
                break;
            }
        }
        if keys.is_empty() && hosts.is_empty() && !everything {
            return Some(());
        }
        let objects = self.web.0.monitor.statuses().await.ok()?;
        let now = self.web.0.monitor.now().as_secs_f64();
        for o in &objects {
            let key = (o.host.clone(), o.service.clone());
            if everything || hosts.contains(&o.host) || keys.contains(&key) {
                let id = object_id(&o.host, o.service.as_deref());
                self.out.push_back(message(&id, view::row(o, now).into_string()));
            }
        }
        let heading = match self.view.as_str() {
            "problems" => "Problems",
            "hosts" => "Hosts",
            "services" => "Services",
            "overdue" => "Overdue",
            "muted" => "Muted",
            "events" => "Events",
            "modules" => "Modules",
            _ => "Detail",
        };
        self.out.push_back(message("summary", view::summary(&Summary::of(&objects), heading, now).into_string()));
        if self.view == "problems" {
            let groups = view::problem_groups(&objects, now);
            self.out.push_back(message("problems", rows(&groups, now).into_string()));
        }
        Some(())
    }
}

/// The query of `GET /web/events`.
#[derive(serde::Deserialize)]
pub(super) struct LiveQuery {
    #[serde(default)]
    view: String,
}

/// `GET /web/events?view=VIEW`: server-sent events for a page of the
/// session. Each changed object's row is an event named by its row id
/// whose data is the row; `summary` is the header; `problems` (for
/// `view=problems`) is the problems table's body.
pub(super) async fn events(State(web): State<Web>, headers: HeaderMap, Query(q): Query<LiveQuery>) -> Response {
    if web.0.sessions.of(&headers).is_none() {
        return (StatusCode::UNAUTHORIZED, "log in first").into_response();
    }
    let live = Live {
        events: web.0.monitor.subscribe(),
        stopping: web.0.stopping.clone(),
        web,
        view: q.view,
        out: VecDeque::new(),
    };
    let hello = futures::stream::iter([Ok::<_, Infallible>(sse::Event::default().comment("subscribed"))]);
    let stream = futures::stream::unfold(live, |mut live| async move {
        loop {
            if let Some(e) = live.out.pop_front() {
                return Some((Ok(e), live));
            }
            live.gather().await?;
        }
    });
    let stream: std::pin::Pin<Box<dyn Stream<Item = Result<sse::Event, Infallible>> + Send>> =
        Box::pin(futures::StreamExt::chain(hello, stream));
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

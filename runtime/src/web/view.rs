//! Rendering: the layout, the header with its counts, rows of objects,
//! tables, the SVG graph of a metric. Pure functions of what they are
//! given; maud escapes every value written into the page.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use maud::{DOCTYPE, Markup, html};
use sha2::{Digest, Sha256};

use crate::engine::ObjectStatus;
use crate::retention::MetricSeries;

/// The tabs of the navigation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tab {
    Problems,
    Hosts,
    Services,
    Overdue,
    Muted,
    Events,
    Modules,
    None,
}

const TABS: &[(Tab, &str, &str)] = &[
    (Tab::Problems, "/", "Problems"),
    (Tab::Hosts, "/hosts", "Hosts"),
    (Tab::Services, "/services", "Services"),
    (Tab::Overdue, "/overdue", "Overdue"),
    (Tab::Muted, "/muted", "Muted"),
    (Tab::Events, "/events", "Events"),
    (Tab::Modules, "/modules", "Modules"),
];

/// What the layout of every page needs.
pub(crate) struct Frame<'a> {
    pub(crate) heading: &'a str,
    pub(crate) tab: Tab,
    pub(crate) csrf: &'a str,
    pub(crate) summary: Summary,
    pub(crate) now: f64,
    /// The view the live stream is for (`problems` adds its table).
    pub(crate) live: &'a str,
}

/// Counts per state and the worst state, for the header, the title and
/// the favicon.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Summary {
    pub(crate) counts: BTreeMap<&'static str, usize>,
    pub(crate) unhandled: usize,
    pub(crate) worst: Option<&'static str>,
}

/// The states in the order the header shows them.
const ORDER: &[&str] = &["DOWN", "UNREACHABLE", "UP", "CRITICAL", "UNKNOWN", "WARNING", "OK"];

fn canonical(state: &str) -> &'static str {
    ORDER.iter().find(|s| **s == state).copied().unwrap_or("UNKNOWN")
}

/// How bad a state is: the higher the worse.
pub(crate) fn severity(state: &str) -> u8 {
    match state {
        "CRITICAL" | "DOWN" => 4,
        "UNKNOWN" | "UNREACHABLE" => 3,
        "WARNING" => 2,
        _ => 0,
    }
}

fn is_host_state(state: &str) -> bool {
    matches!(state, "DOWN" | "UNREACHABLE" | "UP")
}

/// Whether the object is a problem: not OK or UP.
pub(crate) fn is_problem(o: &ObjectStatus) -> bool {
    severity(&o.state) > 0
}

/// Whether someone or something already deals with the problem: it is
/// acknowledged, in downtime or in dependency failure.
pub(crate) fn is_handled(o: &ObjectStatus) -> bool {
    o.acknowledgement.is_some() || o.in_downtime || o.dependency_failure.is_some()
}

impl Summary {
    pub(crate) fn of(objects: &[ObjectStatus]) -> Summary {
        let mut s = Summary::default();
        for o in objects {
            let state = canonical(&o.state);
            *s.counts.entry(state).or_default() += 1;
            if is_problem(o) && !is_handled(o) {
                s.unhandled += 1;
            }
            let worse = match s.worst {
                None => true,
                // A host DOWN is worse than a service CRITICAL: it takes its services with it.
                Some(w) => (severity(state), is_host_state(state)) > (severity(w), is_host_state(w)),
            };
            if worse {
                s.worst = Some(state);
            }
        }
        s
    }

    /// The page title: the worst state and the unhandled count first.
    pub(crate) fn title(&self, heading: &str) -> String {
        match self.worst {
            Some(w) if severity(w) > 0 => format!("{w} ({} unhandled) · {heading} · wasmon", self.unhandled),
            Some(w) => format!("{w} · {heading} · wasmon"),
            None => format!("{heading} · wasmon"),
        }
    }
}

/// A stable id of an object, usable as an HTML id and an SSE event name.
pub(crate) fn object_id(host: &str, service: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(host.as_bytes());
    if let Some(s) = service {
        h.update([0]);
        h.update(s.as_bytes());
    }
    let d = h.finalize();
    format!("o{}", hex::encode(&d[..8]))
}

/// A path segment, percent-encoded.
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The detail page of an object.
pub(crate) fn href(host: &str, service: Option<&str>) -> String {
    match service {
        Some(s) => format!("/host/{}/service/{}", segment(host), segment(s)),
        None => format!("/host/{}", segment(host)),
    }
}

/// A time as `2026-12-07 12:51:10` (UTC).
pub(crate) fn at(t: f64) -> String {
    if !t.is_finite() || t < 0.0 {
        return "-".into();
    }
    let text = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs_f64(t)).to_string();
    text.trim_end_matches('Z').replacen('T', " ", 1)
}

/// An optional time.
pub(crate) fn at_opt(t: Option<f64>) -> String {
    t.map(at).unwrap_or_else(|| "-".into())
}

/// A span of seconds as `3d 4h`, `5m 12s`.
pub(crate) fn span(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {sec}s")
    } else {
        format!("{sec}s")
    }
}

/// How long the object has been in its state.
pub(crate) fn duration(o: &ObjectStatus, now: f64) -> f64 {
    o.last_state_change.map_or(0.0, |t| now - t)
}

/// The header's live part: counts, worst state, last update. Swapped by
/// the live stream (event `summary`).
pub(crate) fn summary(s: &Summary, heading: &str, now: f64) -> Markup {
    let worst = s.worst.unwrap_or("none");
    html! {
        div #summary sse-swap="summary" hx-swap="outerHTML" data-title=(s.title(heading)) data-worst=(worst) {
            @for state in ORDER {
                @let n = s.counts.get(state).copied().unwrap_or(0);
                @let class = if n == 0 { format!("count zero s-{state}") } else { format!("count s-{state}") };
                span class=(class) title=(state) { (state) " " (n) }
            }
            span.count title="problems not acknowledged, not in downtime, not in dependency failure" {
                "unhandled " (s.unhandled)
            }
            span.updated { "updated " time datetime=(at(now)) { (at(now)) } " UTC" }
        }
    }
}

/// The whole page around `body`.
pub(crate) fn layout(f: &Frame<'_>, body: Markup) -> Markup {
    let worst = f.summary.worst.unwrap_or("none").to_ascii_lowercase();
    let live_url = format!("/web/events?view={}", segment(f.live));
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;
                title { (f.summary.title(f.heading)) }
                link #favicon rel="icon" type="image/svg+xml" href=(format!("/web/favicon/{worst}.svg"));
                link rel="stylesheet" href="/web/assets/wasmon.css";
                script src="/web/assets/htmx.min.js" defer {}
                script src="/web/assets/htmx-ext-sse.min.js" defer {}
                script src="/web/assets/wasmon.js" defer {}
            }
            body hx-ext="sse" sse-connect=(live_url) {
                header {
                    a.brand href="/" { "wasmon" }
                    nav {
                        @for (tab, path, name) in TABS {
                            a.active[*tab == f.tab] href=(path) { (name) }
                        }
                    }
                    (summary(&f.summary, f.heading, f.now))
                    span #live .live { "static" }
                    form method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(f.csrf);
                        button type="submit" { "Log out" }
                    }
                }
                main {
                    h1 { (f.heading) }
                    (body)
                }
            }
        }
    }
}

/// The flags of an object, as small labels.
fn flags(o: &ObjectStatus) -> Markup {
    html! {
        @if let Some(a) = &o.acknowledgement {
            span.flag title=(format!("acknowledged by {}: {}", a.author, a.comment)) {
                @if a.sticky { "ack (sticky)" } @else { "ack" }
            }
        }
        @if o.in_downtime { span.flag { "downtime" } }
        @if o.dependency_failure.is_some() { span.flag title=(o.dependency_failure.as_deref().unwrap_or("")) { "dependency" } }
        @if o.flapping { span.flag { "flapping" } }
        @if o.stale { span.flag { "stale" } }
        @if o.running { span.flag { "running" } }
    }
}

/// One object's row: the same markup in every list, so the live stream
/// can swap it wherever it is shown (by its id).
pub(crate) fn row(o: &ObjectStatus, now: f64) -> Markup {
    let id = object_id(&o.host, o.service.as_deref());
    let state = canonical(&o.state);
    html! {
        tr id=(id) class=(format!("row s-row-{state}")) sse-swap=(id) hx-swap="outerHTML" {
            td { input type="checkbox" name="obj" value=(id) form="bulk" aria-label="select"; }
            td { a href=(href(&o.host, None)) { (o.host) } }
            td {
                @match &o.service {
                    Some(s) => a href=(href(&o.host, Some(s))) { (s) },
                    None => span.muted { "(host)" },
                }
            }
            td { span class=(format!("badge s-{state}")) { (state) } }
            td { (at_opt(o.last_check)) }
            td { (span(duration(o, now))) }
            td { (o.attempt) "/" (o.max_attempts) " " (o.state_type) }
            td.info { (o.output) " " (flags(o)) }
        }
    }
}

/// Rows in a `<tbody>`'s content, with a group heading before each group.
pub(crate) fn rows(groups: &[(&str, Vec<&ObjectStatus>)], now: f64) -> Markup {
    html! {
        @for (name, objects) in groups {
            @if !name.is_empty() {
                tr.group { td colspan="8" { (name) " (" (objects.len()) ")" } }
            }
            @for o in objects { (row(o, now)) }
        }
    }
}

/// The problems in groups: unhandled, then handled; each by severity,
/// then the newest change first.
pub(crate) fn problem_groups(objects: &[ObjectStatus], now: f64) -> Vec<(&'static str, Vec<&ObjectStatus>)> {
    let mut problems: Vec<&ObjectStatus> = objects.iter().filter(|o| is_problem(o)).collect();
    problems.sort_by(|a, b| {
        (is_handled(a), Reverse(severity(&a.state)), a.service.is_some())
            .cmp(&(is_handled(b), Reverse(severity(&b.state)), b.service.is_some()))
            .then(duration(a, now).total_cmp(&duration(b, now)))
    });
    let split = problems.iter().position(|o| is_handled(o)).unwrap_or(problems.len());
    let handled = problems.split_off(split);
    vec![("Unhandled", problems), ("Handled", handled)]
}

/// The table head of a list of objects, with sort links when `sort` is
/// given (the other query parameters to keep).
pub(crate) fn table(body: Markup, sort: Option<&str>) -> Markup {
    let column = |key: &str, name: &str| -> Markup {
        match sort {
            Some(rest) => html! { a href=(format!("?{rest}sort={key}")) { (name) } },
            None => html! { (name) },
        }
    };
    html! {
        table.objects {
            thead {
                tr {
                    th { input #select-all type="checkbox" aria-label="select all"; }
                    th { (column("host", "Host")) }
                    th { (column("service", "Service")) }
                    th { (column("state", "Status")) }
                    th { (column("last_check", "Last check")) }
                    th { (column("duration", "Duration")) }
                    th { (column("attempt", "Attempt")) }
                    th { "Status information" }
                }
            }
            (body)
        }
    }
}

/// The form that acts on the selected rows (their checkboxes name it).
pub(crate) fn bulk(csrf: &str, back: &str) -> Markup {
    html! {
        form #bulk .bulk method="post" action="/action" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="back" value=(back);
            strong { "Selected:" }
            select name="action" aria-label="action" {
                option value="acknowledge" { "Acknowledge" }
                option value="unacknowledge" { "Remove acknowledgement" }
                option value="downtime" { "Schedule downtime" }
                option value="recheck" { "Recheck now" }
            }
            input type="text" name="comment" placeholder="comment" aria-label="comment";
            label { input type="checkbox" name="sticky" value="true"; " sticky" }
            input type="text" name="duration" value="1h" size="6" aria-label="downtime duration" title="downtime duration, e.g. 30m or 2h";
            button type="submit" { "Apply" }
        }
    }
}

/// The services page for `objects` as `GET /services?QUERY` renders it
/// (without its session's CSRF token): what the benchmark measures.
pub fn render_services(objects: &[ObjectStatus], query: &str, now: f64) -> String {
    let pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    super::pages::list_markup(objects, super::pages::Kind::Services, &pairs, "", now).into_string()
}

/// An SVG line graph of one metric over `[from, to]` (seconds), with its
/// warning and critical thresholds when they are plain upper bounds.
pub(crate) fn graph(series: &MetricSeries, from: f64, to: f64, warn: Option<f64>, crit: Option<f64>) -> Markup {
    const W: f64 = 600.0;
    const H: f64 = 140.0;
    const LEFT: f64 = 56.0;
    const TOP: f64 = 16.0;
    const BOTTOM: f64 = 22.0;
    let points: Vec<(f64, f64)> =
        series.points.iter().map(|(t, v)| (t.as_secs_f64(), *v)).filter(|(_, v)| v.is_finite()).collect();
    let mut lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let mut hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    for t in [warn, crit].into_iter().flatten() {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if (hi - lo).abs() < f64::EPSILON {
        (lo, hi) = (lo - 1.0, hi + 1.0);
    }
    let span_t = (to - from).max(1.0);
    let x = |t: f64| LEFT + (t - from).clamp(0.0, span_t) / span_t * (W - LEFT - 8.0);
    let y = |v: f64| TOP + (hi - v) / (hi - lo) * (H - TOP - BOTTOM);
    let mut line = String::new();
    for (t, v) in &points {
        let _ = write!(line, "{:.1},{:.1} ", x(*t), y(*v));
    }
    let last = points.last().map(|p| p.1);
    let label = format!("{} ({})", series.label, if series.uom.is_empty() { "-" } else { &series.uom });
    let value = |v: f64| format!("{v:.3}").trim_end_matches('0').trim_end_matches('.').to_string();
    html! {
        svg.graph xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {W} {H}")) role="img"
            aria-label=(format!("graph of {label}")) data-metric=(series.label) {
            text x=(LEFT) y="12" { (label) @if let Some(v) = last { " · last " (value(v)) (series.uom) } " · " (points.len()) " samples" }
            line.axis x1=(LEFT) y1=(H - BOTTOM) x2=(W - 8.0) y2=(H - BOTTOM) {}
            line.axis x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(H - BOTTOM) {}
            text x="4" y=(TOP + 8.0) { (value(hi)) }
            text x="4" y=(H - BOTTOM) { (value(lo)) }
            text x=(LEFT) y=(H - 6.0) { (at(from)) }
            text x=(W - 130.0) y=(H - 6.0) { (at(to)) }
            @if let Some(w) = warn { line.warn x1=(LEFT) y1=(y(w)) x2=(W - 8.0) y2=(y(w)) {} }
            @if let Some(c) = crit { line.crit x1=(LEFT) y1=(y(c)) x2=(W - 8.0) y2=(y(c)) {} }
            @if points.len() == 1 {
                circle.dot cx=(x(points[0].0)) cy=(y(points[0].1)) r="3" {}
            } @else {
                polyline.line points=(line.trim_end()) {}
            }
        }
    }
}

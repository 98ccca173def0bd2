//! The pages (the action form's handler is in `action.rs`).

// A page handler's refusal is the response to send (a redirect to the login
// form, a page that says what went wrong): as large as any response.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::session::Session;
use super::view::{self, Frame, Summary, Tab, at, at_opt, graph, href, object_id, rows, segment, span, table};
use super::{Web, history};
use crate::engine::ObjectStatus;
use crate::error::Error;
use crate::refusal::Refusal;

/// An object whose next check is more than this far in the past is
/// overdue.
pub const OVERDUE_AFTER: f64 = 30.0;

/// How far back the graphs of a detail page reach.
const GRAPH_WINDOW: Duration = Duration::from_secs(6 * 3600);

/// The session, or the redirect to the login form.
fn session(web: &Web, headers: &HeaderMap) -> Result<Session, Response> {
    web.0.sessions.of(headers).ok_or_else(|| Redirect::to("/login").into_response())
}

/// A page that says what went wrong.
pub(super) fn problem_page(status: StatusCode, message: &str) -> Response {
    let page = html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "wasmon: " (status.as_u16()) }
                link rel="stylesheet" href="/web/assets/wasmon.css";
            }
            body { main { p.error { (message) } p { a href="/" { "Back to the problems" } } } }
        }
    };
    (status, page).into_response()
}

pub(super) fn engine_error(e: Error) -> Response {
    match e {
        Error::Refused(r) => {
            let e = crate::api::ApiError::from(r);
            problem_page(e.status, &e.message)
        }
        e => problem_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

/// Who is looking, every object and the time: what every page starts from.
async fn context(web: &Web, headers: &HeaderMap) -> Result<(Session, Vec<ObjectStatus>, f64), Response> {
    let session = session(web, headers)?;
    let objects = web.0.monitor.statuses().await.map_err(engine_error)?;
    Ok((session, objects, web.0.monitor.now().as_secs_f64()))
}

fn frame<'a>(
    heading: &'a str,
    tab: Tab,
    csrf: &'a str,
    objects: &[ObjectStatus],
    now: f64,
    live: &'a str,
) -> Frame<'a> {
    Frame { heading, tab, csrf, summary: Summary::of(objects), now, live }
}

/// `GET /`: the problems, unhandled first, hosts among them.
pub(super) async fn problems(State(web): State<Web>, headers: HeaderMap) -> Response {
    let (s, objects, now) = match context(&web, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let groups = view::problem_groups(&objects, now);
    let body = html! {
        (view::bulk(&s.csrf, "/"))
        (table(html! { tbody #problems sse-swap="problems" hx-swap="innerHTML" { (rows(&groups, now)) } }, None))
    };
    view::layout(&frame("Problems", Tab::Problems, &s.csrf, &objects, now, "problems"), body).into_response()
}

/// Which objects a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Hosts,
    Services,
}

/// The filters and order of a list, from its query string.
#[derive(Default)]
struct Filter {
    states: Vec<String>,
    host: String,
    text: String,
    sort: String,
    desc: bool,
    errors: Vec<String>,
}

const SORTS: &[&str] = &["host", "service", "state", "last_check", "duration", "attempt"];
const STATES: &[&str] = &["OK", "WARNING", "CRITICAL", "UNKNOWN", "UP", "DOWN", "UNREACHABLE"];

impl Filter {
    fn parse(pairs: &[(String, String)]) -> Filter {
        let mut f = Filter::default();
        for (k, v) in pairs {
            match k.as_str() {
                "state" if v.is_empty() => {}
                "state" => {
                    let s = v.trim().to_ascii_uppercase();
                    if STATES.contains(&s.as_str()) {
                        f.states.push(s);
                    } else {
                        f.errors.push(format!("query 'state': expected one of {}, found \"{v}\"", STATES.join(", ")));
                    }
                }
                "host" => f.host = v.trim().to_lowercase(),
                "q" => f.text = v.trim().to_lowercase(),
                "sort" if v.is_empty() || SORTS.contains(&v.as_str()) => f.sort = v.clone(),
                "sort" => f.errors.push(format!("query 'sort': expected one of {}, found \"{v}\"", SORTS.join(", "))),
                "order" => match v.as_str() {
                    "asc" | "" => f.desc = false,
                    "desc" => f.desc = true,
                    _ => f.errors.push(format!("query 'order': expected asc or desc, found \"{v}\"")),
                },
                other => {
                    f.errors.push(format!("query '{other}': unknown parameter (expected state, host, q, sort, order)"))
                }
            }
        }
        f
    }

    fn keeps(&self, o: &ObjectStatus) -> bool {
        (self.states.is_empty() || self.states.contains(&o.state))
            && (self.host.is_empty() || o.host.to_lowercase().contains(&self.host))
            && (self.text.is_empty()
                || o.service.as_deref().is_some_and(|s| s.to_lowercase().contains(&self.text))
                || o.output.to_lowercase().contains(&self.text))
    }

    fn order(&self, list: &mut [&ObjectStatus], now: f64) {
        match self.sort.as_str() {
            "host" => list.sort_by(|a, b| a.host.cmp(&b.host).then(a.service.cmp(&b.service))),
            "service" => list.sort_by(|a, b| a.service.cmp(&b.service).then(a.host.cmp(&b.host))),
            "state" => list.sort_by_key(|o| std::cmp::Reverse(view::severity(&o.state))),
            "last_check" => list.sort_by(|a, b| b.last_check.unwrap_or(0.0).total_cmp(&a.last_check.unwrap_or(0.0))),
            "duration" => list.sort_by(|a, b| view::duration(a, now).total_cmp(&view::duration(b, now))),
            "attempt" => list.sort_by_key(|o| std::cmp::Reverse(o.attempt)),
            _ => {}
        }
        if self.desc {
            list.reverse();
        }
    }

    /// The query string without `sort` and `order`, ready for one more
    /// parameter.
    fn rest(&self, pairs: &[(String, String)]) -> String {
        let mut out = String::new();
        for (k, v) in pairs.iter().filter(|(k, _)| k != "sort" && k != "order") {
            out.push_str(&format!("{}={}&", segment(k), segment(v)));
        }
        if !self.desc && !self.sort.is_empty() {
            out.push_str("order=desc&");
        }
        out
    }
}

/// A list page of hosts or services, filtered and sorted by `pairs`.
pub(crate) fn list_markup(
    objects: &[ObjectStatus],
    kind: Kind,
    pairs: &[(String, String)],
    csrf: &str,
    now: f64,
) -> Markup {
    let filter = Filter::parse(pairs);
    let mut list: Vec<&ObjectStatus> = objects
        .iter()
        .filter(|o| o.service.is_some() == (kind == Kind::Services))
        .filter(|o| filter.keeps(o))
        .collect();
    filter.order(&mut list, now);
    let (heading, tab, path, live) = match kind {
        Kind::Hosts => ("Hosts", Tab::Hosts, "/hosts", "hosts"),
        Kind::Services => ("Services", Tab::Services, "/services", "services"),
    };
    let states: &[&str] = match kind {
        Kind::Hosts => &["UP", "DOWN", "UNREACHABLE"],
        Kind::Services => &["OK", "WARNING", "CRITICAL", "UNKNOWN"],
    };
    let shown = list.len();
    let groups = [("", list)];
    let rest = filter.rest(pairs);
    let body = html! {
        @for e in &filter.errors { p.error { (e) } }
        form.filters method="get" action=(path) {
            input type="text" name="host" value=(filter.host) placeholder="host contains" aria-label="host contains";
            @if kind == Kind::Services {
                input type="text" name="q" value=(filter.text) placeholder="service or output contains" aria-label="service or output contains";
            }
            select name="state" aria-label="state" {
                option value="" { "any state" }
                @for s in states {
                    option value=(s) selected[filter.states.iter().any(|x| x == s)] { (s) }
                }
            }
            input type="hidden" name="sort" value=(filter.sort);
            button type="submit" { "Filter" }
            span.muted { (shown) " shown" }
        }
        (view::bulk(csrf, path))
        (table(html! { tbody { (rows(&groups, now)) } }, Some(&rest)))
    };
    view::layout(&frame(heading, tab, csrf, objects, now, live), body)
}

/// `GET /hosts`.
pub(super) async fn hosts(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    match context(&web, &headers).await {
        Ok((s, objects, now)) => list_markup(&objects, Kind::Hosts, &pairs, &s.csrf, now).into_response(),
        Err(r) => r,
    }
}

/// `GET /services`.
pub(super) async fn services(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    match context(&web, &headers).await {
        Ok((s, objects, now)) => list_markup(&objects, Kind::Services, &pairs, &s.csrf, now).into_response(),
        Err(r) => r,
    }
}

/// A list page of the objects `keep` selects, in configuration order.
async fn selected(
    web: Web,
    headers: HeaderMap,
    heading: &str,
    tab: Tab,
    path: &str,
    note: &str,
    keep: impl Fn(&ObjectStatus, f64) -> bool,
) -> Response {
    let (s, objects, now) = match context(&web, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let list: Vec<&ObjectStatus> = objects.iter().filter(|o| keep(o, now)).collect();
    let groups = [("", list)];
    let body = html! {
        p.muted { (note) }
        (view::bulk(&s.csrf, path))
        (table(html! { tbody { (rows(&groups, now)) } }, None))
    };
    view::layout(&frame(heading, tab, &s.csrf, &objects, now, path.trim_start_matches('/')), body).into_response()
}

/// `GET /overdue`: objects whose next check is past.
pub(super) async fn overdue(State(web): State<Web>, headers: HeaderMap) -> Response {
    let note = format!("Objects whose next check is more than {OVERDUE_AFTER} s past and not running.");
    selected(web, headers, "Overdue", Tab::Overdue, "/overdue", &note, |o, now| {
        !o.running && o.next_check.is_some_and(|t| t + OVERDUE_AFTER < now)
    })
    .await
}

/// `GET /muted`: acknowledged, in downtime or flapping.
pub(super) async fn muted(State(web): State<Web>, headers: HeaderMap) -> Response {
    let note = "Objects whose notifications are held back: acknowledged, in downtime or flapping.";
    selected(web, headers, "Muted", Tab::Muted, "/muted", note, |o, _| {
        o.acknowledgement.is_some() || o.in_downtime || o.flapping
    })
    .await
}

/// `GET /events`: the recent state changes, notifications, module loads,
/// acknowledgements and downtimes, newest first.
pub(super) async fn events(State(web): State<Web>, headers: HeaderMap) -> Response {
    let (s, objects, now) = match context(&web, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let recent = web.0.recent.list();
    let body = html! {
        p.muted { "The last " (recent.len()) " events since this server started (at most " (super::live::RECENT_KEPT) "); reload for newer ones." }
        table {
            thead { tr { th { "Time" } th { "Kind" } th { "Object" } th { "State" } th { "What" } } }
            tbody {
                @for e in &recent {
                    tr {
                        td { (at(e.t)) }
                        td { (e.kind) }
                        td {
                            @if let Some(h) = &e.host {
                                a href=(href(h, e.service.as_deref())) {
                                    (h) @if let Some(svc) = &e.service { "/" (svc) }
                                }
                            }
                        }
                        td { @if let Some(st) = e.state { span class=(format!("badge s-{st}")) { (st) } } }
                        td.info { (e.text) }
                    }
                }
            }
        }
    };
    view::layout(&frame("Events", Tab::Events, &s.csrf, &objects, now, "events"), body).into_response()
}

/// `GET /modules`: every check module in service.
pub(super) async fn modules(State(web): State<Web>, headers: HeaderMap) -> Response {
    let (s, objects, now) = match context(&web, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let modules = match web.0.monitor.modules().await {
        Ok(m) => m,
        Err(e) => return engine_error(e),
    };
    let body = html! {
        table {
            thead { tr { th { "Name" } th { "Kind" } th { "Version" } th { "Digest" } th { "Loaded at" } th { "Used by" } th { "Last rejection" } } }
            tbody {
                @for m in &modules {
                    tr {
                        td { (m.name) @if m.removed { " " span.flag { "removed" } } }
                        td { (format!("{:?}", m.kind)) }
                        td { (m.version.as_deref().unwrap_or("-")) }
                        td { code title=(m.digest) { (m.digest.get(..12).unwrap_or(m.digest.as_str())) } }
                        td { (at(m.loaded_at)) }
                        td { (m.services) }
                        td.info {
                            @if let Some(e) = &m.last_error { (at(e.at)) ": " (e.reason) } @else { "-" }
                        }
                    }
                }
            }
        }
    };
    view::layout(&frame("Modules", Tab::Modules, &s.csrf, &objects, now, "modules"), body).into_response()
}

/// `GET /host/{host}`.
pub(super) async fn host(State(web): State<Web>, headers: HeaderMap, Path(host): Path<String>) -> Response {
    detail(web, headers, host, None).await
}

/// `GET /host/{host}/service/{service}`.
pub(super) async fn service(
    State(web): State<Web>,
    headers: HeaderMap,
    Path((host, service)): Path<(String, String)>,
) -> Response {
    detail(web, headers, host, Some(service)).await
}

async fn detail(web: Web, headers: HeaderMap, host: String, service: Option<String>) -> Response {
    let (s, objects, now) = match context(&web, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let this = objects.iter().find(|o| o.host == host && o.service == service);
    let services: Vec<&ObjectStatus> =
        objects.iter().filter(|o| service.is_none() && o.host == host && o.service.is_some()).collect();
    if this.is_none() && services.is_empty() {
        return engine_error(Refusal::NotFound { host, service }.into());
    }
    let heading = match &service {
        Some(svc) => format!("{host} / {svc}"),
        None => format!("Host {host}"),
    };
    let path = href(&host, service.as_deref());
    let (history, series) = match this {
        Some(_) => (
            history::states(&web, &host, service.as_deref()).await,
            history::metrics(&web, &host, service.as_deref(), now - GRAPH_WINDOW.as_secs_f64()).await,
        ),
        None => (Ok(Vec::new()), Ok(Vec::new())),
    };
    let downtimes = match this {
        Some(o) if !o.downtimes.is_empty() => web.0.monitor.downtimes().await.unwrap_or_default(),
        _ => Vec::new(),
    };
    let body = html! {
        @if let Some(o) = this {
            (facts(o, now, &downtimes))
            @if s.write { (action_forms(o, &s.csrf, &path)) }
            @else { p.muted { "Token '" (s.name) "' has no 'write' scope: no actions." } }
            h2 { "Output" }
            pre.output { (o.output) }
            @if let Some(long) = &o.long_output { h2 { "Long output" } pre.long-output { (long) } }
            (metrics(o, &series, now))
            h2 { "State history" }
            @match &history {
                Ok(entries) if entries.is_empty() => p.muted { "No state changes recorded." },
                Ok(entries) => table {
                    thead { tr { th { "Time" } th { "Change" } th { "Type" } th { "Output" } } }
                    tbody {
                        @for e in entries {
                            @let (what, kind) = change(&e.event, service.is_none());
                            tr { td { (at(e.time.as_secs_f64())) } td { (what) } td { (kind) } td.info { (e.output) } }
                        }
                    }
                },
                Err(e) => p.error { (e) },
            }
        }
        @if !services.is_empty() {
            h2 { "Services" }
            (table(html! { tbody { (rows(&[("", services)], now)) } }, None))
            (view::bulk(&s.csrf, &path))
        }
    };
    let live = "detail";
    view::layout(&frame(&heading, Tab::None, &s.csrf, &objects, now, live), body).into_response()
}

/// A state change as the history shows it (UP/DOWN for a host).
fn change(e: &crate::state::StateEvent, host: bool) -> (String, &'static str) {
    use crate::event::Status;
    use crate::state::StateEvent;
    let name = |s| Status::of(host, s);
    match e {
        StateEvent::StateChange { from, to, state_type } => (
            format!("{} → {}", name(*from), name(*to)),
            if *state_type == crate::state::StateType::Hard { "HARD" } else { "SOFT" },
        ),
        StateEvent::HardStateChange { from, to } => (format!("{} → {}", name(*from), name(*to)), "HARD change"),
    }
}

fn facts(o: &ObjectStatus, now: f64, downtimes: &[crate::Downtime]) -> Markup {
    let state = o.state.as_str();
    html! {
        dl.facts #facts {
            dt { "State" } dd { span class=(format!("badge s-{state}")) #state { (state) } }
            dt { "State type, attempt" } dd { (o.state_type) ", " (o.attempt) "/" (o.max_attempts) }
            dt { "Since" } dd { (at_opt(o.last_state_change)) " (" (span(view::duration(o, now))) ")" }
            dt { "Last HARD change" } dd { (at_opt(o.last_hard_state_change)) }
            dt { "Last check" } dd { (at_opt(o.last_check)) }
            dt { "Next check" } dd { (at_opt(o.next_check)) @if o.running { " (running)" } }
            @if let Some(cause) = &o.dependency_failure { dt { "Dependency failure" } dd { (cause) } }
            @if let Some(a) = &o.acknowledgement {
                dt { "Acknowledged" } dd { "by " (a.author) @if a.sticky { " (sticky)" } ": " (a.comment) }
            }
            dt { "Flags" }
            dd {
                @if o.in_downtime { "in downtime; " }
                @if o.flapping { "flapping; " }
                @if o.stale { "stale; " }
                "state change " (format!("{:.1}", o.percent_state_change)) " %"
            }
            @for d in downtimes {
                dt { "Downtime " (d.id) }
                dd {
                    (at(d.start.as_secs_f64())) " to " (at(d.end.as_secs_f64()))
                    @if d.started.is_some() { " (in effect)" } @else { " (pending)" }
                    " by " (d.author) ": " (d.comment)
                }
            }
        }
    }
}

fn hidden(csrf: &str, id: &str, back: &str, action: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(csrf);
        input type="hidden" name="obj" value=(id);
        input type="hidden" name="back" value=(back);
        input type="hidden" name="action" value=(action);
    }
}

fn action_forms(o: &ObjectStatus, csrf: &str, back: &str) -> Markup {
    let id = object_id(&o.host, o.service.as_deref());
    html! {
        div.actions {
            @if view::is_problem(o) && o.acknowledgement.is_none() {
                form #acknowledge method="post" action="/action" {
                    (hidden(csrf, &id, back, "acknowledge"))
                    input type="text" name="comment" placeholder="comment" aria-label="comment";
                    label { input type="checkbox" name="sticky" value="true"; " sticky" }
                    button type="submit" { "Acknowledge" }
                }
            }
            @if o.acknowledgement.is_some() {
                form #unacknowledge method="post" action="/action" {
                    (hidden(csrf, &id, back, "unacknowledge"))
                    button type="submit" { "Remove acknowledgement" }
                }
            }
            form #downtime method="post" action="/action" {
                (hidden(csrf, &id, back, "downtime"))
                input type="text" name="duration" value="1h" size="6" aria-label="duration";
                input type="text" name="comment" placeholder="comment" aria-label="comment";
                button type="submit" { "Schedule downtime" }
            }
            @for d in &o.downtimes {
                form.cancel-downtime method="post" action="/action" {
                    (hidden(csrf, &id, back, "cancel_downtime"))
                    input type="hidden" name="downtime" value=(d);
                    button type="submit" { "Cancel downtime " (d) }
                }
            }
            form #recheck method="post" action="/action" {
                (hidden(csrf, &id, back, "recheck"))
                button type="submit" { "Recheck now" }
            }
        }
    }
}

fn metrics(o: &ObjectStatus, series: &Result<Vec<crate::retention::MetricSeries>, String>, now: f64) -> Markup {
    let (current, _) = crate::plugin::parse_perfdata(&o.perfdata);
    let upper = |r: &Option<crate::Range>| {
        r.as_ref().filter(|r| !r.inside && r.start.is_none_or(|s| s == 0.0)).and_then(|r| r.end)
    };
    html! {
        @if !current.is_empty() {
            h2 { "Metrics" }
            table.metrics {
                thead { tr { th { "Label" } th { "Value" } th { "Warn" } th { "Crit" } th { "Min" } th { "Max" } } }
                tbody {
                    @for m in &current {
                        tr {
                            td { (m.label) }
                            td { (m.value) (m.uom) }
                            td { @if let Some(r) = &m.warn { (r) } }
                            td { @if let Some(r) = &m.crit { (r) } }
                            td { @if let Some(v) = m.min { (v) } }
                            td { @if let Some(v) = m.max { (v) } }
                        }
                    }
                }
            }
        }
        @match series {
            Ok(all) if !all.is_empty() => {
                h2 { "Graphs" }
                @for s in all {
                    @let m = current.iter().find(|m| m.label == s.label);
                    @let from = s.points.first().map_or(now - 60.0, |p| p.0.as_secs_f64()).min(now - 60.0);
                    (graph(s, from, now, m.and_then(|m| upper(&m.warn)), m.and_then(|m| upper(&m.crit))))
                }
            }
            Ok(_) => {}
            Err(e) => p.error { (e) },
        }
    }
}

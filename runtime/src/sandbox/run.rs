//! One run in a fresh store, and the mapping of every way it can end to a
//! state and a message.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap, UpdateDeadline, WasmBacktrace};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi_http::WasiHttpCtx;

use super::bindings::wasmon::check::types as wit;
use super::capture::Capture;
use super::host::{HostState, Limiter, NetPolicy};
use super::policy::{Grants, Limits, Target};
use crate::module::{CheckCall, CheckModule, CheckRun, DiscoverCall, wit_params};
use crate::outcome::{Metric, Outcome, Range, State, Termination};
use crate::values::Values;

/// The text that marks cut output.
const TRUNCATED: &str = "(output truncated)";

/// The standard text for `check-error::item-not-found` (Checkmk's wording).
pub const ITEM_NOT_FOUND: &str = "Item not found in monitoring data";

/// Which export to call.
enum Call<'a> {
    Describe,
    Discover(&'a wit::DiscoverRequest),
    Check(&'a wit::CheckRequest),
}

/// What the export returned.
enum Returned {
    Describe(wit::CheckInfo),
    Discover(Result<Vec<wit::Item>, wit::CheckError>),
    Check(Result<wit::CheckResult, wit::CheckError>),
}

/// Why a run did not return.
enum Failure {
    Timeout,
    MemoryLimit(usize),
    Trap { summary: String, details: String },
}

/// A run, returned or not.
struct Execution {
    result: Result<Returned, Failure>,
    values: Values,
    duration: Duration,
    /// Captured stdout and stderr of the guest.
    output: String,
}

impl Failure {
    fn message(&self, limits: &Limits) -> String {
        match self {
            Failure::Timeout => timed_out(limits.timeout),
            Failure::MemoryLimit(bytes) => memory_exceeded(*bytes),
            Failure::Trap { summary, .. } => summary.clone(),
        }
    }
}

fn timed_out(timeout: Duration) -> String {
    format!("Check timed out after {}", humantime::format_duration(timeout))
}

fn memory_exceeded(bytes: usize) -> String {
    format!("Check exceeded its memory limit of {}", crate::output::human_bytes(bytes as u64))
}

impl CheckModule {
    pub(crate) async fn execute_describe(&self) -> Result<wit::CheckInfo, String> {
        let limits = Limits::default();
        let grants = Grants { target: false, ..Grants::default() };
        let run = self.execute(Call::Describe, &Target::default(), &grants, &limits, Values::new()).await;
        match run.result {
            Ok(Returned::Describe(info)) => Ok(info),
            Ok(_) => unreachable!("describe returns check-info"),
            Err(f) => Err(f.message(&limits)),
        }
    }

    pub(crate) async fn execute_discover(&self, call: &DiscoverCall) -> Result<Vec<wit::Item>, String> {
        let req = wit::DiscoverRequest { target: wit_target(&call.target), params: wit_params(&call.params) };
        let run = self.execute(Call::Discover(&req), &call.target, &call.grants, &call.limits, Values::new()).await;
        match run.result {
            Ok(Returned::Discover(Ok(items))) => Ok(items),
            Ok(Returned::Discover(Err(e))) => Err(check_error(e).1),
            Ok(_) => unreachable!("discover returns items"),
            Err(f) => Err(f.message(&call.limits)),
        }
    }

    pub(crate) async fn execute_check(&self, call: &CheckCall) -> CheckRun {
        let req = wit::CheckRequest {
            target: wit_target(&call.target),
            item: call.item.clone(),
            params: wit_params(&call.params),
            timeout_ms: call.limits.timeout.as_millis().try_into().unwrap_or(u32::MAX),
        };
        let run = self.execute(Call::Check(&req), &call.target, &call.grants, &call.limits, call.values.clone()).await;
        if !run.output.is_empty() {
            tracing::debug!(check = %self.name, "guest output: {}", run.output);
        }
        let limits = &call.limits;
        let (state, summary, long_output, metrics, termination) = match run.result {
            Ok(Returned::Check(Ok(result))) => {
                let (state, summary, details) = combine(result.partials);
                let metrics = result.metrics.into_iter().map(metric).collect();
                (state, summary, details, metrics, Termination::Completed)
            }
            Ok(Returned::Check(Err(e))) => {
                let (termination, message) = check_error(e);
                (State::Unknown, message, None, Vec::new(), termination)
            }
            Ok(_) => unreachable!("check returns a check-result"),
            Err(Failure::Timeout) => {
                (limits.timeout_state, timed_out(limits.timeout), None, Vec::new(), Termination::Timeout)
            }
            Err(Failure::MemoryLimit(bytes)) => {
                (State::Unknown, memory_exceeded(bytes), None, Vec::new(), Termination::MemoryLimit)
            }
            Err(Failure::Trap { summary, details }) => {
                (State::Unknown, summary, Some(details), Vec::new(), Termination::Trap)
            }
        };
        let completed = termination == Termination::Completed;
        let mut outcome = Outcome {
            state,
            summary,
            long_output,
            metrics,
            duration: run.duration,
            termination,
            truncated: false,
        };
        fit_output(&mut outcome, limits);
        CheckRun { outcome, values: if completed { run.values } else { call.values.clone() } }
    }

    /// Runs one export in a fresh store with the given limits and grants.
    async fn execute(
        &self,
        call: Call<'_>,
        target: &Target,
        grants: &Grants,
        limits: &Limits,
        values: Values,
    ) -> Execution {
        let _slot = self.sandbox.slot().await;
        let start = Instant::now();
        let capture = Capture::new(limits.output);
        let net = NetPolicy {
            grants: Arc::new(grants.clone()),
            target_name: target.name.as_str().into(),
            target_address: target.address,
        };
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(capture.clone())
            .stderr(capture.clone())
            .allow_tcp(true)
            .allow_udp(true)
            .allow_ip_name_lookup(grants.dns);
        let policy = net.clone();
        wasi.socket_addr_check(move |addr, usage| {
            let allowed = match usage {
                // Binding an ephemeral local port reaches nobody: UDP needs
                // one to send, and Rust's std binds 0.0.0.0:0 before every
                // TCP connect. A fixed port or a specific address is denied.
                SocketAddrUse::UdpBind | SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
                _ => policy.allows_ip(addr.ip()),
            };
            if !allowed {
                tracing::debug!(%addr, ?usage, "socket address not granted");
            }
            Box::pin(async move { allowed })
        });
        let memory = limits.memory.min(self.sandbox.max_memory());
        let state = HostState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: Default::default(),
            net,
            limiter: Limiter { memory, memory_exceeded: false },
            values,
            check: self.name.clone(),
            logged: 0,
        };
        let mut store = Store::new(self.sandbox.engine(), state);
        store.limiter(|s| &mut s.limiter);
        let deadline = start + limits.timeout;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(if Instant::now() >= deadline { UpdateDeadline::Interrupt } else { UpdateDeadline::Yield(1) })
        });

        let run = async {
            let instance = self.pre.instantiate_async(&mut store).await?;
            Ok::<_, wasmtime::Error>(match call {
                Call::Describe => Returned::Describe(instance.call_describe(&mut store).await?),
                Call::Discover(req) => Returned::Discover(instance.call_discover(&mut store, req).await?),
                Call::Check(req) => Returned::Check(instance.call_check(&mut store, req).await?),
            })
        };
        let result = tokio::time::timeout(limits.timeout, run).await;
        let duration = start.elapsed();
        let (output, _) = capture.contents();
        let result = match result {
            Err(_elapsed) => Err(Failure::Timeout),
            Ok(Ok(returned)) => Ok(returned),
            Ok(Err(e)) if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) => Err(Failure::Timeout),
            Ok(Err(_)) if store.data().limiter.memory_exceeded => Err(Failure::MemoryLimit(memory)),
            Ok(Err(e)) => Err(trap(&e, &output)),
        };
        let values = std::mem::take(&mut store.data_mut().values);
        Execution { result, values, duration, output }
    }
}

fn wit_target(t: &Target) -> wit::Target {
    wit::Target { name: t.name.clone(), address: t.address.map(|a| a.to_string()).unwrap_or_default() }
}

/// Maps a `check-error` to how the run ended and the message to show.
fn check_error(e: wit::CheckError) -> (Termination, String) {
    match e {
        wit::CheckError::ItemNotFound => (Termination::ItemNotFound, ITEM_NOT_FOUND.to_string()),
        wit::CheckError::BadParams(m) => (Termination::BadParams, m),
        wit::CheckError::Failed(m) => (Termination::Failed, m),
    }
}

/// Describes a trap: a Rust panic by its message and location (from the
/// guest's stderr), anything else by the trap; the guest backtrace and
/// stderr go to the details.
fn trap(e: &wasmtime::Error, output: &str) -> Failure {
    if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return Failure::Trap {
            summary: format!("Check exited with status {} instead of returning a result", exit.0),
            details: output_details(output).unwrap_or_else(|| "A check must return from check(); it called wasi:cli/exit.".into()),
        };
    }
    let summary = match panic_message(output) {
        Some((message, Some(location))) => format!("Check panicked: {message} (at {location})"),
        Some((message, None)) => format!("Check panicked: {message}"),
        None => match e.downcast_ref::<Trap>() {
            Some(trap) => format!("Check crashed: {trap}"),
            None => format!("Check failed: {}", super::error_chain(e)),
        },
    };
    let mut details = String::new();
    if let Some(bt) = e.downcast_ref::<WasmBacktrace>() {
        details.push_str(&format!("Guest backtrace:\n{bt}"));
    }
    if let Some(out) = output_details(output) {
        if !details.is_empty() {
            details.push('\n');
        }
        details.push_str(&out);
    }
    if details.is_empty() {
        details = super::error_chain(e);
    }
    Failure::Trap { summary, details }
}

fn output_details(output: &str) -> Option<String> {
    let output = output.trim_end();
    (!output.is_empty()).then(|| format!("Guest output:\n{output}"))
}

/// Finds a Rust panic in the guest's stderr: `... panicked at FILE:L:C:`
/// followed by the message.
fn panic_message(output: &str) -> Option<(String, Option<String>)> {
    let mut lines = output.lines();
    let header = lines.by_ref().find(|l| l.contains("panicked at"))?;
    let after = header.split_once("panicked at").map(|(_, a)| a.trim()).unwrap_or_default();
    // Since Rust 1.73 the message follows on the next lines; before that it
    // was quoted on the same line.
    let (location, inline) = match after.strip_suffix(':') {
        Some(loc) => (loc.to_string(), None),
        None => (after.to_string(), Some(after.to_string())),
    };
    let message = match inline {
        Some(m) => m,
        None => lines.take_while(|l| !l.starts_with("note:")).collect::<Vec<_>>().join(" ").trim().to_string(),
    };
    let message = if message.is_empty() { "(no message)".to_string() } else { message };
    Some((message, (!location.is_empty()).then_some(location)))
}

/// Combines partial results: the worst state; the summaries joined with
/// ", " (seed 004 5.5), each non-OK partial marked as Checkmk does when
/// there are several; the details joined by lines.
fn combine(partials: Vec<wit::PartialResult>) -> (State, String, Option<String>) {
    if partials.is_empty() {
        return (State::Unknown, "Check returned no result".to_string(), None);
    }
    let several = partials.len() > 1;
    let mut state = State::Ok;
    let mut summaries = Vec::new();
    let mut details = Vec::new();
    for p in partials {
        let s = wit_state(p.state);
        state = state.worst(s);
        let mut text = p.summary.trim().to_string();
        if several {
            text.push_str(match s {
                State::Ok => "",
                State::Warning => "(!)",
                State::Critical => "(!!)",
                State::Unknown => "(?)",
            });
        }
        if !text.is_empty() {
            summaries.push(text);
        }
        if let Some(d) = p.details.filter(|d| !d.trim().is_empty()) {
            details.push(d.trim_end().to_string());
        }
    }
    let details = (!details.is_empty()).then(|| details.join("\n"));
    (state, summaries.join(", "), details)
}

pub(crate) fn wit_state(s: wit::State) -> State {
    match s {
        wit::State::Ok => State::Ok,
        wit::State::Warning => State::Warning,
        wit::State::Critical => State::Critical,
        wit::State::Unknown => State::Unknown,
    }
}

fn metric(m: wit::Metric) -> Metric {
    let range = |r: wit::Range| Range { start: r.start, end: r.end, inside: r.inside };
    Metric {
        label: m.label,
        value: m.value,
        uom: m.uom,
        warn: m.warn.map(range),
        crit: m.crit.map(range),
        min: m.min,
        max: m.max,
    }
}

/// Keeps the output within the limits: one summary line, no `|` (which
/// would start perfdata), summary and long output within `limits.output`
/// bytes, at most `limits.metrics` metrics. Cut output is marked.
fn fit_output(o: &mut Outcome, limits: &Limits) {
    // `|` would start perfdata; control characters other than line breaks
    // and tabs garble terminals and web UIs.
    let sanitize = |s: &str| {
        s.chars()
            .filter(|&c| !c.is_control() || c == '\n' || c == '\t')
            .map(|c| if c == '|' { '¦' } else { c })
            .collect::<String>()
    };
    let mut summary = sanitize(&o.summary);
    let mut long = o.long_output.as_deref().map(sanitize);
    if let Some((first, rest)) = summary.split_once('\n') {
        let rest = rest.to_string();
        summary = first.trim_end().to_string();
        long = Some(match long {
            Some(l) => format!("{rest}\n{l}"),
            None => rest,
        });
    }
    let dropped = o.metrics.len().saturating_sub(limits.metrics);
    o.metrics.truncate(limits.metrics);
    let note = (dropped > 0).then(|| format!("({dropped} metrics over the limit of {} were dropped)", limits.metrics));
    let budget = limits.output.max(TRUNCATED.len() + 2);
    let mut truncated = dropped > 0;
    if summary.len() > budget {
        cut(&mut summary, budget - TRUNCATED.len() - 1);
        summary.push(' ');
        summary.push_str(TRUNCATED);
        long = None;
        truncated = true;
    } else {
        let mut text = long.unwrap_or_default();
        if let Some(note) = &note {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(note);
        }
        // The long output follows the summary after a line break.
        let room = budget - summary.len() - 1;
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
        long = Some(text);
    }
    o.summary = summary;
    o.long_output = long.filter(|l| !l.is_empty());
    o.truncated = truncated;
}

/// Cuts `s` to at most `len` bytes, on a character boundary.
fn cut(s: &mut String, len: usize) {
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
mod tests {
    use super::*;

    fn partial(state: wit::State, summary: &str) -> wit::PartialResult {
        wit::PartialResult { state, summary: summary.into(), details: None }
    }

    #[test]
    fn worst_state_wins_and_summaries_join() {
        let (state, summary, _) = combine(vec![
            partial(wit::State::Ok, "Used: 10%"),
            partial(wit::State::Unknown, "Inodes: unknown"),
            partial(wit::State::Warning, "Free: 5 GiB"),
        ]);
        assert_eq!(state, State::Unknown);
        assert_eq!(summary, "Used: 10%, Inodes: unknown(?), Free: 5 GiB(!)");
        let (state, _, _) = combine(vec![partial(wit::State::Critical, "a"), partial(wit::State::Unknown, "b")]);
        assert_eq!(state, State::Critical);
        let (state, summary, _) = combine(vec![]);
        assert_eq!((state, summary.as_str()), (State::Unknown, "Check returned no result"));
    }

    #[test]
    fn panic_messages_are_found() {
        let stderr = "\nthread '<unnamed>' panicked at src/lib.rs:10:5:\ndeliberate panic: x\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            panic_message(stderr),
            Some(("deliberate panic: x".to_string(), Some("src/lib.rs:10:5".to_string())))
        );
        assert_eq!(panic_message("all fine"), None);
    }

    fn outcome(summary: &str, long: Option<&str>) -> Outcome {
        Outcome {
            state: State::Ok,
            summary: summary.into(),
            long_output: long.map(Into::into),
            metrics: vec![],
            duration: Duration::ZERO,
            termination: Termination::Completed,
            truncated: false,
        }
    }

    #[test]
    fn output_is_cut_and_marked() {
        let limits = Limits { output: 100, ..Limits::default() };
        let mut o = outcome(&"x".repeat(500), Some("details"));
        fit_output(&mut o, &limits);
        assert!(o.summary.len() <= 100 && o.summary.ends_with("(output truncated)"), "{}", o.summary);
        assert!(o.truncated && o.long_output.is_none());

        let mut o = outcome("short | not\u{0}\u{1b} perfdata\nsecond line", Some(&"é".repeat(200)));
        fit_output(&mut o, &limits);
        assert_eq!(o.summary, "short ¦ not perfdata");
        let long = o.long_output.unwrap();
        assert!(long.starts_with("second line\n") && long.ends_with("(output truncated)"), "{long}");
        assert!(o.summary.len() + 1 + long.len() <= 100, "summary, line break and long output within the limit");

        let mut o = outcome("fine", Some("also fine"));
        fit_output(&mut o, &limits);
        assert!(!o.truncated);
        assert_eq!(o.long_output.as_deref(), Some("also fine"));
    }

    fn o_metric() -> Metric {
        Metric { label: "m".into(), value: 1.0, uom: String::new(), warn: None, crit: None, min: None, max: None }
    }

    #[test]
    fn metrics_over_the_limit_are_dropped_and_said() {
        let limits = Limits { metrics: 2, ..Limits::default() };
        let mut o = outcome("fine", None);
        o.metrics = vec![o_metric(); 5];
        fit_output(&mut o, &limits);
        assert_eq!(o.metrics.len(), 2);
        assert!(o.truncated);
        assert_eq!(o.long_output.as_deref(), Some("(3 metrics over the limit of 2 were dropped)"));
        // Long output and the note together stay within the limit.
        let limits = Limits { metrics: 2, output: 120, ..Limits::default() };
        let mut o = outcome("fine", Some(&"d".repeat(500)));
        o.metrics = vec![o_metric(); 5];
        fit_output(&mut o, &limits);
        let long = o.long_output.unwrap();
        assert!(o.summary.len() + 1 + long.len() <= 120, "{long}");
        assert!(long.ends_with("(output truncated)\n(3 metrics over the limit of 2 were dropped)"), "{long}");
    }
}

//! One run in a fresh store, and the mapping of every way it can end to a
//! state and a message.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap, UpdateDeadline, WasmBacktrace};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi_http::WasiHttpCtx;

use super::bindings::handler::wasmon::check::events as handler_wit;
use super::bindings::wasmon::check::types as wit;
use super::capture::Capture;
use super::convert::{check_error, combine, metric, to_wit_state, wit_target};
use super::host::{ExitFailure, HostState, NetPolicy};
use super::memory::Accountant;
use super::policy::{Grants, Limits, Target};
use crate::outcome::{Outcome, State, Termination};
use crate::plugin::{ExitStatus, PluginResult, plugin_result};
use crate::sandbox::handler::{HandlerCall, HandlerOutcome, Trigger};
use crate::sandbox::module::{CheckCall, CheckModule, CheckRun, DiscoverCall, Exports, wit_params};
use crate::sandbox::values::Values;
use crate::sanitize::{TRUNCATED, fit_output};
use crate::state::StateType;

/// Which export to call.
enum Call<'a> {
    Describe,
    Discover(&'a wit::DiscoverRequest),
    Check(&'a wit::CheckRequest),
    /// A command plugin's `wasi:cli/run`, with this `argv` (`argv[0]`
    /// included).
    Run(&'a [String]),
    /// An event handler's `handle`.
    Handle(&'a handler_wit::HandlerRequest),
}

/// What the export returned.
enum Returned {
    Describe(wit::CheckInfo),
    Discover(Result<Vec<wit::Item>, wit::CheckError>),
    Check(Result<wit::CheckResult, wit::CheckError>),
    /// A command plugin ended by itself: `run` returned, or it exited.
    Exit(ExitStatus),
    /// What an event handler said.
    Handle(Result<String, String>),
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
    /// Captured stdout and stderr of the guest; stdout only for a plugin.
    output: String,
    /// A plugin's stderr (empty for a check, whose stderr is in `output`).
    stderr: String,
    /// Bytes of output dropped over the output limit.
    dropped: u64,
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
    /// Runs an event handler's `handle`.
    pub(crate) async fn execute_handle(&self, call: &HandlerCall) -> HandlerOutcome {
        let e = &call.event;
        let req = handler_wit::HandlerRequest {
            event: handler_wit::Event {
                trigger: match e.trigger {
                    Trigger::SameState => handler_wit::Trigger::SameState,
                    Trigger::StateChange => handler_wit::Trigger::StateChange,
                    Trigger::HardStateChange => handler_wit::Trigger::HardStateChange,
                },
                host: e.host.clone(),
                address: e.address.clone(),
                service: e.service.clone(),
                state: to_wit_state(e.state),
                state_type: match e.state_type {
                    StateType::Soft => handler_wit::StateType::Soft,
                    StateType::Hard => handler_wit::StateType::Hard,
                },
                attempt: e.attempt,
                max_attempts: e.max_attempts,
                previous_state: to_wit_state(e.previous_state),
                output: e.output.clone(),
                long_output: e.long_output.clone(),
                time: e.time,
            },
            params: call.params.clone(),
            timeout_ms: call.limits.timeout.as_millis().try_into().unwrap_or(u32::MAX),
        };
        let run = self.execute(Call::Handle(&req), &call.target, &call.grants, &call.limits, Values::new()).await;
        if !run.output.is_empty() {
            tracing::debug!(handler = %self.name, "guest output: {}", run.output);
        }
        let result = match run.result {
            Ok(Returned::Handle(r)) => r,
            Ok(_) => unreachable!("handle returns a result"),
            Err(Failure::Timeout) => {
                Err(format!("Handler timed out after {}", humantime::format_duration(call.limits.timeout)))
            }
            Err(Failure::MemoryLimit(bytes)) => {
                Err(format!("Handler exceeded its memory limit of {}", crate::output::human_bytes(bytes as u64)))
            }
            Err(Failure::Trap { summary, .. }) => Err(summary.replacen("Check ", "Handler ", 1)),
        };
        let limit = call.limits.output;
        let result = match result {
            Ok(text) => Ok(clip(text, limit)),
            Err(text) => Err(clip(text, limit)),
        };
        HandlerOutcome { result, duration: run.duration }
    }

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
        if !call.args.is_empty() {
            return misuse(
                call,
                "This is a wasmon check: it takes parameters (-p KEY=VALUE, `params` in the configuration), \
                 not command-line arguments",
            );
        }
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
            Err(failure) => {
                let (state, summary, details, termination) = failure.outcome(limits);
                (state, summary, details, Vec::new(), termination)
            }
        };
        let completed = termination == Termination::Completed;
        let mut outcome = Outcome {
            state,
            summary,
            long_output,
            metrics,
            perfdata_errors: Vec::new(),
            duration: run.duration,
            termination,
            truncated: false,
        };
        fit_output(&mut outcome, limits);
        CheckRun { outcome, values: if completed { run.values } else { call.values.clone() } }
    }

    /// Runs a command plugin with `call.args` and maps its exit code and
    /// output by the plugin interface (see [`crate::plugin`]); a timeout,
    /// the memory limit or a trap end as for a check, with the plugin's
    /// output so far in the long output.
    pub(crate) async fn execute_plugin(&self, call: &CheckCall) -> CheckRun {
        if call.item.is_some() || !call.params.is_empty() {
            return misuse(
                call,
                "This is a command plugin: it takes command-line arguments (`wasmon check MODULE -- ARGS`, \
                 `args` in the configuration), not an item or parameters",
            );
        }
        let mut argv = Vec::with_capacity(call.args.len() + 1);
        argv.push(self.program_name().to_string());
        argv.extend(call.args.iter().cloned());
        let run = self.execute(Call::Run(&argv), &call.target, &call.grants, &call.limits, Values::new()).await;
        if !run.stderr.is_empty() {
            tracing::debug!(check = %self.name, "plugin stderr: {}", run.stderr);
        }
        let limits = &call.limits;
        let PluginResult { state, summary, mut long_output, metrics, perfdata_errors, termination } = match run.result {
            Ok(Returned::Exit(status)) => plugin_result(status, &run.output, &run.stderr),
            Ok(_) => unreachable!("a command plugin only runs"),
            Err(failure) => {
                let (state, summary, details, termination) = failure.outcome(limits);
                // A trap's details hold the guest's output already; a
                // timeout or the memory limit has none of its own.
                let so_far = run.output.trim_end();
                let long_output = match details {
                    Some(details) => Some(details),
                    None if !so_far.is_empty() => Some(format!("Plugin output before it was stopped:\n{so_far}")),
                    None => None,
                };
                PluginResult {
                    state,
                    summary,
                    long_output,
                    metrics: Vec::new(),
                    perfdata_errors: Vec::new(),
                    termination,
                }
            }
        };
        if run.dropped > 0 {
            long_output = Some(match long_output {
                Some(l) => format!("{l}\n{TRUNCATED}"),
                None => TRUNCATED.to_string(),
            });
        }
        let mut outcome = Outcome {
            state,
            summary,
            long_output,
            metrics,
            perfdata_errors,
            duration: run.duration,
            termination,
            truncated: false,
        };
        fit_output(&mut outcome, limits);
        outcome.truncated |= run.dropped > 0;
        CheckRun { outcome, values: call.values.clone() }
    }

    /// Runs a command plugin with `--help`, without a target and within
    /// 5 s, and returns what it printed as it printed it: stdout, or stderr
    /// when stdout is empty (usage texts hold `|`, which plugin output
    /// parsing would take for performance data).
    pub(crate) async fn execute_help(&self) -> Result<String, String> {
        let limits = Limits { timeout: Duration::from_secs(5), ..Limits::default() };
        let grants = Grants { target: false, ..Grants::default() };
        let argv = [self.program_name().to_string(), "--help".to_string()];
        let run = self.execute(Call::Run(&argv), &Target::default(), &grants, &limits, Values::new()).await;
        match run.result {
            Ok(Returned::Exit(_)) if run.output.trim().is_empty() => Ok(run.stderr),
            Ok(Returned::Exit(_)) => Ok(run.output),
            Ok(_) => unreachable!("a command plugin only runs"),
            Err(f) => Err(f.message(&limits)),
        }
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
        let command = matches!(call, Call::Run(_));
        let capture = Capture::new(limits.output);
        // A plugin's stdout is its plugin output: its stderr is kept apart.
        let stderr = if command { capture.second() } else { capture.clone() };
        let descriptors = super::descriptors::RunDescriptors::new(self.sandbox.descriptors(), self.sandbox.sockets());
        let net = NetPolicy {
            grants: Arc::new(grants.clone()),
            target_name: target.name.as_str().into(),
            target_address: target.address,
            descriptors: (descriptors.pool().clone(), descriptors.http.clone()),
        };
        let mut wasi = WasiCtxBuilder::new();
        if let Call::Run(argv) = &call {
            wasi.args(argv);
        }
        wasi.stdout(capture.clone())
            .stderr(stderr.clone())
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
        // What the guest makes the host hold counts against its memory
        // limit together with its linear memory (see `memory`).
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(super::descriptors::FIELD_SIZE_LIMIT);
        let table = wasmtime::component::ResourceTable::new();
        let mut state = HostState {
            wasi: wasi.build(),
            http,
            table,
            net,
            limiter: Accountant::new(memory),
            values,
            check: self.name.clone(),
            logged: 0,
            descriptors,
        };
        state.settle();
        let mut store = Store::new(self.sandbox.engine(), state);
        store.limiter(|s| s);
        // However long the limit, no deadline overflows.
        let timeout = limits.timeout.min(crate::sanitize::MAX_DURATION);
        let deadline = start + timeout;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |mut store| {
            // Every tick, what the guest makes the host hold is measured.
            if !store.data_mut().settle() {
                return Err(wasmtime::Error::msg("the check's memory limit was exceeded by host resources"));
            }
            Ok(if Instant::now() >= deadline { UpdateDeadline::Interrupt } else { UpdateDeadline::Yield(1) })
        });

        let run = async {
            Ok::<_, wasmtime::Error>(match (&self.exports, call) {
                (Exports::Check(pre), call) => {
                    let instance = pre.instantiate_async(&mut store).await?;
                    match call {
                        Call::Describe => Returned::Describe(instance.call_describe(&mut store).await?),
                        Call::Discover(req) => Returned::Discover(instance.call_discover(&mut store, req).await?),
                        Call::Check(req) => Returned::Check(instance.call_check(&mut store, req).await?),
                        Call::Run(_) | Call::Handle(_) => unreachable!("a check only describes, discovers and checks"),
                    }
                }
                (Exports::Command(pre, _), Call::Run(_)) => {
                    let program = pre.instantiate_async(&mut store).await?;
                    Returned::Exit(match program.wasi_cli_run().call_run(&mut store).await? {
                        Ok(()) => ExitStatus::Code(0),
                        Err(()) => ExitStatus::FailureWithoutCode,
                    })
                }
                (Exports::Command(..), _) => unreachable!("a command plugin only runs"),
                (Exports::Handler(pre), Call::Handle(req)) => {
                    let instance = pre.instantiate_async(&mut store).await?;
                    Returned::Handle(instance.call_handle(&mut store, req).await?)
                }
                (Exports::Handler(_), _) => unreachable!("an event handler only handles"),
                (Exports::Missing(..), _) => unreachable!("a missing module is never called"),
            })
        };
        let result = tokio::time::timeout(timeout, run).await;
        let duration = start.elapsed();
        let (output, dropped) = capture.contents();
        let stderr = if command { stderr.contents().0 } else { String::new() };
        let result = match result {
            Err(_elapsed) => Err(Failure::Timeout),
            Ok(Ok(returned)) => Ok(returned),
            // For a plugin, exiting is how it ends; for a check, a failure.
            Ok(Err(e)) if command && exit_status(&e).is_some() => {
                Ok(Returned::Exit(exit_status(&e).expect("checked above")))
            }
            Ok(Err(e)) if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) => Err(Failure::Timeout),
            Ok(Err(e)) if out_of_memory(store.data_mut(), &e, &format!("{output}{stderr}")) => {
                Err(Failure::MemoryLimit(memory))
            }
            Ok(Err(e)) if command => {
                let newline = if output.is_empty() || output.ends_with('\n') { "" } else { "\n" };
                Err(trap(&e, &format!("{output}{newline}{stderr}")))
            }
            Ok(Err(e)) => Err(trap(&e, &output)),
        };
        let held = &store.data().limiter;
        tracing::debug!(check = %self.name, peak = held.peak(), refused = held.grow_refused(), "memory of the run");
        let values = std::mem::take(&mut store.data_mut().values);
        Execution { result, values, duration, output, stderr, dropped }
    }
}

/// Whether a run that failed with `e` hit its memory limit: host bytes over
/// the limit, a table entry refused for want of room, or a refused
/// `memory.grow` the guest gave up on at once (an abort, which is how
/// Rust's and C's allocators end when memory runs out, or an instance that
/// could not be created). A panic or another trap after a refused grow the
/// guest coped with is reported as what it is.
fn out_of_memory(state: &mut HostState, e: &wasmtime::Error, output: &str) -> bool {
    if state.limiter.host_exceeded() || state.limiter.refused_entry(&mut state.table) {
        return true;
    }
    // Not a trap at all: instantiation refused for want of memory.
    let gave_up = matches!(e.downcast_ref::<Trap>(), None | Some(Trap::UnreachableCodeReached));
    state.limiter.grow_refused() && gave_up && panic_message(output).is_none()
}

/// How a plugin exited, if `e` is an exit rather than a trap.
fn exit_status(e: &wasmtime::Error) -> Option<ExitStatus> {
    if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return Some(ExitStatus::Code(exit.0));
    }
    e.downcast_ref::<ExitFailure>().map(|_| ExitStatus::FailureWithoutCode)
}

impl Failure {
    /// The state, summary, details and termination of a run that did not
    /// return.
    fn outcome(self, limits: &Limits) -> (State, String, Option<String>, Termination) {
        match self {
            Failure::Timeout => (limits.timeout_state, timed_out(limits.timeout), None, Termination::Timeout),
            Failure::MemoryLimit(bytes) => (State::Unknown, memory_exceeded(bytes), None, Termination::MemoryLimit),
            Failure::Trap { summary, details } => (State::Unknown, summary, Some(details), Termination::Trap),
        }
    }
}

/// The outcome of a call that does not fit the module (arguments for a
/// check, parameters for a plugin): UNKNOWN, nothing run.
pub(crate) fn misuse(call: &CheckCall, message: &str) -> CheckRun {
    CheckRun { outcome: Outcome::not_run(message, Termination::BadParams), values: call.values.clone() }
}

/// A handler's text through the sanitiser, cut to `limit` bytes (at a
/// character boundary), marked as cut.
fn clip(text: String, limit: usize) -> String {
    let mut text = match crate::sanitize::text(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(clean) => clean,
    };
    if text.len() > limit {
        let mut end = limit.saturating_sub(TRUNCATED.len() + 1);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push(' ');
        text.push_str(TRUNCATED);
    }
    text
}

/// Describes a trap: a Rust panic by its message and location (from the
/// guest's stderr), anything else by the trap; the guest backtrace and
/// stderr go to the details.
fn trap(e: &wasmtime::Error, output: &str) -> Failure {
    let exit = match exit_status(e) {
        Some(ExitStatus::Code(code)) => Some(format!("status {code}")),
        Some(ExitStatus::FailureWithoutCode) => Some("a failure status".to_string()),
        None => None,
    };
    if let Some(exit) = exit {
        return Failure::Trap {
            summary: format!("Check exited with {exit} instead of returning a result"),
            details: output_details(output)
                .unwrap_or_else(|| "A check must return from check(); it called wasi:cli/exit.".into()),
        };
    }
    let summary = match panic_message(output) {
        Some((message, Some(location))) => format!("Check panicked: {message} (at {location})"),
        Some((message, None)) => format!("Check panicked: {message}"),
        None => match e.downcast_ref::<Trap>() {
            Some(trap) => format!("Check crashed: {trap}"),
            None => format!("Check failed: {}", summary_of(e)),
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

/// Longest error text on a summary line, in bytes.
const SUMMARY_ERROR_LEN: usize = 300;

/// An error for the summary line: its messages without the guest
/// backtrace that wasmtime attaches to a failed host call (that goes to the
/// details), one line, bounded.
fn summary_of(e: &wasmtime::Error) -> String {
    let parts: Vec<String> = e
        .chain()
        .map(|c| c.to_string())
        .filter(|m| !m.starts_with("error while executing at wasm backtrace"))
        .map(|m| m.lines().next().unwrap_or_default().trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    crate::sanitize::line(&parts.join(": "), SUMMARY_ERROR_LEN)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_found() {
        let stderr = "\nthread '<unnamed>' panicked at src/lib.rs:10:5:\ndeliberate panic: x\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            panic_message(stderr),
            Some(("deliberate panic: x".to_string(), Some("src/lib.rs:10:5".to_string())))
        );
        assert_eq!(panic_message("all fine"), None);
    }
}

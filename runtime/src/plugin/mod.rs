//! WASI command plugins, the Nagios way: what a plugin prints and how it
//! exits, turned into an [`Outcome`](crate::Outcome); and the macros of its
//! arguments.
//!
//! A *command plugin* is a WebAssembly program with a `main`: a
//! `wasi:cli/command` component, or a WASI preview1 core module that the
//! sandbox converts at load (see [`preview1_to_component`]). It is run like
//! a Nagios plugin (seed 003, the plugin interface): with command-line
//! arguments, its stdout parsed as plugin output, its exit code the state.
//!
//! # Output
//!
//! [`parse_output`] splits stdout by the Nagios/Naemon rules: the first line
//! up to `|` is the summary and the rest of that line performance data; the
//! following lines are long output until a line that contains `|`, whose
//! part before the `|` is still long output and after which all further text
//! is performance data. Performance data is parsed by the Monitoring Plugins
//! development guidelines ([`parse_perfdata`]): space-separated
//! `'label'=value[UOM];[warn];[crit];[min];[max]` entries. An entry that
//! breaks the rules is not taken: it is named in the long output ("Ignored
//! bad performance data ...") and the rest of the output stands.
//!
//! Units are kept as the plugin wrote them (`ms`, `KB`, ... included): a
//! plugin's graphs and thresholds stay in its own unit, and `wasmon check`
//! hands a plugin's performance data on unchanged, so a Nagios or PNP4Nagios
//! that ran the plugin natively before sees the same series. Converting
//! would also have to guess: the guidelines do not say whether `KB` is 1000
//! or 1024 bytes, and plugins differ. Metrics of typed checks are in
//! canonical units (seconds, bytes) by contract; those of plugins are in
//! [`UNITS`].
//!
//! # Exit codes
//!
//! 0, 1, 2 and 3 are OK, WARNING, CRITICAL and UNKNOWN ([`state_from_exit_code`]).
//! Any other code is UNKNOWN with a message naming it, as is an exit through
//! WASI 0.2's `exit(err)`, which carries no code at all (see
//! [`Termination::InvalidExit`]). A plugin
//! that runs out of time or memory, or traps, ends like a typed check.

mod macros;
mod perfdata;
mod preview1;
#[cfg(test)]
mod tests;

pub use self::macros::{MACROS, MacroContext, MacroError, expand_args, expand_macros};
pub use self::perfdata::{PerfdataError, UNITS, parse_perfdata, parse_range};
pub use self::preview1::preview1_to_component;
pub(crate) use self::preview1::{check_command_module, conversion_key};

use crate::outcome::{Metric, State, Termination};

/// Most bad performance data entries named one by one in the long output;
/// the rest are counted.
const MAX_REPORTED: usize = 10;

/// Plugin output split into its parts by the Nagios/Naemon rules, before
/// the performance data is parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SplitOutput {
    /// The first line up to `|`, trimmed.
    pub summary: String,
    /// The following lines up to the first line with `|` (its part before
    /// the `|` included), trailing blank lines and blanks removed; `None`
    /// when there is none.
    pub long_output: Option<String>,
    /// The performance data text: the rest of the first line after `|`,
    /// then everything after the first `|` of a later line, joined by
    /// blanks and trimmed.
    pub perfdata: String,
}

/// Plugin output with its performance data parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct PluginOutput {
    /// The first line up to `|`, trimmed.
    pub summary: String,
    /// The long output, if any (see [`SplitOutput::long_output`]).
    pub long_output: Option<String>,
    /// The entries of the performance data that follow the guidelines, in
    /// order, with the plugin's units.
    pub metrics: Vec<Metric>,
    /// The entries that do not, each with the reason.
    pub bad_perfdata: Vec<PerfdataError>,
}

impl PluginOutput {
    /// One line per ignored performance data entry (at most ten named,
    /// the rest counted): the outcome's `perfdata_errors`, kept apart from
    /// the plugin's own long output.
    pub fn perfdata_errors(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.bad_perfdata.iter().take(MAX_REPORTED).map(ToString::to_string).collect();
        if self.bad_perfdata.len() > MAX_REPORTED {
            lines.push(format!(
                "({} more bad performance data entries ignored)",
                self.bad_perfdata.len() - MAX_REPORTED
            ));
        }
        lines
    }
}

/// Splits plugin output into summary, long output and performance data
/// text, by the Nagios/Naemon rules (see the [module docs](self)). Line
/// ends may be `\n` or `\r\n`.
pub fn split_output(stdout: &str) -> SplitOutput {
    let mut lines = stdout.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().unwrap_or_default();
    let (summary, mut perf) = match first.split_once('|') {
        Some((summary, perf)) => (summary, vec![perf]),
        None => (first, Vec::new()),
    };
    let mut long = Vec::new();
    let mut in_perfdata = false;
    for line in lines {
        if in_perfdata {
            perf.push(line);
        } else if let Some((text, data)) = line.split_once('|') {
            long.push(text);
            perf.push(data);
            in_perfdata = true;
        } else {
            long.push(line);
        }
    }
    let long = long.iter().map(|l| l.trim_end()).collect::<Vec<_>>().join("\n");
    let long = long.trim_end();
    let perfdata = perf.iter().map(|p| p.trim()).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ");
    SplitOutput {
        summary: summary.trim().to_string(),
        long_output: (!long.is_empty()).then(|| long.to_string()),
        perfdata,
    }
}

/// Splits plugin output (see [`split_output`]) and parses its performance
/// data (see [`parse_perfdata`]).
pub fn parse_output(stdout: &str) -> PluginOutput {
    let split = split_output(stdout);
    let (metrics, bad_perfdata) = parse_perfdata(&split.perfdata);
    PluginOutput { summary: split.summary, long_output: split.long_output, metrics, bad_perfdata }
}

/// The state a plugin exit code stands for: 0 OK, 1 WARNING, 2 CRITICAL,
/// 3 UNKNOWN; `None` for any other code.
pub fn state_from_exit_code(code: i32) -> Option<State> {
    match code {
        0 => Some(State::Ok),
        1 => Some(State::Warning),
        2 => Some(State::Critical),
        3 => Some(State::Unknown),
        _ => None,
    }
}

/// How a plugin ended when it ended by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// It exited with this code (`main` returning counts as 0).
    Code(i32),
    /// It exited through WASI 0.2's `exit(err)` (or its `run` returned an
    /// error), which says "failure" but carries no code.
    FailureWithoutCode,
}

/// The result of a plugin that ended by itself, before the output limits
/// are applied.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PluginResult {
    pub(crate) state: State,
    pub(crate) summary: String,
    pub(crate) long_output: Option<String>,
    pub(crate) metrics: Vec<Metric>,
    /// What was wrong with the performance data entries left out.
    pub(crate) perfdata_errors: Vec<String>,
    pub(crate) termination: Termination,
}

/// Maps a plugin's exit and output to its result: a code of 0-3 is the
/// state and the output is parsed; anything else is UNKNOWN with a message
/// naming it, the plugin's own text moved to the long output and its
/// performance data dropped (as Nagios does). Stdout is the plugin output;
/// stderr is shown only when stdout is empty (as Nagios 4 does).
pub(crate) fn plugin_result(exit: ExitStatus, stdout: &str, stderr: &str) -> PluginResult {
    let parsed = parse_output(stdout);
    let (summary, long_output) = if stdout.trim().is_empty() {
        let mut err = stderr.trim().lines();
        match err.next() {
            Some(first) => {
                let rest = err.collect::<Vec<_>>().join("\n");
                let rest = rest.trim_end();
                (
                    format!("(No output on stdout) stderr: {}", first.trim()),
                    (!rest.is_empty()).then(|| rest.to_string()),
                )
            }
            None => ("(No output returned from plugin)".to_string(), None),
        }
    } else {
        (parsed.summary.clone(), parsed.long_output.clone())
    };
    let state = match exit {
        ExitStatus::Code(code) => state_from_exit_code(code),
        ExitStatus::FailureWithoutCode => None,
    };
    if let Some(state) = state {
        return PluginResult {
            state,
            summary,
            // The plugin's text as it wrote it; what was wrong with its
            // performance data in a field of its own.
            long_output,
            perfdata_errors: parsed.perfdata_errors(),
            metrics: parsed.metrics,
            termination: Termination::Completed,
        };
    }
    let (message, why) = match exit {
        ExitStatus::Code(code) => (
            format!("Plugin exited with code {code}, which is not a plugin state (0-3)"),
            "A plugin must exit with 0 (OK), 1 (WARNING), 2 (CRITICAL) or 3 (UNKNOWN).".to_string(),
        ),
        ExitStatus::FailureWithoutCode => (
            "Plugin exited with a failure status that carries no exit code".to_string(),
            "It used WASI 0.2's exit(), which passes only success or failure: wasi-libc's and Rust's \
             exit() on wasm32-wasip2 do this for every non-zero code. Build the plugin for wasm32-wasip1 \
             (wasmon keeps proc_exit's code), or exit through wasi:cli/exit's exit-with-code."
                .to_string(),
        ),
    };
    let mut details = vec![why];
    let silent = stdout.trim().is_empty() && stderr.trim().is_empty();
    let own = [Some(summary), long_output].into_iter().flatten().filter(|t| !t.is_empty()).collect::<Vec<_>>();
    if !silent && !own.is_empty() {
        details.push(format!("Plugin output:\n{}", own.join("\n")));
    }
    PluginResult {
        state: State::Unknown,
        summary: message,
        long_output: Some(details.join("\n")),
        metrics: Vec::new(),
        perfdata_errors: Vec::new(),
        termination: Termination::InvalidExit,
    }
}

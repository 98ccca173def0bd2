//! `wasmon check`: one check, once, as a Nagios plugin.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use wasmon_runtime::output::JsonOutcome;
use wasmon_runtime::{CheckCall, Limits, Sandbox, State, Values};

use crate::common::{Failure, RunArgs, load_values, parse_size, parse_state, prepare, save_values};

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// The item to check (e.g. a mount point for `disk`)
    #[arg(short = 'i', long, value_name = "ITEM")]
    pub item: Option<String>,

    /// Output format
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Nagios)]
    pub format: Format,

    /// State reported when the check times out
    #[arg(long, value_name = "STATE", default_value = "CRITICAL", value_parser = parse_state)]
    pub timeout_state: State,

    /// Output limit (summary, long output and the check's own stdout/stderr)
    #[arg(long, value_name = "SIZE", default_value = "16KiB", value_parser = parse_size)]
    pub output_limit: usize,

    /// Keep the check's value store in this JSON file between runs (counter
    /// rates, sequence positions); without it every run starts empty
    #[arg(long, value_name = "FILE")]
    pub state_file: Option<PathBuf>,

    /// A command plugin's own arguments, after `--`. $HOSTNAME$ and
    /// $HOSTADDRESS$ expand to -H's name and address, $SERVICEDESC$ to the
    /// plugin's file name without .wasm, $$ to a literal $
    #[arg(last = true, value_name = "PLUGIN ARGS")]
    pub plugin_args: Vec<String>,
}

/// How `wasmon check` prints its result.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Nagios plugin output
    Nagios,
    /// One JSON object
    Json,
}

pub(crate) async fn check(sandbox: &Sandbox, args: CheckArgs) -> Result<u8, Failure> {
    let p = prepare(sandbox, &args.run)?;
    let values = match &args.state_file {
        Some(path) => load_values(path)?,
        None => Values::new(),
    };
    // The same macros as in a configuration's `args`.
    let service = p.module.program_name().trim_end_matches(".wasm").to_string();
    let plugin_args = wasmon_runtime::plugin::expand_args(
        &args.plugin_args,
        &wasmon_runtime::plugin::MacroContext::new(&p.target, &service),
    )?;
    let call = CheckCall {
        target: p.target,
        item: args.item,
        params: p.params,
        args: plugin_args,
        limits: Limits {
            timeout: args.run.timeout,
            timeout_state: args.timeout_state,
            memory: args.run.memory,
            output: args.output_limit,
            ..Limits::default()
        },
        grants: p.grants,
        values,
    };
    let run = p.module.check(&call).await;
    if let Some(path) = &args.state_file {
        save_values(path, &run.values)?;
    }
    let o = &run.outcome;
    match args.format {
        Format::Nagios => {
            outln!("{}", o.plugin_output());
            // Beside the plugin output, not in it: what was left out.
            for e in &o.perfdata_errors {
                eprintln!("wasmon: {e}");
            }
        }
        Format::Json => outln!("{}", serde_json::to_string(&JsonOutcome::from(o)).context("cannot print JSON")?),
    }
    Ok(o.state.exit_code())
}

//! `wasmon simulate`: the engine on a simulated clock.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use wasmon_runtime::Sandbox;

use crate::common::{Failure, parse_duration};

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// The configuration file
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,

    /// How much simulated time to run [default: the inputs file's
    /// `duration`, or 1h]
    #[arg(short, long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Apply the inputs of this TOML file at their simulated times (passive
    /// results, rechecks, acknowledgements, downtime, custom notifications;
    /// its `start` is the wall-clock time of simulated time zero; see
    /// `wasmon_runtime::read_inputs`)
    #[arg(short, long, value_name = "FILE")]
    pub inputs: Option<PathBuf>,
}

pub(crate) async fn simulate(
    sandbox: &Sandbox,
    config: &wasmon_runtime::config::Config,
    args: SimulateArgs,
) -> Result<u8, Failure> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // The first write error (a closed pipe) is kept and reported after the run.
    let mut written: std::io::Result<()> = Ok(());
    let inputs = match &args.inputs {
        Some(path) => wasmon_runtime::read_inputs(path)?,
        None => wasmon_runtime::Inputs::default(),
    };
    let duration = args.duration.or(inputs.duration).unwrap_or(Duration::from_secs(3600));
    let start = inputs.start.unwrap_or_default();
    wasmon_runtime::simulate_from(config, sandbox, start, duration, inputs.inputs, |event| {
        if written.is_ok() {
            written =
                serde_json::to_string(event).map_err(std::io::Error::from).and_then(|line| writeln!(out, "{line}"));
        }
    })
    .await?;
    written.and_then(|()| out.flush()).context("cannot write the simulation")?;
    Ok(0)
}

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

    /// How much simulated time to run
    #[arg(short, long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub duration: Duration,
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
    wasmon_runtime::engine::simulate(config, sandbox, args.duration, |event| {
        if written.is_ok() {
            written =
                serde_json::to_string(event).map_err(std::io::Error::from).and_then(|line| writeln!(out, "{line}"));
        }
    })
    .await?;
    written.and_then(|()| out.flush()).context("cannot write the simulation")?;
    Ok(0)
}

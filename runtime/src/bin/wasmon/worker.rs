//! `wasmon worker`: runs the checks of one zone from NATS JetStream.

use clap::Args;

use crate::common::Failure;

#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// The NATS server (with JetStream) the scheduler uses, e.g. nats://10.0.0.5:4222
    #[arg(long, value_name = "URL")]
    pub nats: String,

    /// The zone whose checks to run (objects' `zone` key)
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub zone: String,

    /// How many checks to run at once [default: twice the CPUs]
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u32>,

    /// The largest memory limit a check may have here (the size of each instance slot)
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub memory: usize,

    /// The scheduler's `[cluster] name` (the prefix of its streams)
    #[arg(long, value_name = "NAME", default_value = "wasmon")]
    pub cluster: String,
}

fn parse_size(s: &str) -> Result<usize, String> {
    wasmon_runtime::config::parse_size(s).map_err(|e| e.to_string())
}

/// Runs until SIGTERM or SIGINT, then finishes the batches it holds.
pub async fn worker(cache_dir: Option<std::path::PathBuf>, args: WorkerArgs) -> Result<u8, Failure> {
    let concurrency =
        args.concurrency.unwrap_or_else(|| std::thread::available_parallelism().map_or(4, |n| 2 * n.get() as u32));
    let options = wasmon_runtime::cluster::worker::WorkerOptions {
        nats: args.nats,
        name: args.cluster,
        zone: args.zone,
        concurrency,
        memory: args.memory,
        cache_dir,
        ..Default::default()
    };
    wasmon_runtime::cluster::worker::run(options, crate::run::shutdown_signal()).await?;
    Ok(0)
}

//! The command line: argument definitions and the dispatch to the subcommands.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use wasmon_runtime::Sandbox;

use crate::check::CheckArgs;
use crate::common::{Failure, load_config};
use crate::describe::DescribeArgs;
use crate::discover::DiscoverArgs;
use crate::run::RunConfigArgs;
use crate::simulate::SimulateArgs;
use crate::validate::ValidateArgs;

#[derive(Parser, Debug)]
#[command(
    name = "wasmon",
    version,
    about = "Run monitoring checks that are sandboxed WebAssembly components",
    long_about = "wasmon runs monitoring checks that are WebAssembly components built against the \
                  wasmon:check contract, each run in a fresh sandbox with a time limit, a memory \
                  limit and only the network access it is granted. `wasmon check` speaks the \
                  Nagios plugin interface: one line of output and exit code 0-3."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Directory for precompiled modules [default: $WASMON_CACHE_DIR, $XDG_CACHE_HOME/wasmon or ~/.cache/wasmon]
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Compile modules at every start instead of caching them
    #[arg(long, global = true)]
    pub no_cache: bool,

    /// Log more (-v: info, -vv: debug, -vvv: trace); logs go to stderr. RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one check once and report it as a Nagios plugin: the first line is
    /// `STATE - summary | perfdata`, then the long output; the exit code is
    /// 0 (OK), 1 (WARNING), 2 (CRITICAL) or 3 (UNKNOWN). A command plugin
    /// (a WASI command or preview1 module) gets its own arguments after `--`.
    Check(CheckArgs),
    /// Print a check's manpage: what it monitors, when it is OK, WARN or CRIT,
    /// its parameters with their defaults, and what it is granted by default.
    Describe(DescribeArgs),
    /// Print the items a check would monitor on a host, one service per item.
    Discover(DiscoverArgs),
    /// Run the monitoring daemon: schedule every host and service of the
    /// configuration, keep their state types, notify on HARD changes, and
    /// keep state in the SQLite file of `[engine] state_file` across
    /// restarts. Structured logs go to stderr. SIGTERM or SIGINT stops it
    /// gracefully: checks in flight finish or are cut at their timeout, state
    /// is flushed. With an `[api]` table it also serves the HTTP API
    /// (status, passive results, rechecks, acknowledgements, downtime,
    /// module reloads, server-sent events; see the README), which stops
    /// with it.
    ///
    /// SIGHUP reads the configuration file again and lets it take over
    /// while checks run: added hosts and services start, removed ones stop,
    /// kept ones keep their state; a file with problems is refused (every
    /// problem logged) and the running configuration stays.
    ///
    /// Check modules are hot-loaded: the checks folder (`[engine] checks_dir`,
    /// default `checks` beside the config if it exists) and the folder of
    /// every module file the configuration names are watched, and SIGHUP
    /// looks at them at once. A changed module is compiled and validated in
    /// the background and swapped in: runs in flight finish on the old
    /// version, the next run of each service uses the new one. A module that
    /// does not compile or breaks the contract is rejected (logged as a
    /// warning) and the old one stays; a removed module's services turn
    /// UNKNOWN naming it until it is back.
    Run(RunConfigArgs),
    /// Run the engine on a simulated clock, as fast as it can, and print one
    /// JSON object per line for every result and every notification (and
    /// every suppressed notification, flapping start and stop, downtime and
    /// acknowledgement), in time order. Every object's first check runs at
    /// t = 0 (a passive-only object's at its freshness deadline, if it has
    /// one). Each result says where it came from: "source" is active,
    /// passive, dependency or freshness. Shows what a configuration will do
    /// before it is deployed.
    Simulate(SimulateArgs),
    /// Measure the engine: N services of the `dummy` check with a short
    /// interval on the real clock for a fixed time; prints executions per
    /// second, how late checks started (p50/p99/max) and peak memory.
    Bench(crate::bench::BenchArgs),
    /// Read and check a configuration file, and run nothing: prints
    /// `FILE: OK (...)` and exits 0, or every problem as FILE:LINE:COLUMN on
    /// stderr and exits 3. Hosts' check packs are expanded (discovery runs)
    /// and their services counted.
    Validate(ValidateArgs),
    /// Check packs: build a pack file from a source folder, install it,
    /// list and show what is installed. A host with `packs = ["NAME"]`
    /// gets every service of the installed pack.
    Pack(crate::pack::PackArgs),
    /// Send a passive result (or a batch of them) to a running `wasmon run`
    /// through its HTTP API: `wasmon submit -H HOST [-s SERVICE] --state
    /// STATE [OUTPUT...]`. Prints the result the engine made of it; exits 0,
    /// or 3 with the reason when it could not be delivered or was refused.
    Submit(crate::submit::SubmitArgs),
    /// Turn another monitoring system's configuration into a wasmon
    /// configuration: `wasmon import nagios /etc/nagios4/nagios.cfg >
    /// wasmon.toml`.
    Import(crate::import::ImportArgs),
    /// Run the checks of one zone for a `wasmon run` with a `[cluster]`:
    /// `wasmon worker --nats nats://10.0.0.5:4222 --zone dc1`. No
    /// configuration file: jobs, modules and results travel over NATS
    /// JetStream.
    Worker(crate::worker::WorkerArgs),
    /// A running `wasmon run`'s cluster: `wasmon cluster status`.
    Cluster(crate::cluster::ClusterArgs),
}

/// Runs the command; returns the exit code.
pub fn run(cli: Cli) -> Result<u8, Failure> {
    // `validate` and `pack` need no multi-threaded runtime; they set up a
    // sandbox only when they run wasm (discovery, building, installing).
    if let Command::Validate(args) = &cli.command {
        return crate::validate::validate(
            args,
            if cli.no_cache { None } else { cli.cache_dir.clone().or_else(wasmon_runtime::default_cache_dir) },
        );
    }
    if let Command::Import(args) = cli.command {
        return crate::import::import(args);
    }
    if let Command::Pack(args) = cli.command {
        return crate::pack::run(
            args,
            if cli.no_cache { None } else { cli.cache_dir.or_else(wasmon_runtime::default_cache_dir) },
        );
    }
    let config = match &cli.command {
        Command::Simulate(args) => Some(load_config(&args.config)?),
        Command::Run(args) => Some(match &args.config {
            Some(path) => load_config(path)?,
            None => wasmon_runtime::config::builtin().context("the built-in configuration")?,
        }),
        _ => None,
    };
    // The daemon runs checks on every core; one-shot commands need one thread.
    let runtime = match &cli.command {
        Command::Run(_) | Command::Bench(_) | Command::Worker(_) => {
            tokio::runtime::Builder::new_multi_thread().enable_all().build()
        }
        _ => tokio::runtime::Builder::new_current_thread().enable_all().build(),
    }
    .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let cache_dir = if cli.no_cache { None } else { cli.cache_dir.or_else(wasmon_runtime::default_cache_dir) };
        let command = match cli.command {
            Command::Bench(args) => return crate::bench::bench(cache_dir, args).await,
            Command::Submit(args) => return crate::submit::submit(args).await,
            Command::Worker(args) => return crate::worker::worker(cache_dir, args).await,
            Command::Cluster(args) => return crate::cluster::cluster(args).await,
            other => other,
        };
        // The pool reserves address space for the largest memory limit asked for.
        let max_memory = match (&command, &config) {
            (Command::Check(a), _) => a.run.memory,
            (Command::Discover(a), _) => a.run.memory,
            (_, Some(c)) => c
                .hosts
                .iter()
                .filter_map(|h| h.check.as_ref())
                .chain(c.services.iter().map(|s| &s.check))
                .map(|spec| spec.limits.memory)
                .max()
                .unwrap_or_default(),
            _ => wasmon_runtime::Limits::default().memory,
        };
        let concurrency = config.as_ref().map_or(4, |c| c.engine.max_concurrent_checks);
        let sandbox = Sandbox::builder()
            .cache_dir(cache_dir)
            .max_concurrency(concurrency)
            .max_memory(max_memory.max(wasmon_runtime::Limits::default().memory))
            .build()?;
        match command {
            Command::Check(args) => crate::check::check(&sandbox, args).await,
            Command::Describe(args) => crate::describe::describe(&sandbox, args).await,
            Command::Discover(args) => crate::discover::discover(&sandbox, args).await,
            Command::Simulate(args) => crate::simulate::simulate(&sandbox, &config.expect("loaded above"), args).await,
            Command::Run(args) => {
                crate::run::daemon(&sandbox, &config.expect("loaded above"), args.config.as_deref(), !args.no_watch)
                    .await
            }
            Command::Validate(_)
            | Command::Pack(_)
            | Command::Bench(_)
            | Command::Submit(_)
            | Command::Import(_)
            | Command::Worker(_)
            | Command::Cluster(_) => {
                unreachable!("handled above")
            }
        }
    })
}

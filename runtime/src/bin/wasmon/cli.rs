//! The command line: argument definitions and the subcommands.

use std::net::{IpAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use wasmon_runtime::output::JsonOutcome;
use wasmon_runtime::{CheckCall, CheckInfo, CheckModule, DiscoverCall, Grants, Limits, Sandbox, State, Target, Values};

/// Prints a line to stdout. A closed stdout (`wasmon check … | head -1`)
/// is not a failure: the exit code still gives the state.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Prints to stdout, like [`outln!`] without the newline.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// An error that keeps a command from doing its job; `main` turns it into
/// exit code 3.
pub struct Failure(pub anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure(e.into())
    }
}

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
}

/// Where and how a check runs; shared by `check` and `discover`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The check: a path to a .wasm file or the name of a standard check
    /// (dummy, tcp, http, dns, load, memory, disk, uptime). The file is a wasmon check
    /// component, or a command plugin: a WASI command component or a WASI
    /// preview1 module (e.g. built for wasm32-wasip1)
    #[arg(value_name = "MODULE")]
    pub module: String,

    /// The host to check: a name (resolved once, here) or an IP address
    #[arg(short = 'H', long = "host", value_name = "HOST")]
    pub host: Option<String>,

    /// A check parameter, repeatable (see `wasmon describe MODULE`)
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,

    /// Wall-time limit of the run
    #[arg(short = 't', long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Memory limit of the check's linear memory
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub memory: usize,

    /// Grant more than the default (a connection to the host's address only):
    /// `system`, `dns`, `net=<IP address>`, `net=any`; `no-target` takes the
    /// host's address away. Repeatable. Standard checks come with what they need.
    #[arg(long = "grant", value_name = "GRANT")]
    pub grants: Vec<String>,
}

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

#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// The check: a path to a .wasm component or the name of a standard check
    #[arg(value_name = "MODULE")]
    pub module: String,

    /// Output format
    #[arg(short = 'f', long, value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
}

#[derive(Args, Debug)]
pub struct DiscoverArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// Output format
    #[arg(short = 'f', long, value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
}

#[derive(Args, Debug)]
pub struct RunConfigArgs {
    /// The configuration file [default: a built-in one that monitors this
    /// machine's load, memory and root filesystem, with state in ./wasmon.db]
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Do not watch check module files: reload them only on SIGHUP (for
    /// file systems without change notification, such as NFS)
    #[arg(long)]
    pub no_watch: bool,
}

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
    /// results, rechecks, acknowledgements, downtime; see
    /// `wasmon_runtime::engine::read_inputs`)
    #[arg(short, long, value_name = "FILE")]
    pub inputs: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The configuration file
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
}

/// How `wasmon check` prints its result.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Nagios plugin output
    Nagios,
    /// One JSON object
    Json,
}

/// How `describe` and `discover` print.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextFormat {
    /// For people
    Text,
    /// One JSON value
    Json,
}

pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("wasmon={default},wasmon_runtime={default}")));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Runs the command; returns the exit code.
pub fn run(cli: Cli) -> Result<u8, Failure> {
    // `validate` and `pack` need no multi-threaded runtime; they set up a
    // sandbox only when they run wasm (discovery, building, installing).
    if let Command::Validate(args) = &cli.command {
        return validate(
            args,
            if cli.no_cache { None } else { cli.cache_dir.clone().or_else(wasmon_runtime::default_cache_dir) },
        );
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
        Command::Run(_) | Command::Bench(_) => tokio::runtime::Builder::new_multi_thread().enable_all().build(),
        _ => tokio::runtime::Builder::new_current_thread().enable_all().build(),
    }
    .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let cache_dir = if cli.no_cache { None } else { cli.cache_dir.or_else(wasmon_runtime::default_cache_dir) };
        let command = match cli.command {
            Command::Bench(args) => return crate::bench::bench(cache_dir, args).await,
            Command::Submit(args) => return crate::submit::submit(args).await,
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
            Command::Check(args) => check(&sandbox, args).await,
            Command::Describe(args) => describe(&sandbox, args).await,
            Command::Discover(args) => discover(&sandbox, args).await,
            Command::Simulate(args) => simulate(&sandbox, &config.expect("loaded above"), args).await,
            Command::Run(args) => daemon(&sandbox, &config.expect("loaded above"), !args.no_watch).await,
            Command::Validate(_) | Command::Pack(_) | Command::Bench(_) | Command::Submit(_) => {
                unreachable!("handled above")
            }
        }
    })
}

/// The module, its grants (defaults plus `--grant`), the target, the params.
struct Prepared {
    module: CheckModule,
    grants: Grants,
    target: Target,
    params: Vec<(String, String)>,
}

fn prepare(sandbox: &Sandbox, run: &RunArgs) -> Result<Prepared, Failure> {
    let params = run.params.iter().map(|p| parse_param(p)).collect::<Result<Vec<_>, _>>()?;
    let (module, mut grants) = sandbox.load_spec(&run.module)?;
    for g in &run.grants {
        grants.add(g).map_err(|e| anyhow!("--grant {e}"))?;
    }
    let target = match &run.host {
        None => Target::default(),
        Some(host) => Target::new(host.clone(), Some(resolve(host)?)),
    };
    Ok(Prepared { module, grants, target, params })
}

async fn check(sandbox: &Sandbox, args: CheckArgs) -> Result<u8, Failure> {
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
        Format::Nagios => outln!("{}", o.plugin_output()),
        Format::Json => outln!("{}", serde_json::to_string(&JsonOutcome::from(o)).context("cannot print JSON")?),
    }
    Ok(o.state.exit_code())
}

async fn describe(sandbox: &Sandbox, args: DescribeArgs) -> Result<u8, Failure> {
    let (module, grants) = sandbox.load_spec(&args.module)?;
    if module.kind().is_plugin() {
        return describe_plugin(&module, &grants, args.format).await;
    }
    let info = module.describe().await?;
    match args.format {
        TextFormat::Json => outln!("{}", serde_json::to_string_pretty(&info).context("cannot print JSON")?),
        TextFormat::Text => out!("{}", manpage(&info, &grants)),
    }
    // What the check's description breaks of the contract, for its author.
    for problem in wasmon_runtime::contract::verify_info(&info) {
        eprintln!("wasmon: warning: {}: {problem}", module.name());
    }
    Ok(0)
}

async fn discover(sandbox: &Sandbox, args: DiscoverArgs) -> Result<u8, Failure> {
    let p = prepare(sandbox, &args.run)?;
    let call = DiscoverCall {
        target: p.target,
        params: p.params,
        limits: Limits { timeout: args.run.timeout, memory: args.run.memory, ..Limits::default() },
        grants: p.grants,
    };
    let items = p.module.discover(&call).await?;
    match args.format {
        TextFormat::Json => outln!("{}", serde_json::to_string_pretty(&items).context("cannot print JSON")?),
        TextFormat::Text => {
            for item in &items {
                let params: Vec<String> = item.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                if params.is_empty() {
                    outln!("{}", item.name);
                } else {
                    outln!("{}\t{}", item.name, params.join(" "));
                }
            }
        }
    }
    Ok(0)
}

async fn simulate(
    sandbox: &Sandbox,
    config: &wasmon_runtime::config::Config,
    args: SimulateArgs,
) -> Result<u8, Failure> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // The first write error (a closed pipe) is kept and reported after the run.
    let mut written: std::io::Result<()> = Ok(());
    let inputs = match &args.inputs {
        Some(path) => wasmon_runtime::engine::read_inputs(path)?,
        None => wasmon_runtime::engine::Inputs::default(),
    };
    let duration = args.duration.or(inputs.duration).unwrap_or(Duration::from_secs(3600));
    wasmon_runtime::engine::simulate_with(config, sandbox, duration, inputs.inputs, |event| {
        if written.is_ok() {
            written =
                serde_json::to_string(event).map_err(std::io::Error::from).and_then(|line| writeln!(out, "{line}"));
        }
    })
    .await?;
    written.and_then(|()| out.flush()).context("cannot write the simulation")?;
    Ok(0)
}

/// `wasmon validate`: every problem on its own line on stderr, then a
/// failure (exit 3) that counts them.
fn validate(args: &ValidateArgs, cache_dir: Option<PathBuf>) -> Result<u8, Failure> {
    let mut c = load_config(&args.config)?;
    if c.hosts.iter().any(|h| !h.packs.is_empty()) {
        // Discovery runs the packs' checks: a sandbox and a runtime.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        runtime.block_on(async {
            let sandbox = wasmon_runtime::Monitor::sandbox_for(&c).cache_dir(cache_dir).build()?;
            wasmon_runtime::pack::expand(&mut c, &sandbox).await
        })?;
    }
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    outln!(
        "{}: OK ({}, {}, {})",
        args.config.display(),
        count(c.hosts.len(), "host"),
        count(c.services.len(), "service"),
        count(c.contacts.len(), "contact")
    );
    Ok(0)
}

async fn daemon(sandbox: &Sandbox, config: &wasmon_runtime::config::Config, watch: bool) -> Result<u8, Failure> {
    tracing::info!(state_file = %config.engine.state_file.display(), "starting");
    // Bind first: a taken port stops the start before any check runs.
    let api = match &config.api {
        Some(settings) => Some(wasmon_runtime::api::Server::bind(settings.clone()).await?),
        None => None,
    };
    let monitor = wasmon_runtime::Monitor::builder()
        .config(config.clone())
        .sandbox(sandbox.clone())
        .watch_modules(watch)
        .start()
        .await?;
    let monitor = std::sync::Arc::new(monitor);
    let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let served = api.map(|server| {
        tracing::info!(address = %server.local_addr(), "API listening");
        tokio::spawn(server.serve(monitor.clone(), async move {
            let _ = api_stopped.await;
        }))
    });
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| tracing::warn!("cannot handle SIGHUP ({e}): check modules reload only on file changes"))
        .ok();
    loop {
        let hangup_received = async {
            match hangup.as_mut() {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = &mut shutdown => break,
            Some(()) = hangup_received => {
                tracing::info!("SIGHUP received: reloading check modules");
                match monitor.reload().await {
                    Ok(report) => tracing::info!(%report, "check modules reloaded"),
                    Err(e) => tracing::warn!("reloading check modules: {e}"),
                }
            }
        }
    }
    // The API first: requests under way are answered by the running engine.
    let _ = stop_api.send(());
    if let Some(served) = served {
        served.await.context("the API task failed")??;
    }
    monitor.stop().await?;
    Ok(0)
}

/// Resolves at the first SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Loads a configuration; on problems prints each on its own line (file,
/// line, column, key) on stderr and fails with their count.
fn load_config(path: &Path) -> Result<wasmon_runtime::config::Config, Failure> {
    match wasmon_runtime::config::load(path) {
        Ok(c) => Ok(c),
        Err(e @ wasmon_runtime::config::ConfigError::Read { .. }) => Err(e.into()),
        Err(e) => {
            eprintln!("{e}");
            let n = e.problems().len();
            Err(anyhow!("{}: {n} problem{} found", path.display(), if n == 1 { "" } else { "s" }).into())
        }
    }
}

/// `wasmon describe` of a command plugin: what it is and how to give it
/// arguments, and what it prints for `--help` (run in the sandbox, with no
/// target and a short time limit; see `CheckModule::plugin_help`).
async fn describe_plugin(module: &CheckModule, grants: &Grants, format: TextFormat) -> Result<u8, Failure> {
    let help = match module.plugin_help().await {
        Ok(text) => text.trim_end().to_string(),
        Err(e) => format!("(none: {e})"),
    };
    let kind = match module.kind() {
        wasmon_runtime::ModuleKind::Preview1Plugin => "a WASI preview1 module, converted to a component at load",
        _ => "a WASI command component",
    };
    let argv0 = module.program_name();
    let service = argv0.trim_end_matches(".wasm");
    if format == TextFormat::Json {
        let json = serde_json::json!({
            "module": module.name(),
            "kind": module.kind(),
            "argv0": argv0,
            "macros": wasmon_runtime::plugin::MACROS.iter().map(|(name, what)| serde_json::json!({"name": format!("${name}$"), "value": what})).collect::<Vec<_>>(),
            "help": help,
        });
        outln!("{}", serde_json::to_string_pretty(&json).context("cannot print JSON")?);
        return Ok(0);
    }
    let mut out = format!("{argv0}\nCommand plugin ({kind})\n");
    let section = |out: &mut String, title: &str, text: &str| {
        out.push_str(&format!("\n{title}\n"));
        for line in text.lines() {
            out.push_str(&format!("    {line}\n"));
        }
    };
    section(
        &mut out,
        "DESCRIPTION",
        "A Nagios-style plugin, not a wasmon check: it has no manpage, parameters or\n\
         discovery of its own. wasmon runs it with command-line arguments and reads the\n\
         plugin interface: the first line of stdout up to '|' is the summary and the rest\n\
         performance data, the following lines long output; exit code 0, 1, 2 or 3 is\n\
         OK, WARNING, CRITICAL or UNKNOWN, any other code UNKNOWN. It sees no files, no\n\
         environment variables and an empty stdin; it may connect where it is granted.",
    );
    let macros: Vec<String> =
        wasmon_runtime::plugin::MACROS.iter().map(|(name, what)| format!("    ${name}$  {what}")).collect();
    section(
        &mut out,
        "ARGUMENTS",
        &format!(
            "Give them after `--`:\n    wasmon check {name} -H HOST -- -H '$HOSTADDRESS$' ...\n\
             or in the configuration: args = [\"-H\", \"$HOSTADDRESS$\", ...]\n\
             The plugin gets \"{argv0}\" as argv[0]. Macros:\n{macros}\n    $$  a literal $\n\
             (with `wasmon check`, $SERVICEDESC$ is \"{service}\")",
            name = module.name(),
            macros = macros.join("\n"),
        ),
    );
    section(&mut out, "PLUGIN HELP (its output for --help)", if help.trim().is_empty() { "(none)" } else { &help });
    section(&mut out, "GRANTED BY DEFAULT", &granted(grants));
    out!("{out}");
    Ok(0)
}

/// What `grants` allow, one line each, for the manpages.
pub(crate) fn granted(grants: &Grants) -> String {
    let mut granted = Vec::new();
    if grants.target {
        granted.push("connections to the host's address".to_string());
    }
    if grants.dns {
        granted.push("name lookups".to_string());
    }
    if grants.system {
        granted.push("the system interface (load, memory, filesystems, uptime)".to_string());
    }
    granted.extend(grants.addresses.iter().map(|a| format!("connections to {a}")));
    if grants.any_address {
        granted.push("connections to any address".to_string());
    }
    if granted.is_empty() { "nothing".to_string() } else { granted.join("\n") }
}

/// The manpage as `wasmon describe` prints it.
fn manpage(info: &CheckInfo, grants: &Grants) -> String {
    let mut out = format!("{} {}\n{}\n", info.name, info.version, info.title);
    let section = |out: &mut String, title: &str, text: &str| {
        out.push_str(&format!("\n{title}\n"));
        for line in text.lines() {
            out.push_str(&format!("    {line}\n"));
        }
    };
    section(&mut out, "DESCRIPTION", &info.manpage.description);
    if let Some(item) = &info.manpage.item {
        section(&mut out, "ITEM", item);
    }
    if let Some(d) = &info.manpage.discovery {
        section(&mut out, "DISCOVERY", d);
    }
    out.push_str("\nPARAMETERS\n");
    if info.params.is_empty() {
        out.push_str("    none\n");
    }
    for p in &info.params {
        out.push_str(&format!("    {}\n", p.name));
        for line in p.description.lines() {
            out.push_str(&format!("        {line}\n"));
        }
        match (&p.default, &p.default_source) {
            (Some(d), Some(s)) => out.push_str(&format!("        Default: {d} (source: {s})\n")),
            (Some(d), None) => out.push_str(&format!("        Default: {d}\n")),
            (None, Some(s)) => out.push_str(&format!("        Default: none ({s})\n")),
            (None, None) => {}
        }
    }
    section(&mut out, "GRANTED BY DEFAULT", &granted(grants));
    out
}

fn parse_param(p: &str) -> anyhow::Result<(String, String)> {
    match p.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => bail!("-p '{p}': expected KEY=VALUE"),
    }
}

/// Resolves `-H` once, here: the check connects to this address.
fn resolve(host: &str) -> anyhow::Result<IpAddr> {
    if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        return Ok(ip);
    }
    let mut addrs =
        (host, 0).to_socket_addrs().with_context(|| format!("-H '{host}': cannot resolve the host name"))?;
    addrs.next().map(|a| a.ip()).ok_or_else(|| anyhow!("-H '{host}': the host name has no addresses"))
}

fn load_values(path: &Path) -> anyhow::Result<Values> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).with_context(|| {
            format!(
                "--state-file {}: not a value store written by wasmon (expected a JSON object of byte arrays)",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Values::new()),
        Err(e) => Err(e).with_context(|| format!("--state-file {}: cannot read it", path.display())),
    }
}

fn save_values(path: &Path, values: &Values) -> anyhow::Result<()> {
    let text = serde_json::to_string(values)?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("--state-file {}: cannot write it", path.display()))
}

pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = match s.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 => Duration::from_secs_f64(secs),
        Ok(_) => return Err(format!("'{s}': expected a positive duration such as 10s, 500ms or 1m")),
        Err(_) => humantime::parse_duration(s)
            .map_err(|e| format!("'{s}': expected a duration such as 10s, 500ms or 1m ({e})"))?,
    };
    if d.is_zero() {
        return Err(format!("'{s}': the duration must be more than zero"));
    }
    Ok(d)
}

/// Sizes as `65536`, `64KiB`, `64MiB`, `1GiB` (also `K`/`M`/`G`, `KB`/`MB`/`GB`, all binary).
fn parse_size(s: &str) -> Result<usize, String> {
    wasmon_runtime::config::parse_size(s)
}

fn parse_state(s: &str) -> Result<State, String> {
    s.parse::<State>().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_durations_and_params() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("16k"), Ok(16 << 10));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("64 furlongs").unwrap_err().contains("unknown unit"));
        assert!(parse_size("0").is_err());
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0s").is_err());
        assert_eq!(parse_param("port=22").unwrap(), ("port".into(), "22".into()));
        assert_eq!(parse_param("send=a=b").unwrap(), ("send".into(), "a=b".into()));
        assert!(parse_param("port").unwrap_err().to_string().contains("expected KEY=VALUE"));
    }
}

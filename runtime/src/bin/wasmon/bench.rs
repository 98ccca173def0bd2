//! `wasmon bench`: the engine under load, on the real clock. N services of
//! one check (the standard `dummy` unless `--check` names another, with its
//! `-p` parameters, against `-H`) with a short interval run through the same
//! [`Monitor`] as `wasmon run` for a fixed time; it reports executions per
//! second, how late checks started against their schedule, and memory.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use wasmon_runtime::config::{CheckSpec, Config, EngineSettings, Host, Schedule, Service};
use wasmon_runtime::{CheckCall, Monitor, Retention, Sandbox};

use crate::common::{Failure, parse_duration, parse_param, resolve};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The check every service runs: a standard check's name or a path to a
    /// .wasm module, as in `wasmon check`
    #[arg(long, value_name = "MODULE", default_value = "dummy")]
    pub check: String,

    /// A parameter of the check, repeatable
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,

    /// The host the services check: a name (resolved once, here) or an IP
    /// address
    #[arg(short = 'H', long = "host", value_name = "HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// The item every service checks (e.g. a mount point for `disk`)
    #[arg(long, value_name = "ITEM")]
    pub item: Option<String>,

    /// Grant more than the check's defaults, as `wasmon check --grant`;
    /// repeatable
    #[arg(long = "grant", value_name = "GRANT")]
    pub grants: Vec<String>,

    /// How many services
    #[arg(short = 'n', long, default_value_t = 100_000)]
    pub services: usize,

    /// Each service's check interval: services / interval is the demand
    #[arg(short, long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,

    /// How long to measure
    #[arg(short, long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,

    /// The global concurrency cap (`max_concurrent_checks`)
    #[arg(long, default_value_t = 64)]
    pub concurrency: u32,

    /// Keep state in this SQLite file, as `wasmon run` does (default: no
    /// retention, the engine alone)
    #[arg(long, value_name = "FILE")]
    pub state_file: Option<PathBuf>,

    /// Print the figures as one JSON object
    #[arg(long)]
    pub json: bool,

    /// Also print each second's executions and start lateness, on stderr
    #[arg(long)]
    pub per_second: bool,

    /// Attach an embedder's subscriber (`MonitorBuilder::subscriber`) that
    /// counts every result event and checks their order, and report what
    /// it saw
    #[arg(long)]
    pub subscriber: bool,

    /// Attach the metric sinks (`[[sink]]` tables) of this configuration
    /// file, as `wasmon run` would, and report what each sent (the `dummy`
    /// check then reports a metric: `-p metric=1` unless given)
    #[arg(long, value_name = "FILE")]
    pub sinks: Option<PathBuf>,
    /// Run the services on `wasmon worker`s of zone `bench` through this
    /// NATS server (`[cluster] nats`, cluster name `bench`) instead of in
    /// this process
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
}

/// What the bench's subscriber saw.
#[derive(Default)]
struct Seen {
    results: u64,
    last_t: f64,
    out_of_order: u64,
}

/// Counts result events and checks that their times never go back.
struct Counter(std::sync::Arc<std::sync::Mutex<Seen>>);

impl wasmon_runtime::Subscriber for Counter {
    fn events(&mut self, step: &[wasmon_runtime::Event]) {
        let mut seen = self.0.lock().expect("bench subscriber lock");
        for e in step {
            if let wasmon_runtime::Event::Result(r) = e {
                seen.results += 1;
                if r.t < seen.last_t {
                    seen.out_of_order += 1;
                }
                seen.last_t = r.t;
            }
        }
    }
}

/// Runs the benchmark; the figures go to stdout.
pub async fn bench(sandbox_cache: Option<PathBuf>, args: BenchArgs) -> Result<u8, Failure> {
    if args.services == 0 || args.interval.is_zero() || args.duration.is_zero() {
        return Err(anyhow::anyhow!("--services, --interval and --duration must be greater than zero").into());
    }
    let mut params = args.params.iter().map(|p| parse_param(p)).collect::<Result<Vec<_>, _>>()?;
    // Something for the sinks to send: the dummy reports its metric `value`
    // (from the warm-up on, so the first run shows it too).
    if args.sinks.is_some() && args.check == "dummy" && !params.iter().any(|(k, _)| k == "metric") {
        params.push(("metric".into(), "1".into()));
    }
    let address = resolve(&args.host)?;
    let sandbox = Sandbox::builder().cache_dir(sandbox_cache).max_concurrency(args.concurrency).build()?;
    let (module, mut grants) = sandbox.load_spec(&args.check)?;
    for g in &args.grants {
        grants.add(g).map_err(|e| anyhow::anyhow!("--grant {e}"))?;
    }

    // The fixed cost: the runtime, the engine, the module, and every pool
    // slot touched once, before any service exists.
    let call = CheckCall {
        target: wasmon_runtime::Target::new(args.host.clone(), Some(address)),
        item: args.item.clone(),
        params: params.clone(),
        grants: grants.clone(),
        ..CheckCall::default()
    };
    let warm: Vec<_> = (0..args.concurrency * 2)
        .map(|_| {
            let (module, call) = (module.clone(), call.clone());
            tokio::spawn(async move { module.check(&call).await })
        })
        .collect();
    let mut first = None;
    for w in warm {
        let run = w.await.context("a warm-up run failed")?;
        first.get_or_insert(run.outcome.plugin_output().lines().next().unwrap_or_default().to_string());
    }
    let first = first.unwrap_or_default();
    let fixed = memory("VmRSS")?;

    let mut config = services(&args, params, grants);
    if let Some(file) = &args.sinks {
        config.sinks = crate::common::load_config(file)?.sinks;
        if config.sinks.is_empty() {
            return Err(anyhow::anyhow!("{}: no [[sink]] table to attach", file.display()).into());
        }
    }
    let started = Instant::now();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Seen::default()));
    let mut builder = Monitor::builder()
        .config(config)
        .sandbox(sandbox)
        .retention(args.state_file.clone().map_or(Retention::None, Retention::File));
    if args.subscriber {
        builder = builder.subscriber(Counter(seen.clone()), 1024);
    }
    let monitor = builder.start().await?;
    let setup = started.elapsed();
    let begin = Instant::now();
    let cpu_before = cpu_time()?;
    let mut previous = monitor.stats();
    let mut slept = Duration::ZERO;
    while slept < args.duration {
        let step = Duration::from_secs(1).min(args.duration - slept);
        tokio::time::sleep(step).await;
        slept += step;
        if args.per_second {
            let now = monitor.stats();
            let w = now.since(&previous).lateness();
            eprintln!(
                "{:>6.1} s  {:>8} executions  lateness p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                slept.as_secs_f64(),
                now.executions() - previous.executions(),
                w.p50.as_secs_f64() * 1e3,
                w.p99.as_secs_f64() * 1e3,
                w.max.as_secs_f64() * 1e3,
            );
            previous = now;
        }
    }
    let stats = monitor.stats();
    let elapsed = begin.elapsed();
    let cpu = cpu_time()?.saturating_sub(cpu_before);
    // While it runs: what a daemon with this many services keeps resident.
    let running = memory("VmRSS")?;
    monitor.stop().await?;
    // After the stop's flush (which is not measured): every point of the
    // measured runs is sent, queued or accounted for.
    let sinks = monitor.sinks();

    let peak = memory("VmHWM")?;
    let seen = seen.lock().expect("bench subscriber lock");
    let subscriber = args.subscriber.then(|| {
        serde_json::json!({ "results": seen.results, "out_of_order": seen.out_of_order, "all": seen.results == monitor.stats().executions() })
    });
    let per_second = stats.executions() as f64 / elapsed.as_secs_f64();
    let lateness = stats.lateness();
    let per_service = peak.saturating_sub(fixed) as f64 / args.services as f64;
    let running_per_service = running.saturating_sub(fixed) as f64 / args.services as f64;
    let demand = args.services as f64 / args.interval.as_secs_f64();
    // Machine-independent of other load: the process's CPU time per run.
    let cpu_per_run = cpu.as_secs_f64() / stats.executions().max(1) as f64;
    if args.json {
        let figures = serde_json::json!({
            "services": args.services,
            "check": args.check,
            "params": args.params,
            "first_output": first,
            "interval_s": args.interval.as_secs_f64(),
            "duration_s": elapsed.as_secs_f64(),
            "retention": args.state_file.as_ref().map(|p| p.display().to_string()),
            "setup_s": setup.as_secs_f64(),
            "executions": stats.executions(),
            "executions_per_s": per_second,
            "cpu_per_execution_us": cpu_per_run * 1e6,
            "cpu_cores_used": cpu.as_secs_f64() / elapsed.as_secs_f64(),
            "demand_per_s": demand,
            "lateness_p50_ms": lateness.p50.as_secs_f64() * 1e3,
            "lateness_p99_ms": lateness.p99.as_secs_f64() * 1e3,
            "lateness_max_ms": lateness.max.as_secs_f64() * 1e3,
            "fixed_rss_bytes": fixed,
            "peak_rss_bytes": peak,
            "rss_per_service_bytes": per_service,
            "running_rss_bytes": running,
            "running_rss_per_service_bytes": running_per_service,
            "subscriber": subscriber,
            "sinks": sinks,
        });
        println!("{figures}");
    } else {
        println!(
            "{} services of {} every {} for {:.1} s (retention: {}; set-up {:.2} s)",
            args.services,
            args.check,
            humantime::format_duration(args.interval),
            elapsed.as_secs_f64(),
            args.state_file.as_ref().map_or("none".to_string(), |p| p.display().to_string()),
            setup.as_secs_f64(),
        );
        println!("first run:       {first}");
        println!("executions:      {} ({per_second:.0}/s; demand {demand:.0}/s)", stats.executions());
        println!(
            "CPU:             {:.1} µs per execution, {:.2} cores busy",
            cpu_per_run * 1e6,
            cpu.as_secs_f64() / elapsed.as_secs_f64()
        );
        println!(
            "start lateness:  p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            lateness.p50.as_secs_f64() * 1e3,
            lateness.p99.as_secs_f64() * 1e3,
            lateness.max.as_secs_f64() * 1e3
        );
        println!(
            "memory:          peak RSS {}, fixed {}, {per_service:.0} bytes per service beyond it",
            wasmon_runtime::output::human_bytes(peak),
            wasmon_runtime::output::human_bytes(fixed),
        );
        println!(
            "                 running RSS {}, {running_per_service:.0} bytes per service beyond the fixed cost",
            wasmon_runtime::output::human_bytes(running),
        );
        for s in &sinks {
            println!(
                "sink {} ({}):  {} points sent, {} queued, {} spooled, {} dropped, {} rejected, {} retries{}",
                s.name,
                s.kind,
                s.sent,
                s.queued,
                s.spooled,
                s.dropped,
                s.rejected,
                s.retries,
                s.last_error.as_deref().map(|e| format!("; last error: {e}")).unwrap_or_default(),
            );
        }
        if args.subscriber {
            println!(
                "subscriber:      {} result events of {} executions, {} out of order",
                seen.results,
                monitor.stats().executions(),
                seen.out_of_order
            );
        }
    }
    Ok(0)
}

/// `services` copies of the check on one host, built directly rather than
/// parsed (a 100,000-service TOML file would measure the parser).
fn services(args: &BenchArgs, params: Vec<(String, String)>, grants: wasmon_runtime::Grants) -> Config {
    let schedule = Schedule { check_interval: args.interval, retry_interval: args.interval, max_check_attempts: 3 };
    let zone = args.nats.as_ref().map(|_| "bench".to_string());
    let spec = CheckSpec { module: args.check.clone(), params, grants, zone, ..CheckSpec::default() };
    Config {
        path: PathBuf::from("bench.toml"),
        engine: EngineSettings {
            max_concurrent_checks: args.concurrency,
            state_file: args.state_file.clone().unwrap_or_default(),
            ..EngineSettings::default()
        },
        hosts: vec![Host { name: "bench".into(), address: Some(args.host.clone()), schedule, ..Host::default() }],
        services: (0..args.services)
            .map(|i| Service {
                host: "bench".into(),
                name: format!("{} {i}", args.check),
                item: args.item.clone(),
                check: spec.clone(),
                schedule,
                ..Service::default()
            })
            .collect(),
        cluster: args.nats.as_ref().map(|nats| wasmon_runtime::cluster::ClusterSettings {
            nats: nats.clone(),
            name: "bench".into(),
            ..Default::default()
        }),
        ..Config::default()
    }
}

/// The CPU time (user and system) the process has used so far.
fn cpu_time() -> Result<Duration, Failure> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("cannot read /proc/self/stat")?;
    // Fields after the command name, which is in parentheses: utime and
    // stime are fields 14 and 15, in clock ticks.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).context("unexpected /proc/self/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 =
        fields.get(11..13).context("unexpected /proc/self/stat")?.iter().filter_map(|f| f.parse::<u64>().ok()).sum();
    let per_second = rustix::param::clock_ticks_per_second();
    Ok(Duration::from_secs_f64(ticks as f64 / per_second as f64))
}

/// A `/proc/self/status` memory figure (`VmRSS`, `VmHWM`) in bytes.
fn memory(field: &str) -> Result<u64, Failure> {
    let status = std::fs::read_to_string("/proc/self/status").context("cannot read /proc/self/status")?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .with_context(|| format!("no {field} in /proc/self/status"))?;
    Ok(kib * 1024)
}

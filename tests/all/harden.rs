//! Hardening (issue 16): every text a check or an API client provides goes
//! through one sanitiser and the output limit, whichever way it enters.

use std::path::Path;
use std::sync::{Arc, Mutex};

use wasmon_runtime::plugin::parse_perfdata;
use wasmon_runtime::{
    CompileLimits, DiscoverCall, Event, Grants, Limits, Metric, Monitor, Outcome, Range, Retention, State, Submission,
    Termination,
};
use wasmon_tests as guests;

use crate::{call, guest, show};

/// Performance data of `o` as a reader would take it back.
fn reread(o: &Outcome) -> Vec<Metric> {
    let first = o.plugin_output().lines().next().unwrap().to_string();
    let (metrics, errors) = parse_perfdata(first.split_once(" | ").map(|(_, p)| p).unwrap_or_default());
    assert!(errors.is_empty(), "{errors:?}");
    metrics
}

/// What every outcome must hold: one line before the long output, no
/// control character but line breaks and tabs, no NaN or infinity.
fn assert_clean(o: &Outcome) {
    let text = o.plugin_output();
    assert!(!text.chars().any(|c| c.is_control() && c != '\n' && c != '\t'), "{text:?}");
    assert!(!o.summary.contains('\n'), "{:?}", o.summary);
    let perf = text.lines().next().unwrap();
    assert!(!perf.contains("NaN") && !perf.contains("inf"), "{perf}");
}

#[tokio::test]
pub(crate) async fn forge_output() {
    let m = guest(guests::FORGE_OUTPUT);
    let run = |case: &'static str, limits: Limits| {
        let m = m.clone();
        async move { show(m.check(&call(&[("case", case)], limits, Grants::default())).await).outcome }
    };
    // A line break in a label forges neither a line nor a metric.
    let o = run("newline-label", Limits::default()).await;
    assert_clean(&o);
    assert_eq!(o.long_output, None, "{}", o.plugin_output());
    assert_eq!(o.plugin_output().lines().count(), 1);
    let back = reread(&o);
    assert_eq!(back.len(), 1, "{back:?}");
    assert!(!back[0].label.contains('=') && back[0].value == 1.0, "{back:?}");

    // A blank in a unit injects nothing: one entry, letters only.
    let o = run("blank-unit", Limits::default()).await;
    assert!(o.plugin_output().ends_with("| time=1sinjected"), "{}", o.plugin_output());
    assert_eq!(o.metrics[0].uom, "sinjected");

    // `=` is replaced, a quote doubled inside quotes; both read back.
    let o = run("quote-label", Limits::default()).await;
    assert!(o.plugin_output().ends_with("| a_b=1 'it''s;x'=2"), "{}", o.plugin_output());
    let back = reread(&o);
    assert_eq!(back.iter().map(|m| m.label.as_str()).collect::<Vec<_>>(), ["a_b", "it's;x"]);

    // 250 labels of 20 KB: labels bounded, and the metrics count against
    // the output limit; the dropped ones are counted.
    let limits = Limits::default();
    let o = run("huge-labels", limits.clone()).await;
    let text = o.plugin_output();
    assert!(text.len() <= limits.output + "OK - ".len(), "{} bytes", text.len());
    assert!(o.metrics.iter().all(|m| m.label.len() <= 128));
    assert!(o.truncated && !o.metrics.is_empty());
    let note = format!("({} metrics over the output limit of 16 KiB were dropped)", 250 - o.metrics.len());
    assert!(o.long_output.as_deref().is_some_and(|l| l.contains(&note)), "{:?}", o.long_output);

    // NaN and infinities are unknown or left out; reversed ranges left out;
    // infinite ends are open ends.
    let o = run("bad-numbers", Limits::default()).await;
    assert_clean(&o);
    assert!(o.plugin_output().ends_with("| bounds=U open=5;~:"), "{}", o.plugin_output());
    assert_eq!(o.metrics[1].warn, Some(Range { start: None, end: None, inside: false }));
}

/// A guest's log line reaches the log as one line without CR, NUL or ESC.
#[tokio::test]
async fn guest_log_lines_are_sanitised() {
    let buf = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || Writer(writer.clone()))
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (m, c) = (guest(guests::FORGE_OUTPUT), call(&[("case", "log-escape")], Limits::default(), Grants::default()));
    assert_eq!(m.check(&c).await.outcome.state, State::Ok);
    let log = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("forged")).collect();
    assert_eq!(lines.len(), 1, "{log:?}");
    assert!(lines[0].contains("forged ERROR other check failed[2J"), "{log:?}");
    assert!(!log.contains(['\r', '\0', '\x1b']), "{log:?}");
    assert!(!log.lines().any(|l| l.starts_with("ERROR")), "{log:?}");
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A passive result goes through the same sanitiser and output limit as
/// a check's, whoever submits it (the API, `wasmon submit` and the
/// Monitor API all end in `Engine::apply`).
#[tokio::test]
async fn passive_results_are_sanitised_and_limited() {
    let config = r#"
[[host]]
name = "agent"

[[service]]
host = "agent"
name = "Pushed"
active_checks = false
"#;
    let config = wasmon_runtime::config::parse(config, Path::new("harden.toml")).unwrap();
    let monitor = Monitor::builder()
        .config(config)
        .sandbox(crate::sandbox().clone())
        .retention(Retention::None)
        .start()
        .await
        .unwrap();
    let forged = Metric {
        label: "x\nCRITICAL - forged | y=1".into(),
        value: f64::INFINITY,
        uom: "s z=1".into(),
        warn: Some(Range { start: Some(5.0), end: Some(1.0), inside: false }),
        crit: None,
        min: Some(f64::NAN),
        max: None,
    };
    let submission = Submission {
        perfdata_errors: Vec::new(),
        host: "agent".into(),
        service: Some("Pushed".into()),
        state: State::Warning,
        output: "pushed\r\0\x1b[31m red".into(),
        long_output: Some(format!("{}\r\n", "long ".repeat(10_000))),
        metrics: vec![forged; 1000],
    };
    let Event::Result(r) = monitor.submit(submission).await.unwrap() else { panic!("a result") };
    assert_eq!(r.output, "pushed[31m red");
    let long = r.long_output.clone().unwrap();
    assert!(!long.contains('\r'));
    let perf: usize = r.metrics.iter().map(|m| m.perfdata().len() + 1).sum();
    let limit = Limits::default().output;
    assert!(r.output.len() + perf + 3 + long.len() <= limit, "{} {perf} {}", r.output.len(), long.len());
    assert!(long.ends_with("(output truncated)\n(744 metrics over the limit of 256 were dropped)"), "{long}");
    let m = &r.metrics[0];
    assert!(m.value.is_nan() && m.warn.is_none() && m.min.is_none() && m.uom == "sz", "{m:?}");
    assert_eq!(m.perfdata(), "'x CRITICAL - forged ¦ y_1'=U");
    monitor.stop().await.unwrap();
}

/// A discovery returns at most `max_items` items, and item names are one
/// clean line (they become service names).
#[tokio::test]
async fn discovery_is_capped() {
    let m = guest(guests::FORGE_OUTPUT);
    let call = |items: &str, max_items| DiscoverCall {
        params: vec![("items".into(), items.into())],
        grants: Grants { target: false, ..Grants::default() },
        max_items,
        ..DiscoverCall::default()
    };
    let items = m.discover(&call("50", 10)).await.unwrap();
    assert_eq!(items.len(), 10);
    assert_eq!(items[0].name, "item 0 [2Jforged");
    assert_eq!(m.discover(&call("5", 10)).await.unwrap().len(), 5);
    assert_eq!(DiscoverCall::default().max_items, wasmon_runtime::MAX_DISCOVERED_ITEMS);
}

/// This process's resident set, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS in /proc/self/status");
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// The highest resident set seen while `work` runs, sampled every 2 ms.
async fn peak_rss<T>(work: impl Future<Output = T>) -> (T, u64) {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = rss();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss());
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            peak
        })
    };
    let out = work.await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    (out, sampler.join().unwrap())
}

/// Well-behaved checks run beside `hostile`: every one OK.
async fn beside_well_behaved(hostile: impl Future<Output = wasmon_runtime::CheckRun> + Send + 'static) -> Outcome {
    let hostile = tokio::spawn(hostile);
    let m = guest(guests::WELL_BEHAVED);
    for _ in 0..20 {
        let run = m.check(&call(&[], Limits::default(), Grants::default())).await;
        assert_eq!(run.outcome.state, State::Ok, "{}", run.outcome.plugin_output());
    }
    show(hostile.await.unwrap()).outcome
}

/// Host memory a guest causes through `wasi:http` (fields with 15 KB
/// headers, outgoing requests with buffered bodies) counts in bytes against
/// its memory limit: 40,000 of them end the run at the limit, the host's
/// resident set stays bounded, and checks beside it run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn host_memory() {
    let m = guest(guests::HOST_MEMORY);
    let few = call(&[("case", "requests"), ("count", "10")], Limits::default(), Grants::default());
    let o = show(m.check(&few).await).outcome;
    assert_eq!((o.state, o.summary.as_str()), (State::Ok, "Held 10 requests"));

    for case in ["fields", "requests"] {
        let before = rss();
        let m = m.clone();
        let params = [("case", case), ("count", "40000")];
        let hostile = async move { m.check(&call(&params, Limits::default(), Grants::default())).await };
        let (o, peak) = peak_rss(beside_well_behaved(hostile)).await;
        assert_eq!(o.termination, Termination::MemoryLimit, "{case}: {}", o.plugin_output());
        assert_eq!((o.state, o.summary.as_str()), (State::Unknown, "Check exceeded its memory limit of 64 MiB"));
        // 40,000 fields of 15 KB would be 600 MB (with bodies, 3 GB); the
        // limit is 64 MiB, and the bound is generous for the rest of the
        // test binary running beside.
        let grown = peak.saturating_sub(before);
        println!("{case}: resident set grew by {} MiB at most", grown >> 20);
        assert!(grown < 512 << 20, "{case}: the resident set grew by {grown} bytes");
    }
    // A smaller limit is reached sooner, by host bytes alone.
    let small = Limits { memory: 8 << 20, ..Limits::default() };
    let o = show(m.check(&call(&[("case", "fields"), ("count", "2000")], small, Grants::default())).await).outcome;
    assert_eq!(
        (o.termination, o.summary.as_str()),
        (Termination::MemoryLimit, "Check exceeded its memory limit of 8 MiB")
    );
}

/// A listener on 127.0.0.1 that accepts and keeps every connection, never
/// answering.
fn silent_listener() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    addr
}

/// A guest opening sockets or starting `wasi:http` requests in a loop
/// stays within its caps (32 sockets, 16 requests under way per run), and
/// a TCP service checked beside it by a monitor stays OK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn descriptor_flood() {
    let flood = silent_listener();
    let service = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = service.local_addr().unwrap().port();
    std::thread::spawn(move || for _ in service.incoming() {});
    let module = guests::DESCRIPTOR_FLOOD;
    let config = format!(
        r#"
[[host]]
name = "local"
address = "127.0.0.1"

[[service]]
host = "local"
name = "Sockets"
check = "{module}"
check_interval = "1h"
params = {{ case = "sockets", addr = "{flood}", count = "1000" }}

[[service]]
host = "local"
name = "Requests"
check = "{module}"
check_interval = "1h"
params = {{ case = "http", addr = "{flood}", count = "200" }}

[[service]]
host = "local"
name = "TCP"
check = "tcp"
check_interval = "1h"
params = {{ port = "{port}" }}
"#
    );
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let monitor = Monitor::builder()
        .config_str(&config, &dir.join("descriptor-flood.toml"))
        .unwrap()
        .sandbox(crate::sandbox().clone())
        .retention(Retention::None)
        .start()
        .await
        .unwrap();
    let monitor = Arc::new(monitor);
    for (name, expected) in [
        ("Sockets", "Opened 32 of 1000 sockets, first error: "),
        ("Requests", "16 of 200 requests under way, 184 refused"),
    ] {
        let hostile = {
            let monitor = monitor.clone();
            tokio::spawn(async move { monitor.run_now("local", Some(name)).await })
        };
        for _ in 0..5 {
            monitor.run_now("local", Some("TCP")).await.unwrap();
            let tcp = monitor.status("local", Some("TCP")).await.unwrap();
            assert_eq!(tcp.state, "OK", "{}", tcp.output);
        }
        hostile.await.unwrap().unwrap();
        let s = monitor.status("local", Some(name)).await.unwrap();
        println!("{name}: {} | {}", s.output, s.perfdata);
        assert_eq!(s.state, "OK", "{}", s.output);
        assert!(s.output.starts_with(expected), "{name}: {}", s.output);
    }
    monitor.stop().await.unwrap();
}

/// A preview1 command with `functions` functions of some arithmetic each:
/// a module that takes a while and some memory to compile.
fn heavy_module(functions: usize) -> Vec<u8> {
    let mut text = String::from("(module (memory (export \"memory\") 1) (func (export \"_start\"))\n");
    for _ in 0..functions {
        text.push_str("(func (param i32) (result i32) local.get 0");
        for i in 0..40 {
            text.push_str(&format!(" i32.const {i} i32.add local.get 0 i32.mul"));
        }
        text.push_str(")\n");
    }
    text.push(')');
    wat::parse_str(&text).unwrap()
}

/// Compiling a module has its own time and memory budget: over either,
/// the module is refused with the reason; within them it loads.
#[test]
fn compile_budget() {
    let module = heavy_module(3000);
    let sandbox = |limits| {
        wasmon_runtime::Sandbox::builder().cache_dir(None).max_concurrency(1).compile_limits(limits).build().unwrap()
    };
    let small = CompileLimits { memory: 8 << 20, ..CompileLimits::default() };
    let err = sandbox(small).load("heavy.wasm", &module).unwrap_err().to_string();
    assert!(err.contains("compiling it needed more memory than its budget of 8 MiB"), "{err}");
    let short = CompileLimits { time: std::time::Duration::from_millis(1), ..CompileLimits::default() };
    let err = sandbox(short).load("heavy.wasm", &module).unwrap_err().to_string();
    assert!(err.contains("compiling it took longer than its budget of 1ms"), "{err}");
    let m = sandbox(CompileLimits::default()).load("heavy.wasm", &module).unwrap();
    assert_eq!(m.kind(), wasmon_runtime::ModuleKind::Preview1Plugin);
}

/// Hot-loading a module that is over the compile budget refuses it with
/// the reason, and the monitor's other checks go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_load_keeps_the_compile_budget() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("budget-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("checks")).unwrap();
    // `dummy` compiled into the shared cache, so the sandbox with no time
    // to compile loads it from there.
    crate::sandbox().load_spec("dummy").unwrap();
    let cache = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmon-cache");
    let no_time = CompileLimits { time: std::time::Duration::from_millis(1), ..CompileLimits::default() };
    let sandbox =
        wasmon_runtime::Sandbox::builder().cache_dir(Some(cache)).max_concurrency(8).compile_limits(no_time).build();
    let config = "[[host]]\nname = \"h\"\n\n[[service]]\nhost = \"h\"\nname = \"Std\"\ncheck = \"dummy\"\ncheck_interval = \"1h\"\n";
    let monitor = Monitor::builder()
        .config_str(config, &dir.join("wasmon.toml"))
        .unwrap()
        .sandbox(sandbox.unwrap())
        .retention(Retention::None)
        .watch_modules(false)
        .start()
        .await
        .unwrap();
    let heavy = dir.join("checks/heavy.wasm");
    std::fs::write(&heavy, heavy_module(3000)).unwrap();
    let report = monitor.reload().await.unwrap();
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert_eq!(report.rejected[0].module, heavy.display().to_string());
    assert!(report.rejected[0].reason.contains("compiling it took longer than its budget of 1ms"), "{report:?}");
    monitor.run_now("h", Some("Std")).await.unwrap();
    assert_eq!(monitor.status("h", Some("Std")).await.unwrap().state, "OK");
    monitor.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

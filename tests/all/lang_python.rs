//! Python as a check language: `checks/python/http_json`, built with
//! componentize-py (`checks/python/build.sh DIR`) into
//! `$WASMON_PYTHON_CHECKS_DIR/http_json.wasm`, run against a JSON server on
//! loopback started here: through the `wasmon` CLI (states, exit codes,
//! perfdata), through the library (the contract's output rules) and through
//! the engine (`wasmon simulate` with a small configuration).
//!
//! Without `WASMON_PYTHON_CHECKS_DIR` the tests skip (under `CI=true` they
//! fail). The CLI is `$WASMON_BIN`, else the `wasmon` binary beside the test
//! binary's `deps/` folder (`cargo test --workspace` builds it).
//!
//! `python_execution_cost` (ignored; `cargo test -p wasmon-tests --test all
//! lang_python -- --ignored --nocapture`) prints what one execution costs,
//! beside the Rust `dummy` check.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use wasmon_runtime::contract::{verify_info, verify_outcome};
use wasmon_runtime::{CheckCall, Limits, State, Target, Termination};

use crate::lang::{built, closed_port, wasmon_bin};
use crate::{sandbox, show};

/// The built `http_json` component.
fn http_json() -> Option<PathBuf> {
    built("WASMON_PYTHON_CHECKS_DIR", "http_json.wasm", "checks/python/build.sh")
}

/// Where the CLI keeps precompiled modules: beside the library's cache.
fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmon-cache")
}

/// What `/sequence` answers, one status per request, then the last again.
const SEQUENCE: [&str; 5] = ["ok", "degraded", "down", "down", "ok"];

/// A JSON health server on 127.0.0.1; returns its port. Every server has
/// its own position in [`SEQUENCE`].
fn json_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let step = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let step = step.clone();
            std::thread::spawn(move || answer(conn, &step));
        }
    });
    port
}

/// Reads one request and answers it by its path.
fn answer(mut conn: TcpStream, step: &AtomicUsize) {
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 65_536 {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let (status, content_type, body): (&str, &str, String) = match path.as_str() {
        "/health" => (
            "200 OK",
            "application/json",
            r#"{"status": "ok", "queue": {"depth": 12}, "latency_ms": 250, "connections": 5, "version": "1.2.3"}"#
                .into(),
        ),
        "/degraded" => ("200 OK", "application/json", r#"{"status": "degraded", "workers": 3}"#.into()),
        "/down" => ("503 Service Unavailable", "application/json", r#"{"status": "DOWN"}"#.into()),
        "/broken" => ("200 OK", "application/json", r#"{"status": "ok",,}"#.into()),
        "/missing" => ("404 Not Found", "text/html", "<html>nothing here</html>".into()),
        "/slow" => {
            std::thread::sleep(Duration::from_secs(3));
            ("200 OK", "application/json", r#"{"status": "ok"}"#.into())
        }
        "/sequence" => {
            let n = step.fetch_add(1, Ordering::SeqCst).min(SEQUENCE.len() - 1);
            ("200 OK", "application/json", format!(r#"{{"status": "{}"}}"#, SEQUENCE[n]))
        }
        _ => ("404 Not Found", "application/json", r#"{"error": "no such path"}"#.into()),
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Runs `wasmon ARGS`; returns the exit code and stdout.
fn cli(bin: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(bin).arg("--cache-dir").arg(cache_dir()).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("wasmon {}\n  -> {:?}: {stdout}{stderr}", args.join(" "), out.status.code());
    (out.status.code().expect("wasmon ended by a signal"), stdout)
}

/// Runs the check through the CLI against 127.0.0.1 with `--format json`;
/// returns the exit code and the result object.
fn check_json(bin: &Path, wasm: &Path, params: &[&str]) -> (i32, Value) {
    let mut args = vec!["check", wasm.to_str().unwrap(), "-H", "127.0.0.1", "--format", "json"];
    for p in params {
        args.extend(["-p", p]);
    }
    let (code, stdout) = cli(bin, &args);
    (code, serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}")))
}

/// The metric `label` of a JSON result.
fn metric<'a>(result: &'a Value, label: &str) -> &'a Value {
    result["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["label"] == label)
        .unwrap_or_else(|| panic!("no metric {label} in {result}"))
}

#[test]
fn http_json_through_the_cli() {
    let (Some(wasm), Some(bin)) = (http_json(), wasmon_bin()) else { return };
    let port = json_server().to_string();
    let port = format!("port={port}");

    // Nagios output: state, summary, perfdata with the levels as ranges.
    let (code, stdout) = cli(
        &bin,
        &[
            "check",
            wasm.to_str().unwrap(),
            "-H",
            "127.0.0.1",
            "-p",
            &port,
            "-p",
            "fields=queue.depth,latency_ms:ms",
            "-p",
            "levels=queue.depth:100:500,latency_ms:200:1000",
        ],
    );
    assert_eq!(code, 1, "{stdout}");
    let (summary, perfdata) = stdout.lines().next().unwrap().split_once(" | ").expect("perfdata");
    assert_eq!(
        summary.split(", Response time").next().unwrap(),
        "WARNING - Status: ok, Queue depth: 12, Latency: 250 ms (warn/crit at 200 ms/1.00 s)(!)"
    );
    let perf: Vec<&str> = perfdata.split_whitespace().collect();
    assert_eq!(&perf[..2], ["queue_depth=12;100;500", "latency=0.25s;0.2;1"]);
    assert!(perf[2].starts_with("response_time=") && perf[2].ends_with("s;;;0;9"), "{}", perf[2]);

    // Every top-level number becomes a metric when 'fields' is not given.
    let (code, r) = check_json(&bin, &wasm, &[&port]);
    assert_eq!((code, r["state"].as_str()), (0, Some("OK")), "{r}");
    let labels: Vec<&str> = r["metrics"].as_array().unwrap().iter().map(|m| m["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["latency_ms", "connections", "response_time"]);
    assert_eq!(metric(&r, "connections")["value"], 5.0);
    assert_eq!(metric(&r, "response_time")["uom"], "s");

    let (code, r) = check_json(&bin, &wasm, &[&port, "levels_lower=connections:10:3"]);
    assert_eq!((code, r["state"].as_str()), (1, Some("WARNING")), "{r}");
    assert!(r["summary"].as_str().unwrap().contains("Connections: 5 (warn/crit below 10/3)"), "{r}");
    assert_eq!(
        (metric(&r, "connections")["warn"].as_str(), metric(&r, "connections")["crit"].as_str()),
        (Some("10:"), Some("3:"))
    );

    let (code, r) = check_json(&bin, &wasm, &[&port, "path=/degraded"]);
    assert_eq!(code, 1, "{r}");
    assert!(r["summary"].as_str().unwrap().starts_with("Status: degraded(!), Workers: 3, Response time: "), "{r}");

    let (code, r) = check_json(&bin, &wasm, &[&port, "path=/down"]);
    assert_eq!(code, 2, "{r}");
    assert!(
        r["summary"].as_str().unwrap().starts_with("HTTP status: 503 Service Unavailable(!!), Status: DOWN(!!)"),
        "{r}"
    );

    let (code, r) = check_json(&bin, &wasm, &[&port, "path=/broken"]);
    assert_eq!(code, 3, "{r}");
    assert!(
        r["summary"].as_str().unwrap().starts_with(
            "Response is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 17"
        ),
        "{r}"
    );
    assert_eq!(r["long_output"], r#"Body starts: '{"status": "ok",,}'"#);

    let (code, r) = check_json(&bin, &wasm, &[&port, "path=/missing"]);
    assert_eq!(code, 2, "{r}");
    assert!(r["summary"].as_str().unwrap().starts_with("HTTP status: 404 Not Found(!!), Response time: "), "{r}");

    let (code, r) = check_json(&bin, &wasm, &[&port, "path=/degraded", "warn_values=busy", "crit_values=degraded"]);
    assert_eq!(code, 2, "the names are configurable: {r}");

    let (code, r) = check_json(&bin, &wasm, &[&port, "path=/slow", "timeout=0.5"]);
    assert_eq!((code, r["summary"].as_str()), (2, Some("Socket timeout after 0.5 seconds")), "{r}");

    let closed = format!("port={}", closed_port());
    let (code, r) = check_json(&bin, &wasm, &[&closed]);
    assert_eq!(code, 2, "{r}");
    assert_eq!(r["summary"], format!("Connect to 127.0.0.1:{}: Connection refused", &closed[5..]));

    let (code, r) = check_json(&bin, &wasm, &[&port, "levels=queue.depth:100"]);
    assert_eq!(code, 3, "{r}");
    assert_eq!(
        r["summary"],
        "parameter 'levels': expected entries FIELD:WARN:CRIT separated by commas, got 'queue.depth:100'"
    );
    let (code, r) = check_json(&bin, &wasm, &["prot=80"]);
    assert_eq!(code, 3, "{r}");
    assert!(r["summary"].as_str().unwrap().starts_with("unknown parameter 'prot'"), "{r}");

    // CPython's snapshot starts at 12.3 MiB of linear memory; below that
    // the host reports its limit, not a crash.
    let (code, stdout) =
        cli(&bin, &["check", wasm.to_str().unwrap(), "-H", "127.0.0.1", "-p", &port, "--memory", "8MiB"]);
    assert_eq!((code, stdout.trim()), (3, "UNKNOWN - Check exceeded its memory limit of 8 MiB"));

    // The manpage keeps the contract: the CLI warns on stderr otherwise.
    let out = Command::new(&bin)
        .arg("--cache-dir")
        .arg(cache_dir())
        .args(["describe", wasm.to_str().unwrap()])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("http_json 0.1.0\nNetwork: JSON health endpoint\n"), "{stdout}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[tokio::test]
async fn http_json_keeps_the_contract_through_the_library() {
    let Some(wasm) = http_json() else { return };
    let module = sandbox().load_file(&wasm).unwrap();
    let info = module.describe().await.unwrap();
    assert_eq!(info.name, "http_json");
    assert_eq!(verify_info(&info), Vec::<String>::new());
    let documented: Vec<&str> = info.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        documented,
        [
            "scheme",
            "port",
            "path",
            "status_field",
            "ok_values",
            "warn_values",
            "crit_values",
            "fields",
            "levels",
            "levels_lower",
            "max_body",
            "warning",
            "critical",
            "timeout"
        ]
    );

    let port = json_server().to_string();
    for (path, state) in [
        ("/health", State::Ok),
        ("/degraded", State::Warning),
        ("/down", State::Critical),
        ("/broken", State::Unknown),
        ("/missing", State::Critical),
    ] {
        let call = CheckCall {
            target: Target::new("127.0.0.1", Some("127.0.0.1".parse().unwrap())),
            params: vec![("port".into(), port.clone()), ("path".into(), path.into())],
            limits: Limits::default(),
            ..CheckCall::default()
        };
        let run = show(module.check(&call).await);
        assert_eq!((run.outcome.state, &run.outcome.termination), (state, &Termination::Completed), "{path}");
        assert_eq!(verify_outcome(&run.outcome), Vec::<String>::new(), "{path}");
    }

    // A request elsewhere than the target is refused by the sandbox.
    let call = CheckCall {
        target: Target::new("192.0.2.1", Some("127.0.0.1".parse().unwrap())),
        params: vec![("port".into(), port.clone())],
        ..CheckCall::default()
    };
    let run = show(module.check(&call).await);
    assert_eq!(run.outcome.state, State::Critical);
    assert_eq!(run.outcome.summary, format!("Request to 192.0.2.1:{port} not allowed by the sandbox policy"));
}

#[test]
fn http_json_through_simulate() {
    let (Some(wasm), Some(bin)) = (http_json(), wasmon_bin()) else { return };
    let port = json_server();
    let config = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("lang_python_{}.toml", std::process::id()));
    // The host is named by its address: `-H`'s name is what a wasi:http
    // request goes to (see the Python docs, "Limits").
    std::fs::write(
        &config,
        format!(
            r#"
[engine]
state_file = ":memory:"

[[host]]
name = "127.0.0.1"
address = "127.0.0.1"

[[service]]
host = "127.0.0.1"
name = "Health"
check = "{wasm}"
params = {{ port = {port}, fields = "queue.depth", levels = "queue.depth:100:500" }}
check_interval = "1m"

[[service]]
host = "127.0.0.1"
name = "Sequence"
check = "{wasm}"
params = {{ port = {port}, path = "/sequence" }}
check_interval = "1m"
retry_interval = "1m"
max_check_attempts = 2
"#,
            wasm = wasm.display()
        ),
    )
    .unwrap();
    let (code, stdout) = cli(&bin, &["simulate", "--config", config.to_str().unwrap(), "--duration", "4m"]);
    let _ = std::fs::remove_file(&config);
    assert_eq!(code, 0, "{stdout}");
    let events: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let results = |service: &str| -> Vec<(f64, String, String)> {
        events
            .iter()
            .filter(|e| e["kind"] == "result" && e["service"] == service)
            .map(|e| {
                (
                    e["t"].as_f64().unwrap(),
                    e["state"].as_str().unwrap().to_owned(),
                    e["output"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };

    let health = results("Health");
    assert_eq!(health.iter().map(|r| r.0).collect::<Vec<_>>(), [0.0, 60.0, 120.0, 180.0, 240.0]);
    for (_, state, output) in &health {
        assert_eq!(state, "OK", "{output}");
        assert!(output.starts_with("Status: ok, Queue depth: 12, Response time: "), "{output}");
    }

    let sequence = results("Sequence");
    let states: Vec<&str> = sequence.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(states, ["OK", "WARNING", "CRITICAL", "CRITICAL", "OK"]);
    assert!(sequence[1].2.starts_with("Status: degraded(!)"), "{}", sequence[1].2);
    assert!(sequence[2].2.starts_with("Status: down(!!)"), "{}", sequence[2].2);
    let problems: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "notification" && e["service"] == "Sequence" && e["type"] == "PROBLEM")
        .collect();
    assert_eq!(problems.len(), 1, "one PROBLEM when CRITICAL becomes HARD: {problems:?}");
    assert_eq!(problems[0]["state"], "CRITICAL");
}

/// Mean, median and 90th percentile of `samples`, in microseconds.
fn stats(samples: &mut [Duration]) -> String {
    samples.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mean = samples.iter().map(|d| us(*d)).sum::<f64>() / samples.len() as f64;
    let at = |q: f64| us(samples[((samples.len() - 1) as f64 * q).round() as usize]);
    format!("mean {mean:>9.0} µs, median {:>9.0} µs, p90 {:>9.0} µs (n={})", at(0.5), at(0.9), samples.len())
}

/// What one execution costs: a fresh instance plus the call, for the Rust
/// `dummy` and the Python `http_json` in the same process, one after the
/// other on one task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: run with --ignored --nocapture"]
async fn python_execution_cost() {
    let Some(wasm) = http_json() else { return };
    let bytes = std::fs::read(&wasm).unwrap();
    println!("http_json.wasm: {:.1} MiB", bytes.len() as f64 / (1 << 20) as f64);

    // Compiling the 18 MiB component (once per engine, then cached).
    let uncached = wasmon_runtime::Sandbox::builder().cache_dir(None).max_concurrency(2).build().unwrap();
    let start = Instant::now();
    uncached.load("http_json", &bytes).unwrap();
    println!("load without cache (compile):   {:>9.0} ms", start.elapsed().as_secs_f64() * 1e3);
    sandbox().load_file(&wasm).unwrap(); // fills the cache
    let start = Instant::now();
    let python = sandbox().load_file(&wasm).unwrap();
    println!("load from the cache:            {:>9.0} ms", start.elapsed().as_secs_f64() * 1e3);
    let dummy = sandbox().load_standard("dummy").unwrap();
    let http = sandbox().load_standard("http").unwrap();

    let port = json_server().to_string();
    let call = |params: &[(&str, &str)]| CheckCall {
        target: Target::new("127.0.0.1", Some("127.0.0.1".parse().unwrap())),
        params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..CheckCall::default()
    };
    let dummy_call = call(&[("state", "OK"), ("text", "bench")]);
    let bad_params = call(&[("port", "x")]);
    let full = call(&[("port", &port)]);
    let http_call = call(&[("port", &port), ("path", "/health")]);
    // Warm up: the first runs touch the pool's pages.
    for _ in 0..3 {
        assert_eq!(dummy.check(&dummy_call).await.outcome.state, State::Ok);
        assert_eq!(http.check(&http_call).await.outcome.state, State::Ok);
        assert_eq!(python.check(&bad_params).await.outcome.termination, Termination::BadParams);
        assert_eq!(python.check(&full).await.outcome.state, State::Ok);
    }

    let mut rows: Vec<(&str, Vec<Duration>, Vec<Duration>)> = Vec::new();
    for (name, module, call, n) in [
        ("rust dummy: check", &dummy, &dummy_call, 500),
        ("rust http: GET (same server)", &http, &http_call, 200),
        ("python http_json: bad params", &python, &bad_params, 200),
        ("python http_json: GET + JSON", &python, &full, 200),
    ] {
        let (mut wall, mut reported) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let start = Instant::now();
            let run = module.check(call).await;
            wall.push(start.elapsed());
            reported.push(run.outcome.duration);
        }
        rows.push((name, wall, reported));
    }
    let mut describe = Vec::new();
    for _ in 0..100 {
        let start = Instant::now();
        python.describe().await.unwrap();
        describe.push(start.elapsed());
    }
    println!("per execution (fresh instance + call), wall time around CheckModule::check:");
    for (name, mut wall, mut reported) in rows {
        println!("  {name:<30} {}", stats(&mut wall));
        println!("  {:<30} {}  (Outcome::duration)", "", stats(&mut reported));
    }
    println!("  {:<30} {}", "python http_json: describe", stats(&mut describe));
}

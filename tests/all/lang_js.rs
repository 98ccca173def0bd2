//! Checks written in JavaScript (`checks/js/`, built by `checks/js/build.sh`
//! with componentize-js): the `http_api` check end to end against an HTTP
//! server started here, through the library, through the `wasmon` CLI and
//! through `wasmon simulate`; and, as an ignored test, the cost of one
//! execution beside the Rust `dummy` check.
//!
//! The components come from `$WASMON_JS_CHECKS_DIR` (`http_api.wasm`), the
//! CLI from `$WASMON_BIN` or `wasmon` beside this test binary's profile
//! directory (`target/debug/wasmon`). Without them the tests skip, and fail
//! under `CI=true`.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wasmon_runtime::contract::verify_info;
use wasmon_runtime::{CheckCall, CheckModule, Grants, State, Target};

use crate::lang::{built, closed_port, metric, range, run, wasmon_bin};
use crate::sandbox;

/// The built JavaScript check `name`, from `$WASMON_JS_CHECKS_DIR`.
fn js_check(name: &str) -> Option<PathBuf> {
    built("WASMON_JS_CHECKS_DIR", &format!("{name}.wasm"), "checks/js/build.sh")
}

/// The built `http_api` component, loaded once for all tests of this file
/// (the first load compiles 12 MiB of JavaScript engine).
fn http_api() -> Option<CheckModule> {
    static MODULE: OnceLock<CheckModule> = OnceLock::new();
    let wasm = js_check("http_api")?;
    Some(
        MODULE
            .get_or_init(|| sandbox().load_file(&wasm).unwrap_or_else(|e| panic!("loading {}: {e}", wasm.display())))
            .clone(),
    )
}

/// The precompiled-module cache of the CLI runs: the one the library's
/// sandbox filled (`crate::sandbox`), so that the component is compiled once
/// for both when their engines agree; the first use runs `wasmon describe` to
/// fill it before parallel tests need it.
fn cli_cache(bin: &Path, wasm: &Path) -> &'static Path {
    static CACHE: OnceLock<PathBuf> = OnceLock::new();
    CACHE.get_or_init(|| {
        http_api().expect("the component, found before");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmon-cache");
        let out = Command::new(bin).arg("describe").arg("--cache-dir").arg(&dir).arg(wasm).output().unwrap();
        assert!(out.status.success(), "wasmon describe: {}", String::from_utf8_lossy(&out.stderr));
        dir
    })
}

/// The JSON document `/stats` answers with; `size` is its length.
const STATS: &str = r#"{"data":{"queue":{"depth":12},"workers":[{"busy":"3"}]},"status":"green"}"#;

/// An HTTP/1.1 server on 127.0.0.1 for the API the check asks: `/stats`
/// (JSON), `/html`, `/broken` (503), `/slow` (never answers), else 404.
fn api_server() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                std::thread::spawn(move || answer(conn));
            }
        });
        port
    })
}

fn answer(mut conn: TcpStream) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (status, kind, body) = match path {
        "/stats" => ("200 OK", "application/json", STATS),
        "/html" => ("200 OK", "text/html", "<!DOCTYPE html><html><body>Welcome</body></html>"),
        "/broken" => ("503 Service Unavailable", "application/json", r#"{"error":"maintenance"}"#),
        "/slow" => {
            std::thread::sleep(Duration::from_secs(20));
            return;
        }
        _ => ("404 Not Found", "text/plain", "not here"),
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

#[tokio::test]
async fn js_http_api_describes_itself_by_the_contract() {
    let Some(module) = http_api() else { return };
    let info = module.describe().await.unwrap();
    assert_eq!((info.name.as_str(), info.version.as_str()), ("http_api", "0.1.0"));
    let breaches = verify_info(&info);
    assert!(breaches.is_empty(), "{breaches:?}");
    let names: Vec<&str> = info.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "port",
            "path",
            "scheme",
            "expect_status",
            "field",
            "warning",
            "critical",
            "warning_lower",
            "critical_lower",
            "response_warning",
            "response_critical",
            "max_body",
            "timeout"
        ]
    );
    let timeout = info.params.iter().find(|p| p.name == "timeout").unwrap();
    assert_eq!(timeout.default.as_deref(), Some("10s"));
}

#[tokio::test]
async fn js_http_api_through_the_library() {
    let Some(module) = http_api() else { return };
    let port = api_server().to_string();

    let p = [
        ("port", port.as_str()),
        ("path", "/stats"),
        ("field", "data.queue.depth"),
        ("warning", "20"),
        ("critical", "50"),
    ];
    let o = run(&module, &p, Grants::default()).await;
    assert_eq!(o.state, State::Ok, "{}", o.summary);
    assert!(o.summary.starts_with("Status: 200 OK, Response time: "), "{}", o.summary);
    assert!(o.summary.ends_with(", Field data.queue.depth: 12"), "{}", o.summary);
    let depth = metric(&o, "data_queue_depth");
    assert_eq!((depth.value, depth.uom.as_str()), (12.0, ""));
    assert_eq!((depth.warn, depth.crit), (range(Some(0.0), Some(20.0)), range(Some(0.0), Some(50.0))));
    assert_eq!(metric(&o, "size").value, STATS.len() as f64);
    let time = metric(&o, "response_time");
    assert!(time.value > 0.0 && time.value < 9.0 && time.uom == "s" && time.max == Some(9.0), "{time:?}");

    let p = [
        ("port", port.as_str()),
        ("path", "/stats"),
        ("field", "data.workers[0].busy"),
        ("warning_lower", "5"),
        ("critical_lower", "4"),
    ];
    let o = run(&module, &p, Grants::default()).await;
    assert_eq!(o.state, State::Critical, "{}", o.summary);
    assert!(o.summary.contains("Field data.workers[0].busy: 3 (warn/crit below 5/4)"), "{}", o.summary);
    let busy = metric(&o, "data_workers_0_busy");
    assert_eq!((busy.warn, busy.crit), (range(Some(5.0), None), range(Some(4.0), None)));

    let p = [("port", port.as_str()), ("path", "/stats"), ("response_warning", "0"), ("response_critical", "60")];
    let o = run(&module, &p, Grants::default()).await;
    assert_eq!(o.state, State::Warning, "response time at or above 0 s: {}", o.summary);
    assert_eq!(metric(&o, "response_time").warn, range(Some(0.0), Some(0.0)));

    // Without the target grant the sandbox refuses the connection.
    let no_target = Grants { target: false, ..Grants::default() };
    let o = run(&module, &[("port", port.as_str()), ("path", "/stats")], no_target).await;
    assert_eq!(o.state, State::Critical, "{}", o.summary);
    assert_eq!(
        o.summary,
        format!("Connection to 127.0.0.1:{port} failed: NetworkError when attempting to fetch resource")
    );
}

/// One CLI run: (exit code, stdout).
fn cli(bin: &Path, cache: &Path, wasm: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(bin)
        .arg("check")
        .arg("--cache-dir")
        .arg(cache)
        .arg(wasm)
        .args(["-H", "127.0.0.1"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("wasmon check {}\n{stdout}{}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    (out.status.code().expect("an exit code"), stdout)
}

#[test]
fn js_http_api_through_the_cli() {
    let (Some(wasm), Some(bin)) = (js_check("http_api"), wasmon_bin()) else { return };
    let cache = cli_cache(&bin, &wasm);
    let port = api_server().to_string();
    let port_arg = format!("port={port}");
    let run = |extra: &[&str]| {
        let mut args = vec!["-p", port_arg.as_str()];
        for e in extra {
            args.extend(["-p", e]);
        }
        cli(&bin, cache, &wasm, &args)
    };

    let (code, out) = run(&["path=/stats", "field=data.queue.depth", "warning=10", "critical=50"]);
    assert_eq!(code, 1, "{out}");
    let (first, perf) = out.lines().next().unwrap().split_once(" | ").expect("perfdata");
    assert!(first.starts_with("WARNING - Status: 200 OK, Response time: "), "{first}");
    assert!(first.contains("Field data.queue.depth: 12 (warn/crit at 10/50)"), "{first}");
    let perf: Vec<&str> = perf.split(' ').collect();
    assert_eq!(perf.len(), 3, "{perf:?}");
    assert!(perf[0].starts_with("response_time=") && perf[0].ends_with("s;;;0;9"), "{perf:?}");
    assert_eq!(perf[1], format!("size={}B;;;0", STATS.len()));
    assert_eq!(perf[2], "data_queue_depth=12;10;50");

    let (code, out) = run(&["path=/stats", "field=data.queue.depth", "warning=20", "critical=50"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&["path=/stats", "field=data.workers.0.busy", "warning_lower=5", "critical_lower=4"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("data_workers_0_busy=3;5:;4:"), "{out}");

    let (code, out) = run(&["path=/broken"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("CRITICAL - Status: 503 Service Unavailable (expected 2xx)"), "{out}");
    assert!(out.contains("\nBody starts with: '{\"error\":\"maintenance\"}'"), "{out}");
    assert_eq!(run(&["path=/broken", "expect_status=500,503"]).0, 0);

    let (code, out) = run(&["path=/html"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("Response is not JSON: JSON.parse: unexpected character at line 1 column 1"), "{out}");
    assert!(out.contains("(content type text/html)"), "{out}");

    let (code, out) = run(&["path=/stats", "field=data.queue.size"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("Field data.queue.size not found: 'data.queue' has no 'size' (it has depth)"), "{out}");
    let (code, out) = run(&["path=/stats", "field=status"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("Field status is a string ('green'), not a number"), "{out}");

    let (code, out) = run(&["port=http"]);
    assert_eq!(code, 3, "{out}");
    assert_eq!(out.trim_end(), "UNKNOWN - parameter 'port': expected an integer from 1 to 65535, got 'http'");
    let (code, out) = run(&["path=/stats", "warning=1", "critical=2"]);
    assert_eq!(
        (code, out.trim_end()),
        (
            3,
            "UNKNOWN - parameter 'warning': levels on a value need 'field', the path of the value in the JSON response"
        )
    );

    let closed = closed_port().to_string();
    let (code, out) = cli(&bin, cache, &wasm, &["-p", &format!("port={closed}")]);
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with(&format!("CRITICAL - Connection to 127.0.0.1:{closed} failed: ")), "{out}");

    let started = Instant::now();
    let (code, out) = run(&["path=/slow", "timeout=1"]);
    assert_eq!((code, out.trim_end()), (2, "CRITICAL - Socket timeout after 1 seconds"));
    assert!(started.elapsed() < Duration::from_secs(8), "the check's own timeout, not the host's");

    let (code, out) = cli(
        &bin,
        cache,
        &wasm,
        &["--format", "json", "-p", &port_arg, "-p", "path=/stats", "-p", "field=data.queue.depth"],
    );
    assert_eq!(code, 0, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["state"], "OK");
    let depth = json["metrics"].as_array().unwrap().iter().find(|m| m["label"] == "data_queue_depth").unwrap();
    assert_eq!((depth["value"].as_f64(), &depth["warn"]), (Some(12.0), &serde_json::Value::Null));
}

#[test]
fn js_http_api_through_simulate() {
    let (Some(wasm), Some(bin)) = (js_check("http_api"), wasmon_bin()) else { return };
    let cache = cli_cache(&bin, &wasm);
    let port = api_server();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("lang-js-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("api.toml");
    let module = wasm.display().to_string().replace('\\', "\\\\").replace('"', "\\\"");
    std::fs::write(
        &config,
        format!(
            r#"[engine]
state_file = ":memory:"

[defaults]
check_interval = "1m"
retry_interval = "20s"
max_check_attempts = 2

[[host]]
name = "api1"
address = "127.0.0.1"

[[service]]
host = "api1"
name = "API queue"
check = "{module}"
params = {{ port = {port}, path = "/stats", field = "data.queue.depth", warning = 10, critical = 50 }}

[[service]]
host = "api1"
name = "API down"
check = "{module}"
params = {{ port = {port}, path = "/broken" }}

[[service]]
host = "api1"
name = "API health"
check = "{module}"
params = {{ port = {port}, path = "/stats", field = "data.queue.depth" }}
"#
        ),
    )
    .unwrap();
    let out = Command::new(&bin)
        .args(["simulate", "--duration", "110s", "--cache-dir"])
        .arg(cache)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success());
    let events: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let results = |service: &str| -> Vec<(f64, String, String, String)> {
        events
            .iter()
            .filter(|e| e["kind"] == "result" && e["service"] == service)
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap().to_string();
                (e["t"].as_f64().unwrap(), s("state"), s("state_type"), s("output"))
            })
            .collect()
    };

    let queue = results("API queue");
    let states: Vec<(f64, &str, &str)> = queue.iter().map(|(t, s, ty, _)| (*t, s.as_str(), ty.as_str())).collect();
    assert_eq!(states, [(0.0, "WARNING", "SOFT"), (20.0, "WARNING", "HARD"), (80.0, "WARNING", "HARD")]);
    assert!(queue.iter().all(|r| r.3.ends_with("Field data.queue.depth: 12 (warn/crit at 10/50)(!)")), "{queue:?}");

    let down = results("API down");
    assert_eq!(
        down.iter().map(|r| (r.1.as_str(), r.2.as_str())).collect::<Vec<_>>(),
        [("CRITICAL", "SOFT"), ("CRITICAL", "HARD"), ("CRITICAL", "HARD")]
    );
    assert!(down[0].3.starts_with("Status: 503 Service Unavailable (expected 2xx)"), "{down:?}");

    let health = results("API health");
    assert_eq!(health.iter().map(|r| (r.0, r.1.as_str())).collect::<Vec<_>>(), [(0.0, "OK"), (60.0, "OK")]);

    let problems: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["kind"] == "notification")
        .map(|e| (e["service"].as_str().unwrap(), e["state"].as_str().unwrap()))
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems.contains(&("API queue", "WARNING")) && problems.contains(&("API down", "CRITICAL")),
        "{problems:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The cost of one execution (a fresh instance from the cached
/// `InstancePre` and one call) of the JavaScript check beside the Rust
/// standard checks, in the same run. Run it in release for real figures:
/// `cargo test --release -p wasmon-tests --test all -- --ignored js_execution_cost --nocapture`.
#[tokio::test(flavor = "current_thread")]
#[ignore = "a measurement; prints figures"]
async fn js_execution_cost() {
    let started = Instant::now();
    let Some(js) = http_api() else { return };
    println!("loading http_api (compiled or from the cache): {:?}", started.elapsed());
    let dummy = sandbox().load_standard("dummy").unwrap();
    let http = sandbox().load_standard("http").unwrap();
    let port = api_server().to_string();
    let call = |params: &[(&str, &str)]| CheckCall {
        target: Target::new("127.0.0.1", Some("127.0.0.1".parse().unwrap())),
        params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..CheckCall::default()
    };
    let n = 200;
    let rows = [
        ("rust dummy, state=OK", &dummy, call(&[("state", "OK"), ("text", "bench")]), n * 20, State::Ok),
        ("js http_api, bad parameter (no I/O)", &js, call(&[("prot", "x")]), n, State::Unknown),
        (
            "js http_api, GET /stats + JSON field",
            &js,
            call(&[("port", port.as_str()), ("path", "/stats"), ("field", "data.queue.depth")]),
            n,
            State::Ok,
        ),
        ("rust http, GET /stats", &http, call(&[("port", port.as_str()), ("path", "/stats")]), n, State::Ok),
    ];
    println!("{:<40} {:>6} {:>12} {:>12} {:>12}", "execution", "runs", "mean", "median", "min");
    for (name, module, call, runs, expect) in rows {
        // One run outside the loop: the first touches the pool's pages.
        assert_eq!(module.check(&call).await.outcome.state, expect);
        let mut times = Vec::with_capacity(runs);
        let total = Instant::now();
        for _ in 0..runs {
            let t = Instant::now();
            let run = module.check(&call).await;
            times.push(t.elapsed());
            assert_eq!(run.outcome.state, expect, "{}", run.outcome.plugin_output());
        }
        let mean = total.elapsed() / runs as u32;
        times.sort();
        println!("{name:<40} {runs:>6} {mean:>12.2?} {:>12.2?} {:>12.2?}", times[runs / 2], times[0]);
    }
}

//! The standard checks, end to end through the library: against servers on
//! loopback started here, and against the monitoring-plugins run on the
//! same machine.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use wasmon_runtime::contract::{verify_info, verify_outcome};
use wasmon_runtime::{CheckCall, Limits, Outcome, State, Target, Termination, Values, standard};

use crate::{sandbox, show};

/// Runs standard check `name` against `target` (an IP address) with its
/// default grants.
async fn run(name: &str, target: Option<&str>, params: &[(&str, &str)], item: Option<&str>) -> Outcome {
    run_with(name, target, params, item, Values::new()).await.0
}

async fn run_with(
    name: &str,
    target: Option<&str>,
    params: &[(&str, &str)],
    item: Option<&str>,
    values: Values,
) -> (Outcome, Values) {
    let (module, grants) = sandbox().load_spec(name).unwrap();
    let call = CheckCall {
        target: target.map(|a| Target::new(a, Some(a.parse().unwrap()))).unwrap_or_default(),
        item: item.map(String::from),
        params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        args: Vec::new(),
        limits: Limits::default(),
        grants,
        values,
    };
    let run = show(module.check(&call).await);
    let breaches = verify_outcome(&run.outcome);
    assert!(breaches.is_empty(), "{name} breaks the output rules: {breaches:?}");
    (run.outcome, run.values)
}

#[tokio::test]
async fn every_standard_check_keeps_the_contract() {
    let names: Vec<&str> = standard::all().map(|c| c.name).collect();
    assert_eq!(names, ["disk", "dns", "dummy", "http", "load", "memory", "tcp", "uptime"]);
    for check in standard::all() {
        let info = sandbox().load_standard(check.name).unwrap().describe().await.unwrap();
        assert_eq!(info.name, check.name);
        let breaches = verify_info(&info);
        assert!(breaches.is_empty(), "{}: {breaches:?}", check.name);
    }
}

#[tokio::test]
async fn dummy_returns_what_it_is_given() {
    let o = run("dummy", None, &[("state", "WARNING"), ("text", "Just testing")], None).await;
    assert_eq!(o.state, State::Warning);
    assert!(o.summary.contains("Just testing"), "{}", o.summary);
    let o = run("dummy", None, &[("state", "sideways")], None).await;
    assert_eq!((o.state, o.termination), (State::Unknown, Termination::BadParams));
    assert!(o.summary.contains("sideways"), "the message names the bad value: {}", o.summary);
}

#[tokio::test]
async fn dummy_walks_its_sequence_through_the_value_store() {
    let params = [("sequence", "OK,WARNING,CRITICAL")];
    let mut values = Values::new();
    let mut states = Vec::new();
    for _ in 0..4 {
        let (o, v) = run_with("dummy", None, &params, None, values).await;
        states.push(o.state);
        values = v;
    }
    assert_eq!(states, [State::Ok, State::Warning, State::Critical, State::Ok]);
}

/// A server that accepts connections and answers each with `greeting`.
fn banner_server(greeting: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let _ = conn.write_all(greeting.as_bytes());
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    port
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn tcp_connects_refuses_and_expects() {
    let port = banner_server("SSH-2.0-wasmon-test\r\n").to_string();
    let o = run("tcp", Some("127.0.0.1"), &[("port", &port)], None).await;
    assert_eq!(o.state, State::Ok, "{}", o.summary);
    assert!(o.metrics.iter().any(|m| m.uom == "s"), "a response time metric in seconds");

    let o = run("tcp", Some("127.0.0.1"), &[("port", &port), ("expect", "SSH-2.0")], None).await;
    assert_eq!(o.state, State::Ok, "{}", o.summary);
    // A mismatch is WARNING by default, as check_tcp's -M.
    let o = run("tcp", Some("127.0.0.1"), &[("port", &port), ("expect", "SMTP")], None).await;
    assert_eq!(o.state, State::Warning, "{}", o.summary);
    assert!(o.summary.contains("Unexpected response: SSH-2.0-wasmon-test"), "{}", o.summary);
    let o = run("tcp", Some("127.0.0.1"), &[("port", &port), ("expect", "SMTP"), ("mismatch", "crit")], None).await;
    assert_eq!(o.state, State::Critical, "{}", o.summary);

    let closed = closed_port().to_string();
    let o = run("tcp", Some("127.0.0.1"), &[("port", &closed)], None).await;
    assert_eq!(o.state, State::Critical);
    assert!(o.summary.contains("Connection refused"), "{}", o.summary);

    let o = run("tcp", Some("127.0.0.1"), &[("port", "seventy")], None).await;
    assert_eq!((o.state, o.termination), (State::Unknown, Termination::BadParams));
}

/// A minimal HTTP/1.1 server: `/` answers 200 with a body, `/missing` 404,
/// `/broken` 500; every response closes the connection.
fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || answer(conn));
        }
    });
    port
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
    let (status, body) = match path {
        "/" => ("200 OK", "hello from the wasmon test server"),
        "/broken" => ("500 Internal Server Error", "broken"),
        _ => ("404 Not Found", "not here"),
    };
    let head = request_line.starts_with("HEAD");
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        if head { "" } else { body }
    );
}

#[tokio::test]
async fn http_checks_status_and_body() {
    let port = http_server().to_string();
    let target = Some("127.0.0.1");
    let o = run("http", target, &[("port", &port)], None).await;
    assert_eq!(o.state, State::Ok, "{}", o.summary);
    assert!(o.summary.contains("200"), "{}", o.summary);
    let o = run("http", target, &[("port", &port), ("body", "wasmon test server")], None).await;
    assert_eq!(o.state, State::Ok, "{}", o.summary);
    let o = run("http", target, &[("port", &port), ("body", "not in the page")], None).await;
    assert_eq!(o.state, State::Critical, "{}", o.summary);
    let o = run("http", target, &[("port", &port), ("path", "/missing")], None).await;
    assert_eq!(o.state, State::Warning, "4xx is WARNING, as check_http: {}", o.summary);
    let o = run("http", target, &[("port", &port), ("path", "/broken")], None).await;
    assert_eq!(o.state, State::Critical, "5xx is CRITICAL, as check_http: {}", o.summary);
    let o = run("http", target, &[("port", &port), ("path", "/missing"), ("expect", "404")], None).await;
    assert_eq!(o.state, State::Ok, "{}", o.summary);
    let o = run("http", target, &[("port", &port), ("method", "HEAD")], None).await;
    assert_eq!(o.state, State::Ok, "{}", o.summary);
    let closed = closed_port().to_string();
    let o = run("http", target, &[("port", &closed)], None).await;
    assert_eq!(o.state, State::Critical, "{}", o.summary);
}

#[tokio::test]
async fn http_to_another_host_is_denied() {
    let port = http_server().to_string();
    let url = format!("http://127.0.0.2:{port}/");
    let o = run("http", Some("127.0.0.1"), &[("url", &url)], None).await;
    assert_eq!(o.state, State::Critical, "{}", o.summary);
}

#[tokio::test]
async fn dns_resolves_and_compares() {
    let o = run("dns", Some("127.0.0.1"), &[("name", "localhost")], None).await;
    assert_eq!(o.state, State::Ok, "{}", o.summary);
    assert!(o.summary.contains("127.0.0.1"), "{}", o.summary);
    let o = run("dns", Some("127.0.0.1"), &[("name", "localhost"), ("expect", "127.0.0.1")], None).await;
    assert_eq!(o.state, State::Ok, "{}", o.summary);
    let o = run("dns", Some("127.0.0.1"), &[("name", "localhost"), ("expect", "192.0.2.7")], None).await;
    assert_eq!(o.state, State::Critical, "{}", o.summary);
    let o = run("dns", Some("127.0.0.1"), &[("name", "nonexistent.invalid")], None).await;
    assert_eq!(o.state, State::Critical, "{}", o.summary);
}

/// Where Debian's monitoring-plugins live.
const PLUGINS: &str = "/usr/lib/nagios/plugins";

/// Runs a monitoring-plugins check; returns its state and output.
fn plugin(name: &str, args: &[&str]) -> Option<(State, String)> {
    let path = format!("{PLUGINS}/{name}");
    if !crate::require_tool(&path) {
        return None;
    }
    let out = std::process::Command::new(&path).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let state = match out.status.code() {
        Some(0) => State::Ok,
        Some(1) => State::Warning,
        Some(2) => State::Critical,
        _ => State::Unknown,
    };
    println!("{name} {}: {text}", args.join(" "));
    Some((state, text))
}

/// The value of `label` in a plugin's perfdata.
fn perf_value(output: &str, label: &str) -> f64 {
    let perf = output.split_once('|').map(|(_, p)| p).unwrap_or_default();
    let entry = perf.split_whitespace().find_map(|e| e.strip_prefix(&format!("{label}="))).unwrap();
    let number: String = entry.chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-').collect();
    number.parse().unwrap()
}

fn metric(o: &Outcome, label: &str) -> f64 {
    o.metrics.iter().find(|m| m.label == label).unwrap_or_else(|| panic!("no metric {label}")).value
}

/// `uptime` reports what /proc/uptime says, and judges it by its levels.
#[tokio::test]
async fn uptime_reads_the_kernel_uptime() {
    let proc_uptime = || -> f64 {
        let text = std::fs::read_to_string("/proc/uptime").unwrap();
        text.split_whitespace().next().unwrap().parse().unwrap()
    };
    let before = proc_uptime();
    let o = run("uptime", None, &[("warning", "1s"), ("critical", "1s")], None).await;
    let after = proc_uptime();
    assert_eq!(o.state, State::Ok, "{}", o.plugin_output());
    assert!(o.summary.starts_with("Up since boot: "), "{}", o.summary);
    let up = o.metrics.iter().find(|m| m.label == "uptime").expect("an uptime metric").value;
    assert!((before..=after).contains(&up) || (up - before).abs() < 1.0, "{up} not within {before}..{after}");
    // A minimum uptime longer than the machine has been up is CRIT.
    let o = run("uptime", None, &[("warning", "36500d"), ("critical", "36500d")], None).await;
    assert_eq!(o.state, State::Critical, "{}", o.plugin_output());
    assert!(o.summary.contains("(warn/crit below 36500 d 0 h/36500 d 0 h)"), "{}", o.summary);
}

/// The same thresholds give the same state as check_load, and the same load
/// averages. The levels avoid the one place the two differ (check_load
/// alerts above a level, wasmon at it, seed 004 5.4): /proc/loadavg has two
/// decimals, so a level of 0.001 is never met exactly.
#[tokio::test]
async fn load_agrees_with_check_load() {
    // (warning, critical, percpu)
    let cases = [
        ("1000,1000,1000", "2000,2000,2000", false),
        ("0.001,0.001,0.001", "2000,2000,2000", false),
        ("0.001,0.001,0.001", "0.002,0.002,0.002", false),
        ("1000,1000,1000", "2000,2000,2000", true),
        ("0.001,0.001,0.001", "0.002,0.002,0.002", true),
    ];
    for (w, c, percpu) in cases {
        // The load averages move every 5 s: retry when one moved between the two readings.
        for attempt in 0.. {
            let mut args = vec!["-w", w, "-c", c];
            if percpu {
                args.insert(0, "-r");
            }
            let Some((theirs, text)) = plugin("check_load", &args) else { return };
            let percpu_param = if percpu { "true" } else { "false" };
            let params = [("warning", w), ("critical", c), ("percpu", percpu_param)];
            let ours = run("load", None, &params, None).await;
            let same_values =
                ["load1", "load5", "load15"].iter().all(|l| (perf_value(&text, l) - metric(&ours, l)).abs() < 0.006);
            if !same_values && attempt < 3 {
                continue;
            }
            assert!(same_values, "load averages differ: {text} vs {}", ours.plugin_output());
            assert_eq!(ours.state, theirs, "-w {w} -c {c} percpu={percpu}: {text} vs {}", ours.plugin_output());
            break;
        }
    }
}

/// The same thresholds give the same state as check_disk, and the same
/// whole free percentage, on the root filesystem; including a level right at
/// the free percentage ("at or below" alerts in both).
#[tokio::test]
async fn disk_agrees_with_check_disk() {
    let free_percent = |text: &str| -> u32 {
        // check_disk: "DISK OK - free space: / 71074MiB (76% inode=97%);"
        let inner = text.split_once('(').unwrap().1;
        inner.split('%').next().unwrap().trim().parse().unwrap()
    };
    let Some((_, text)) = plugin("check_disk", &["-w", "0%", "-c", "0%", "-p", "/"]) else { return };
    let free = free_percent(&text);
    let at = format!("{free}%");
    let below = format!("{}%", free.saturating_sub(1));
    let cases = [("20%", "10%"), ("99%", "98%"), (at.as_str(), "0%"), (below.as_str(), "0%")];
    for (w, c) in cases {
        for attempt in 0.. {
            let (theirs, text) = plugin("check_disk", &["-w", w, "-c", c, "-p", "/"]).unwrap();
            let ours = run("disk", None, &[("warning", w), ("critical", c)], Some("/")).await;
            let ours_free: u32 = ours
                .summary
                .split("Free: ")
                .nth(1)
                .and_then(|f| f.split('%').next())
                .and_then(|f| f.parse().ok())
                .unwrap_or_else(|| panic!("no free percentage in {}", ours.summary));
            // Disk usage moves while tests run: retry if it crossed a percent.
            if ours_free != free_percent(&text) && attempt < 3 {
                continue;
            }
            assert_eq!(ours_free, free_percent(&text), "{text} vs {}", ours.plugin_output());
            assert_eq!(ours.state, theirs, "-w {w} -c {c}: {text} vs {}", ours.plugin_output());
            break;
        }
    }
}

/// The same swap thresholds give the same state as check_swap, also when
/// the machine has no swap (check_swap's -n, wasmon's no_swap).
#[tokio::test]
async fn memory_swap_agrees_with_check_swap() {
    for (w, c, no_swap) in [("20%", "10%", "critical"), ("20%", "10%", "ok"), ("100%", "99%", "critical")] {
        let Some((theirs, text)) = plugin("check_swap", &["-n", no_swap, "-w", w, "-c", c]) else { return };
        let params = [
            ("swap_warning", w),
            ("swap_critical", c),
            ("no_swap", no_swap),
            // RAM levels out of the way: only the swap part is compared.
            ("warning", "100"),
            ("critical", "100"),
        ];
        let ours = run("memory", None, &params, None).await;
        assert_eq!(ours.state, theirs, "-w {w} -c {c} -n {no_swap}: {text} vs {}", ours.plugin_output());
    }
}

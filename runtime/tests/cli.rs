//! `wasmon check`, `describe` and `discover` as operators run them: the real
//! binary, its output and its exit codes.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

#[path = "cli/cluster.rs"]
mod cluster;
#[path = "cli/packs.rs"]
mod packs;
#[path = "cli/sinks.rs"]
mod sinks;
#[path = "cli/soak.rs"]
mod soak;
mod support;

use support::{Daemon, Webhooks, wait_for};

fn wasmon(args: &[&str]) -> Output {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmon-cli-cache");
    let out = Command::new(env!("CARGO_BIN_EXE_wasmon"))
        .args(args)
        .env("WASMON_CACHE_DIR", cache)
        .output()
        .expect("run wasmon");
    println!(
        "wasmon {}\nexit {:?}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

#[test]
fn tcp_open_port_is_ok_and_closed_port_is_critical() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = format!("port={}", listener.local_addr().unwrap().port());
    let out = wasmon(&["check", "tcp", "-H", "127.0.0.1", "-p", &port]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).starts_with("OK - "), "{}", stdout(&out));
    assert!(stdout(&out).contains(" | "), "perfdata after the pipe");

    drop(listener);
    let out = wasmon(&["check", "tcp", "-H", "127.0.0.1", "-p", &port]);
    assert_eq!(code(&out), 2);
    assert!(stdout(&out).starts_with("CRITICAL - "), "{}", stdout(&out));
}

#[test]
fn json_format() {
    let out = wasmon(&["check", "dummy", "-p", "state=WARNING", "-p", "text=Almost full", "--format", "json"]);
    assert_eq!(code(&out), 1);
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("one JSON object");
    assert_eq!(v["state"], "WARNING");
    assert!(v["summary"].as_str().unwrap().contains("Almost full"));
    assert!(v.get("long_output").is_some());
    assert!(v["metrics"].is_array());
    assert!(v["duration_ms"].as_f64().unwrap() >= 0.0);

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = format!("port={}", listener.local_addr().unwrap().port());
    let out =
        wasmon(&["check", "tcp", "-H", "127.0.0.1", "-p", &port, "-p", "warning=5", "-p", "critical=10", "-f", "json"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let m = &v["metrics"][0];
    for key in ["label", "value", "uom", "warn", "crit", "min", "max"] {
        assert!(m.get(key).is_some(), "metric has {key}: {m}");
    }
    assert_eq!(m["uom"], "s");
}

#[test]
fn state_file_keeps_the_value_store_between_runs() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("dummy.json");
    let _ = std::fs::remove_file(&file);
    let f = file.to_str().unwrap();
    let args = ["check", "dummy", "-p", "sequence=OK,CRITICAL", "--state-file", f];
    assert_eq!(code(&wasmon(&args)), 0);
    assert_eq!(code(&wasmon(&args)), 2);
    assert_eq!(code(&wasmon(&args)), 0);
    std::fs::write(&file, "not json").unwrap();
    let out = wasmon(&args);
    assert_eq!(code(&out), 3);
    assert!(stdout(&out).contains("--state-file"), "{}", stdout(&out));
}

#[test]
fn describe_prints_the_manpage() {
    let out = wasmon(&["describe", "tcp"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for section in ["DESCRIPTION", "PARAMETERS", "port", "GRANTED BY DEFAULT"] {
        assert!(text.contains(section), "{section} missing:\n{text}");
    }
    assert!(out.stderr.is_empty(), "the standard checks keep the contract");
    let out = wasmon(&["describe", wasmon_tests::WELL_BEHAVED]);
    assert_eq!(code(&out), 0);
    let out = wasmon(&["describe", "disk", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["name"], "disk");
    assert!(v["manpage"]["item"].is_string());
}

#[test]
fn discover_lists_filesystems() {
    let out = wasmon(&["discover", "disk"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(!text.trim().is_empty());
    assert!(text.lines().all(|l| l.starts_with('/')), "mount points: {text}");
}

#[test]
fn a_check_that_never_returns_times_out() {
    let out = wasmon(&["check", wasmon_tests::INFINITE_LOOP, "-t", "1s"]);
    assert_eq!(code(&out), 2);
    assert_eq!(stdout(&out).trim(), "CRITICAL - Check timed out after 1s");
    let out = wasmon(&["check", wasmon_tests::INFINITE_LOOP, "-t", "500ms", "--timeout-state", "unknown"]);
    assert_eq!(code(&out), 3);
}

/// Bad arguments, missing files, non-checks: one line, exit 3.
#[test]
fn errors_are_one_line_and_unknown() {
    let cases: &[&[&str]] = &[
        &["check"],
        &["check", "dummy", "--bogus"],
        &["check", "dummy", "-p", "novalue"],
        &["check", "dummy", "-t", "soon"],
        &["check", "dummy", "--grant", "filesystem"],
        &["check", "no-such-check"],
        &["check", "/no/such/file.wasm"],
        // Neither a check nor a command plugin (a plain command such as
        // NOT_A_CHECK runs as a plugin: see tests/all/plugins.rs).
        &["check", concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")],
        &["check", "tcp", "-H", "no-such-host.invalid", "-p", "port=1"],
    ];
    for args in cases {
        let out = wasmon(args);
        assert_eq!(code(&out), 3, "{args:?}");
        let text = stdout(&out);
        assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
        assert!(text.starts_with("UNKNOWN - wasmon: "), "{args:?}: {text}");
    }
    let out = wasmon(&["describe", "/no/such/file.wasm"]);
    assert_eq!(code(&out), 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read module '/no/such/file.wasm'"));
}

#[test]
fn help_and_version_exit_zero() {
    assert_eq!(code(&wasmon(&["--help"])), 0);
    assert_eq!(code(&wasmon(&["check", "--help"])), 0);
    assert!(stdout(&wasmon(&["--version"])).starts_with("wasmon "));
}

#[test]
fn memory_limit_is_the_one_asked_for() {
    for (limit, text) in [("16MiB", "16 MiB"), ("300MiB", "300 MiB")] {
        let out = wasmon(&["check", wasmon_tests::UNBOUNDED_ALLOC, "--memory", limit]);
        assert_eq!(code(&out), 3);
        assert_eq!(stdout(&out).trim(), format!("UNKNOWN - Check exceeded its memory limit of {text}"));
    }
}

#[test]
fn validate_accepts_a_good_file_and_lists_every_problem_of_a_bad_one() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        r#"[[host]]
name = "web1"
address = "127.0.0.1"

[[service]]
host = "web1"
name = "Lifecycle"
check = "dummy"
params = { sequence = "OK,WARNING,CRITICAL" }
check_interval = "31s"
retry_interval = "20s"
contacts = ["ops"]

[[contact]]
name = "ops"
methods = [{ type = "log" }]
"#,
    )
    .unwrap();
    let out = wasmon(&["validate", "--config", good.to_str().unwrap()]);
    assert_eq!(code(&out), 0);
    assert_eq!(stdout(&out).trim(), format!("{}: OK (1 host, 1 service, 1 contact)", good.display()));

    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[[host]]\nname = \"web1\"\n\n[[service]]\nhost = \"web1\"\nname = \"Lifecycle\"\ncheck = \"dummy\"\nchek_interval = \"5m\"\nmax_check_attempts = 0\n",
    )
    .unwrap();
    let out = wasmon(&["validate", "--config", bad.to_str().unwrap()]);
    assert_eq!(code(&out), 3);
    assert!(stdout(&out).is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines[0].starts_with(&format!("{}:8:1: ", bad.display())), "{stderr}");
    assert!(lines[0].contains("unknown key 'chek_interval'"), "{stderr}");
    assert!(lines[1].starts_with(&format!("{}:9:22: ", bad.display())), "{stderr}");
    assert!(lines[1].contains("key 'max_check_attempts'"), "{stderr}");
    assert!(lines[2].contains("2 problems found"), "{stderr}");

    let out = wasmon(&["validate", "--config", dir.join("missing.toml").to_str().unwrap()]);
    assert_eq!(code(&out), 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml: cannot read it"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `wasmon simulate` prints seed 002's lifecycle table (times relative to
/// the first result, states, attempts) and exactly three notifications.
#[test]
fn simulate_prints_the_seed_lifecycle_table() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/configs/lifecycle.toml");
    let out = wasmon(&["simulate", "--config", config, "--duration", "6m"]);
    assert_eq!(code(&out), 0);
    let lines: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    let table: Vec<String> = lines
        .iter()
        .filter(|v| v["kind"] == "result")
        .map(|v| format!("{} {} {}/{}", v["t"], v["state"].as_str().unwrap(), v["attempt"], v["max_attempts"]))
        .collect();
    assert_eq!(
        table,
        [
            "0.0 OK 1/3",
            "31.0 WARNING 1/3",
            "51.0 WARNING 2/3",
            "71.0 WARNING 3/3",
            "102.0 WARNING 1/3",
            "133.0 CRITICAL 1/3",
            "153.0 CRITICAL 2/3",
            "173.0 CRITICAL 3/3",
            "204.0 CRITICAL 1/3",
            "235.0 CRITICAL 1/3",
            "266.0 OK 1/3",
            "286.0 OK 2/3",
            "306.0 OK 3/3",
            "337.0 OK 1/3",
        ]
    );
    let notes: Vec<String> = lines
        .iter()
        .filter(|v| v["kind"] == "notification")
        .map(|v| format!("{} {} {}", v["t"], v["type"].as_str().unwrap(), v["state"].as_str().unwrap()))
        .collect();
    assert_eq!(notes, ["71.0 PROBLEM WARNING", "173.0 PROBLEM CRITICAL", "306.0 RECOVERY OK"]);

    // The same service under Nagios Core 4 rules.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let nagios = dir.join("nagios.toml");
    let text = std::fs::read_to_string(config).unwrap().replace("\"opsview\"", "\"nagios\"");
    std::fs::write(&nagios, text).unwrap();
    let out = wasmon(&["simulate", "--config", nagios.to_str().unwrap(), "--duration", "6m"]);
    assert_eq!(code(&out), 0);
    let notes: Vec<String> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "notification")
        .map(|v| format!("{} {} {}", v["t"], v["type"].as_str().unwrap(), v["state"].as_str().unwrap()))
        .collect();
    assert_eq!(notes, ["71.0 PROBLEM WARNING", "133.0 PROBLEM CRITICAL", "288.0 RECOVERY OK"]);
}

#[test]
fn simulate_refuses_a_broken_config_with_every_problem() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("simbad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(&file, "[[service]]\nhost = \"nowhere\"\nname = \"x\"\ncheck = \"dumy\"\n").unwrap();
    let out = wasmon(&["simulate", "--config", file.to_str().unwrap(), "--duration", "1m"]);
    assert_eq!(code(&out), 3);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:2:") && err.contains("bad.toml:4:"), "{err}");
    assert!(stdout(&out).is_empty(), "nothing runs");
}

/// `wasmon run` notifies a real webhook, survives `kill -9` without
/// repeating a delivered notification, and stops cleanly on SIGTERM with
/// its state in the SQLite file.
#[test]
fn run_notifies_survives_kill_and_stops_on_sigterm() {
    let hooks = Webhooks::start();
    let port = hooks.port();
    let dir = support::temp_dir("run");
    let config = dir.join("wasmon.toml");
    std::fs::write(
        &config,
        format!(
            "[defaults]\ncheck_interval = \"1s\"\nretry_interval = \"1s\"\nmax_check_attempts = 1\n\n\
             [[host]]\nname = \"web1\"\naddress = \"127.0.0.1\"\n\n\
             [[service]]\nhost = \"web1\"\nname = \"Flip\"\ncheck = \"dummy\"\n\
             params = {{ sequence = \"OK,CRITICAL,OK\" }}\ncontacts = [\"ops\"]\n\n\
             [[contact]]\nname = \"ops\"\nmethods = [{{ type = \"webhook\", url = \"http://127.0.0.1:{port}/hook\" }}]\n"
        ),
    )
    .unwrap();

    let mut first = Daemon::start(&config, &[], &[]);
    wait_for("the first notification", std::time::Duration::from_secs(20), || hooks.count() > 0);
    // Kill after the delivery was recorded: a kill in the instant between
    // the receiver's answer and that record re-sends the notification at
    // restart, the one gap no store can close (see wasmon_runtime::retention).
    std::thread::sleep(std::time::Duration::from_millis(500));
    first.kill(); // SIGKILL
    let before = hooks.count();

    let mut second = Daemon::start(&config, &[], &[]);
    wait_for("a notification after the restart", std::time::Duration::from_secs(20), || hooks.count() > before + 1);
    assert_eq!(second.stop(), Some(0), "a clean stop on SIGTERM");

    let parsed: Vec<serde_json::Value> = hooks.json();
    for v in &parsed {
        assert_eq!((v["host"].as_str(), v["service"].as_str()), (Some("web1"), Some("Flip")));
    }
    // Problems and recoveries alternate: none was lost or sent twice,
    // across the kill too.
    let kinds: Vec<&str> = parsed.iter().map(|v| v["kind"].as_str().unwrap()).collect();
    for pair in kinds.windows(2) {
        assert_ne!(pair[0], pair[1], "a notification repeated or lost: {kinds:?}");
    }
    assert!(dir.join("wasmon.db").exists());
}

/// A reader that stops early (`wasmon check … | head -0`) is no failure:
/// no panic, and the exit code still gives the state.
#[test]
fn a_closed_stdout_keeps_the_exit_code() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wasmon"))
        .args(["check", "dummy", "-p", "state=CRITICAL", "-p", "text=closed pipe"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `wasmon simulate` prints dependency failure and its recovery as results
/// with `"source": "dependency"`, the checks' own with `"active"`.
#[test]
fn simulate_prints_dependency_failure_with_its_source() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/configs/dependency.toml");
    let out = wasmon(&["simulate", "--config", config, "--duration", "3m"]);
    assert_eq!(code(&out), 0);
    let lines: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    let shown: Vec<String> = lines
        .iter()
        .filter(|v| v["kind"] == "result" && v["t"].as_f64().unwrap() > 0.0)
        .map(|v| {
            let object = match v["service"].as_str() {
                Some(s) => format!("{}/{s}", v["host"].as_str().unwrap()),
                None => v["host"].as_str().unwrap().to_string(),
            };
            format!(
                "{} {object} {} {} {}",
                v["t"],
                v["state"].as_str().unwrap(),
                v["source"].as_str().unwrap(),
                v["output"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            "60.0 router DOWN active Sequence step 2 of 4: CRITICAL",
            "60.0 switch UNREACHABLE dependency Dependency failure: router is DOWN",
            "60.0 server UNREACHABLE dependency Dependency failure: router is DOWN",
            "60.0 router/SNMP Agent CRITICAL dependency Dependency failure: router is DOWN",
            "60.0 switch/Ports CRITICAL dependency Dependency failure: router is DOWN",
            "60.0 server/HTTP CRITICAL dependency Dependency failure: router is DOWN",
            "120.0 router DOWN active Sequence step 3 of 4: CRITICAL",
            "180.0 router UP active Sequence step 4 of 4: OK",
            "180.0 switch UP dependency Restored status: Dummy check",
            "180.0 server UP dependency Restored status: Dummy check",
            "180.0 router/SNMP Agent OK dependency Restored status: Dummy check",
            "180.0 switch/Ports OK dependency Restored status: Dummy check",
            "180.0 server/HTTP OK dependency Restored status: Dummy check",
        ]
    );
}

#[test]
fn validate_rejects_a_dependency_cycle_naming_it() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cycle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cycle.toml");
    std::fs::write(
        &file,
        "[[host]]\nname = \"a\"\nparents = [\"c\"]\n\n[[host]]\nname = \"b\"\nparents = [\"a\"]\n\n\
         [[host]]\nname = \"c\"\nparents = [\"b\"]\n\n[[host]]\nname = \"d\"\nparents = [\"nowhere\"]\n",
    )
    .unwrap();
    let out = wasmon(&["validate", "--config", file.to_str().unwrap()]);
    assert_eq!(code(&out), 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines[0].starts_with(&format!("{}:7:12: ", file.display())), "{stderr}");
    assert!(lines[0].ends_with("host \"b\": key 'parents': dependency cycle a -> c -> b -> a"), "{stderr}");
    assert!(lines[1].starts_with(&format!("{}:15:12: ", file.display())), "{stderr}");
    assert!(lines[1].contains("host \"d\": key 'parents': no host named \"nowhere\""), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A folder with `checks/probe.wasm` (the standard dummy) and a
/// configuration of two services on it, checked every second.
fn hotload_setup(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = support::temp_dir(&format!("hotload-{name}"));
    std::fs::create_dir_all(dir.join("checks")).unwrap();
    let probe = dir.join("checks/probe.wasm");
    std::fs::write(&probe, wasmon_runtime::standard::find("dummy").unwrap().wasm).unwrap();
    let config = dir.join("wasmon.toml");
    let mut text =
        String::from("[defaults]\ncheck_interval = \"1s\"\nretry_interval = \"1s\"\n\n[[host]]\nname = \"h\"\n");
    for s in ["A", "B"] {
        text.push_str(&format!(
            "\n[[service]]\nhost = \"h\"\nname = \"{s}\"\ncheck = \"checks/probe.wasm\"\nparams = {{ text = \"ok\" }}\n"
        ));
    }
    std::fs::write(&config, text).unwrap();
    (dir, probe, config)
}

/// `wasmon run` notices a replaced module file by itself, refuses a
/// broken one (a warning) keeping the old version, and turns the services
/// UNKNOWN when the file is removed.
#[test]
fn run_hot_loads_a_changed_module_and_refuses_a_broken_one() {
    let (dir, probe, config) = hotload_setup("run");
    let mut daemon = Daemon::start(&config, &["-vv"], &[]);
    daemon.wait_for(0, &["service=\"A\"", "output=ok"]);

    let tmp = dir.join("checks/probe.wasm.tmp");
    std::fs::write(&tmp, std::fs::read(wasmon_tests::HOTLOAD_V2).unwrap()).unwrap();
    std::fs::rename(&tmp, &probe).unwrap();
    let mark = daemon.lines();
    daemon.wait_for(mark, &["check module replaced", "probe.wasm", "2.0.0"]);
    daemon.wait_for(mark, &["service=\"A\"", "output=Version 2: ok"]);
    daemon.wait_for(mark, &["service=\"B\"", "output=Version 2: ok"]);

    std::fs::write(&probe, b"not WebAssembly").unwrap();
    let mark = daemon.lines();
    daemon.wait_for(mark, &["WARN", "check module rejected", "probe.wasm", "not a WebAssembly component"]);
    let mark = daemon.lines();
    daemon.wait_for(mark, &["service=\"A\"", "output=Version 2: ok"]);

    std::fs::remove_file(&probe).unwrap();
    let mark = daemon.lines();
    daemon.wait_for(mark, &["check module removed"]);
    daemon.wait_for(mark, &["service=\"B\"", "state=UNKNOWN", "output=Check module", "probe.wasm was removed"]);
    assert_eq!(daemon.stop(), Some(0), "a clean stop on SIGTERM");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `wasmon run --no-watch` leaves a changed file alone until SIGHUP,
/// which reloads it and logs what changed.
#[test]
fn sighup_reloads_check_modules() {
    let (dir, probe, config) = hotload_setup("sighup");
    let mut daemon = Daemon::start(&config, &["--no-watch", "-vv"], &[]);
    daemon.wait_for(0, &["service=\"A\"", "output=ok"]);

    std::fs::write(&probe, std::fs::read(wasmon_tests::HOTLOAD_V2).unwrap()).unwrap();
    let mark = daemon.lines();
    // Not watched: two more rounds of the old version, no reload.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(!daemon.has(mark, "check module replaced"), "a reload without SIGHUP");
    assert!(daemon.has(mark, "output=ok") && !daemon.has(mark, "output=Version 2"));

    daemon.signal("HUP");
    daemon.wait_for(mark, &["SIGHUP received"]);
    daemon.wait_for(mark, &["check modules reloaded", "0 loaded, 1 replaced, 0 rejected, 0 removed"]);
    daemon.wait_for(mark, &["service=\"B\"", "output=Version 2: ok"]);
    // Nothing changed since: a second SIGHUP reloads nothing.
    let mark = daemon.lines();
    daemon.signal("HUP");
    daemon.wait_for(mark, &["check modules reloaded", "0 loaded, 0 replaced, 0 rejected, 0 removed"]);
    assert_eq!(daemon.stop(), Some(0), "a clean stop on SIGTERM");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `wasmon bench` runs any check with its parameters: here 20 `tcp`
/// services against a local listener.
#[test]
fn bench_runs_any_check_with_its_parameters() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    std::thread::spawn(move || for _ in listener.incoming() {});
    let port_param = format!("port={port}");
    let args = ["bench", "--check", "tcp", "-p", &port_param, "-n", "20", "-i", "200ms", "-d", "1s", "--json"];
    let out = wasmon(&args);
    assert_eq!(code(&out), 0);
    let figures: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(figures["check"], "tcp");
    assert_eq!(figures["params"], serde_json::json!([port_param]));
    let first = figures["first_output"].as_str().unwrap();
    assert!(first.starts_with(&format!("OK - Connected to 127.0.0.1 port {port}")), "{first}");
    assert!(figures["executions"].as_u64().unwrap() >= 20, "{figures}");

    let out = wasmon(&["bench", "--check", "tcp", "-p", "port", "-n", "1", "-d", "1s"]);
    assert_eq!(code(&out), 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-p 'port': expected KEY=VALUE"), "{stderr}");

    // With a configuration's sinks attached: a Prometheus endpoint that a
    // scrape reads while the bench runs, and its counters in the figures.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-sinks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let listen = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let sinks = dir.join("sinks.toml");
    std::fs::write(&sinks, format!("[[sink]]\nname = \"prom\"\ntype = \"prometheus\"\nlisten = \"{listen}\"\n"))
        .unwrap();
    let scraped = std::thread::spawn(move || {
        wait_for("the bench's Prometheus endpoint", std::time::Duration::from_secs(60), || {
            std::net::TcpStream::connect(listen).is_ok()
        });
        // Scraped while the bench runs, until the first results are in it
        // (the endpoint listens before any check ran) or the bench ends.
        let mut body = String::new();
        while let Ok(mut s) = std::net::TcpStream::connect(listen) {
            body.clear();
            std::io::Write::write_all(&mut s, b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
            let _ = std::io::Read::read_to_string(&mut s, &mut body);
            if body.contains("service=\"dummy 0\"") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        body
    });
    let out = wasmon(&["bench", "-n", "20", "-i", "200ms", "-d", "2s", "--json", "--sinks", sinks.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let figures: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let prom = &figures["sinks"][0];
    assert_eq!((prom["name"].as_str(), prom["type"].as_str()), (Some("prom"), Some("prometheus")), "{figures}");
    assert!(prom["sent"].as_u64().unwrap() > 0, "{figures}");
    let body = scraped.join().unwrap();
    assert!(body.contains("host=\"bench\"") && body.contains("service=\"dummy 0\""), "{body}");

    let missing = wasmon(&["bench", "-n", "1", "-d", "1s", "--sinks", dir.join("nope.toml").to_str().unwrap()]);
    assert_eq!(code(&missing), 3);
}

//! WASI command plugins, the Nagios way, end to end: the `plugin-echo`
//! guest (a `wasi:cli/command` component written like a classic plugin) and
//! a hand-written WASI preview1 core module, through the library and
//! through `wasmon check ... -- ARGS`: states from exit codes, performance
//! data, long output, and the sandbox's limits and grants.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use wasmon_runtime::plugin::{MacroContext, expand_args};
use wasmon_runtime::{CheckCall, CheckModule, CheckRun, Error, Grants, Limits, ModuleKind, State, Target, Termination};
use wasmon_tests as guests;

use crate::{guest, sandbox, show};

/// How much later than its limit a cut-off run may end.
const MARGIN: Duration = Duration::from_millis(1500);

/// A WASI preview1 command, as wasm32-wasip1 toolchains produce them
/// (imports from `wasi_snapshot_preview1`, exports `_start` and `memory`):
/// `preview1-echo TEXT CODE` prints TEXT and a line break and exits with
/// CODE through `proc_exit`; with fewer arguments it prints a usage line
/// and exits 3.
const PREVIEW1_ECHO: &str = r#"(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 700) "\n")
  (data (i32.const 800) "UNKNOWN - usage: preview1-echo TEXT CODE\n")
  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))
  (func $write (param $fd i32) (param $p i32) (param $len i32)
    (i32.store (i32.const 512) (local.get $p))
    (i32.store (i32.const 516) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 512) (i32.const 1) (i32.const 600))))
  (func $number (param $p i32) (result i32)
    (local $n i32) (local $c i32)
    (block $done
      (loop $next
        (local.set $c (i32.load8_u (local.get $p)))
        (br_if $done (i32.eqz (local.get $c)))
        (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 10)) (i32.sub (local.get $c) (i32.const 48))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $n))
  (func (export "_start")
    (local $text i32)
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (if (i32.or (i32.lt_u (i32.load (i32.const 0)) (i32.const 3))
                (i32.or (i32.gt_u (i32.load (i32.const 0)) (i32.const 60))
                        (i32.gt_u (i32.load (i32.const 4)) (i32.const 60000))))
      (then
        (call $write (i32.const 1) (i32.const 800) (i32.const 41))
        (call $proc_exit (i32.const 3))))
    (drop (call $args_get (i32.const 16) (i32.const 1024)))
    (local.set $text (i32.load (i32.const 20)))
    (call $write (i32.const 1) (local.get $text) (call $strlen (local.get $text)))
    (call $write (i32.const 1) (i32.const 700) (i32.const 1))
    (call $proc_exit (call $number (i32.load (i32.const 24))))))
"#;

fn preview1_bytes() -> Vec<u8> {
    wat::parse_str(PREVIEW1_ECHO).expect("the preview1 module assembles")
}

/// `PREVIEW1_ECHO` written to a file (for `wasmon check`), once per process.
fn preview1_file() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("preview1-echo-{}.wasm", std::process::id()));
    if !path.exists() {
        std::fs::write(&path, preview1_bytes()).unwrap();
    }
    path
}

fn plugin() -> CheckModule {
    guest(guests::PLUGIN_ECHO)
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// A plugin call against 127.0.0.1 with these arguments.
fn call(a: &[&str], limits: Limits) -> CheckCall {
    CheckCall {
        target: Target::new("localhost", Some("127.0.0.1".parse().unwrap())),
        args: args(a),
        limits,
        ..CheckCall::default()
    }
}

async fn run(module: &CheckModule, a: &[&str]) -> CheckRun {
    show(module.check(&call(a, Limits::default())).await)
}

/// The test that `hostile`'s every-guest-has-a-test rule asks for: the
/// guest loads as a command plugin, and its exit codes are the states.
#[tokio::test]
pub(crate) async fn plugin_echo() {
    let m = plugin();
    assert_eq!(m.kind(), ModuleKind::CommandPlugin);
    assert_eq!(m.program_name(), "guest-plugin-echo.wasm");
    for (code, state) in [("0", State::Ok), ("1", State::Warning), ("2", State::Critical), ("3", State::Unknown)] {
        let text = format!("PLUGIN {state} - exited {code}\n");
        let r = run(&m, &["--print", &text, "--exit", code]).await;
        assert_eq!((r.outcome.state, &r.outcome.termination), (state, &Termination::Completed));
        assert_eq!(r.outcome.summary, format!("PLUGIN {state} - exited {code}"));
        assert_eq!(r.outcome.long_output, None);
        assert_eq!(r.outcome.plugin_output(), format!("{state} - PLUGIN {state} - exited {code}"));
    }
    // `main` returning is exit code 0.
    let r = run(&m, &["--print", "fine\n"]).await;
    assert_eq!((r.outcome.state, r.outcome.summary.as_str()), (State::Ok, "fine"));
    // Bad arguments: the plugin's own UNKNOWN.
    let r = run(&m, &["--bogus"]).await;
    assert_eq!((r.outcome.state, r.outcome.summary.as_str()), (State::Unknown, "UNKNOWN - unknown option '--bogus'"));
}

#[tokio::test]
async fn codes_outside_0_to_3_are_unknown() {
    let m = plugin();
    for code in ["4", "255", "127"] {
        let r = run(&m, &["--print", "CRITICAL - on fire | t=1s\nsmoke\n", "--exit", code]).await;
        let o = &r.outcome;
        assert_eq!((o.state, &o.termination), (State::Unknown, &Termination::InvalidExit));
        assert_eq!(o.summary, format!("Plugin exited with code {code}, which is not a plugin state (0-3)"));
        assert!(o.long_output.as_deref().unwrap().ends_with("Plugin output:\nCRITICAL - on fire\nsmoke"), "{o:?}");
        assert!(o.metrics.is_empty());
    }
}

#[tokio::test]
async fn an_exit_without_a_code_is_unknown_and_says_why() {
    let m = plugin();
    // std::process::exit(2) on wasm32-wasip2 reaches the host as "failure".
    let r = run(&m, &["--print", "CRITICAL - down\n", "--std-exit", "2"]).await;
    let o = &r.outcome;
    assert_eq!((o.state, &o.termination), (State::Unknown, &Termination::InvalidExit));
    assert_eq!(o.summary, "Plugin exited with a failure status that carries no exit code");
    let long = o.long_output.as_deref().unwrap();
    assert!(long.contains("wasm32-wasip1") && long.ends_with("Plugin output:\nCRITICAL - down"), "{long}");
    // Success carries through the same exit.
    let r = run(&m, &["--print", "OK - up\n", "--std-exit", "0"]).await;
    assert_eq!((r.outcome.state, r.outcome.summary.as_str()), (State::Ok, "OK - up"));
}

#[tokio::test]
async fn perfdata_and_long_output_end_to_end() {
    let out = "DISK WARNING - / at 91% | '/ used'=91%;80;90;0;100 time=12ms;;;0 bad=abc\n\
               / 91%\n\
               /var 40% | /var=40%;80;90\n\
               inodes=5c size=42KB;;;0 u=U\n";
    let r = run(&plugin(), &["--print", out, "--exit", "1"]).await;
    let o = &r.outcome;
    assert_eq!((o.state, o.summary.as_str()), (State::Warning, "DISK WARNING - / at 91%"));
    let labels: Vec<&str> = o.metrics.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(labels, ["/ used", "time", "/var", "inodes", "size", "u"]);
    let used = &o.metrics[0];
    assert_eq!((used.value, used.uom.as_str(), used.min, used.max), (91.0, "%", Some(0.0), Some(100.0)));
    assert!(used.warn.unwrap().alerts(91.0) && !used.crit.unwrap().alerts(90.0));
    // Units as the plugin wrote them; `U` is unknown.
    assert_eq!((o.metrics[1].value, o.metrics[1].uom.as_str()), (12.0, "ms"));
    assert_eq!((o.metrics[4].value, o.metrics[4].uom.as_str()), (42.0, "KB"));
    assert!(o.metrics[5].value.is_nan());
    // The long output as the plugin wrote it; the bad entry named apart.
    assert_eq!(o.long_output.as_deref(), Some("/ 91%\n/var 40%"));
    assert_eq!(o.perfdata_errors, ["Ignored bad performance data 'bad=abc': value 'abc' is not a number"]);
    assert_eq!(
        o.plugin_output(),
        "WARNING - DISK WARNING - / at 91% | '/ used'=91%;80;90;0;100 time=12ms;;;0 /var=40%;80;90 inodes=5c \
         size=42KB;;;0 u=U\n/ 91%\n/var 40%"
    );
}

#[tokio::test]
async fn arguments_argv0_and_macros() {
    let target = Target::new("web1", Some("127.0.0.1".parse().unwrap()));
    let expanded = expand_args(
        &args(&["--argv", "-H", "$HOSTADDRESS$", "--name=$HOSTNAME$", "$SERVICEDESC$", "50$$", "two words"]),
        &MacroContext::new(&target, "Disk /var"),
    )
    .unwrap();
    let r = show(plugin().check(&CheckCall { target, args: expanded, ..CheckCall::default() }).await);
    // --argv prints every argument; the plugin then rejects "-H" as an
    // option it does not know, after printing.
    let text = format!("{}\n{}", r.outcome.summary, r.outcome.long_output.unwrap_or_default());
    assert!(
        text.starts_with(
            "guest-plugin-echo.wasm\n--argv\n-H\n127.0.0.1\n--name=web1\nDisk /var\n50$\ntwo words\nUNKNOWN - unknown option '-H'"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn no_environment_no_files() {
    let r = run(&plugin(), &["--probe"]).await;
    let s = &r.outcome.summary;
    assert!(s.starts_with("environment: 0 variables, /etc/passwd: "), "{s}");
    assert!(!s.contains("read "), "the file must not be readable: {s}");
}

#[tokio::test]
async fn stderr_is_shown_only_without_stdout() {
    let m = plugin();
    let r = run(&m, &["--stderr", "check_foo: cannot connect\n", "--exit", "2"]).await;
    assert_eq!(
        (r.outcome.state, r.outcome.summary.as_str()),
        (State::Critical, "(No output on stdout) stderr: check_foo: cannot connect")
    );
    let r = run(&m, &["--stderr", "noise\n", "--print", "OK - quiet\n"]).await;
    assert_eq!((r.outcome.summary.as_str(), r.outcome.long_output.as_deref()), ("OK - quiet", None));
    let r = run(&m, &["--exit", "0"]).await;
    assert_eq!(r.outcome.summary, "(No output returned from plugin)");
}

#[tokio::test]
async fn timeouts_are_the_timeout_state_with_the_output_so_far() {
    let m = plugin();
    let limits = Limits { timeout: Duration::from_millis(800), ..Limits::default() };
    let start = Instant::now();
    let r = show(m.check(&call(&["--print", "PLUGIN - working\n", "--spin"], limits.clone())).await);
    assert!(start.elapsed() < limits.timeout + MARGIN, "{:?}", start.elapsed());
    let o = &r.outcome;
    assert_eq!((o.state, &o.termination), (State::Critical, &Termination::Timeout));
    assert_eq!(o.summary, "Check timed out after 800ms");
    assert_eq!(o.long_output.as_deref(), Some("Plugin output before it was stopped:\nPLUGIN - working"));
    // Blocked in the host (a sleep) rather than spinning, and another state.
    let limits = Limits { timeout: Duration::from_millis(500), timeout_state: State::Unknown, ..Limits::default() };
    let r = show(m.check(&call(&["--sleep", "60000"], limits)).await);
    assert_eq!((r.outcome.state, &r.outcome.termination), (State::Unknown, &Termination::Timeout));
}

#[tokio::test]
async fn an_output_flood_is_cut_to_the_limit() {
    let limits = Limits { output: 4096, ..Limits::default() };
    let r = show(plugin().check(&call(&["--flood", "2000000", "--exit", "0"], limits)).await);
    let o = &r.outcome;
    assert_eq!(o.state, State::Ok);
    assert!(o.truncated);
    let long = o.long_output.as_deref().unwrap();
    assert!(o.summary.len() + 1 + long.len() <= 4096, "{} + {}", o.summary.len(), long.len());
    assert!(long.ends_with("(output truncated)"), "{}", &long[long.len().saturating_sub(80)..]);
}

#[tokio::test]
async fn memory_limit_and_traps_end_as_for_checks() {
    let m = plugin();
    let limits = Limits { memory: 16 << 20, ..Limits::default() };
    let r = show(m.check(&call(&["--alloc", "64"], limits)).await);
    assert_eq!((r.outcome.state, &r.outcome.termination), (State::Unknown, &Termination::MemoryLimit));
    assert_eq!(r.outcome.summary, "Check exceeded its memory limit of 16 MiB");
    let r = run(&m, &["--alloc", "4"]).await;
    assert_eq!((r.outcome.state, r.outcome.summary.as_str()), (State::Ok, "allocated 4194304 bytes"));
    let r = run(&m, &["--print", "before\n", "--panic"]).await;
    assert_eq!((r.outcome.state, &r.outcome.termination), (State::Unknown, &Termination::Trap));
    assert!(r.outcome.summary.starts_with("Check panicked: deliberate plugin panic"), "{}", r.outcome.summary);
    assert!(r.outcome.long_output.unwrap().contains("before"), "the plugin's output is in the details");
}

#[tokio::test]
async fn connections_follow_the_grants() {
    let m = plugin();
    // The target's own address (127.0.0.1) is granted by default.
    let own = TcpListener::bind("127.0.0.1:0").unwrap();
    let own = format!("127.0.0.1:{}", own.local_addr().unwrap().port());
    let r = run(&m, &["--connect", &own]).await;
    assert_eq!((r.outcome.state, r.outcome.summary.clone()), (State::Ok, format!("CONNECT OK - connected to {own}")));
    // Another address is not, though something listens there: the plugin
    // sees the denial as an error of its connect.
    let other = TcpListener::bind("127.0.0.2:0").expect("Linux routes all of 127.0.0.0/8 to loopback");
    let other = format!("127.0.0.2:{}", other.local_addr().unwrap().port());
    let r = run(&m, &["--connect", &other]).await;
    assert_eq!(r.outcome.state, State::Critical);
    assert!(r.outcome.summary.starts_with(&format!("CONNECT CRITICAL - {other}: ")), "{}", r.outcome.summary);
    // Granted, it connects.
    let grants = Grants { addresses: vec!["127.0.0.2".parse().unwrap()], ..Grants::default() };
    let r = show(m.check(&CheckCall { grants, ..call(&["--connect", &other], Limits::default()) }).await);
    assert_eq!((r.outcome.state, r.outcome.summary.clone()), (State::Ok, format!("CONNECT OK - connected to {other}")));
}

#[tokio::test]
async fn plugins_take_arguments_and_checks_parameters() {
    let c = CheckCall { params: vec![("x".into(), "1".into())], ..call(&[], Limits::default()) };
    let r = show(plugin().check(&c).await);
    assert_eq!((r.outcome.state, &r.outcome.termination), (State::Unknown, &Termination::BadParams));
    assert!(r.outcome.summary.starts_with("This is a command plugin: it takes command-line arguments"));
    let c = CheckCall { item: Some("/".into()), ..call(&["--exit", "0"], Limits::default()) };
    assert_eq!(plugin().check(&c).await.outcome.termination, Termination::BadParams);
    let r = show(guest(guests::WELL_BEHAVED).check(&call(&["-w", "1"], Limits::default())).await);
    assert_eq!((r.outcome.state, &r.outcome.termination), (State::Unknown, &Termination::BadParams));
    assert!(r.outcome.summary.starts_with("This is a wasmon check: it takes parameters"));
    // A plugin has no describe() and no discover().
    let err = plugin().describe().await.unwrap_err();
    assert!(matches!(err, Error::CommandPlugin { call: "describe", .. }), "{err}");
    assert!(err.to_string().contains("wasmon check MODULE -- ARGS"), "{err}");
    let err = plugin().discover(&Default::default()).await.unwrap_err();
    assert!(matches!(err, Error::CommandPlugin { call: "discover", .. }), "{err}");
}

#[tokio::test]
async fn preview1_modules_run_as_plugins_with_their_exit_codes() {
    let m = sandbox().load("preview1-echo.wasm", &preview1_bytes()).unwrap();
    assert_eq!(m.kind(), ModuleKind::Preview1Plugin);
    for (code, state) in [("0", State::Ok), ("1", State::Warning), ("2", State::Critical), ("3", State::Unknown)] {
        let r = run(&m, &["PREVIEW1 - fine | t=1s;2;3", code]).await;
        assert_eq!((r.outcome.state, &r.outcome.termination), (state, &Termination::Completed), "exit {code}");
        assert_eq!(r.outcome.summary, "PREVIEW1 - fine");
        assert_eq!(r.outcome.metrics[0].perfdata(), "t=1s;2;3");
    }
    for code in ["4", "255"] {
        let r = run(&m, &["PREVIEW1 - odd", code]).await;
        assert_eq!((r.outcome.state, &r.outcome.termination), (State::Unknown, &Termination::InvalidExit));
        assert_eq!(r.outcome.summary, format!("Plugin exited with code {code}, which is not a plugin state (0-3)"));
    }
    let r = run(&m, &[]).await;
    assert_eq!(
        (r.outcome.state, r.outcome.summary.as_str()),
        (State::Unknown, "UNKNOWN - usage: preview1-echo TEXT CODE")
    );
    // Loaded again (from the compiled-module cache): the same.
    let again = sandbox().load("preview1-echo.wasm", &preview1_bytes()).unwrap();
    assert_eq!(again.digest_hex(), m.digest_hex());
    assert_eq!(run(&again, &["x", "2"]).await.outcome.state, State::Critical);
}

#[tokio::test]
async fn plugin_help_is_the_raw_usage_text() {
    let help = plugin().plugin_help().await.unwrap();
    assert!(
        help.starts_with("Usage: guest-plugin-echo [--print TEXT]") && help.contains("[--exit CODE | --std-exit CODE]"),
        "{help}"
    );
    let m = sandbox().load("preview1-echo.wasm", &preview1_bytes()).unwrap();
    assert_eq!(m.plugin_help().await.unwrap(), "UNKNOWN - usage: preview1-echo TEXT CODE\n");
    let err = guest(guests::WELL_BEHAVED).plugin_help().await.unwrap_err().to_string();
    assert!(err.contains("it is a wasmon check, not a command plugin"), "{err}");
}

/// What an unmodified Rust plugin (`std::env::args`, `println!`,
/// `std::process::exit`) built for wasm32-wasip1 prints.
const WASIP1_PROGRAM: &str = r#"
fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("RUST {} - argv0={} env={} | x=1;2;3", args[1], args[0], std::env::vars().count());
    println!("hostname: {}", std::fs::read_to_string("/etc/hostname").map(|_| "readable").unwrap_or("not readable"));
    std::process::exit(args[2].parse().unwrap());
}
"#;

/// `WASIP1_PROGRAM` compiled with rustc for wasm32-wasip1, or `None` (the
/// test skips) when that target is not installed; under `CI=true` a missing
/// target fails the test.
fn wasip1_program() -> Option<PathBuf> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let libdir = Command::new(&rustc).args(["--print", "target-libdir", "--target", "wasm32-wasip1"]).output().ok()?;
    let libdir = String::from_utf8_lossy(&libdir.stdout).trim().to_string();
    if libdir.is_empty() || !Path::new(&libdir).is_dir() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("the wasm32-wasip1 target is missing: rustup target add wasm32-wasip1");
        }
        eprintln!("skipping: the wasm32-wasip1 target is not installed (rustup target add wasm32-wasip1)");
        return None;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("wasip1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("check_rust.rs");
    std::fs::write(&source, WASIP1_PROGRAM).unwrap();
    let wasm = dir.join("check_rust.wasm");
    let out = Command::new(&rustc)
        .args(["--edition", "2021", "--target", "wasm32-wasip1", "-C", "opt-level=1", "-o"])
        .arg(&wasm)
        .arg(&source)
        .output()
        .unwrap();
    assert!(out.status.success(), "rustc failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(wasm)
}

/// The point of converting preview1 modules ourselves: `std::process::exit(2)`
/// of a program built for wasm32-wasip1 is CRITICAL, not the 1 the stock
/// adapter would pass on.
#[tokio::test]
async fn an_unmodified_rust_program_for_wasip1_keeps_its_exit_codes() {
    let Some(wasm) = wasip1_program() else { return };
    let m = sandbox().load_file(&wasm).unwrap();
    assert_eq!(m.kind(), ModuleKind::Preview1Plugin);
    for (code, state) in [("0", State::Ok), ("1", State::Warning), ("2", State::Critical), ("3", State::Unknown)] {
        let r = run(&m, &["plugin", code]).await;
        assert_eq!(r.outcome.state, state, "exit {code}");
        assert_eq!(r.outcome.summary, "RUST plugin - argv0=check_rust.wasm env=0");
        assert_eq!(r.outcome.long_output.as_deref(), Some("hostname: not readable"));
        assert_eq!(r.outcome.metrics[0].perfdata(), "x=1;2;3");
    }
    let r = run(&m, &["plugin", "42"]).await;
    assert_eq!((r.outcome.state, &r.outcome.termination), (State::Unknown, &Termination::InvalidExit));
    assert!(r.outcome.summary.contains("code 42"), "{}", r.outcome.summary);
}

#[test]
fn modules_that_are_neither_checks_nor_commands_are_refused_with_reasons() {
    let load = |wat_text: &str| sandbox().load("odd.wasm", &wat::parse_str(wat_text).unwrap()).unwrap_err().to_string();
    let err = load(r#"(module (memory (export "memory") 1) (func (export "_initialize")))"#);
    assert!(err.contains("it is a WASI preview1 reactor"), "{err}");
    let err = load("(module)");
    assert!(err.contains("core WebAssembly module without a _start function"), "{err}");
    let err = load(r#"(module (import "env" "f" (func)) (func (export "_start")))"#);
    assert!(err.contains("it imports env.f, which wasmon does not provide"), "{err}");
    // A component that is neither a check nor a command.
    let err = load("(component)");
    assert!(
        err.contains("does not implement the wasmon:check@0.1.0 contract") && err.contains("not a WASI command"),
        "{err}"
    );
    let err = sandbox().load("junk.wasm", b"#!/bin/sh\necho OK\n").unwrap_err().to_string();
    assert!(err.contains("not a WebAssembly component or module"), "{err}");
}

// --- `wasmon check` and `wasmon describe` --------------------------------------

/// The `wasmon` binary beside this test binary's profile directory
/// (`target/debug/deps/all-*` -> `target/debug/wasmon`; `cargo test
/// --workspace` builds it), or `$WASMON_BIN`.
fn wasmon_bin() -> PathBuf {
    let path = match std::env::var_os("WASMON_BIN") {
        Some(p) => PathBuf::from(p),
        None => {
            let exe = std::env::current_exe().expect("current_exe");
            exe.parent().and_then(Path::parent).expect("target/PROFILE/deps").join("wasmon")
        }
    };
    assert!(
        path.is_file(),
        "{} does not exist: run `cargo test --workspace` (or `cargo build -p wasmon-runtime`)",
        path.display()
    );
    path
}

pub(crate) fn wasmon(a: &[&str]) -> Output {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmon-cache");
    let out = Command::new(wasmon_bin()).args(a).env("WASMON_CACHE_DIR", cache).output().expect("run wasmon");
    println!(
        "wasmon {}\nexit {:?}\nstdout:\n{}\nstderr:\n{}",
        a.join(" "),
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
fn wasmon_check_runs_a_plugin_with_its_arguments() {
    let p = guests::PLUGIN_ECHO;
    for (exit, state) in [("0", "OK"), ("1", "WARNING"), ("2", "CRITICAL"), ("3", "UNKNOWN")] {
        let text = format!("PLUGIN {state} - x | a=1;2;3\nlong line\n");
        let out = wasmon(&["check", p, "-H", "127.0.0.1", "--", "--print", &text, "--exit", exit]);
        assert_eq!(code(&out).to_string(), exit);
        assert_eq!(stdout(&out), format!("{state} - PLUGIN {state} - x | a=1;2;3\nlong line\n"));
    }
    let out = wasmon(&["check", p, "--", "--print", "odd\n", "--exit", "4"]);
    assert_eq!(code(&out), 3);
    assert!(stdout(&out).starts_with("UNKNOWN - Plugin exited with code 4, which is not a plugin state (0-3)\n"));
    let out = wasmon(&["check", p, "--", "--print", "odd\n", "--exit", "255"]);
    assert_eq!(code(&out), 3);
}

#[test]
fn wasmon_check_json_and_macros() {
    let out = wasmon(&[
        "check",
        guests::PLUGIN_ECHO,
        "-H",
        "127.0.0.1",
        "--format",
        "json",
        "--",
        "--print",
        "OK - $HOSTNAME$ at $HOSTADDRESS$ for $SERVICEDESC$ costs $$1 | t=12ms;100;200;0\n",
    ]);
    assert_eq!(code(&out), 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["state"], "OK");
    assert_eq!(json["summary"], "OK - 127.0.0.1 at 127.0.0.1 for guest-plugin-echo costs $1");
    assert_eq!(json["metrics"][0]["label"], "t");
    assert_eq!(json["metrics"][0]["value"], 12.0);
    assert_eq!(json["metrics"][0]["uom"], "ms");
    assert_eq!(json["metrics"][0]["warn"], "100");
    assert_eq!(json["metrics"][0]["min"], 0.0);
    // An unknown macro is refused before anything runs.
    let out = wasmon(&["check", guests::PLUGIN_ECHO, "--", "--print", "$ARG1$"]);
    assert_eq!(code(&out), 3);
    assert!(stdout(&out).starts_with("UNKNOWN - wasmon: argument '$ARG1$': unknown macro $ARG1$"), "{}", stdout(&out));
}

#[test]
fn wasmon_check_limits_and_mistakes() {
    let out = wasmon(&["check", guests::PLUGIN_ECHO, "-t", "1s", "--", "--spin"]);
    assert_eq!(code(&out), 2, "a timeout is CRITICAL by default");
    assert!(stdout(&out).starts_with("CRITICAL - Check timed out after 1s"));
    let out = wasmon(&["check", guests::PLUGIN_ECHO, "-p", "x=1", "--", "--exit", "0"]);
    assert_eq!(code(&out), 3);
    assert!(stdout(&out).starts_with("UNKNOWN - This is a command plugin"), "{}", stdout(&out));
    let out = wasmon(&["check", "dummy", "--", "-w", "1"]);
    assert_eq!(code(&out), 3);
    assert!(stdout(&out).starts_with("UNKNOWN - This is a wasmon check: it takes parameters"), "{}", stdout(&out));
}

#[test]
fn wasmon_check_runs_a_preview1_module() {
    let file = preview1_file();
    let file = file.to_str().unwrap();
    let out = wasmon(&["check", file, "--", "PREVIEW1 CRITICAL - down | t=2s;1;2", "2"]);
    assert_eq!(code(&out), 2);
    assert_eq!(stdout(&out), "CRITICAL - PREVIEW1 CRITICAL - down | t=2s;1;2\n");
}

#[test]
fn wasmon_describe_explains_a_plugin() {
    let out = wasmon(&["describe", guests::PLUGIN_ECHO]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for needle in [
        "guest-plugin-echo.wasm\nCommand plugin (a WASI command component)",
        "ARGUMENTS",
        "-- -H '$HOSTADDRESS$'",
        "$SERVICEDESC$",
        "PLUGIN HELP (its output for --help)\n    Usage: guest-plugin-echo [--print TEXT]",
        // As printed: a usage text's `|` is not performance data here.
        "[--exit CODE | --std-exit CODE]\n",
        "GRANTED BY DEFAULT\n    connections to the host's address",
    ] {
        assert!(text.contains(needle), "missing {needle:?}");
    }
    let file = preview1_file();
    let out = wasmon(&["describe", "--format", "json", file.to_str().unwrap()]);
    assert_eq!(code(&out), 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["kind"], "preview1_plugin");
    assert_eq!(json["help"], "UNKNOWN - usage: preview1-echo TEXT CODE", "exit 3 for too few arguments");
    let out = wasmon(&["discover", guests::PLUGIN_ECHO]);
    assert_eq!(code(&out), 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a WASI command plugin, which has no discover()"));
}

/// `wasmon simulate` result lines carry the metrics and the long output: a
/// command plugin that prints `OK - x | a=1s;2;3;0;10` gives a result event
/// with that metric (issue 11).
#[test]
fn simulate_result_lines_carry_metrics_and_long_output() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("simulate-metrics");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("wasmon.toml");
    let text = format!(
        "[[host]]\nname = \"h\"\n\n[[service]]\nhost = \"h\"\nname = \"P\"\ncheck = \"{}\"\n\
         args = [\"--print\", \"OK - x | a=1s;2;3;0;10\\nsecond line\\n\"]\n",
        guests::PLUGIN_ECHO
    );
    std::fs::write(&config, text).unwrap();
    let out = wasmon(&["simulate", "--config", config.to_str().unwrap(), "--duration", "1s"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let line = stdout(&out).lines().next().expect("a result line").to_string();
    let json: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(json["kind"], "result", "{line}");
    assert_eq!(json["output"], "OK - x", "{line}");
    assert_eq!(json["long_output"], "second line", "{line}");
    let metric = &json["metrics"][0];
    assert_eq!((&metric["label"], &metric["value"], &metric["uom"]), (&"a".into(), &1.0.into(), &"s".into()), "{line}");
    let range = |end: f64| serde_json::json!({ "start": 0.0, "end": end, "inside": false });
    assert_eq!((&metric["warn"], &metric["crit"]), (&range(2.0), &range(3.0)), "{line}");
    assert_eq!((&metric["min"], &metric["max"]), (&0.0.into(), &10.0.into()), "{line}");
    assert_eq!(json["check"]["module"], guests::PLUGIN_ECHO, "{line}");
    assert_eq!(
        (json["source"].as_str(), json["scheduled"].as_f64(), json["ran"].as_f64()),
        (Some("active"), Some(0.0), Some(0.0))
    );
    assert!(json["execution_time"].as_f64().is_some_and(|t| t > 0.0), "{line}");
    assert_eq!((json["previous_state"].as_str(), json["state_changed"].as_bool()), (Some("OK"), Some(false)), "{line}");
}

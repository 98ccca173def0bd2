//! Every guest in `tests/guests/` against the sandbox. Each ends in its
//! defined state and message within its limit plus a margin, and the next
//! check in the same process runs normally.

use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use wasmon_runtime::contract::verify_outcome;
use wasmon_runtime::{Grants, Limits, State, Termination};
use wasmon_tests as guests;

use crate::harden::{descriptor_flood, forge_output, host_memory};
use crate::hotload::hotload_v2;
use crate::plugins::plugin_echo;
use crate::{call, guest, quick, show};

/// How much later than its limit a cut-off run may end: epoch ticks are
/// 10 ms, the rest is scheduling on a loaded machine.
const MARGIN: Duration = Duration::from_millis(1500);

// Every guest has a test of its name in this module.
macro_rules! has_test {
    ($name:ident) => {
        const _: fn() = $name;
    };
}
wasmon_tests::foreach_guest!(has_test);

/// The process is still healthy: a normal check runs and returns OK.
async fn assert_healthy() {
    let run = guest(guests::WELL_BEHAVED).check(&call(&[], Limits::default(), Grants::default())).await;
    assert_eq!(run.outcome.state, State::Ok, "{}", run.outcome.plugin_output());
}

#[tokio::test]
async fn well_behaved() {
    let m = guest(guests::WELL_BEHAVED);
    let first = show(m.check(&call(&[], Limits::default(), Grants::default())).await);
    assert_eq!(first.outcome.state, State::Ok);
    assert_eq!(first.outcome.summary, "Run 1");
    assert!(verify_outcome(&first.outcome).is_empty(), "{:?}", verify_outcome(&first.outcome));
    // The value store carries over only when the caller passes it on.
    let mut next = call(&[], Limits::default(), Grants::default());
    next.values = first.values.clone();
    assert_eq!(m.check(&next).await.outcome.summary, "Run 2");
    assert_eq!(m.check(&call(&[], Limits::default(), Grants::default())).await.outcome.summary, "Run 1");
}

#[tokio::test]
async fn infinite_loop() {
    let limit = Duration::from_secs(1);
    let run = show(guest(guests::INFINITE_LOOP).check(&call(&[], quick(limit), Grants::default())).await);
    assert_eq!(run.outcome.state, State::Critical);
    assert_eq!(run.outcome.summary, "Check timed out after 1s");
    assert_eq!(run.outcome.termination, Termination::Timeout);
    assert!(run.outcome.duration >= limit && run.outcome.duration < limit + MARGIN, "{:?}", run.outcome.duration);
    // The timeout state is configurable.
    let limits = Limits { timeout_state: State::Unknown, ..quick(Duration::from_millis(300)) };
    let run = guest(guests::INFINITE_LOOP).check(&call(&[], limits, Grants::default())).await;
    assert_eq!((run.outcome.state, run.outcome.summary.as_str()), (State::Unknown, "Check timed out after 300ms"));
    assert_healthy().await;
}

#[tokio::test]
async fn sleep_in_host() {
    let limit = Duration::from_secs(1);
    let run = show(guest(guests::SLEEP_IN_HOST).check(&call(&[], quick(limit), Grants::default())).await);
    assert_eq!((run.outcome.state, run.outcome.summary.as_str()), (State::Critical, "Check timed out after 1s"));
    assert!(run.outcome.duration < limit + MARGIN, "{:?}", run.outcome.duration);
    assert_healthy().await;
}

#[tokio::test]
async fn slow_connect() {
    // Accepts, then never writes: the guest blocks in a host call (poll).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let limit = Duration::from_secs(1);
    let run = show(guest(guests::SLOW_CONNECT).check(&call(&[("addr", &addr)], quick(limit), Grants::default())).await);
    assert_eq!((run.outcome.state, run.outcome.summary.as_str()), (State::Critical, "Check timed out after 1s"));
    assert!(run.outcome.duration < limit + MARGIN, "{:?}", run.outcome.duration);
    drop(listener);
    assert_healthy().await;
}

#[tokio::test]
async fn unbounded_alloc() {
    let limits = Limits { memory: 16 << 20, ..Limits::default() };
    let run = show(guest(guests::UNBOUNDED_ALLOC).check(&call(&[], limits, Grants::default())).await);
    assert_eq!(run.outcome.state, State::Unknown);
    assert_eq!(run.outcome.summary, "Check exceeded its memory limit of 16 MiB");
    assert_eq!(run.outcome.termination, Termination::MemoryLimit);
    // And at the default limit.
    let run = guest(guests::UNBOUNDED_ALLOC).check(&call(&[], Limits::default(), Grants::default())).await;
    assert_eq!(run.outcome.summary, "Check exceeded its memory limit of 64 MiB");
    // A panic after a refused grow the guest coped with is a panic.
    let limits = Limits { memory: 16 << 20, ..Limits::default() };
    let run = show(guest(guests::UNBOUNDED_ALLOC).check(&call(&[("then", "panic")], limits, Grants::default())).await);
    assert_eq!(run.outcome.termination, Termination::Trap);
    assert!(
        run.outcome.summary.starts_with("Check panicked: deliberate panic after holding "),
        "{}",
        run.outcome.summary
    );
    assert_healthy().await;
}

#[tokio::test]
async fn stack_overflow() {
    let run = show(guest(guests::STACK_OVERFLOW).check(&call(&[], Limits::default(), Grants::default())).await);
    assert_eq!(run.outcome.state, State::Unknown);
    assert_eq!(run.outcome.termination, Termination::Trap);
    assert!(run.outcome.summary.starts_with("Check crashed: "), "{}", run.outcome.summary);
    assert!(run.outcome.long_output.unwrap().contains("hostile_recurse"));
    assert_healthy().await;
}

#[tokio::test]
async fn trap() {
    let run = show(guest(guests::TRAP).check(&call(&[], Limits::default(), Grants::default())).await);
    assert_eq!(run.outcome.state, State::Unknown);
    assert_eq!(run.outcome.summary, "Check crashed: wasm trap: wasm `unreachable` instruction executed");
    let details = run.outcome.long_output.unwrap();
    assert!(details.starts_with("Guest backtrace:"), "{details}");
    assert!(details.contains("hostile_trap_inner") && details.contains("hostile_trap_outer"), "{details}");
    assert_healthy().await;
}

#[tokio::test]
async fn panic() {
    let run =
        show(guest(guests::PANIC).check(&call(&[("reason", "testing")], Limits::default(), Grants::default())).await);
    assert_eq!(run.outcome.state, State::Unknown);
    assert_eq!(run.outcome.termination, Termination::Trap);
    assert!(run.outcome.summary.starts_with("Check panicked: deliberate panic: "), "{}", run.outcome.summary);
    assert!(run.outcome.summary.contains("(at panic/src/lib.rs:"), "{}", run.outcome.summary);
    let details = run.outcome.long_output.unwrap();
    assert!(details.contains("hostile_panic") && details.contains("Guest output:"), "{details}");
    assert_healthy().await;
}

#[tokio::test]
async fn exit() {
    let run = show(guest(guests::EXIT).check(&call(&[], Limits::default(), Grants::default())).await);
    assert_eq!(run.outcome.state, State::Unknown);
    assert_eq!(run.outcome.summary, "Check exited with status 0 instead of returning a result");
    assert_healthy().await;
}

#[tokio::test]
async fn output_flood() {
    let run = show(guest(guests::OUTPUT_FLOOD).check(&call(&[], Limits::default(), Grants::default())).await);
    let o = &run.outcome;
    assert!(o.truncated);
    let total = o.summary.len() + o.long_output.as_ref().map_or(0, |l| l.len() + 1);
    assert!(total <= Limits::default().output, "{total} bytes of output");
    assert!(o.summary.ends_with("(output truncated)"), "{}", &o.summary[o.summary.len() - 40..]);
    // Metrics count against the output limit (issue 16): the summary
    // filled it, so none is left.
    assert!(o.metrics.is_empty(), "{} metrics", o.metrics.len());
    // Writing to stdout forever is cut at the timeout, not by memory.
    let limit = Duration::from_secs(1);
    let run =
        show(guest(guests::OUTPUT_FLOOD).check(&call(&[("forever", "true")], quick(limit), Grants::default())).await);
    assert_eq!(run.outcome.summary, "Check timed out after 1s");
    assert!(run.outcome.duration < limit + MARGIN);
    assert_healthy().await;
}

#[tokio::test]
async fn log_flood() {
    let run = show(guest(guests::LOG_FLOOD).check(&call(&[], Limits::default(), Grants::default())).await);
    assert_eq!(run.outcome.state, State::Ok);
    assert!(run.outcome.summary.starts_with("Logged "), "{}", run.outcome.summary);
    assert_healthy().await;
}

#[tokio::test]
async fn connect_denied() {
    // A listener on a loopback address the check is not granted.
    let other = TcpListener::bind("127.0.0.3:0").unwrap();
    other.set_nonblocking(true).unwrap();
    let addr = other.local_addr().unwrap().to_string();
    let run = show(
        guest(guests::CONNECT_DENIED).check(&call(&[("addr", &addr)], Limits::default(), Grants::default())).await,
    );
    assert_eq!(run.outcome.state, State::Critical);
    assert!(run.outcome.summary.starts_with(&format!("Connect to {addr} failed: ")), "{}", run.outcome.summary);
    assert!(other.accept().is_err(), "the denied connection reached the listener");
    // Granting the address lets it through.
    let mut grants = Grants::default();
    grants.add("net=127.0.0.3").unwrap();
    let run = guest(guests::CONNECT_DENIED).check(&call(&[("addr", &addr)], Limits::default(), grants)).await;
    assert_eq!(run.outcome.summary, format!("Connected to {addr}"));
    // The target's own address is granted by default.
    let own = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = own.local_addr().unwrap().to_string();
    let run =
        guest(guests::CONNECT_DENIED).check(&call(&[("addr", &addr)], Limits::default(), Grants::default())).await;
    assert_eq!((run.outcome.state, run.outcome.summary), (State::Ok, format!("Connected to {addr}")));
    assert_healthy().await;
}

#[tokio::test]
async fn read_passwd() {
    let run = show(guest(guests::READ_PASSWD).check(&call(&[], Limits::default(), Grants::default())).await);
    assert_eq!(run.outcome.state, State::Critical);
    assert!(run.outcome.summary.starts_with("read /etc/passwd: "), "{}", run.outcome.summary);
    assert!(!run.outcome.summary.contains("bytes"), "the guest read the file: {}", run.outcome.summary);
    assert!(run.outcome.summary.contains("Environment variables: 0"), "{}", run.outcome.summary);
    let mut passwd = String::new();
    std::fs::File::open("/etc/passwd").unwrap().read_to_string(&mut passwd).unwrap();
    assert!(!run.outcome.plugin_output().contains(passwd.lines().next().unwrap()));
    assert_healthy().await;
}

#[tokio::test]
async fn dns_lookup() {
    let params = [("name", "localhost")];
    let run = show(guest(guests::DNS_LOOKUP).check(&call(&params, Limits::default(), Grants::default())).await);
    assert_eq!(run.outcome.state, State::Critical, "name lookups are not granted by default");
    assert!(run.outcome.summary.starts_with("Resolve localhost failed: "), "{}", run.outcome.summary);
    let grants = Grants { dns: true, ..Grants::default() };
    let run = show(guest(guests::DNS_LOOKUP).check(&call(&params, Limits::default(), grants)).await);
    assert_eq!(run.outcome.state, State::Ok);
    assert!(run.outcome.summary.contains("127.0.0.1"), "{}", run.outcome.summary);
}

#[tokio::test]
async fn system_probe() {
    let run = show(guest(guests::SYSTEM_PROBE).check(&call(&[], Limits::default(), Grants::default())).await);
    assert_eq!(run.outcome.state, State::Critical);
    assert_eq!(run.outcome.summary.matches("the system interface is not granted to this check").count(), 4);
    let grants = Grants { system: true, ..Grants::default() };
    let run = show(guest(guests::SYSTEM_PROBE).check(&call(&[], Limits::default(), grants)).await);
    assert_eq!(run.outcome.state, State::Ok, "{}", run.outcome.summary);
}

#[tokio::test]
async fn store_limits() {
    let run = show(guest(guests::STORE_LIMITS).check(&call(&[], Limits::default(), Grants::default())).await);
    assert_eq!(run.outcome.state, State::Ok, "{}", run.outcome.summary);
    assert!(run.values.is_empty(), "the guest deletes what it stored");
}

#[tokio::test]
async fn check_error() {
    let m = guest(guests::CHECK_ERROR);
    for (error, message, termination) in [
        ("item-not-found", "Item not found in monitoring data", Termination::ItemNotFound),
        ("bad-params", "Parameter error: deliberately bad", Termination::BadParams),
        ("failed", "Deliberate failure", Termination::Failed),
    ] {
        let run = show(m.check(&call(&[("error", error)], Limits::default(), Grants::default())).await);
        assert_eq!(
            (run.outcome.state, run.outcome.summary.as_str(), run.outcome.termination),
            (State::Unknown, message, termination)
        );
    }
}

#[tokio::test]
async fn odd_result() {
    let m = guest(guests::ODD_RESULT);
    let run = |case: &'static str| {
        let m = m.clone();
        async move { show(m.check(&call(&[("case", case)], Limits::default(), Grants::default())).await).outcome }
    };
    let o = run("empty").await;
    assert_eq!((o.state, o.summary.as_str()), (State::Unknown, "Check returned no result"));
    let o = run("nan").await;
    assert!(o.plugin_output().contains("=U"), "{}", o.plugin_output());
    let o = run("multiline").await;
    assert!(!o.summary.contains('\n') && o.long_output.is_some());
    let o = run("control-chars").await;
    assert!(!o.summary.chars().any(|c| c.is_control() || c == '|'), "{:?}", o.summary);
    let o = run("bad-label").await;
    assert!(o.plugin_output().contains("| '"), "labels with blanks are quoted: {}", o.plugin_output());
    assert!(!verify_outcome(&o).is_empty(), "the contract flags the label");
    let o = run("bad-uom").await;
    assert!(verify_outcome(&o).iter().any(|v| v.contains("unit 'ms'")), "{:?}", verify_outcome(&o));
    let o = run("duplicate-label").await;
    assert_eq!(o.metrics.len(), 2);
}

/// A plain `wasi:cli/command` is not a check, but it is a command plugin:
/// it loads as one, has no `describe()`, and runs with its output as the
/// plugin output (see `plugins`).
#[tokio::test]
async fn not_a_check() {
    let m = guest(guests::NOT_A_CHECK);
    assert_eq!(m.kind(), wasmon_runtime::ModuleKind::CommandPlugin);
    let err = m.describe().await.unwrap_err().to_string();
    assert!(err.contains("is a WASI command plugin, which has no describe()"), "{err}");
    let run = show(m.check(&call(&[], Limits::default(), Grants::default())).await);
    assert_eq!((run.outcome.state, run.outcome.summary.as_str()), (State::Ok, "hello"));
    // A core module that is no command, and garbage, are rejected with the reason.
    let err = crate::sandbox().load("core.wasm", b"\0asm\x01\0\0\0").unwrap_err().to_string();
    assert!(err.contains("core WebAssembly module without a _start function"), "{err}");
    let err = crate::sandbox().load("junk.wasm", b"#!/bin/sh\necho OK\n").unwrap_err().to_string();
    assert!(err.contains("not a WebAssembly component or module"), "{err}");
}

/// An event handler is not a check, and a check is not an event handler:
/// each is refused in the other's place with the reason (handler-echo's
/// behaviour is tested in `handlers.rs`).
#[test]
fn handler_echo() {
    let err = crate::sandbox().load_file(guests::HANDLER_ECHO.as_ref()).unwrap_err().to_string();
    assert!(err.contains("it is an event handler (world handler), not a check"), "{err}");
    let handler = crate::sandbox().load_handler_file(guests::HANDLER_ECHO.as_ref()).expect("loads as a handler");
    assert!(handler.name().ends_with("guest_handler_echo.wasm"));
    let err = crate::sandbox().load_handler_file(guests::WELL_BEHAVED.as_ref()).unwrap_err().to_string();
    assert!(err.contains("it is not an event handler"), "{err}");
}

/// Many checks at once beside a guest that never returns: all complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_at_once_beside_a_runaway() {
    let runaway = tokio::spawn(async {
        guest(guests::INFINITE_LOOP).check(&call(&[], quick(Duration::from_secs(2)), Grants::default())).await
    });
    let m = guest(guests::WELL_BEHAVED);
    let runs: Vec<_> = (0..50)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move { m.check(&call(&[], Limits::default(), Grants::default())).await })
        })
        .collect();
    for r in runs {
        let r = r.await.unwrap();
        assert_eq!((r.outcome.state, r.values.len()), (State::Ok, 1));
    }
    assert_eq!(runaway.await.unwrap().outcome.termination, Termination::Timeout);
}

/// 10,000 concurrent runs (issue 16): beyond 2,048 slots linear memories
/// reserve only their limit (four memories of 4 GiB a slot would not fit
/// in the address space), so the sandbox starts; a check runs, and the
/// memory limit holds with bounds checked by the compiled code.
#[tokio::test]
async fn ten_thousand_slots_start_and_keep_the_memory_limit() {
    let sandbox = wasmon_runtime::Sandbox::builder()
        .cache_dir(Some(std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmon-cache")))
        .max_concurrency(10_000)
        .max_memory(64 << 20)
        .build()
        .expect("a sandbox of 10,000 slots");
    assert_eq!(sandbox.max_concurrency(), 10_000);
    let dummy = sandbox.load_standard("dummy").unwrap();
    let run = show(dummy.check(&call(&[("state", "WARNING")], Limits::default(), Grants::default())).await);
    assert_eq!(run.outcome.state, State::Warning);
    let hog = sandbox.load_file(guests::UNBOUNDED_ALLOC.as_ref()).unwrap();
    let limits = Limits { memory: 16 << 20, ..Limits::default() };
    let run = show(hog.check(&call(&[], limits, Grants::default())).await);
    assert_eq!(run.outcome.summary, "Check exceeded its memory limit of 16 MiB");
    assert_eq!(run.outcome.termination, Termination::MemoryLimit);
}

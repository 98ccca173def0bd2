//! Event handlers (world `handler`): when they run (`on`), what they are
//! told, their own grants and limits, and how failures are reported. On the
//! simulated clock through `simulate`, and on the real one through a
//! `Monitor`.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use wasmon_runtime::config::{self, Config};
use wasmon_runtime::handler::Trigger;
use wasmon_runtime::{Event, simulate};
use wasmon_runtime::{Monitor, Retention};

/// A service walking `sequence` with 3 attempts, interval 60 s, retry
/// 10 s, and one handler `echo` with `on` and `params`.
fn config(sequence: &str, on: &str, params: &str, extra: &str) -> Config {
    let text = format!(
        r#"
[[host]]
name = "web1"
address = "127.0.0.1"

[[handler]]
name = "echo"
module = "{module}"
on = "{on}"
params = {{ {params} }}
{extra}

[[service]]
host = "web1"
name = "Lifecycle"
check = "dummy"
params = {{ sequence = "{sequence}" }}
check_interval = "60s"
retry_interval = "10s"
max_check_attempts = 3
event_handlers = ["echo"]
"#,
        module = wasmon_tests::HANDLER_ECHO,
    );
    config::parse(&text, Path::new("handlers.toml")).unwrap_or_else(|e| panic!("{e}"))
}

async fn handler_events(config: &Config, duration: Duration) -> Vec<(f64, Trigger, bool, String)> {
    let mut out = Vec::new();
    simulate(config, crate::sandbox(), duration, |e| {
        if let Event::Handler { t, trigger, ok, output, handler, .. } = e {
            assert_eq!(handler, "echo");
            out.push((*t, *trigger, *ok, output.clone()));
        }
    })
    .await
    .unwrap();
    out
}

#[tokio::test]
async fn state_change_handlers_run_on_soft_and_hard_changes_only() {
    // OK, CRIT (SOFT 1), CRIT (SOFT 2), CRIT (HARD), CRIT, OK (SOFT), OK, OK (HARD)...
    let c = config("OK,CRITICAL,CRITICAL,CRITICAL,CRITICAL,OK,OK,OK", "state-change", "", "");
    let got = handler_events(&c, Duration::from_secs(200)).await;
    let lines: Vec<(f64, &str)> = got
        .iter()
        .map(|(t, _, ok, out)| {
            assert!(ok, "{out}");
            (*t, out.as_str())
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            (60.0, "state-change web1/Lifecycle CRITICAL SOFT 1/3 was OK: Sequence step 2 of 8: CRITICAL"),
            (80.0, "hard-state-change web1/Lifecycle CRITICAL HARD 3/3 was CRITICAL: Sequence step 4 of 8: CRITICAL"),
            (200.0, "state-change web1/Lifecycle OK SOFT 1/3 was CRITICAL: Sequence step 6 of 8: OK"),
        ],
        "{got:?}"
    );
}

#[tokio::test]
async fn hard_change_handlers_skip_soft_changes_and_result_handlers_see_every_result() {
    let c = config("OK,CRITICAL,CRITICAL,CRITICAL,CRITICAL", "hard-change", "", "");
    let got = handler_events(&c, Duration::from_secs(150)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, 80.0);
    assert_eq!(got[0].1, Trigger::HardStateChange);

    let c = config("OK,WARNING", "result", "", "");
    let got = handler_events(&c, Duration::from_secs(60)).await;
    let triggers: Vec<Trigger> = got.iter().map(|g| g.1).collect();
    assert_eq!(triggers, vec![Trigger::SameState, Trigger::StateChange], "{got:?}");
    assert!(got[0].3.starts_with("same-state web1/Lifecycle OK HARD 1/3 was OK"), "{got:?}");
}

#[tokio::test]
async fn a_failing_handler_is_reported_and_does_not_change_the_state() {
    let c = config("OK,CRITICAL", "result", r#"fail = "ticket system unreachable""#, "");
    let mut results = Vec::new();
    let mut handled = Vec::new();
    simulate(&c, crate::sandbox(), Duration::from_secs(60), |e| match e {
        Event::Result(r) => results.push(r.state.to_string()),
        Event::Handler { ok, output, .. } => handled.push((*ok, output.clone())),
        _ => {}
    })
    .await
    .unwrap();
    assert_eq!(results, vec!["OK", "CRITICAL"]);
    assert_eq!(handled, vec![(false, "ticket system unreachable".to_string()); 2]);

    // Its own time limit.
    let c = config("OK", "result", r#"spin = "true""#, r#"timeout = "200ms""#);
    let got = handler_events(&c, Duration::from_secs(1)).await;
    assert_eq!(got.len(), 1);
    assert!(!got[0].2);
    assert_eq!(got[0].3, "Handler timed out after 200ms");
}

#[tokio::test]
async fn handlers_have_grants_of_their_own() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = TcpListener::bind("127.0.0.2:0").unwrap();
    let (own, theirs) = (listener.local_addr().unwrap(), other.local_addr().unwrap());

    // The host's address (127.0.0.1) is granted by default…
    let c = config("OK", "result", &format!(r#"connect = "{own}""#), "");
    let got = handler_events(&c, Duration::from_secs(1)).await;
    assert!(got[0].2 && got[0].3.ends_with(&format!("; connected to {own}")), "{got:?}");

    // …another address is not…
    let c = config("OK", "result", &format!(r#"connect = "{theirs}""#), "");
    let got = handler_events(&c, Duration::from_secs(1)).await;
    assert!(!got[0].2 && got[0].3.starts_with(&format!("connect to {theirs}:")), "{got:?}");

    // …unless the handler is granted it.
    let c = config("OK", "result", &format!(r#"connect = "{theirs}""#), r#"grants = ["net=127.0.0.2"]"#);
    let got = handler_events(&c, Duration::from_secs(1)).await;
    assert!(got[0].2, "{got:?}");
}

#[tokio::test]
async fn the_monitor_runs_handlers_and_publishes_their_events() {
    let c = config("OK,CRITICAL", "state-change", "", "");
    let monitor = Monitor::builder()
        .config(c)
        .sandbox(crate::sandbox().clone())
        .retention(Retention::None)
        .start()
        .await
        .unwrap();
    let mut events = monitor.subscribe();
    monitor.run_now("web1", Some("Lifecycle")).await.unwrap();
    monitor.run_now("web1", Some("Lifecycle")).await.unwrap();
    let handled = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Event::Handler { ok, output, .. } = events.recv().await.unwrap() {
                break (ok, output);
            }
        }
    })
    .await
    .expect("a handler event");
    assert!(handled.0, "{handled:?}");
    assert!(handled.1.starts_with("state-change web1/Lifecycle CRITICAL SOFT 1/3 was OK"), "{handled:?}");
    monitor.stop().await.unwrap();
}

#[test]
fn handler_configuration_errors_name_the_key() {
    let bad = |text: &str| match config::parse(text, Path::new("h.toml")) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    };
    let e = bad("[[handler]]\nname = \"x\"\nmodule = \"nope.wasm\"\n");
    assert!(e.starts_with("h.toml:3:10: handler \"x\": key 'module': cannot read nope.wasm"), "{e}");
    let module = wasmon_tests::HANDLER_ECHO;
    let e = bad(&format!("[[handler]]\nname = \"x\"\nmodule = \"{module}\"\non = \"always\"\n"));
    assert!(e.contains("key 'on': expected \"result\", \"state-change\" or \"hard-change\""), "{e}");
    let e = bad("[[host]]\nname = \"h\"\nevent_handlers = [\"missing\"]\n");
    assert!(e.contains("host \"h\": key 'event_handlers': no handler named \"missing\""), "{e}");
}

#[tokio::test]
async fn a_configuration_built_in_code_with_an_unknown_handler_is_refused() {
    let mut c = config("OK", "result", "", "");
    c.services[0].event_handlers = vec!["echo".into(), "missing".into()];
    let monitor = Monitor::builder().config(c).sandbox(crate::sandbox().clone()).retention(Retention::None).start();
    let e = match monitor.await {
        Ok(_) => panic!("an unknown handler name was accepted"),
        Err(e) => e.to_string(),
    };
    assert_eq!(e, "configuration: service \"Lifecycle\" on host \"web1\": no event handler named \"missing\"");
}

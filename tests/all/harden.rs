//! Hardening (issue 16): every text a check or an API client provides goes
//! through one sanitiser and the output limit, whichever way it enters.

use std::path::Path;
use std::sync::{Arc, Mutex};

use wasmon_runtime::plugin::parse_perfdata;
use wasmon_runtime::{
    DiscoverCall, Event, Grants, Limits, Metric, Monitor, Outcome, Range, Retention, State, Submission,
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

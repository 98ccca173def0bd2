use std::time::Duration;

use super::*;
use crate::outcome::{State, Termination};

fn outcome(summary: &str, long: Option<&str>) -> Outcome {
    Outcome {
        perfdata_errors: Vec::new(),
        state: State::Ok,
        summary: summary.into(),
        long_output: long.map(Into::into),
        metrics: vec![],
        duration: Duration::ZERO,
        termination: Termination::Completed,
        truncated: false,
    }
}

#[test]
fn output_is_cut_and_marked() {
    let limits = Limits { output: 100, ..Limits::default() };
    let mut o = outcome(&"x".repeat(500), Some("details"));
    fit_output(&mut o, &limits);
    assert!(o.summary.len() <= 100 && o.summary.ends_with("(output truncated)"), "{}", o.summary);
    assert!(o.truncated && o.long_output.is_none());

    let mut o = outcome("short | not\u{0}\u{1b} perfdata\nsecond line", Some(&"é".repeat(200)));
    fit_output(&mut o, &limits);
    assert_eq!(o.summary, "short ¦ not perfdata");
    let long = o.long_output.unwrap();
    assert!(long.starts_with("second line\n") && long.ends_with("(output truncated)"), "{long}");
    assert!(o.summary.len() + 1 + long.len() <= 100, "summary, line break and long output within the limit");

    let mut o = outcome("fine", Some("also fine"));
    fit_output(&mut o, &limits);
    assert!(!o.truncated);
    assert_eq!(o.long_output.as_deref(), Some("also fine"));
}

fn o_metric() -> Metric {
    Metric { label: "m".into(), value: 1.0, uom: String::new(), warn: None, crit: None, min: None, max: None }
}

#[test]
fn metrics_over_the_limit_are_dropped_and_said() {
    let limits = Limits { metrics: 2, ..Limits::default() };
    let mut o = outcome("fine", None);
    o.metrics = vec![o_metric(); 5];
    fit_output(&mut o, &limits);
    assert_eq!(o.metrics.len(), 2);
    assert!(o.truncated);
    assert_eq!(o.long_output.as_deref(), Some("(3 metrics over the limit of 2 were dropped)"));
    // Long output and the note together stay within the limit.
    let limits = Limits { metrics: 2, output: 120, ..Limits::default() };
    let mut o = outcome("fine", Some(&"d".repeat(500)));
    o.metrics = vec![o_metric(); 5];
    fit_output(&mut o, &limits);
    let long = o.long_output.unwrap();
    assert!(o.summary.len() + 1 + long.len() <= 120, "{long}");
    assert!(long.ends_with("(output truncated)\n(3 metrics over the limit of 2 were dropped)"), "{long}");
}

#[test]
fn labels_and_units_cannot_forge_output() {
    let mut m = o_metric();
    m.label = "x\nCRITICAL - forged | y=1;2".into();
    m.uom = "s z=1".into();
    assert_eq!(m.perfdata(), "'x CRITICAL - forged ¦ y_1;2'=1sz");
    m.label = "it's".into();
    m.uom = String::new();
    assert_eq!(m.perfdata(), "'it''s'=1");
    m.label = "l".repeat(1000);
    assert_eq!(label(&m.label).len(), MAX_LABEL_LEN);
    assert_eq!(label(""), "_");
    assert_eq!(unit(&"%".repeat(100)).len(), MAX_UNIT_LEN);
    assert!(matches!(label("fine label"), Cow::Borrowed(_)));
}

#[test]
fn numbers_that_cannot_be_printed_are_mapped() {
    let r = |start, end| Range { start, end, inside: false };
    assert_eq!(range(r(Some(f64::NAN), Some(1.0))), None);
    assert_eq!(range(r(Some(2.0), Some(1.0))), None, "reversed");
    assert_eq!(range(r(Some(f64::INFINITY), None)), None);
    assert_eq!(range(r(None, Some(f64::NEG_INFINITY))), None);
    assert_eq!(range(r(Some(f64::NEG_INFINITY), Some(f64::INFINITY))), Some(r(None, None)));
    let m = metric(Metric {
        value: f64::INFINITY,
        warn: Some(r(Some(f64::NAN), None)),
        min: Some(f64::NEG_INFINITY),
        max: Some(f64::NAN),
        ..o_metric()
    });
    assert!(m.value.is_nan() && m.warn.is_none() && m.min.is_none() && m.max.is_none());
    // Rendering alone never prints them either.
    let raw = Metric { value: 1.0, crit: Some(r(Some(3.0), Some(f64::NAN))), max: Some(f64::INFINITY), ..o_metric() };
    assert_eq!(raw.perfdata(), "m=1");
}

#[test]
fn lines_are_one_line_without_control_characters() {
    assert_eq!(line("a\r\nb\0\x1b[2Jc\td", 100), "a b[2Jc d");
    let long = line(&"é".repeat(100), 11);
    assert_eq!(long, "ééééé (truncated)");
    assert_eq!(bounded_text("a\nb\r", 10), "a\nb");
}

#[test]
fn metrics_count_against_the_output_limit() {
    let limits = Limits { output: 400, ..Limits::default() };
    let mut o = outcome("fine", Some("details"));
    o.metrics = (0..100).map(|i| Metric { label: format!("metric_{i}"), ..o_metric() }).collect();
    fit_output(&mut o, &limits);
    let text = o.plugin_output();
    assert!(text.len() <= 400 + "OK - ".len(), "{}: {text}", text.len());
    assert!(o.truncated && !o.metrics.is_empty() && o.metrics.len() < 100);
    let long = o.long_output.unwrap();
    assert!(long.starts_with("details\n"), "{long}");
    assert!(
        long.ends_with(&format!("({} metrics over the output limit of 400 B were dropped)", 100 - o.metrics.len()))
    );
}

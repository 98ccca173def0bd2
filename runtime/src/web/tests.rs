use super::view::{self, Summary, object_id};
use crate::engine::ObjectStatus;
use crate::retention::MetricSeries;
use crate::state::StateType;

fn object(host: &str, service: Option<&str>, state: &str, output: &str) -> ObjectStatus {
    ObjectStatus {
        host: host.into(),
        service: service.map(str::to_string),
        state: state.into(),
        state_type: StateType::Hard,
        attempt: 1,
        max_attempts: 3,
        output: output.into(),
        long_output: None,
        perfdata: String::new(),
        last_check: Some(1_000.0),
        last_state_change: Some(900.0),
        last_hard_state_change: Some(900.0),
        next_check: Some(1_060.0),
        running: false,
        dependency_failure: None,
        stale: false,
        flapping: false,
        percent_state_change: 0.0,
        in_downtime: false,
        downtimes: Vec::new(),
        acknowledgement: None,
    }
}

#[test]
fn output_is_escaped_in_rows_and_pages() {
    let o = object("web<1>", Some("HTTP\"x"), "CRITICAL", "<script>alert(1)</script> & more");
    let row = view::row(&o, 1_000.0).into_string();
    assert!(row.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"), "{row}");
    assert!(!row.contains("<script>"), "{row}");
    assert!(row.contains("web&lt;1&gt;"), "{row}");
    assert!(row.contains("/host/web%3C1%3E/service/HTTP%22x"), "{row}");
    let page = view::render_services(&[o], "", 1_000.0);
    assert!(!page.contains("<script>alert"), "the output never reaches the page as markup");
    // The only scripts are the page's own files.
    assert_eq!(page.matches("<script").count(), 3, "{page}");
    assert_eq!(page.matches("<script src=\"/web/assets/").count(), 3);
}

#[test]
fn problems_unhandled_first_by_severity_then_newest() {
    let mut acked = object("a", Some("acked"), "CRITICAL", "");
    acked.acknowledgement = Some(crate::Acknowledgement {
        host: "a".into(),
        service: Some("acked".into()),
        author: "x".into(),
        comment: String::new(),
        sticky: false,
    });
    let mut old_crit = object("a", Some("old"), "CRITICAL", "");
    old_crit.last_state_change = Some(100.0);
    let warn = object("a", Some("warn"), "WARNING", "");
    let host_down = object("h", None, "DOWN", "");
    let mut dep = object("b", Some("dep"), "CRITICAL", "");
    dep.dependency_failure = Some("Dependency failure: h is DOWN".into());
    let new_crit = object("a", Some("new"), "CRITICAL", "");
    let ok = object("a", Some("fine"), "OK", "");
    let all = vec![acked, old_crit, warn, host_down, dep, new_crit, ok];
    let groups = view::problem_groups(&all, 1_000.0);
    let names = |i: usize| -> Vec<String> {
        groups[i].1.iter().map(|o| format!("{}/{}", o.host, o.service.as_deref().unwrap_or("-"))).collect()
    };
    assert_eq!(names(0), ["h/-", "a/new", "a/old", "a/warn"]);
    assert_eq!(names(1), ["a/acked", "b/dep"]);
    let s = Summary::of(&all);
    assert_eq!(s.unhandled, 4);
    assert_eq!(s.worst, Some("DOWN"));
    assert_eq!(s.counts["CRITICAL"], 4);
    assert!(s.title("Problems").starts_with("DOWN (4 unhandled)"), "{}", s.title("Problems"));
}

#[test]
fn filters_and_sorting_by_query() {
    let all = vec![
        object("db1", Some("Disk"), "WARNING", "disk 91%"),
        object("web1", Some("HTTP"), "OK", "200 OK"),
        object("web2", Some("HTTP"), "CRITICAL", "timeout"),
        object("web2", None, "UP", "pings"),
    ];
    let page = view::render_services(&all, "state=CRITICAL", 1_000.0);
    assert!(page.contains(&object_id("web2", Some("HTTP"))));
    assert!(!page.contains(&object_id("web1", Some("HTTP"))));
    assert!(!page.contains(&format!("id=\"{}\"", object_id("web2", None))), "hosts are not services");
    let page = view::render_services(&all, "host=web&sort=state", 1_000.0);
    let (a, b) =
        (page.find(&object_id("web2", Some("HTTP"))).unwrap(), page.find(&object_id("web1", Some("HTTP"))).unwrap());
    assert!(a < b, "CRITICAL before OK");
    assert!(!page.contains(&object_id("db1", Some("Disk"))));
    let page = view::render_services(&all, "sort=bogus&state=RED", 1_000.0);
    assert!(
        page.contains(
            "query 'sort': expected one of host, service, state, last_check, duration, attempt, found &quot;bogus&quot;"
        ),
        "{page}"
    );
    assert!(page.contains("query 'state': expected one of OK"), "{page}");
}

#[test]
fn a_graph_is_an_svg_with_a_line() {
    let s = MetricSeries {
        label: "time<x>".into(),
        uom: "s".into(),
        points: (0..10).map(|i| (std::time::Duration::from_secs(1_000 + i * 30), i as f64)).collect(),
    };
    let svg = view::graph(&s, 1_000.0, 1_300.0, Some(5.0), Some(8.0)).into_string();
    assert!(svg.starts_with("<svg class=\"graph\""), "{svg}");
    assert!(svg.contains("<polyline class=\"line\" points=\"56.0,"), "{svg}");
    assert!(svg.contains("time&lt;x&gt; (s)"), "{svg}");
    assert_eq!(svg.matches("<line class=\"warn\"").count(), 1);
    let one =
        MetricSeries { label: "x".into(), uom: String::new(), points: vec![(std::time::Duration::from_secs(5), 1.0)] };
    assert!(view::graph(&one, 0.0, 10.0, None, None).into_string().contains("<circle"));
}

#[test]
fn object_ids_are_stable_and_distinct() {
    assert_eq!(object_id("a", Some("b")), object_id("a", Some("b")));
    assert_ne!(object_id("a", Some("b")), object_id("a", None));
    assert_ne!(object_id("ab", None), object_id("a", Some("b")));
    assert!(object_id("a", None).chars().all(|c| c.is_ascii_alphanumeric()));
}

//! Dependency failure, passive results and freshness (seed 002, issue 4) on
//! the simulated clock, with the standard `dummy` check: messages to the
//! letter.

use std::path::Path;
use std::time::Duration;

use super::sandbox;
use crate::config::{self, Config};
use crate::engine::{Engine, Event, SimInput, Source, simulate_with};
use crate::state::StateType;
use crate::{Monitor, Retention, State, Submission};

fn parse(text: &str) -> Config {
    config::parse(text, Path::new("dependency.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// router → switch → server, a service on each, every check each minute
/// and HARD at once. The router is UP at 0, DOWN at 60 and 120, UP at 180.
fn tree(extra: &str) -> Config {
    parse(&format!(
        r#"
[defaults]
check_interval = "1m"
retry_interval = "1m"
max_check_attempts = 1
contacts = ["ops"]
event_handlers = ["echo"]

[[contact]]
name = "ops"
methods = [{{ type = "log" }}]

[[handler]]
name = "echo"
module = "{handler}"
on = "result"

[[host]]
name = "router"
check = "dummy"
params = {{ sequence = "OK,CRITICAL,CRITICAL,OK" }}

[[host]]
name = "switch"
parents = ["router"]
check = "dummy"
params = {{ sequence = "OK" }}

[[host]]
name = "server"
parents = ["switch"]
check = "dummy"
params = {{ sequence = "OK" }}

[[service]]
host = "router"
name = "SNMP Agent"
check = "dummy"
params = {{ sequence = "OK" }}

[[service]]
host = "switch"
name = "Ports"
check = "dummy"
params = {{ sequence = "OK" }}

[[service]]
host = "server"
name = "HTTP"
check = "dummy"
params = {{ sequence = "OK", metric = 4.5 }}
{extra}
"#,
        handler = wasmon_tests::HANDLER_ECHO
    ))
}

/// Runs `engine` until `end` seconds (inclusive).
async fn until(engine: &mut Engine, end: u64) {
    let end = Duration::from_secs(end);
    while let Some(t) = engine.next_due().filter(|t| *t <= end) {
        engine.run_due(t).await;
    }
}

async fn run(config: &Config, duration: u64, inputs: Vec<(u64, SimInput)>) -> Vec<Event> {
    let mut events = Vec::new();
    let inputs = inputs.into_iter().map(|(t, i)| (Duration::from_secs(t), i)).collect();
    simulate_with(config, sandbox(), Duration::from_secs(duration), inputs, |e| events.push(e.clone())).await.unwrap();
    events
}

/// The results as (t, object, state, type, attempt, output, source).
type Row = (f64, String, String, StateType, u32, String, Source);

fn results(events: &[Event]) -> Vec<Row> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Result(r) => {
                Some((r.t, r.object(), r.state.to_string(), r.state_type, r.attempt, r.output.clone(), r.source))
            }
            _ => None,
        })
        .collect()
}

fn row(t: f64, object: &str, state: &str, output: &str, source: Source) -> Row {
    (t, object.to_string(), state.to_string(), StateType::Hard, 1, output.to_string(), source)
}

fn at(rows: &[Row], t: f64) -> Vec<Row> {
    rows.iter().filter(|r| r.0 == t).cloned().collect()
}

const ROUTER_DOWN: &str = "Dependency failure: router is DOWN";

#[tokio::test]
async fn the_restored_status_has_no_perfdata_and_the_recovery_time_as_last_check() {
    let config = tree("");
    let mut engine = Engine::new(config, sandbox()).unwrap();
    engine.schedule_all_at(Duration::ZERO);
    let http = engine.find("server", Some("HTTP")).unwrap();
    let server = engine.find("server", None).unwrap();
    until(&mut engine, 0).await;
    assert_eq!(engine.status(http).perfdata, "value=4.5");
    until(&mut engine, 60).await;
    let s = engine.status(http);
    assert_eq!((s.state.as_str(), s.output.as_str(), s.perfdata.as_str()), ("CRITICAL", ROUTER_DOWN, ""));
    assert_eq!(s.dependency_failure.as_deref(), Some(ROUTER_DOWN));
    assert_eq!(s.next_check, None, "no active check is scheduled");
    assert_eq!(engine.status(server).state, "UNREACHABLE");
    until(&mut engine, 180).await;
    let s = engine.status(http);
    assert_eq!(s.output, "Restored status: Sequence step 1 of 1: OK");
    assert_eq!(s.perfdata, "", "the restored state has no performance data");
    assert_eq!(s.last_check, Some(180.0));
    assert_eq!((s.state_type, s.attempt), (StateType::Hard, 1), "the saved type and attempt");
    assert_eq!(s.dependency_failure, None);
    assert_eq!(s.next_check, Some(240.0));
}

#[tokio::test]
async fn a_critical_parent_service_makes_its_children_unknown() {
    let config = parse(
        r#"
[defaults]
check_interval = "1m"
max_check_attempts = 1

[[host]]
name = "core1"

[[host]]
name = "web1"

[[service]]
host = "core1"
name = "SNMP Agent"
check = "dummy"
params = { sequence = "OK,CRITICAL,OK" }

[[service]]
host = "core1"
name = "Interface eth0"
check = "dummy"
params = { sequence = "WARNING" }
parents = ["SNMP Agent"]

[[service]]
host = "web1"
name = "Uplink"
check = "dummy"
params = { sequence = "OK" }
parents = [{ host = "core1", service = "SNMP Agent" }]

[[service]]
host = "web1"
name = "Uplink graph"
check = "dummy"
params = { sequence = "OK" }
parents = ["Uplink"]
"#,
    );
    let rows = results(&run(&config, 120, vec![]).await);
    const CAUSE: &str = "Dependency failure: SNMP Agent is CRITICAL";
    use Source::{Active as A, Dependency as D};
    assert_eq!(
        at(&rows, 60.0),
        [
            row(60.0, "core1/SNMP Agent", "CRITICAL", "Sequence step 2 of 3: CRITICAL", A),
            row(60.0, "core1/Interface eth0", "UNKNOWN", CAUSE, D),
            row(60.0, "web1/Uplink", "UNKNOWN", CAUSE, D),
            // The highest failed parent, two levels up.
            row(60.0, "web1/Uplink graph", "UNKNOWN", CAUSE, D),
        ]
    );
    let restored: Vec<(String, String)> = at(&rows, 120.0).into_iter().skip(1).map(|r| (r.1, r.5)).collect();
    assert_eq!(
        restored,
        [
            ("core1/Interface eth0".to_string(), "Restored status: Sequence step 1 of 1: WARNING".to_string()),
            ("web1/Uplink".to_string(), "Restored status: Sequence step 1 of 1: OK".to_string()),
            ("web1/Uplink graph".to_string(), "Restored status: Sequence step 1 of 1: OK".to_string()),
        ]
    );
}

fn passive(host: &str, service: Option<&str>, state: State, output: &str) -> SimInput {
    SimInput::Submit(Submission {
        perfdata_errors: Vec::new(),
        host: host.into(),
        service: service.map(str::to_string),
        state,
        output: output.into(),
        long_output: None,
        metrics: Vec::new(),
    })
}

const STALE: &str = r#"
[[host]]
name = "backup1"

[[service]]
host = "backup1"
name = "Nightly backup"
active_checks = false
freshness_threshold = "10m"

[[service]]
host = "backup1"
name = "Pull"
active_checks = false
check = "dummy"
params = { sequence = "OK" }
freshness_threshold = "5m"
"#;

#[tokio::test]
async fn a_stale_passive_service_goes_unknown_saying_since_when() {
    let inputs = vec![(300, passive("backup1", Some("Nightly backup"), State::Ok, "OK - backup done"))];
    let rows = results(&run(&parse(STALE), 1500, inputs).await);
    let backup: Vec<(f64, String, String, Source)> =
        rows.iter().filter(|r| r.1 == "backup1/Nightly backup").map(|r| (r.0, r.2.clone(), r.5.clone(), r.6)).collect();
    let stale = |t: f64, text: &str| (t, "UNKNOWN".to_string(), text.to_string(), Source::Freshness);
    assert_eq!(
        backup,
        [
            (300.0, "OK".to_string(), "OK - backup done".to_string(), Source::Passive),
            stale(900.0, "Result is stale: no result for 10m, since 1970-01-01T00:05:00Z"),
            stale(1500.0, "Result is stale: no result for 20m, since 1970-01-01T00:05:00Z"),
        ]
    );
}

#[tokio::test]
async fn a_stale_object_with_a_check_runs_it() {
    let inputs = vec![(400, passive("backup1", Some("Pull"), State::Warning, "WARNING - pushed"))];
    let rows = results(&run(&parse(STALE), 1000, inputs).await);
    let pull: Vec<(f64, String, Source)> =
        rows.iter().filter(|r| r.1 == "backup1/Pull").map(|r| (r.0, r.2.clone(), r.6)).collect();
    // Not checked at 0 (passive only); its check runs when it goes stale,
    // and the deadline moves with every result.
    assert_eq!(
        pull,
        [
            (300.0, "OK".to_string(), Source::Active),
            (400.0, "WARNING".to_string(), Source::Passive),
            (700.0, "OK".to_string(), Source::Active),
            (1000.0, "OK".to_string(), Source::Active),
        ]
    );
}

#[tokio::test]
async fn the_monitor_refuses_what_an_object_does_not_take_and_submits_batches() {
    let config = parse(&format!("{STALE}passive_checks = false\n"));
    let monitor =
        Monitor::builder().config(config).sandbox(sandbox().clone()).retention(Retention::None).start().await.unwrap();
    let sub = |service: &str, state| Submission {
        perfdata_errors: Vec::new(),
        host: "backup1".into(),
        service: Some(service.into()),
        state,
        output: format!("{state} - pushed"),
        long_output: None,
        metrics: Vec::new(),
    };
    let answers = monitor
        .submit_batch(vec![sub("Nightly backup", State::Critical), sub("Pull", State::Ok), sub("Nope", State::Ok)])
        .await;
    assert_eq!(answers.len(), 3);
    match &answers[0] {
        Ok(Event::Result(r)) => {
            let (state, output, source) = (r.state.to_string(), &r.output, &r.source);
            assert_eq!((state.as_str(), output.as_str(), *source), ("CRITICAL", "CRITICAL - pushed", Source::Passive))
        }
        other => panic!("{other:?}"),
    }
    let refused = answers[1].as_ref().unwrap_err().to_string();
    assert_eq!(refused, "host 'backup1', service 'Pull': it does not accept passive results (passive_checks = false)");
    assert!(matches!(answers[2], Err(crate::Error::Refused(crate::Refusal::NotFound { .. }))), "{:?}", answers[2]);
    let e = monitor.run_now("backup1", Some("Nightly backup")).await.unwrap_err().to_string();
    assert!(e.contains("it has no check to run"), "{e}");
    let s = monitor.status("backup1", Some("Nightly backup")).await.unwrap();
    assert_eq!((s.state.as_str(), s.stale, s.dependency_failure), ("CRITICAL", false, None));
    monitor.stop().await.unwrap();
}

#[tokio::test]
async fn dependency_failure_and_the_saved_state_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("wasmon-dependency-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.db");
    let text = |router: &str| {
        format!(
            "[defaults]\ncheck_interval = \"1h\"\nmax_check_attempts = 1\n\n\
             [[host]]\nname = \"router\"\ncheck = \"dummy\"\nparams = {{ state = \"{router}\" }}\n\n\
             [[host]]\nname = \"switch\"\nparents = [\"router\"]\ncheck = \"dummy\"\nparams = {{ state = \"WARNING\", text = \"half the ports\" }}\n"
        )
    };
    let start = |router: &str| {
        let config = parse(&text(router));
        let file = file.clone();
        async move {
            Monitor::builder()
                .config(config)
                .sandbox(sandbox().clone())
                .retention(Retention::File(file))
                .start()
                .await
                .unwrap()
        }
    };
    let monitor = start("CRITICAL").await;
    monitor.run_now("switch", None).await.unwrap();
    monitor.run_now("router", None).await.unwrap();
    let s = monitor.status("switch", None).await.unwrap();
    assert_eq!((s.state.as_str(), s.dependency_failure.as_deref()), ("UNREACHABLE", Some(ROUTER_DOWN)));
    monitor.stop().await.unwrap();

    let monitor = start("OK").await;
    let s = monitor.status("switch", None).await.unwrap();
    assert_eq!((s.state.as_str(), s.output.as_str()), ("UNREACHABLE", ROUTER_DOWN));
    assert_eq!(s.dependency_failure.as_deref(), Some(ROUTER_DOWN), "the failure is retained");
    assert_eq!(s.next_check, None, "and no active check is scheduled for it");
    let mut events = monitor.subscribe();
    monitor.run_now("router", None).await.unwrap();
    let restored = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Event::Result(r) = events.recv().await.unwrap()
                && r.source == Source::Dependency
                && &*r.host == "switch"
            {
                break (r.state.to_string(), r.output.clone());
            }
        }
    })
    .await
    .expect("the switch's restore");
    // The state saved before the restart is the one restored.
    assert_eq!(restored, ("UP".to_string(), "Restored status: half the ports".to_string()));
    let s = monitor.status("switch", None).await.unwrap();
    assert_eq!(s.dependency_failure, None);
    monitor.stop().await.unwrap();

    // In dependency failure again; then the configuration drops the
    // parent: the start restores the saved state.
    let monitor = start("CRITICAL").await;
    monitor.run_now("router", None).await.unwrap();
    assert!(monitor.status("switch", None).await.unwrap().dependency_failure.is_some());
    monitor.stop().await.unwrap();
    let config = parse(&text("CRITICAL").replace("parents = [\"router\"]\n", ""));
    let monitor = Monitor::builder()
        .config(config)
        .sandbox(sandbox().clone())
        .retention(Retention::File(file.clone()))
        .start()
        .await
        .unwrap();
    let s = monitor.status("switch", None).await.unwrap();
    assert_eq!(
        (s.state.as_str(), s.output.as_str(), s.dependency_failure),
        ("UP", "Restored status: half the ports", None)
    );
    assert!(s.next_check.is_some(), "checked actively again");
    monitor.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

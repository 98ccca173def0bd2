//! Downtime, acknowledgements and flapping on the simulated clock, through
//! the engine, the sandbox and the standard `dummy` check: what each
//! suppresses, when it starts and ends, and that it survives a restart.
//! The tables of what they suppress and when (fixed and flexible downtime,
//! a sticky acknowledgement, flapping) are cases in `tests/cases/`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::sandbox;
use crate::clock::SimClock;
use crate::config::{CheckSpec, Config, EngineSettings, Host, Schedule, Service};
use crate::engine::{Engine, Event};
use crate::state::{NotificationKind, NotificationPolicy, Time};
use crate::{Acknowledgement, DowntimeRequest, Error, Refusal, SuppressionReason};

fn s(secs: u64) -> Time {
    Duration::from_secs(secs)
}

/// Host web1 (no check) and its service Lifecycle with seed 002's schedule
/// and the lifecycle sequence: OK, WARNING ×4, CRITICAL ×5, OK ×4 at
/// 0, 31, 51, 71 (WARNING HARD), 102, 133, 153, 173 (CRITICAL HARD), 204,
/// 235, 266, 286, 306 (OK HARD), 337.
fn lifecycle(notification: NotificationPolicy) -> Config {
    let mut sequence = vec!["OK"];
    sequence.extend(["WARNING"; 4]);
    sequence.extend(["CRITICAL"; 5]);
    sequence.extend(["OK"; 4]);
    let schedule = Schedule { check_interval: s(31), retry_interval: s(20), max_check_attempts: 3 };
    service_config(&sequence.join(","), schedule, notification)
}

fn service_config(sequence: &str, schedule: Schedule, notification: NotificationPolicy) -> Config {
    Config {
        path: PathBuf::from("test.toml"),
        engine: EngineSettings {
            max_concurrent_checks: 4,
            state_file: PathBuf::from(":memory:"),
            ..Default::default()
        },
        hosts: vec![Host { name: "web1".into(), address: Some("127.0.0.1".into()), ..Host::default() }],
        services: vec![Service {
            host: "web1".into(),
            name: "Lifecycle".into(),
            check: CheckSpec {
                module: "dummy".into(),
                params: vec![("sequence".into(), sequence.into())],
                ..CheckSpec::default()
            },
            schedule,
            notification,
            ..Service::default()
        }],
        ..Config::default()
    }
}

type Action = Box<dyn FnMut(&mut Engine, Time) -> Vec<Event>>;

/// Runs the engine from t = 0 to `until` as `simulate` does, calling each
/// action at its time (before the checks and timers due then).
async fn run(config: &Config, until: Time, mut actions: Vec<(Time, Action)>) -> (Engine, Vec<Event>) {
    let mut engine = Engine::new(config.clone(), sandbox()).unwrap();
    engine.schedule_all_at(Time::ZERO);
    let mut events = Vec::new();
    actions.sort_by_key(|(t, _)| *t);
    let mut actions = actions.into_iter().peekable();
    loop {
        let due = engine.next_due();
        let next_action = actions.peek().map(|(t, _)| *t);
        match (due, next_action) {
            (_, Some(a)) if a <= until && due.is_none_or(|d| a <= d) => {
                let (t, mut f) = actions.next().unwrap();
                events.extend(f(&mut engine, t));
            }
            (Some(d), _) if d <= until => events.extend(engine.run_due(d).await),
            _ => break,
        }
    }
    (engine, events)
}

fn notifications(events: &[Event]) -> Vec<(f64, NotificationKind, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Notification(n) => Some((n.t, n.kind, n.state.to_string())),
            _ => None,
        })
        .collect()
}

fn suppressed(events: &[Event]) -> Vec<(f64, NotificationKind, String, SuppressionReason)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::NotificationSuppressed { t, kind, state, reason, .. } => {
                Some((*t, *kind, state.to_string(), *reason))
            }
            _ => None,
        })
        .collect()
}

fn downtime_events(events: &[Event]) -> Vec<(f64, u64, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Downtime { t, id, started, .. } => Some((*t, *id, *started)),
            _ => None,
        })
        .collect()
}

fn request(service: Option<&str>, start: u64, end: u64, flexible: Option<u64>) -> DowntimeRequest {
    DowntimeRequest {
        host: "web1".into(),
        service: service.map(str::to_string),
        with_services: false,
        start: s(start),
        end: s(end),
        flexible: flexible.map(s),
        author: "alice".into(),
        comment: "maintenance".into(),
    }
}

fn schedule(r: DowntimeRequest) -> Action {
    Box::new(move |e: &mut Engine, t| e.schedule_downtime(r.clone(), t).unwrap().1)
}

fn ack(sticky: bool) -> Acknowledgement {
    Acknowledgement {
        host: "web1".into(),
        service: Some("Lifecycle".into()),
        author: "bob".into(),
        comment: "looking into it".into(),
        sticky,
    }
}

use NotificationKind::{Problem as P, Recovery as R};
use SuppressionReason::{Acknowledged, Downtime as InDowntime};

#[tokio::test]
async fn a_flexible_downtime_never_triggered_is_dropped_at_its_end() {
    let config = lifecycle(NotificationPolicy::default());
    // Its window 0..20 has only the OK at 0.
    let (engine, events) =
        run(&config, s(360), vec![(s(0), schedule(request(Some("Lifecycle"), 0, 20, Some(600))))]).await;
    assert_eq!(downtime_events(&events), []);
    assert!(suppressed(&events).is_empty());
    assert!(engine.downtimes().is_empty());
}

#[tokio::test]
async fn host_downtime_with_services_covers_the_services() {
    let config = lifecycle(NotificationPolicy::default());
    let with_services = DowntimeRequest { with_services: true, ..request(None, 0, 400, None) };
    let host_only = request(None, 0, 400, None);
    let probe: Action = Box::new(|e: &mut Engine, _| {
        let id = e.find("web1", Some("Lifecycle")).unwrap();
        let status = e.status(id);
        assert!(status.in_downtime);
        assert_eq!(status.downtimes, [1], "covered by the downtime with services only");
        Vec::new()
    });
    let (_, events) =
        run(&config, s(360), vec![(s(0), schedule(with_services)), (s(0), schedule(host_only)), (s(100), probe)]).await;
    assert_eq!(downtime_events(&events), [(0.0, 1, true), (0.0, 2, true)]);
    let reasons: Vec<_> = suppressed(&events);
    assert_eq!(
        reasons,
        [
            (71.0, P, "WARNING".into(), InDowntime),
            (102.0, P, "WARNING".into(), InDowntime),
            (173.0, P, "CRITICAL".into(), InDowntime),
            (204.0, P, "CRITICAL".into(), InDowntime),
            (235.0, P, "CRITICAL".into(), InDowntime),
        ]
    );
    // The recovery of a problem never notified notifies nobody.
    assert_eq!(notifications(&events), []);
}

/// As in Nagios: while its host is in downtime a service is not notified
/// about, though a host downtime without services does not put the
/// service in downtime.
#[tokio::test]
async fn a_host_in_downtime_holds_back_its_services_notifications() {
    let config = lifecycle(NotificationPolicy::default());
    let probe: Action = Box::new(|e: &mut Engine, _| {
        let id = e.find("web1", Some("Lifecycle")).unwrap();
        let status = e.status(id);
        assert!(!status.in_downtime && status.downtimes.is_empty(), "{status:?}");
        Vec::new()
    });
    let (_, events) = run(&config, s(360), vec![(s(0), schedule(request(None, 0, 150, None))), (s(100), probe)]).await;
    assert_eq!(downtime_events(&events), [(0.0, 1, true), (150.0, 1, false)]);
    assert_eq!(
        suppressed(&events),
        [(71.0, P, "WARNING".into(), InDowntime), (102.0, P, "WARNING".into(), InDowntime)]
    );
    // After the host's downtime the HARD CRITICAL is notified.
    assert_eq!(
        notifications(&events),
        [(173.0, P, "CRITICAL".into()), (306.0, NotificationKind::Recovery, "OK".into())]
    );
}

#[tokio::test]
async fn downtime_requests_are_validated() {
    let config = lifecycle(NotificationPolicy::default());
    let mut engine = Engine::new(config, sandbox()).unwrap();
    let e = engine.schedule_downtime(request(Some("Lifecycle"), 100, 50, None), s(0)).unwrap_err();
    assert_eq!(e.to_string(), "invalid request: field 'end': must be after 'start'");
    let e = engine.schedule_downtime(request(Some("HTTP"), 0, 50, None), s(0)).unwrap_err();
    assert!(matches!(e, Error::Refused(Refusal::NotFound { .. })), "{e}");
    assert_eq!(e.to_string(), "no such object: host 'web1', service 'HTTP'");
    let e = engine.schedule_downtime(DowntimeRequest { host: "web9".into(), ..request(None, 0, 50, None) }, s(0));
    assert_eq!(e.unwrap_err().to_string(), "no such object: host 'web9'");
    let e = engine.schedule_downtime(request(None, 0, 50, Some(0)), s(0)).unwrap_err();
    assert!(e.to_string().contains("field 'flexible'"), "{e}");
    let e = engine.schedule_downtime(request(None, 0, 50, None), s(60)).unwrap_err();
    assert_eq!(e.to_string(), "invalid request: field 'end': is in the past");
    assert_eq!(
        engine.cancel_downtime(7, s(0)).unwrap_err().to_string(),
        "no downtime with id 7 (it may have ended or been cancelled)"
    );
    // A pending downtime cancelled goes without events; one in effect ends.
    let (d, events) = engine.schedule_downtime(request(None, 100, 200, None), s(0)).unwrap();
    assert_eq!((d.id, d.started, events.len()), (1, None, 0));
    assert!(engine.cancel_downtime(1, s(10)).unwrap().is_empty());
    let (d, events) = engine.schedule_downtime(request(None, 0, 200, None), s(5)).unwrap();
    assert_eq!((d.id, d.started), (2, Some(s(5))));
    assert_eq!(downtime_events(&events), [(5.0, 2, true)]);
    assert_eq!(downtime_events(&engine.cancel_downtime(2, s(9)).unwrap()), [(9.0, 2, false)]);
    assert!(engine.downtimes().is_empty());
}

/// A shard taken over: the downtimes of its hosts become those its
/// previous leader kept, timers included; the others and the ids this
/// engine gives stay its own.
#[tokio::test]
async fn a_shard_s_downtimes_replace_those_of_its_hosts_and_keep_their_timers() {
    let mut config = lifecycle(NotificationPolicy::default());
    config.hosts.push(Host { name: "db1".into(), ..Host::default() });
    let disk = Service { host: "db1".into(), name: "Disk".into(), ..config.services[0].clone() };
    config.services.push(disk);
    let mut engine = Engine::new(config, sandbox()).unwrap();
    engine.restore_downtimes(Vec::new(), 1000);
    let (mine, _) = engine.schedule_downtime(request(None, 0, 500, None), s(0)).unwrap();
    let db1 = DowntimeRequest { host: "db1".into(), ..request(None, 0, 500, None) };
    let (stale, _) = engine.schedule_downtime(db1, s(0)).unwrap();
    assert_eq!((mine.id, stale.id), (1001, 1002));
    // The leader of db1's shard kept one pending (starting at 100) with an
    // id from its own block.
    let theirs = crate::state::Downtime {
        id: 2_000_000_001,
        host: "db1".into(),
        start: s(100),
        end: s(300),
        started: None,
        ..stale.clone()
    };
    engine.replace_downtimes(|host| host == "db1", vec![theirs.clone()]);
    let ids: Vec<u64> = engine.downtimes().iter().map(|d| d.id).collect();
    assert_eq!(ids, [1001, 2_000_000_001]);
    let mut events = Vec::new();
    engine.downtimes_changed(&mut events);
    assert_eq!(events.len(), 1, "the new set goes to retention");
    // Its timers: it starts at 100 and ends at 300.
    assert_eq!(downtime_events(&engine.fire_timers(s(150))), [(100.0, 2_000_000_001, true)]);
    assert_eq!(downtime_events(&engine.fire_timers(s(400))), [(300.0, 2_000_000_001, false)]);
    // New ids stay in this engine's block.
    let (next, _) = engine.schedule_downtime(request(None, 400, 500, None), s(400)).unwrap();
    assert_eq!(next.id, 1003);
}

#[tokio::test]
async fn a_normal_acknowledgement_is_cleared_by_the_next_state_change() {
    // Re-notify every 30 s, so the acknowledgement has something to suppress.
    let config = lifecycle(NotificationPolicy { interval: s(30), first_delay: Duration::ZERO });
    let refused: Action = Box::new(|e: &mut Engine, t| {
        let err = e.acknowledge(ack(false), t).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot acknowledge host 'web1', service 'Lifecycle': it is OK; only a problem (not OK/UP) can be acknowledged"
        );
        Vec::new()
    });
    let give: Action = Box::new(|e: &mut Engine, t| e.acknowledge(ack(false), t).unwrap());
    let (_, events) = run(&config, s(360), vec![(s(10), refused), (s(80), give)]).await;
    assert_eq!(suppressed(&events), [(102.0, P, "WARNING".into(), Acknowledged)]);
    // WARNING → CRITICAL at 133 (SOFT) clears it; the CRITICAL is notified.
    let acks: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Acknowledgement { t, active, sticky, author, .. } => Some((*t, *active, *sticky, author.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(acks, [(80.0, true, false, "bob".into()), (133.0, false, false, "bob".into())]);
    assert_eq!(
        notifications(&events),
        [
            (71.0, P, "WARNING".into()),
            (173.0, P, "CRITICAL".into()),
            (204.0, P, "CRITICAL".into()),
            (235.0, P, "CRITICAL".into()),
            (306.0, R, "OK".into())
        ]
    );
}

/// A monitor with a retention file: the acknowledgement, the downtimes
/// (pending and in effect) and the flapping state are there after a stop
/// and a start; and a file from before they existed (schema version 1) is
/// upgraded and used.
#[tokio::test]
async fn acknowledgements_downtimes_and_flapping_survive_a_restart() {
    use crate::{Monitor, Retention};
    let dir = std::env::temp_dir().join(format!("wasmon-suppress-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("state.db");
    // A version-1 database holding the service's state.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(crate::retention::SCHEMA).unwrap();
        conn.execute("INSERT INTO wasmon_schema (id, application, version) VALUES (1, 'wasmon', 1)", []).unwrap();
        conn.execute(
            "INSERT INTO objects (host, service, state, state_type, attempt, last_hard_state, output, perfdata, \
             problem_notified) VALUES ('web1', 'Lifecycle', 'OK', 'HARD', 1, 'OK', 'from version 1', '[]', 0)",
            [],
        )
        .unwrap();
    }
    let schedule = Schedule { check_interval: s(3600), retry_interval: s(3600), max_check_attempts: 1 };
    let config = service_config("OK,CRITICAL", schedule, NotificationPolicy::default());
    let start = || async {
        Monitor::builder()
            .config(config.clone())
            .sandbox(sandbox().clone())
            .clock(Arc::new(SimClock::new()))
            .retention(Retention::File(db.clone()))
            .start()
            .await
            .unwrap()
    };
    let monitor = start().await;
    let status = monitor.status("web1", Some("Lifecycle")).await.unwrap();
    assert_eq!(status.output, "from version 1", "the old file's state is restored");
    // O, C, O, C, O, C, O starts flapping at the 7th; the 8th is CRITICAL.
    for _ in 0..8 {
        monitor.run_now("web1", Some("Lifecycle")).await.unwrap();
    }
    monitor.acknowledge(ack(true)).await.unwrap();
    let err = monitor.acknowledge(Acknowledgement { service: Some("Nope".into()), ..ack(true) }).await.unwrap_err();
    assert_eq!(err.to_string(), "no such object: host 'web1', service 'Nope'");
    let active = monitor
        .schedule_downtime(DowntimeRequest { with_services: true, ..request(None, 0, 5000, None) })
        .await
        .unwrap();
    let pending = monitor.schedule_downtime(request(Some("Lifecycle"), 1000, 2000, Some(60))).await.unwrap();
    assert_eq!((active.id, active.started, pending.id, pending.started), (1, Some(s(0)), 2, None));
    let before = monitor.status("web1", Some("Lifecycle")).await.unwrap();
    assert!(before.flapping && before.in_downtime, "{before:?}");
    assert_eq!(before.downtimes, [1, 2]);
    assert_eq!(before.acknowledgement, Some(ack(true)));
    let downtimes = monitor.downtimes().await.unwrap();
    monitor.stop().await.unwrap();
    // The recovery decided by the 7th result and the problem of the 8th
    // were suppressed while flapping, and recorded so.
    let key = crate::retention::ObjectKey::service("web1", "Lifecycle");
    let rows = crate::retention::Store::open(&db).unwrap().suppressed_notifications(&key, 10).unwrap();
    let rows: Vec<_> = rows.iter().map(|r| (r.kind, r.state, r.reason.as_str())).collect();
    use crate::State;
    assert_eq!(rows, [(P, State::Critical, "flapping"), (R, State::Ok, "flapping")]);

    let monitor = start().await;
    let after = monitor.status("web1", Some("Lifecycle")).await.unwrap();
    assert_eq!(
        (
            after.flapping,
            after.percent_state_change,
            after.in_downtime,
            after.downtimes.clone(),
            after.acknowledgement.clone()
        ),
        (before.flapping, before.percent_state_change, true, vec![1, 2], Some(ack(true)))
    );
    assert_eq!((after.state.as_str(), after.output.as_str()), ("CRITICAL", before.output.as_str()));
    assert_eq!(monitor.downtimes().await.unwrap(), downtimes);
    // Ids go on from the highest given out; cancelling one is persisted too.
    monitor.cancel_downtime(1).await.unwrap();
    let third = monitor.schedule_downtime(request(None, 10, 20, None)).await.unwrap();
    assert_eq!(third.id, 3);
    monitor.remove_acknowledgement("web1", Some("Lifecycle")).await.unwrap();
    monitor.stop().await.unwrap();

    let monitor = start().await;
    let ids: Vec<u64> = monitor.downtimes().await.unwrap().iter().map(|d| d.id).collect();
    assert_eq!(ids, [2, 3]);
    let status = monitor.status("web1", Some("Lifecycle")).await.unwrap();
    assert_eq!((status.acknowledgement, status.in_downtime), (None, false));
    monitor.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The monitor fires downtime timers from its task loop, at their own
/// times: both a start and an end that have passed on its clock.
#[tokio::test]
async fn the_monitor_starts_and_ends_downtimes_on_its_clock() {
    use crate::{Monitor, Retention};
    let schedule = Schedule { check_interval: s(3600), retry_interval: s(3600), max_check_attempts: 1 };
    let config = service_config("OK", schedule, NotificationPolicy::default());
    let clock = Arc::new(SimClock::new());
    let monitor = Monitor::builder()
        .config(config)
        .sandbox(sandbox().clone())
        .clock(clock.clone())
        .retention(Retention::None)
        .start()
        .await
        .unwrap();
    let mut events = monitor.subscribe();
    let request = DowntimeRequest {
        start: Duration::from_millis(200),
        end: Duration::from_millis(400),
        ..request(Some("Lifecycle"), 0, 1, None)
    };
    let d = monitor.schedule_downtime(request).await.unwrap();
    assert_eq!(d.started, None);
    clock.advance_to(Duration::from_millis(500));
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let event =
            tokio::time::timeout(Duration::from_secs(10), events.recv()).await.expect("downtime events").unwrap();
        if let Event::Downtime { t, id, started, .. } = event {
            seen.push((t, id, started));
        }
    }
    assert_eq!(seen, [(0.2, 1, true), (0.4, 1, false)]);
    assert!(monitor.downtimes().await.unwrap().is_empty());
    monitor.stop().await.unwrap();
}

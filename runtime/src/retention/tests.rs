use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::*;
use crate::outcome::{Metric, Range, State};
use crate::state::{
    NotificationKind, NotificationPolicy, ResultInput, Semantics, StateConfig, StateType, SuppressionReason, notify,
    process,
};

/// A directory under the system temp dir, named after the pid and the
/// test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("wasmon-store-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn t(secs: u64, nanos: u32) -> Time {
    Duration::new(secs, nanos)
}

/// A state with every field set to something other than its default.
fn full_state() -> ObjectState {
    ObjectState {
        perfdata_errors: Vec::new(),
        state: State::Warning,
        state_type: StateType::Soft,
        attempt: 2,
        last_hard_state: State::Critical,
        last_check: Some(t(1_763_700_000, 123_456_789)),
        last_state_change: Some(t(1_763_699_940, 1)),
        last_hard_state_change: Some(t(1_763_690_000, 999_999_999)),
        output: "Used: 91.2% (warn/crit at 90.0%/95.0%), 'quoted' \"double\" ünïcödé".to_string(),
        long_output: Some("line one\nline two\n\ttabbed; with | pipe".to_string()),
        perfdata: vec![
            Metric {
                label: "fs used".to_string(),
                value: 91.25,
                uom: "%".to_string(),
                warn: Some(Range { start: Some(0.0), end: Some(90.0), inside: false }),
                crit: Some(Range { start: Some(10.0), end: None, inside: true }),
                min: Some(0.0),
                max: Some(100.0),
            },
            Metric {
                label: "bytes".to_string(),
                value: 1.5e12,
                uom: "B".to_string(),
                warn: Some(Range { start: None, end: Some(-3.25), inside: false }),
                crit: None,
                min: None,
                max: None,
            },
        ],
        flapping: crate::state::FlapState {
            history: [State::Ok, State::Critical, State::Ok].into_iter().collect(),
            flapping: true,
            percent_state_change: 34.25,
        },
        acknowledgement: Some(Box::new(crate::state::AckState {
            author: "alice".to_string(),
            comment: "on it".to_string(),
            sticky: true,
            time: t(1_763_699_000, 5),
        })),
    }
}

fn full_notify() -> NotifyState {
    NotifyState {
        problem_since: Some(t(1_763_690_000, 999_999_999)),
        problem_notified: true,
        last_notification: Some(t(1_763_695_000, 42)),
    }
}

fn binary_values() -> Values {
    let mut v = Values::new();
    v.set("counter".to_string(), 0xdead_beef_u64.to_le_bytes().to_vec()).unwrap();
    v.set("not utf-8".to_string(), vec![0x00, 0xff, 0xfe, 0x80, 0x00, 0xc3]).unwrap();
    v.set("empty".to_string(), Vec::new()).unwrap();
    v.set("ключ".to_string(), (0..=255).collect()).unwrap();
    v
}

fn record(kind: NotificationKind, contact: &str, method: &str, change_time: Time) -> NotificationRecord {
    NotificationRecord {
        time: change_time + Duration::from_secs(1),
        change_time,
        kind,
        state: if kind == NotificationKind::Problem { State::Critical } else { State::Ok },
        contact: Some(contact.to_string()),
        method: Some(method.to_string()),
        output: "Disk full".to_string(),
        outcome: DeliveryOutcome::Pending,
        attempts: 0,
    }
}

#[test]
fn every_field_round_trips() {
    let mut store = Store::open_in_memory().unwrap();
    let host = ObjectKey::host("web1");
    let svc = ObjectKey::service("web1", "Disk /");
    // A service with an empty name must not collide with the host object.
    let empty = ObjectKey::service("web1", "");
    store.save_object(&host, &ObjectState::default(), &NotifyState::default(), &Values::new()).unwrap();
    store.save_object(&svc, &full_state(), &full_notify(), &binary_values()).unwrap();
    store.save_object(&empty, &full_state(), &NotifyState::default(), &Values::new()).unwrap();

    let loaded = store.load_objects().unwrap();
    assert_eq!(loaded.len(), 3);
    assert_eq!(loaded[&host], Retained::default());
    let r = &loaded[&svc];
    assert_eq!(r.state, full_state());
    assert_eq!(r.notify, full_notify());
    assert_eq!(r.values, binary_values());
    assert_eq!(r.values.get("not utf-8"), Some(&[0x00, 0xff, 0xfe, 0x80, 0x00, 0xc3][..]));
    assert_eq!(loaded[&empty].state, full_state());
}

#[test]
fn saving_again_replaces_the_row_and_the_values() {
    let mut store = Store::open_in_memory().unwrap();
    let svc = ObjectKey::service("db1", "Load");
    store.save_object(&svc, &full_state(), &full_notify(), &binary_values()).unwrap();
    let mut values = Values::new();
    values.set("counter".to_string(), vec![7]).unwrap();
    let state =
        ObjectState { output: "OK - load 0.1".to_string(), long_output: None, perfdata: vec![], ..full_state() };
    store.save_object(&svc, &state, &NotifyState::default(), &values).unwrap();
    let loaded = store.load_objects().unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[&svc], Retained { state, notify: NotifyState::default(), values });
}

#[test]
fn a_reopened_file_has_the_same_state_after_a_drop() {
    let dir = TempDir::new("reopen");
    let path = dir.file("wasmon.db");
    let svc = ObjectKey::service("web1", "HTTP");
    let host = ObjectKey::host("web1");
    {
        let mut store = Store::open(&path).unwrap();
        store.save_object(&host, &ObjectState::default(), &NotifyState::default(), &Values::new()).unwrap();
        store.save_object(&svc, &full_state(), &full_notify(), &binary_values()).unwrap();
        // Dropped without any close call.
    }
    {
        let mut store = Store::open(&path).unwrap();
        let loaded = store.load_objects().unwrap();
        assert_eq!(loaded[&svc], Retained { state: full_state(), notify: full_notify(), values: binary_values() });
        assert_eq!(loaded[&host], Retained::default());
        // Leaked, never closed: the WAL is not checkpointed at close.
        let state = ObjectState { attempt: 3, ..full_state() };
        store.save_object(&svc, &state, &full_notify(), &Values::new()).unwrap();
        std::mem::forget(store);
    }
    assert!(dir.file("wasmon.db-wal").exists(), "the file is in WAL mode");
    let store = Store::open(&path).unwrap();
    let loaded = store.load_objects().unwrap();
    assert_eq!(loaded[&svc].state.attempt, 3);
    assert!(loaded[&svc].values.is_empty());
}

/// Not a test on its own: the child process of
/// [`a_kill_9_loses_nothing_committed`], which runs it with
/// `WASMON_STORE_KILL_CHILD` set. It commits results, says so on stdout and
/// waits to be killed.
#[test]
fn kill_child() {
    let Some(path) = std::env::var_os("WASMON_STORE_KILL_CHILD") else {
        return;
    };
    let mut store = Store::open(Path::new(&path)).unwrap();
    let key = ObjectKey::service("web1", "Disk /");
    for i in 1..=50u32 {
        let state = ObjectState { attempt: i, last_check: Some(t(u64::from(i), 0)), ..full_state() };
        let transition =
            Transition { state, events: vec![StateEvent::HardStateChange { from: State::Ok, to: State::Critical }] };
        let ids = store
            .save_result(
                &key,
                t(u64::from(i), 0),
                &transition,
                &full_notify(),
                &binary_values(),
                &[record(NotificationKind::Problem, "ops", "webhook", t(u64::from(i), 0))],
            )
            .unwrap();
        if i % 2 == 0 {
            store.set_notification_outcome(ids[0], &DeliveryOutcome::Delivered, 1).unwrap();
        }
    }
    println!("committed");
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn a_kill_9_loses_nothing_committed() {
    let dir = TempDir::new("kill9");
    let path = dir.file("wasmon.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "retention::tests::kill_child", "--nocapture", "--test-threads=1"])
        .env("WASMON_STORE_KILL_CHILD", &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let committed = BufReader::new(stdout).lines().map_while(Result::ok).any(|l| l.contains("committed"));
    // SIGKILL on Unix: no destructor, no close, no checkpoint.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(committed, "the child did not get to commit");

    let store = Store::open(&path).unwrap();
    let key = ObjectKey::service("web1", "Disk /");
    let loaded = store.load_objects().unwrap();
    assert_eq!(loaded[&key].state.attempt, 50);
    assert_eq!(loaded[&key].values, binary_values());
    assert_eq!(store.history(&key, 1000).unwrap().len(), 50);
    let pending = store.pending_notifications().unwrap();
    assert_eq!(pending.len(), 25);
    assert!(pending.iter().all(|n| n.record.change_time.as_secs() % 2 == 1));
    assert!(store.was_delivered(&key, t(50, 0), NotificationKind::Problem, Some("ops"), Some("webhook")).unwrap());
    assert!(!store.was_delivered(&key, t(49, 0), NotificationKind::Problem, Some("ops"), Some("webhook")).unwrap());
}

#[test]
fn history_is_newest_first_per_object_and_limited() {
    let mut store = Store::open_in_memory().unwrap();
    let svc = ObjectKey::service("web1", "HTTP");
    let host = ObjectKey::host("web1");
    let events = [
        (t(10, 0), StateEvent::StateChange { from: State::Ok, to: State::Warning, state_type: StateType::Soft }, "w1"),
        (
            t(70, 0),
            StateEvent::StateChange { from: State::Warning, to: State::Critical, state_type: StateType::Soft },
            "c1",
        ),
        (t(190, 5), StateEvent::HardStateChange { from: State::Ok, to: State::Critical }, "c3"),
        // Same time as the one before: insertion order decides.
        (
            t(190, 5),
            StateEvent::StateChange { from: State::Critical, to: State::Ok, state_type: StateType::Hard },
            "ok",
        ),
    ];
    for (time, event, output) in &events {
        store.record_state_change(&svc, *time, event, output).unwrap();
    }
    store
        .record_state_change(
            &host,
            t(5, 0),
            &StateEvent::HardStateChange { from: State::Ok, to: State::Critical },
            "down",
        )
        .unwrap();

    let all = store.history(&svc, 100).unwrap();
    let expected: Vec<HistoryEntry> = events
        .iter()
        .rev()
        .map(|(time, event, output)| HistoryEntry { time: *time, event: event.clone(), output: output.to_string() })
        .collect();
    assert_eq!(all, expected);
    assert_eq!(store.history(&svc, 2).unwrap(), expected[..2]);
    let host_history = store.history(&host, 100).unwrap();
    assert_eq!(host_history.len(), 1);
    assert_eq!(host_history[0].output, "down");
    assert!(store.history(&ObjectKey::service("web1", "other"), 100).unwrap().is_empty());
}

#[test]
fn delivered_and_pending_notifications_survive_a_reopen() {
    let dir = TempDir::new("pending");
    let path = dir.file("wasmon.db");
    let key = ObjectKey::service("web1", "Disk /");
    let change = t(1_763_690_000, 999_999_999);
    let state = ObjectState {
        state: State::Critical,
        state_type: StateType::Hard,
        last_hard_state: State::Critical,
        last_hard_state_change: Some(change),
        ..full_state()
    };
    let transition =
        Transition { state, events: vec![StateEvent::HardStateChange { from: State::Ok, to: State::Critical }] };
    let records = [
        record(NotificationKind::Problem, "ops", "webhook", change),
        record(NotificationKind::Problem, "ops", "email", change),
        record(NotificationKind::Problem, "dba", "email", change),
    ];
    let ids = {
        let mut store = Store::open(&path).unwrap();
        let ids = store.save_result(&key, change, &transition, &full_notify(), &Values::new(), &records).unwrap();
        assert_eq!(ids.len(), 3);
        store.set_notification_outcome(ids[0], &DeliveryOutcome::Delivered, 2).unwrap();
        std::mem::forget(store);
        ids
    };
    let mut store = Store::open(&path).unwrap();
    let pending = store.pending_notifications().unwrap();
    assert_eq!(pending.iter().map(|n| n.id).collect::<Vec<_>>(), ids[1..]);
    assert_eq!(pending[0].key, key);
    assert_eq!(pending[0].record, records[1]);
    let delivered = |s: &Store, contact: &str, method: &str| {
        s.was_delivered(&key, change, NotificationKind::Problem, Some(contact), Some(method)).unwrap()
    };
    assert!(delivered(&store, "ops", "webhook"));
    assert!(!delivered(&store, "ops", "email"), "pending is not delivered");
    assert!(!store.was_delivered(&key, change, NotificationKind::Recovery, Some("ops"), Some("webhook")).unwrap());
    assert!(
        !store
            .was_delivered(
                &key,
                change + Duration::from_nanos(1),
                NotificationKind::Problem,
                Some("ops"),
                Some("webhook")
            )
            .unwrap()
    );
    assert!(
        !store
            .was_delivered(&ObjectKey::host("web1"), change, NotificationKind::Problem, Some("ops"), Some("webhook"))
            .unwrap()
    );

    // The restart path: deliver what is pending, record the outcome.
    store.set_notification_outcome(ids[1], &DeliveryOutcome::Delivered, 1).unwrap();
    store
        .set_notification_outcome(ids[2], &DeliveryOutcome::Failed { error: "SMTP 550 mailbox unavailable".into() }, 3)
        .unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert!(store.pending_notifications().unwrap().is_empty());
    assert!(delivered(&store, "ops", "email"));
    assert!(!delivered(&store, "dba", "email"), "failed is not delivered");
    let listed = store.notifications(&key, 10).unwrap();
    assert_eq!(listed.iter().map(|n| n.id).collect::<Vec<_>>(), vec![ids[2], ids[1], ids[0]]);
    assert_eq!(listed[0].record.outcome, DeliveryOutcome::Failed { error: "SMTP 550 mailbox unavailable".into() });
    assert_eq!(listed[0].record.attempts, 3);
    assert_eq!(listed[2].record.attempts, 2);
    assert_eq!(store.notifications(&key, 1).unwrap().len(), 1);
    assert_eq!(store.history(&key, 10).unwrap().len(), 1);
}

#[test]
fn notifications_without_a_contact_are_matched_by_null() {
    let mut store = Store::open_in_memory().unwrap();
    let key = ObjectKey::host("web1");
    let rec =
        NotificationRecord { contact: None, method: None, ..record(NotificationKind::Recovery, "x", "y", t(9, 0)) };
    let id = store.record_notification(&key, &rec).unwrap();
    assert!(!store.was_delivered(&key, t(9, 0), NotificationKind::Recovery, None, None).unwrap());
    store.set_notification_outcome(id, &DeliveryOutcome::Delivered, 1).unwrap();
    assert!(store.was_delivered(&key, t(9, 0), NotificationKind::Recovery, None, None).unwrap());
    assert!(!store.was_delivered(&key, t(9, 0), NotificationKind::Recovery, Some("x"), Some("y")).unwrap());
}

#[test]
fn a_failed_transaction_writes_nothing() {
    let mut store = Store::open_in_memory().unwrap();
    let key = ObjectKey::service("web1", "HTTP");
    let err = store
        .transaction(|tx| {
            tx.save_object(&key, &full_state(), &full_notify(), &binary_values())?;
            tx.record_notification(&key, &record(NotificationKind::Problem, "ops", "log", t(1, 0)))?;
            // An outcome for a notification that does not exist fails.
            tx.set_notification_outcome(NotificationId(999), &DeliveryOutcome::Delivered, 1)
        })
        .unwrap_err();
    assert!(err.to_string().contains("no notification with id 999"), "{err}");
    assert!(store.load_objects().unwrap().is_empty());
    assert!(store.pending_notifications().unwrap().is_empty());
}

#[test]
fn a_time_past_2262_is_refused_not_wrapped() {
    let mut store = Store::open_in_memory().unwrap();
    let state = ObjectState { last_check: Some(Duration::from_secs(u64::MAX)), ..full_state() };
    let err = store.save_object(&ObjectKey::host("h"), &state, &NotifyState::default(), &Values::new()).unwrap_err();
    assert!(matches!(err, StoreError::TimeOutOfRange { .. }), "{err}");
    assert!(store.load_objects().unwrap().is_empty());
}

#[test]
fn a_newer_schema_is_refused_naming_the_file() {
    let dir = TempDir::new("newer");
    let path = dir.file("from-the-future.db");
    drop(Store::open(&path).unwrap());
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute("UPDATE wasmon_schema SET version = ?1", [SCHEMA_VERSION + 1]).unwrap();
    }
    let err = Store::open(&path).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains(&format!("schema version {}", SCHEMA_VERSION + 1)), "{msg}");
    let conn = Connection::open(&path).unwrap();
    let v: i64 = conn.query_row("SELECT version FROM wasmon_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(v, SCHEMA_VERSION + 1, "left unchanged");
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_naming_the_file() {
    let dir = TempDir::new("notsqlite");
    let path = dir.file("config.toml");
    let content = "[defaults]\ncheck_interval = \"5m\"\n".repeat(200);
    std::fs::write(&path, &content).unwrap();
    let err = Store::open(&path).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("not an SQLite database"), "{msg}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), content, "left unchanged");
}

#[test]
fn another_programs_sqlite_database_is_refused_naming_the_file() {
    let dir = TempDir::new("foreign");
    let path = dir.file("other.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE objects (x); INSERT INTO objects VALUES (1);").unwrap();
    }
    let err = Store::open(&path).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::NotWasmon { .. }), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    let conn = Connection::open(&path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete", "not switched to WAL");
}

#[test]
fn the_file_is_wal_with_synchronous_normal_and_marked_as_wasmon() {
    let dir = TempDir::new("pragmas");
    let path = dir.file("wasmon.db");
    let store = Store::open(&path).unwrap();
    let mode: String = store.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = store.conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
    assert_eq!(sync, 1, "NORMAL");
    let app: i32 = store.conn.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
    assert_eq!(app, APPLICATION_ID);
    drop(store);
    // An existing, empty file (touch) is a new database.
    let empty = dir.file("empty.db");
    std::fs::write(&empty, b"").unwrap();
    assert!(Store::open(&empty).unwrap().load_objects().unwrap().is_empty());
}

/// Seed 002's lifecycle through the real processor and notification
/// decision, persisted the way the engine must, then "restarted": the
/// restored object neither loses its HARD state nor notifies it again.
#[test]
fn a_restart_mid_problem_keeps_the_hard_state_and_does_not_renotify() {
    let dir = TempDir::new("lifecycle");
    let path = dir.file("wasmon.db");
    let key = ObjectKey::service("web1", "Lifecycle");
    let cfg = StateConfig {
        max_check_attempts: 3,
        check_interval: Duration::from_secs(300),
        retry_interval: Duration::from_secs(60),
        semantics: Semantics::Opsview,
    };
    let policy = NotificationPolicy::default();
    let result = |state| ResultInput {
        state,
        output: format!("{state}"),
        long_output: None,
        perfdata: vec![],
        perfdata_errors: vec![],
    };
    let mut store = Store::open(&path).unwrap();
    let (mut obj, mut nst) = (ObjectState::default(), NotifyState::default());
    let mut sent = Vec::new();
    for (i, s) in [State::Ok, State::Critical, State::Critical, State::Critical].into_iter().enumerate() {
        let now = t(60 * i as u64, 0);
        let tr = process(&obj, &result(s), now, &cfg);
        let (n2, decided) = notify::decide(&nst, &tr.state, &tr.events, now, &policy);
        let records: Vec<NotificationRecord> = decided
            .iter()
            .map(|n| NotificationRecord {
                time: now,
                change_time: tr.state.last_hard_state_change.unwrap(),
                kind: n.kind,
                state: n.state,
                contact: Some("ops".into()),
                method: Some("log".into()),
                output: tr.state.output.clone(),
                outcome: DeliveryOutcome::Pending,
                attempts: 0,
            })
            .collect();
        let ids = store.save_result(&key, now, &tr, &n2, &Values::new(), &records).unwrap();
        for id in ids {
            store.set_notification_outcome(id, &DeliveryOutcome::Delivered, 1).unwrap();
            sent.push(id);
        }
        obj = tr.state;
        nst = n2;
    }
    assert_eq!(sent.len(), 1, "one PROBLEM on the HARD change");
    assert_eq!(obj.state_type, StateType::Hard);
    std::mem::forget(store);

    let store = Store::open(&path).unwrap();
    let restored = store.load_objects().unwrap().remove(&key).unwrap();
    assert_eq!(restored.state, obj);
    assert_eq!(restored.notify, nst);
    assert!(store.pending_notifications().unwrap().is_empty());
    // The next result after the restart: still CRITICAL, nothing to send.
    let now = t(480, 0);
    let tr = process(&restored.state, &result(State::Critical), now, &cfg);
    assert!(tr.events.is_empty());
    let (_, decided) = notify::decide(&restored.notify, &tr.state, &tr.events, now, &policy);
    assert_eq!(decided, None);
    let change = restored.state.last_hard_state_change.unwrap();
    assert!(store.was_delivered(&key, change, NotificationKind::Problem, Some("ops"), Some("log")).unwrap());
    let history = store.history(&key, 10).unwrap();
    assert_eq!(history[0].event, StateEvent::HardStateChange { from: State::Ok, to: State::Critical });
    assert_eq!(
        history[1].event,
        StateEvent::StateChange { from: State::Ok, to: State::Critical, state_type: StateType::Soft }
    );
}

#[test]
fn a_version_1_database_gets_the_dependency_table_with_its_data_intact() {
    let dir = TempDir::new("v1-dependency");
    let path = dir.file("v1.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        conn.execute("INSERT INTO wasmon_schema (id, application, version) VALUES (1, 'wasmon', 1)", []).unwrap();
    }
    {
        // Written as version 1 would: an objects row only.
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO objects (host, service, state, state_type, attempt, last_hard_state, last_check, output, \
             perfdata, problem_notified) \
             VALUES ('web1', 'HTTP', 'WARNING', 'SOFT', 2, 'OK', 50000000000, 'slow', '[]', 0)",
            [],
        )
        .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    let v: i64 = store.conn.query_row("SELECT version FROM wasmon_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    assert_eq!(
        SCHEMA_VERSION, 6,
        "version 1, the dependency step, the suppression step, removed objects, every notification type, metric history"
    );
    let loaded = store.load_objects().unwrap();
    let r = &loaded[&ObjectKey::service("web1", "HTTP")].state;
    assert_eq!(
        (r.state, r.state_type, r.attempt, r.output.as_str()),
        (State::Warning, StateType::Soft, 2, "slow"),
        "the data is intact"
    );
    assert!(store.load_dependencies().unwrap().is_empty());

    // The new table works: a failure with its saved state, then none.
    let key = ObjectKey::service("web1", "HTTP");
    let failure = crate::state::dependency::DependencyFailure {
        cause: ("router".into(), None),
        output: "Dependency failure: router is DOWN".into(),
        saved: Some(full_state()),
    };
    store.save_dependency(&key, Some(&failure)).unwrap();
    drop(store);
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.load_dependencies().unwrap()[&key], failure);
    let overwritten = crate::state::dependency::DependencyFailure { saved: None, ..failure };
    store.save_dependency(&key, Some(&overwritten)).unwrap();
    assert_eq!(store.load_dependencies().unwrap()[&key], overwritten);
    store.save_dependency(&key, None).unwrap();
    assert!(store.load_dependencies().unwrap().is_empty());
}

/// A database written before flapping, acknowledgements and downtime
/// (schema version 1) is upgraded when opened, its rows intact.
#[test]
fn a_version_1_database_is_upgraded_with_its_data() {
    let dir = TempDir::new("v1-upgrade");
    let path = dir.file("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        conn.execute("INSERT INTO wasmon_schema (id, application, version) VALUES (1, 'wasmon', 1)", []).unwrap();
        conn.execute(
            "INSERT INTO objects (host, service, state, state_type, attempt, last_hard_state, last_check, output, \
             perfdata, problem_since, problem_notified) \
             VALUES ('web1', 'HTTP', 'CRITICAL', 'HARD', 1, 'CRITICAL', 31000000000, 'down', '[]', 20000000000, 1)",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO notifications (host, service, time, change_time, kind, state, output, outcome, attempts) \
             VALUES ('web1', 'HTTP', 20000000000, 20000000000, 'PROBLEM', 'CRITICAL', 'down', 'delivered', 1)",
            [],
        )
        .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    let key = ObjectKey::service("web1", "HTTP");
    let objects = store.load_objects().unwrap();
    let r = &objects[&key];
    assert_eq!((r.state.state, r.state.output.as_str(), r.state.last_check), (State::Critical, "down", Some(t(31, 0))));
    assert_eq!(
        r.notify,
        NotifyState { problem_since: Some(t(20, 0)), problem_notified: true, last_notification: None }
    );
    assert_eq!((r.state.flapping, r.state.acknowledgement.clone()), (Default::default(), None));
    assert_eq!(store.notifications(&key, 10).unwrap().len(), 1);
    assert_eq!(store.load_downtimes().unwrap(), (vec![], 0));
    // The new tables and columns work.
    store.save_object(&key, &full_state(), &full_notify(), &Values::new()).unwrap();
    assert_eq!(store.load_objects().unwrap()[&key].state, full_state());
    let d = crate::state::Downtime {
        id: 4,
        host: "web1".into(),
        service: None,
        with_services: true,
        start: t(100, 0),
        end: t(200, 0),
        flexible: Some(Duration::from_secs(30)),
        author: "alice".into(),
        comment: "patch".into(),
        started: Some(t(150, 7)),
    };
    store.save_downtimes(std::slice::from_ref(&d), 9).unwrap();
    assert_eq!(store.load_downtimes().unwrap(), (vec![d], 9));
    store.save_downtimes(&[], 9).unwrap();
    assert_eq!(store.load_downtimes().unwrap(), (vec![], 9), "ids are not reused after the last one ended");
    let s = SuppressedRecord::new(t(40, 0), NotificationKind::Problem, State::Critical, SuppressionReason::Downtime);
    store.record_suppressed(&key, &s).unwrap();
    assert_eq!(store.suppressed_notifications(&key, 5).unwrap(), vec![s]);
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = conn.query_row("SELECT version FROM wasmon_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(v, SCHEMA_VERSION);
}

/// Rows of objects the configuration no longer has stay for `keep_removed`,
/// then go with their value store; one put back in time keeps its rows.
#[test]
fn removed_objects_are_pruned_after_the_time_kept() {
    let mut store = Store::open_in_memory().unwrap();
    let kept = ObjectKey::service("web1", "HTTP");
    let gone = ObjectKey::service("web1", "Disk /");
    let back = ObjectKey::service("web1", "Swap");
    for k in [&kept, &gone, &back] {
        store.save_object(k, &full_state(), &NotifyState::default(), &binary_values()).unwrap();
    }
    let day = Duration::from_secs(86_400);
    let week = 7 * day;
    let start = t(1_763_700_000, 0);
    let configured = [kept.clone()].into_iter().collect();
    store.transaction(|tx| tx.mark_configured(&configured, start)).unwrap();
    // Swap comes back with a reload two days later.
    store.transaction(|tx| tx.mark_removed(&[], std::slice::from_ref(&back), start + 2 * day)).unwrap();
    assert_eq!(store.transaction(|tx| tx.prune_removed(start + 6 * day, week)).unwrap(), 0, "not a week yet");
    assert_eq!(store.load_objects().unwrap().len(), 3);
    assert_eq!(store.transaction(|tx| tx.prune_removed(start + week, week)).unwrap(), 1);
    let left = store.load_objects().unwrap();
    assert!(left.contains_key(&kept) && left.contains_key(&back) && !left.contains_key(&gone), "{:?}", left.keys());
    let values: i64 = store.conn.query_row("SELECT count(*) FROM object_values", [], |r| r.get(0)).unwrap();
    assert_eq!(values, 2 * binary_values().len() as i64, "the pruned object's value store went with it");
    // Removed by a reload now: its week starts now.
    store.transaction(|tx| tx.mark_removed(std::slice::from_ref(&back), &[], start + 8 * day)).unwrap();
    assert_eq!(store.transaction(|tx| tx.prune_removed(start + 14 * day, week)).unwrap(), 0);
    assert_eq!(store.transaction(|tx| tx.prune_removed(start + 15 * day, week)).unwrap(), 1);
}

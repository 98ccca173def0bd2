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

mod file;
mod notifications;

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

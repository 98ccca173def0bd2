//! The file itself: times it cannot hold, schema versions and foreign
//! files refused, WAL, migrations from version 1, pruning removed objects.

use super::*;

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

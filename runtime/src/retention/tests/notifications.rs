//! History and notification records, and a failed transaction.

use super::*;

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

//! The state processor against seed 002 and Nagios Core 4.

use std::time::Duration;

use super::notify::decide;
use super::*;

fn config(semantics: Semantics) -> StateConfig {
    StateConfig {
        max_check_attempts: 3,
        check_interval: Duration::from_secs(31),
        retry_interval: Duration::from_secs(20),
        semantics,
    }
}

fn input(state: State) -> ResultInput {
    ResultInput {
        state,
        output: format!("{state}"),
        long_output: None,
        perfdata: Vec::new(),
        perfdata_errors: Vec::new(),
    }
}

/// One row of a lifecycle: seconds since the first result, state, type,
/// attempt, and the notification decided with it.
type Row = (u64, State, StateType, u32, Option<Notification>);

/// Runs `results` through the processor the way the scheduler does: each
/// next check after `next_check_after`, notifications decided with each.
fn lifecycle(semantics: Semantics, results: &[State], policy: NotificationPolicy) -> Vec<Row> {
    let cfg = config(semantics);
    let mut obj = ObjectState::default();
    let mut notify = NotifyState::default();
    let mut now = Duration::ZERO;
    let mut rows = Vec::new();
    for &s in results {
        let t = process(&obj, &input(s), now, &cfg);
        let (n, notification) = decide(&notify, &t.state, &t.events, now, &policy);
        rows.push((now.as_secs(), t.state.state, t.state.state_type, t.state.attempt, notification));
        obj = t.state;
        notify = n;
        now += next_check_after(&obj, &cfg);
    }
    rows
}

/// The dummy check's sequence for the seed's table: OK, WARNING ×4,
/// CRITICAL ×5, OK ×4.
fn seed_sequence() -> Vec<State> {
    let mut v = vec![State::Ok];
    v.extend([State::Warning; 4]);
    v.extend([State::Critical; 5]);
    v.extend([State::Ok; 4]);
    v
}

/// Seed 002, "Lifecycle of a Service", as printed there.
const SEED_TABLE: &str = "\
14:08:08 OK 1/3
14:08:39 WARNING 1/3
14:08:59 WARNING 2/3
14:09:19 WARNING 3/3
14:09:50 WARNING 1/3
14:10:21 CRITICAL 1/3
14:10:41 CRITICAL 2/3
14:11:01 CRITICAL 3/3
14:11:32 CRITICAL 1/3
14:12:03 CRITICAL 1/3
14:12:34 OK 1/3
14:12:54 OK 2/3
14:13:14 OK 3/3
14:13:45 OK 1/3";

fn seconds(clock: &str) -> u64 {
    let p: Vec<u64> = clock.split(':').map(|x| x.parse().unwrap()).collect();
    p[0] * 3600 + p[1] * 60 + p[2]
}

#[test]
fn opsview_reproduces_the_seed_lifecycle_table() {
    let rows = lifecycle(Semantics::Opsview, &seed_sequence(), NotificationPolicy::default());
    let first = seconds("14:08:08");
    let expected: Vec<(u64, State, u32)> = SEED_TABLE
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let attempt = f[2].split('/').next().unwrap().parse().unwrap();
            (seconds(f[0]) - first, f[1].parse().unwrap(), attempt)
        })
        .collect();
    let got: Vec<(u64, State, u32)> = rows.iter().map(|r| (r.0, r.1, r.3)).collect();
    assert_eq!(got, expected);

    // HARD exactly where the table's attempts reach 3/3 and after.
    let types: Vec<StateType> = rows.iter().map(|r| r.2).collect();
    use StateType::{Hard as H, Soft as S};
    assert_eq!(types, [H, S, S, H, H, S, S, H, H, H, S, S, H, H]);

    // Notifications on HARD changes only: exactly three.
    let notes: Vec<(u64, Notification)> = rows.iter().filter_map(|r| r.4.map(|n| (r.0, n))).collect();
    assert_eq!(
        notes,
        [
            (71, Notification { kind: NotificationKind::Problem, state: State::Warning }),
            (173, Notification { kind: NotificationKind::Problem, state: State::Critical }),
            (306, Notification { kind: NotificationKind::Recovery, state: State::Ok }),
        ]
    );
}

#[test]
fn nagios_core_4_semantics() {
    let rows = lifecycle(Semantics::Nagios, &seed_sequence(), NotificationPolicy::default());
    use State::{Critical as C, Ok as O, Warning as W};
    use StateType::{Hard as H, Soft as S};
    let got: Vec<(u64, State, StateType, u32)> = rows.iter().map(|r| (r.0, r.1, r.2, r.3)).collect();
    assert_eq!(
        got,
        [
            (0, O, H, 1),
            (31, W, S, 1),
            (51, W, S, 2),
            (71, W, H, 3),
            // HARD problem: check interval, attempt stays at the maximum.
            (102, W, H, 3),
            // Problem to problem while HARD: an immediate HARD change.
            (133, C, H, 3),
            (164, C, H, 3),
            (195, C, H, 3),
            (226, C, H, 3),
            (257, C, H, 3),
            // Recovery is immediately HARD.
            (288, O, H, 1),
            (319, O, H, 1),
            (350, O, H, 1),
            (381, O, H, 1),
        ]
    );
    let notes: Vec<(u64, NotificationKind, State)> =
        rows.iter().filter_map(|r| r.4.map(|n| (r.0, n.kind, n.state))).collect();
    assert_eq!(
        notes,
        [(71, NotificationKind::Problem, W), (133, NotificationKind::Problem, C), (288, NotificationKind::Recovery, O)]
    );
}

#[test]
fn soft_problems_that_clear_notify_nobody() {
    use State::{Critical as C, Ok as O};
    for semantics in [Semantics::Opsview, Semantics::Nagios] {
        let rows = lifecycle(semantics, &[O, C, C, O, O, O, O], NotificationPolicy::default());
        assert!(rows.iter().all(|r| r.4.is_none()), "{semantics:?}: {rows:?}");
    }
    // Nagios: a SOFT problem that clears is HARD OK at once.
    let rows = lifecycle(Semantics::Nagios, &[O, C, O], NotificationPolicy::default());
    assert_eq!((rows[2].1, rows[2].2), (O, StateType::Hard));
}

#[test]
fn renotification_interval_and_first_delay() {
    use State::{Critical as C, Ok as O};
    let mut seq = vec![O];
    seq.extend([C; 8]);
    seq.push(O);
    seq.extend([O; 3]);
    // Re-notify every 60 s while the HARD problem lasts.
    let every_minute = NotificationPolicy { interval: Duration::from_secs(60), first_delay: Duration::ZERO };
    let rows = lifecycle(Semantics::Opsview, &seq, every_minute);
    let problems: Vec<u64> =
        rows.iter().filter_map(|r| r.4.filter(|n| n.kind == NotificationKind::Problem).map(|_| r.0)).collect();
    // HARD at 71, then checks every 31 s: 102, 133 (62 s later), 164, 195 (62 s), 226.
    assert_eq!(problems, [71, 133, 195]);

    // A first delay longer than the problem lasts: neither problem nor recovery.
    let delayed = NotificationPolicy { interval: Duration::ZERO, first_delay: Duration::from_secs(3600) };
    let rows = lifecycle(Semantics::Opsview, &seq, delayed);
    assert!(rows.iter().all(|r| r.4.is_none()), "{rows:?}");

    // A first delay it outlasts: the problem once the delay has passed.
    let delayed = NotificationPolicy { interval: Duration::ZERO, first_delay: Duration::from_secs(60) };
    let rows = lifecycle(Semantics::Opsview, &seq, delayed);
    let notes: Vec<(u64, NotificationKind)> = rows.iter().filter_map(|r| r.4.map(|n| (r.0, n.kind))).collect();
    assert_eq!(notes[0], (133, NotificationKind::Problem));
    assert_eq!(notes.last().unwrap().1, NotificationKind::Recovery);
}

#[test]
fn one_attempt_is_hard_at_once_and_times_are_kept() {
    let cfg = StateConfig { max_check_attempts: 1, ..config(Semantics::Opsview) };
    let t0 = process(&ObjectState::default(), &input(State::Ok), Duration::from_secs(5), &cfg);
    assert_eq!(t0.state.last_state_change, Some(Duration::from_secs(5)));
    assert_eq!(t0.state.last_hard_state_change, Some(Duration::from_secs(5)));
    assert!(t0.events.is_empty());
    let t1 = process(&t0.state, &input(State::Critical), Duration::from_secs(10), &cfg);
    assert_eq!((t1.state.state_type, t1.state.attempt), (StateType::Hard, 1));
    assert_eq!(
        t1.events,
        [
            StateEvent::StateChange { from: State::Ok, to: State::Critical, state_type: StateType::Hard },
            StateEvent::HardStateChange { from: State::Ok, to: State::Critical },
        ]
    );
    let t2 = process(&t1.state, &input(State::Critical), Duration::from_secs(20), &cfg);
    assert!(t2.events.is_empty());
    assert_eq!(t2.state.last_state_change, Some(Duration::from_secs(10)));
    assert_eq!(t2.state.last_check, Some(Duration::from_secs(20)));
    assert_eq!(t2.state.output, "CRITICAL");
}

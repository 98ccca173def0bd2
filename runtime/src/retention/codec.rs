//! Rows as SQLite gives them, and the conversions between the store's
//! columns and the library's types.

use std::time::Duration;

use rusqlite::Row;

use super::{DeliveryOutcome, NotificationId, NotificationRecord, ObjectKey, Retained, StoreError, StoredNotification};
use crate::outcome::{Metric, State};
use crate::sandbox::values::Values;
use crate::state::{NotificationKind, NotifyState, ObjectState, StateType, Time};

/// One `objects` row as SQLite gives it.
pub(super) struct ObjectRow {
    pub(super) id: i64,
    host: String,
    service: Option<String>,
    state: String,
    state_type: String,
    attempt: i64,
    last_hard_state: String,
    last_check: Option<i64>,
    last_state_change: Option<i64>,
    last_hard_state_change: Option<i64>,
    output: String,
    long_output: Option<String>,
    perfdata: String,
    problem_since: Option<i64>,
    problem_notified: bool,
    last_notification: Option<i64>,
    flapping: Option<String>,
    acknowledgement: Option<String>,
}

impl ObjectRow {
    pub(super) fn read(r: &Row<'_>) -> rusqlite::Result<ObjectRow> {
        Ok(ObjectRow {
            id: r.get(0)?,
            host: r.get(1)?,
            service: r.get(2)?,
            state: r.get(3)?,
            state_type: r.get(4)?,
            attempt: r.get(5)?,
            last_hard_state: r.get(6)?,
            last_check: r.get(7)?,
            last_state_change: r.get(8)?,
            last_hard_state_change: r.get(9)?,
            output: r.get(10)?,
            long_output: r.get(11)?,
            perfdata: r.get(12)?,
            problem_since: r.get(13)?,
            problem_notified: r.get(14)?,
            last_notification: r.get(15)?,
            flapping: r.get(16)?,
            acknowledgement: r.get(17)?,
        })
    }

    pub(super) fn decode(self, path: &str) -> Result<(ObjectKey, Retained), StoreError> {
        let key = ObjectKey { host: self.host, service: self.service };
        let corrupt = |detail: String| StoreError::Corrupt {
            path: path.to_string(),
            table: "objects",
            detail: format!("{key:?}: {detail}"),
        };
        let ns = |t: Option<i64>| t.map(from_ns).transpose();
        let perfdata: Vec<Metric> =
            serde_json::from_str(&self.perfdata).map_err(|e| corrupt(format!("perfdata: {e}")))?;
        let state = ObjectState {
            perfdata_errors: Vec::new(),
            state: parse_state(&self.state).map_err(corrupt)?,
            state_type: parse_state_type(&self.state_type).map_err(corrupt)?,
            attempt: u32::try_from(self.attempt)
                .map_err(|_| corrupt(format!("attempt {} out of range", self.attempt)))?,
            last_hard_state: parse_state(&self.last_hard_state).map_err(corrupt)?,
            last_check: ns(self.last_check).map_err(corrupt)?,
            last_state_change: ns(self.last_state_change).map_err(corrupt)?,
            last_hard_state_change: ns(self.last_hard_state_change).map_err(corrupt)?,
            output: self.output,
            long_output: self.long_output,
            perfdata,
            flapping: match &self.flapping {
                Some(j) => serde_json::from_str(j).map_err(|e| corrupt(format!("flapping: {e}")))?,
                None => Default::default(),
            },
            acknowledgement: match &self.acknowledgement {
                Some(j) => Some(serde_json::from_str(j).map_err(|e| corrupt(format!("acknowledgement: {e}")))?),
                None => None,
            },
        };
        let notify = NotifyState {
            problem_since: ns(self.problem_since).map_err(corrupt)?,
            problem_notified: self.problem_notified,
            last_notification: ns(self.last_notification).map_err(corrupt)?,
        };
        Ok((key, Retained { state, notify, values: Values::new() }))
    }
}

/// One `notifications` row as SQLite gives it.
pub(super) struct NotificationRow {
    id: i64,
    host: String,
    service: Option<String>,
    time: i64,
    change_time: i64,
    kind: String,
    state: String,
    contact: Option<String>,
    method: Option<String>,
    output: String,
    outcome: String,
    error: Option<String>,
    attempts: i64,
}

impl NotificationRow {
    pub(super) fn read(r: &Row<'_>) -> rusqlite::Result<NotificationRow> {
        Ok(NotificationRow {
            id: r.get(0)?,
            host: r.get(1)?,
            service: r.get(2)?,
            time: r.get(3)?,
            change_time: r.get(4)?,
            kind: r.get(5)?,
            state: r.get(6)?,
            contact: r.get(7)?,
            method: r.get(8)?,
            output: r.get(9)?,
            outcome: r.get(10)?,
            error: r.get(11)?,
            attempts: r.get(12)?,
        })
    }

    pub(super) fn decode(self, path: &str) -> Result<StoredNotification, StoreError> {
        let id = self.id;
        let corrupt = |detail: String| StoreError::Corrupt {
            path: path.to_string(),
            table: "notifications",
            detail: format!("id {id}: {detail}"),
        };
        let kind = match NotificationKind::parse(&self.kind) {
            Some(kind) => kind,
            None => return Err(corrupt(format!("unknown kind '{}'", self.kind))),
        };
        let outcome = match (self.outcome.as_str(), self.error) {
            ("pending", _) => DeliveryOutcome::Pending,
            ("delivered", _) => DeliveryOutcome::Delivered,
            ("failed", error) => DeliveryOutcome::Failed { error: error.unwrap_or_default() },
            (other, _) => return Err(corrupt(format!("unknown outcome '{other}'"))),
        };
        Ok(StoredNotification {
            id: NotificationId(id),
            key: ObjectKey { host: self.host, service: self.service },
            record: NotificationRecord {
                time: from_ns(self.time).map_err(corrupt)?,
                change_time: from_ns(self.change_time).map_err(corrupt)?,
                kind,
                state: parse_state(&self.state).map_err(corrupt)?,
                contact: self.contact,
                method: self.method,
                output: self.output,
                outcome,
                attempts: u32::try_from(self.attempts)
                    .map_err(|_| corrupt(format!("attempts {} out of range", self.attempts)))?,
            },
        })
    }
}

pub(super) fn to_ns(t: Time, path: &str, operation: &'static str) -> Result<i64, StoreError> {
    i64::try_from(t.as_nanos()).map_err(|_| StoreError::TimeOutOfRange { path: path.to_string(), operation, time: t })
}

pub(super) fn from_ns(ns: i64) -> Result<Time, String> {
    u64::try_from(ns).map(Duration::from_nanos).map_err(|_| format!("negative time {ns}"))
}

pub(super) fn limit_sql(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

pub(super) fn parse_state(s: &str) -> Result<State, String> {
    match s {
        "OK" => Ok(State::Ok),
        "WARNING" => Ok(State::Warning),
        "CRITICAL" => Ok(State::Critical),
        "UNKNOWN" => Ok(State::Unknown),
        other => Err(format!("unknown state '{other}'")),
    }
}

pub(super) fn state_type_str(t: StateType) -> &'static str {
    match t {
        StateType::Soft => "SOFT",
        StateType::Hard => "HARD",
    }
}

pub(super) fn parse_state_type(s: &str) -> Result<StateType, String> {
    match s {
        "SOFT" => Ok(StateType::Soft),
        "HARD" => Ok(StateType::Hard),
        other => Err(format!("unknown state type '{other}'")),
    }
}

#[cfg(test)]
pub(super) fn parse_kind(s: &str) -> Result<NotificationKind, String> {
    NotificationKind::parse(s).ok_or_else(|| format!("unknown kind '{s}'"))
}

pub(super) fn kind_str(k: NotificationKind) -> &'static str {
    k.as_str()
}

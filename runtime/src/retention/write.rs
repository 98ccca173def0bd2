//! The writes of one transaction.

use rusqlite::{Connection, params};

use super::codec::{kind_str, state_type_str, to_ns};
use super::{DeliveryOutcome, NotificationId, NotificationRecord, ObjectKey, StoreError, SuppressedRecord, sql_error};
use crate::sandbox::values::Values;
#[cfg(test)]
use crate::state::Transition;
use crate::state::{Downtime, NotifyState, ObjectState, StateEvent, StateType, Time};

/// The writes of one [`Store::transaction`](super::Store::transaction).
pub struct StoreTx<'a> {
    pub(super) conn: &'a Connection,
    pub(super) path: &'a str,
}

impl StoreTx<'_> {
    /// [`Store::save_result`](super::Store::save_result) inside this transaction.
    #[cfg(test)]
    pub fn save_result(
        &self,
        key: &ObjectKey,
        time: Time,
        transition: &Transition,
        notify: &NotifyState,
        values: &Values,
        notifications: &[NotificationRecord],
    ) -> Result<Vec<NotificationId>, StoreError> {
        self.save_object(key, &transition.state, notify, values)?;
        for event in &transition.events {
            self.record_state_change(key, time, event, &transition.state.output)?;
        }
        notifications.iter().map(|n| self.record_notification(key, n)).collect()
    }

    /// [`Store::save_object`](super::Store::save_object) inside this transaction.
    pub fn save_object(
        &self,
        key: &ObjectKey,
        state: &ObjectState,
        notify: &NotifyState,
        values: &Values,
    ) -> Result<(), StoreError> {
        const OP: &str = "save an object";
        let p = self.path;
        let ns = |t: Option<Time>| t.map(|t| to_ns(t, p, OP)).transpose();
        let perfdata = serde_json::to_string(&state.perfdata).map_err(|e| StoreError::Corrupt {
            path: p.to_string(),
            table: "objects",
            detail: format!("cannot encode the perfdata of {key:?}: {e}"),
        })?;
        let json = |what: &str, v: Result<String, serde_json::Error>| {
            v.map_err(|e| StoreError::Corrupt {
                path: p.to_string(),
                table: "objects",
                detail: format!("cannot encode the {what} of {key:?}: {e}"),
            })
        };
        let flapping = if state.flapping == Default::default() {
            None
        } else {
            Some(json("flapping state", serde_json::to_string(&state.flapping))?)
        };
        let acknowledgement =
            state.acknowledgement.as_ref().map(|a| json("acknowledgement", serde_json::to_string(a))).transpose()?;
        let times = [
            ns(state.last_check)?,
            ns(state.last_state_change)?,
            ns(state.last_hard_state_change)?,
            ns(notify.problem_since)?,
            ns(notify.last_notification)?,
        ];
        let id: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO objects (host, service, state, state_type, attempt, last_hard_state, last_check, \
                 last_state_change, last_hard_state_change, output, long_output, perfdata, problem_since, \
                 problem_notified, last_notification, flapping, acknowledgement) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) \
                 ON CONFLICT (host, coalesce(service, x'')) DO UPDATE SET state = excluded.state, \
                 state_type = excluded.state_type, attempt = excluded.attempt, \
                 last_hard_state = excluded.last_hard_state, last_check = excluded.last_check, \
                 last_state_change = excluded.last_state_change, \
                 last_hard_state_change = excluded.last_hard_state_change, output = excluded.output, \
                 long_output = excluded.long_output, perfdata = excluded.perfdata, \
                 problem_since = excluded.problem_since, problem_notified = excluded.problem_notified, \
                 last_notification = excluded.last_notification, flapping = excluded.flapping, \
                 acknowledgement = excluded.acknowledgement \
                 RETURNING id",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![
                        key.host,
                        key.service,
                        state.state.as_str(),
                        state_type_str(state.state_type),
                        state.attempt,
                        state.last_hard_state.as_str(),
                        times[0],
                        times[1],
                        times[2],
                        state.output,
                        state.long_output,
                        perfdata,
                        times[3],
                        notify.problem_notified,
                        times[4],
                        flapping,
                        acknowledgement,
                    ],
                    |r| r.get(0),
                )
            })
            .map_err(sql_error(p, OP))?;
        self.conn
            .prepare_cached("DELETE FROM object_values WHERE object_id = ?1")
            .and_then(|mut s| s.execute([id]))
            .map_err(sql_error(p, OP))?;
        let mut insert = self
            .conn
            .prepare_cached("INSERT INTO object_values (object_id, key, value) VALUES (?1, ?2, ?3)")
            .map_err(sql_error(p, OP))?;
        for (k, v) in values.iter() {
            insert.execute(params![id, k, v]).map_err(sql_error(p, OP))?;
        }
        Ok(())
    }

    /// [`Store::save_downtimes`](super::Store::save_downtimes) inside this transaction.
    pub fn save_downtimes(&self, downtimes: &[Downtime], last_id: u64) -> Result<(), StoreError> {
        const OP: &str = "save the downtimes";
        let p = self.path;
        self.conn.execute("DELETE FROM downtimes", []).map_err(sql_error(p, OP))?;
        let mut insert = self
            .conn
            .prepare_cached(
                "INSERT INTO downtimes (id, host, service, with_services, start, end_time, flexible, author, comment, \
                 started) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .map_err(sql_error(p, OP))?;
        let ns = |t: Option<Time>| t.map(|t| to_ns(t, p, OP)).transpose();
        for d in downtimes {
            insert
                .execute(params![
                    d.id as i64,
                    d.host,
                    d.service,
                    d.with_services,
                    to_ns(d.start, p, OP)?,
                    to_ns(d.end, p, OP)?,
                    ns(d.flexible)?,
                    d.author,
                    d.comment,
                    ns(d.started)?,
                ])
                .map_err(sql_error(p, OP))?;
        }
        self.conn
            .execute(
                "INSERT INTO downtime_ids (id, last) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET last = excluded.last",
                [i64::try_from(last_id).unwrap_or(i64::MAX)],
            )
            .map(drop)
            .map_err(sql_error(p, OP))
    }

    /// [`Store::record_suppressed`](super::Store::record_suppressed) inside this transaction.
    pub fn record_suppressed(&self, key: &ObjectKey, record: &SuppressedRecord) -> Result<(), StoreError> {
        const OP: &str = "record a suppressed notification";
        let time = to_ns(record.time, self.path, OP)?;
        self.conn
            .prepare_cached(
                "INSERT INTO suppressed_notifications (host, service, time, kind, state, reason) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    key.host,
                    key.service,
                    time,
                    kind_str(record.kind),
                    record.state.as_str(),
                    record.reason
                ])
            })
            .map(drop)
            .map_err(sql_error(self.path, OP))
    }

    /// [`Store::record_state_change`](super::Store::record_state_change) inside this transaction.
    pub fn record_state_change(
        &self,
        key: &ObjectKey,
        time: Time,
        event: &StateEvent,
        output: &str,
    ) -> Result<(), StoreError> {
        const OP: &str = "record a state change";
        let (name, from, to, state_type) = match event {
            StateEvent::StateChange { from, to, state_type } => ("state_change", from, to, *state_type),
            StateEvent::HardStateChange { from, to } => ("hard_state_change", from, to, StateType::Hard),
        };
        let time = to_ns(time, self.path, OP)?;
        self.conn
            .prepare_cached(
                "INSERT INTO state_history (host, service, time, event, from_state, to_state, state_type, output) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    key.host,
                    key.service,
                    time,
                    name,
                    from.as_str(),
                    to.as_str(),
                    state_type_str(state_type),
                    output
                ])
            })
            .map(drop)
            .map_err(sql_error(self.path, OP))
    }

    /// [`Store::record_notification`](super::Store::record_notification) inside this transaction.
    #[cfg(test)]
    pub fn record_notification(
        &self,
        key: &ObjectKey,
        record: &NotificationRecord,
    ) -> Result<NotificationId, StoreError> {
        self.insert_notification(None, key, record)
    }

    /// Records a notification under the id the engine gave it (the one its
    /// event and webhook body carry).
    pub fn record_notification_as(
        &self,
        id: NotificationId,
        key: &ObjectKey,
        record: &NotificationRecord,
    ) -> Result<NotificationId, StoreError> {
        self.insert_notification(Some(id), key, record)
    }

    /// Sets or clears (`None`) the object's acknowledgement, leaving the
    /// rest of its row as it is. An object without a row is left alone:
    /// an acknowledgement needs a problem, which a result wrote before.
    pub fn save_acknowledgement(
        &self,
        key: &ObjectKey,
        ack: Option<&crate::state::AckState>,
    ) -> Result<(), StoreError> {
        const OP: &str = "save an acknowledgement";
        let json = ack
            .map(|a| {
                serde_json::to_string(a).map_err(|e| StoreError::Corrupt {
                    path: self.path.to_string(),
                    table: "objects",
                    detail: format!("acknowledgement: {e}"),
                })
            })
            .transpose()?;
        self.conn
            .prepare_cached(
                "UPDATE objects SET acknowledgement = ?3 WHERE host = ?1 AND coalesce(service, x'') = coalesce(?2, x'')",
            )
            .and_then(|mut s| s.execute(params![key.host, key.service, json]))
            .map(drop)
            .map_err(sql_error(self.path, OP))
    }

    fn insert_notification(
        &self,
        id: Option<NotificationId>,
        key: &ObjectKey,
        record: &NotificationRecord,
    ) -> Result<NotificationId, StoreError> {
        const OP: &str = "record a notification";
        let p = self.path;
        let time = to_ns(record.time, p, OP)?;
        let change_time = to_ns(record.change_time, p, OP)?;
        self.conn
            .prepare_cached(
                "INSERT INTO notifications (id, host, service, time, change_time, kind, state, contact, method, \
                 output, outcome, error, attempts) VALUES (?13, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
                 RETURNING id",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![
                        key.host,
                        key.service,
                        time,
                        change_time,
                        kind_str(record.kind),
                        record.state.as_str(),
                        record.contact,
                        record.method,
                        record.output,
                        record.outcome.as_str(),
                        record.outcome.error(),
                        record.attempts,
                        id.map(|i| i.0),
                    ],
                    |r| r.get(0),
                )
            })
            .map(NotificationId)
            .map_err(sql_error(p, OP))
    }

    /// [`Store::set_notification_outcome`](super::Store::set_notification_outcome) inside this transaction.
    pub fn set_notification_outcome(
        &self,
        id: NotificationId,
        outcome: &DeliveryOutcome,
        attempts: u32,
    ) -> Result<(), StoreError> {
        const OP: &str = "record a delivery";
        let changed = self
            .conn
            .prepare_cached("UPDATE notifications SET outcome = ?2, error = ?3, attempts = ?4 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![id.0, outcome.as_str(), outcome.error(), attempts]))
            .map_err(sql_error(self.path, OP))?;
        if changed == 0 {
            return Err(StoreError::Corrupt {
                path: self.path.to_string(),
                table: "notifications",
                detail: format!("no notification with id {}", id.0),
            });
        }
        Ok(())
    }
}

//! The store's read queries.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

#[cfg(test)]
use super::SuppressedRecord;
use super::codec::{NotificationRow, ObjectRow, from_ns, limit_sql, parse_state, parse_state_type, to_ns};
#[cfg(test)]
use super::codec::{kind_str, parse_kind};
use super::{HistoryEntry, ObjectKey, Retained, Store, StoreError, StoredNotification, sql_error};
#[cfg(test)]
use crate::state::NotificationKind;
use crate::state::{Downtime, StateEvent, Time};

impl Store {
    /// The stored downtimes, by id, and the highest id ever given out.
    pub fn load_downtimes(&self) -> Result<(Vec<Downtime>, u64), StoreError> {
        const OP: &str = "load the downtimes";
        let p = self.path.as_str();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, host, service, with_services, start, end_time, flexible, author, comment, started \
                 FROM downtimes ORDER BY id",
            )
            .map_err(sql_error(p, OP))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, bool>(3)?,
                    [r.get::<_, i64>(4)?, r.get::<_, i64>(5)?],
                    [r.get::<_, Option<i64>>(6)?, r.get::<_, Option<i64>>(9)?],
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                ))
            })
            .map_err(sql_error(p, OP))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, host, service, with_services, [start, end], [flexible, started], author, comment) =
                row.map_err(sql_error(p, OP))?;
            let corrupt = |detail: String| StoreError::Corrupt {
                path: p.to_string(),
                table: "downtimes",
                detail: format!("id {id}: {detail}"),
            };
            let ns = |t: Option<i64>| t.map(from_ns).transpose();
            out.push(Downtime {
                id: u64::try_from(id).map_err(|_| corrupt(format!("negative id {id}")))?,
                host,
                service,
                with_services,
                start: from_ns(start).map_err(corrupt)?,
                end: from_ns(end).map_err(corrupt)?,
                flexible: ns(flexible).map_err(corrupt)?,
                author,
                comment,
                started: ns(started).map_err(corrupt)?,
            });
        }
        let last: Option<i64> = self
            .conn
            .query_row("SELECT last FROM downtime_ids WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(sql_error(p, OP))?;
        let last = u64::try_from(last.unwrap_or(0)).unwrap_or(0).max(out.iter().map(|d| d.id).max().unwrap_or(0));
        Ok((out, last))
    }

    /// The object's last `limit` suppressed notifications, newest first.
    #[cfg(test)]
    pub fn suppressed_notifications(&self, key: &ObjectKey, limit: usize) -> Result<Vec<SuppressedRecord>, StoreError> {
        const OP: &str = "read the suppressed notifications";
        let p = self.path.as_str();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT time, kind, state, reason FROM suppressed_notifications \
                 WHERE host = ?1 AND service IS ?2 ORDER BY id DESC LIMIT ?3",
            )
            .map_err(sql_error(p, OP))?;
        let rows = stmt
            .query_map(params![key.host, key.service, limit_sql(limit)], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
            })
            .map_err(sql_error(p, OP))?;
        let mut out = Vec::new();
        for row in rows {
            let (time, kind, state, reason) = row.map_err(sql_error(p, OP))?;
            let corrupt =
                |detail: String| StoreError::Corrupt { path: p.to_string(), table: "suppressed_notifications", detail };
            out.push(SuppressedRecord {
                time: from_ns(time).map_err(corrupt)?,
                kind: parse_kind(&kind).map_err(corrupt)?,
                state: parse_state(&state).map_err(corrupt)?,
                reason,
            });
        }
        Ok(out)
    }

    /// Every object the store holds.
    pub fn load_objects(&self) -> Result<HashMap<ObjectKey, Retained>, StoreError> {
        const OP: &str = "load the objects";
        let p = self.path.as_str();
        let mut by_id: HashMap<i64, (ObjectKey, Retained)> = HashMap::new();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, host, service, state, state_type, attempt, last_hard_state, last_check, \
                 last_state_change, last_hard_state_change, output, long_output, perfdata, problem_since, \
                 problem_notified, last_notification, flapping, acknowledgement FROM objects",
            )
            .map_err(sql_error(p, OP))?;
        let rows = stmt.query_map([], ObjectRow::read).map_err(sql_error(p, OP))?;
        for row in rows {
            let row = row.map_err(sql_error(p, OP))?;
            let id = row.id;
            let (key, retained) = row.decode(p)?;
            by_id.insert(id, (key, retained));
        }
        let mut stmt = self
            .conn
            .prepare("SELECT object_id, key, value FROM object_values ORDER BY object_id, key")
            .map_err(sql_error(p, OP))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?)))
            .map_err(sql_error(p, OP))?;
        for row in rows {
            let (id, k, v) = row.map_err(sql_error(p, OP))?;
            let Some((key, retained)) = by_id.get_mut(&id) else {
                continue;
            };
            if let Err(e) = retained.values.set(k, v) {
                // Limits may have shrunk since the value was written; the
                // check starts without it rather than wasmon not starting.
                tracing::warn!(path = %p, host = %key.host, service = ?key.service, "dropping a retained value: {e}");
            }
        }
        Ok(by_id.into_values().collect())
    }

    /// The object's last `limit` state changes, newest first.
    pub fn history(&self, key: &ObjectKey, limit: usize) -> Result<Vec<HistoryEntry>, StoreError> {
        const OP: &str = "read the history";
        let p = self.path.as_str();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT time, event, from_state, to_state, state_type, output FROM state_history \
                 WHERE host = ?1 AND service IS ?2 ORDER BY id DESC LIMIT ?3",
            )
            .map_err(sql_error(p, OP))?;
        let rows = stmt
            .query_map(params![key.host, key.service, limit_sql(limit)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .map_err(sql_error(p, OP))?;
        let mut out = Vec::new();
        for row in rows {
            let (time, event, from, to, state_type, output) = row.map_err(sql_error(p, OP))?;
            let corrupt = |detail: String| StoreError::Corrupt { path: p.to_string(), table: "state_history", detail };
            let from = parse_state(&from).map_err(corrupt)?;
            let to = parse_state(&to).map_err(corrupt)?;
            let event = match event.as_str() {
                "state_change" => {
                    StateEvent::StateChange { from, to, state_type: parse_state_type(&state_type).map_err(corrupt)? }
                }
                "hard_state_change" => StateEvent::HardStateChange { from, to },
                other => return Err(corrupt(format!("unknown event '{other}'"))),
            };
            out.push(HistoryEntry { time: from_ns(time).map_err(corrupt)?, event, output });
        }
        Ok(out)
    }

    /// The object's last `limit` notifications, newest first.
    #[cfg(test)]
    pub fn notifications(&self, key: &ObjectKey, limit: usize) -> Result<Vec<StoredNotification>, StoreError> {
        self.query_notifications(
            "WHERE host = ?1 AND service IS ?2 ORDER BY id DESC LIMIT ?3",
            params![key.host, key.service, limit_sql(limit)],
        )
    }

    /// The highest notification id the file holds (0 when it holds none):
    /// the engine's ids continue after it.
    pub fn last_notification_id(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT coalesce(max(id), 0) FROM notifications", [], |r| r.get::<_, i64>(0))
            .map(|id| u64::try_from(id).unwrap_or(0))
            .map_err(sql_error(&self.path, "read the last notification id"))
    }

    /// Every notification decided and not yet delivered or given up, oldest
    /// first: what the engine sends at start before its first check.
    pub fn pending_notifications(&self) -> Result<Vec<StoredNotification>, StoreError> {
        self.query_notifications("WHERE outcome = 'pending' ORDER BY id", params![])
    }

    /// Whether a notification of `kind` about the HARD change at
    /// `change_time` (see [`NotificationRecord::change_time`](super::NotificationRecord::change_time)) has been
    /// delivered to `contact` by `method` at least once.
    #[cfg(test)]
    pub fn was_delivered(
        &self,
        key: &ObjectKey,
        change_time: Time,
        kind: NotificationKind,
        contact: Option<&str>,
        method: Option<&str>,
    ) -> Result<bool, StoreError> {
        const OP: &str = "look up a delivery";
        let p = self.path.as_str();
        let change_time = to_ns(change_time, p, OP)?;
        self.conn
            .prepare_cached(
                "SELECT 1 FROM notifications WHERE host = ?1 AND service IS ?2 AND change_time = ?3 \
                 AND kind = ?4 AND contact IS ?5 AND method IS ?6 AND outcome = 'delivered' LIMIT 1",
            )
            .and_then(|mut s| {
                s.query_row(params![key.host, key.service, change_time, kind_str(kind), contact, method], |_| Ok(()))
                    .optional()
            })
            .map(|found| found.is_some())
            .map_err(sql_error(p, OP))
    }

    /// How many PROBLEM notifications went out about the HARD problem that
    /// began at `since` (the number of the last one, for escalations, as
    /// Nagios keeps `current_notification_number`). One notification is
    /// one decision: its rows per contact and method share their time.
    pub fn problem_notifications(&self, key: &ObjectKey, since: Time) -> Result<u32, StoreError> {
        const OP: &str = "count the problem notifications";
        let p = self.path.as_str();
        let since = to_ns(since, p, OP)?;
        self.conn
            .prepare_cached(
                "SELECT count(DISTINCT time) FROM notifications WHERE host = ?1 AND service IS ?2 \
                 AND change_time = ?3 AND kind = 'PROBLEM'",
            )
            .and_then(|mut s| s.query_row(params![key.host, key.service, since], |r| r.get::<_, i64>(0)))
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
            .map_err(sql_error(p, OP))
    }

    fn query_notifications(
        &self,
        filter: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<StoredNotification>, StoreError> {
        const OP: &str = "read the notifications";
        let p = self.path.as_str();
        let sql = format!(
            "SELECT id, host, service, time, change_time, kind, state, contact, method, output, outcome, error, \
             attempts FROM notifications {filter}"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(sql_error(p, OP))?;
        let rows = stmt.query_map(args, NotificationRow::read).map_err(sql_error(p, OP))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.map_err(sql_error(p, OP))?.decode(p)?);
        }
        Ok(out)
    }
}

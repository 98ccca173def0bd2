//! Retention: the current state of every host and service, the value
//! store of every check, the history of state changes and the
//! notifications, in one SQLite file that `sqlite3` can read (schema in
//! [`SCHEMA`]).
//!
//! # Durability
//!
//! The file is opened in WAL mode with `synchronous = NORMAL`. In WAL mode
//! a transaction is committed once its frames are written to the `-wal`
//! file; NORMAL leaves the fsync to checkpoints, so a commit is in the
//! operating system's page cache when [`Store`] returns. A killed process
//! (`kill -9`, a panic, an abort) loses nothing that was committed: the
//! kernel still writes those pages, and the next open replays the WAL. Only
//! a power cut or kernel crash can lose the last commits, and even then the
//! database stays consistent (it rolls back to an earlier commit, never to
//! half of one). FULL would fsync on every commit, milliseconds per result
//! for a guarantee against power loss that the acceptance ("kill -9 loses
//! no hard change") does not ask for.
//!
//! # The order the engine follows
//!
//! To lose no HARD change and repeat no delivered notification, the engine
//! handles one processed result in this order:
//!
//! 1. **Decide**: [`process`](crate::state::process), then
//!    [`decide`](crate::state::notify::decide); nothing has left the
//!    process yet.
//! 2. **Persist**: [`Store::save_result`] writes, in one transaction, the
//!    object's row (state, notification bookkeeping, value store), its
//!    state-change history and one `pending` [`NotificationRecord`] per
//!    contact and method. It returns their [`NotificationId`]s.
//! 3. **Deliver** each notification; only after step 2 has committed.
//! 4. **Record delivery**: [`Store::set_notification_outcome`] with
//!    [`DeliveryOutcome::Delivered`] or [`DeliveryOutcome::Failed`].
//!
//! At start, before the first check: [`Store::load_objects`] restores each
//! configured object's state, bookkeeping and values (rows of objects no
//! longer configured are ignored); then every row of
//! [`Store::pending_notifications`] is delivered and recorded as in steps
//! 3 and 4. They are not decided again: the restored
//! [`NotifyState`] already counts them as sent.
//!
//! What a kill at each point leaves:
//!
//! - before step 2 commits: nothing of the result, and nothing was sent;
//!   the object is where it was and its next check decides again;
//! - between 2 and 3, or during 3: the notifications are `pending` and are
//!   sent at restart;
//! - between the delivery and step 4's commit: the notification is sent
//!   again at restart. No store can close this window, since the receiver
//!   and the file do not commit together; the [`NotificationId`] is stable
//!   across restarts, so a notifier that sends it (a webhook field, an
//!   e-mail `Message-ID`) lets a receiver drop the repeat;
//! - after step 4: [`Store::was_delivered`] is true and nothing is resent.
//!
//! Several results may share one transaction ([`Store::transaction`]) to
//! write fewer commits; the order above holds for each of them.

mod dependency;
mod schema;
pub(crate) mod writer;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

pub use self::schema::{APPLICATION_ID, MIGRATIONS, SCHEMA, SCHEMA_VERSION};
use crate::outcome::{Metric, State};
use crate::sandbox::values::Values;
use crate::state::{
    Downtime, NotificationKind, NotifyState, ObjectState, StateEvent, StateType, SuppressionReason, Time, Transition,
};

/// Identifies a monitored object: a host (no service) or one of its
/// services.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectKey {
    /// The host's name.
    pub host: String,
    /// The service's name, or `None` for the host object itself.
    pub service: Option<String>,
}

impl ObjectKey {
    /// The key of a host object.
    pub fn host(host: impl Into<String>) -> ObjectKey {
        ObjectKey { host: host.into(), service: None }
    }

    /// The key of a service on `host`.
    pub fn service(host: impl Into<String>, service: impl Into<String>) -> ObjectKey {
        ObjectKey { host: host.into(), service: Some(service.into()) }
    }
}

/// What the store kept of one object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Retained {
    /// Its monitoring state.
    pub state: ObjectState,
    /// Its notification bookkeeping.
    pub notify: NotifyState,
    /// Its check's value store.
    pub values: Values,
}

/// One state change, as the history keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// When it happened.
    pub time: Time,
    /// What changed.
    pub event: StateEvent,
    /// The first line of output of the result that changed it.
    pub output: String,
}

/// Where a notification is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Decided and persisted, not yet delivered: sent again after a restart.
    Pending,
    /// The method accepted it.
    Delivered,
    /// The method gave up; not sent again.
    Failed {
        /// Why, in one line.
        error: String,
    },
}

impl DeliveryOutcome {
    fn as_str(&self) -> &'static str {
        match self {
            DeliveryOutcome::Pending => "pending",
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Failed { .. } => "failed",
        }
    }

    fn error(&self) -> Option<&str> {
        match self {
            DeliveryOutcome::Failed { error } => Some(error),
            _ => None,
        }
    }
}

/// One notification to one contact by one method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRecord {
    /// When it was decided.
    pub time: Time,
    /// The HARD change it is about: the object's
    /// [`ObjectState::last_hard_state_change`] after the result that
    /// decided it. For a problem this equals
    /// [`NotifyState::problem_since`]; unlike that field it is also set for
    /// a recovery. Repeated problem notifications share it.
    pub change_time: Time,
    /// Problem or recovery.
    pub kind: NotificationKind,
    /// The state notified about (OK or CRITICAL for a host's UP or DOWN).
    pub state: State,
    /// The contact's name, `None` when the object has no contacts.
    pub contact: Option<String>,
    /// The method's kind ("log", "webhook", "email"), `None` with no contact.
    pub method: Option<String>,
    /// The output the notification carries, so a resend after a restart
    /// says what the first attempt would have said.
    pub output: String,
    /// Pending, delivered or failed.
    pub outcome: DeliveryOutcome,
    /// Delivery attempts made so far.
    pub attempts: u32,
}

/// A notification that was decided and not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuppressedRecord {
    /// When it was decided.
    pub time: Time,
    /// Problem or recovery.
    pub kind: NotificationKind,
    /// The state it was about (OK or CRITICAL for a host's UP or DOWN).
    pub state: State,
    /// Why it was not sent, as [`SuppressionReason::as_str`] names it.
    pub reason: String,
}

impl SuppressedRecord {
    /// The record of a notification suppressed at `time` for `reason`.
    pub fn new(time: Time, kind: NotificationKind, state: State, reason: SuppressionReason) -> SuppressedRecord {
        SuppressedRecord { time, kind, state, reason: reason.as_str().to_string() }
    }
}

/// A notification's row number: stable for the life of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NotificationId(i64);

impl NotificationId {
    /// The id the engine gave a notification ([`crate::event::NotificationEvent::id`]).
    pub fn new(id: u64) -> NotificationId {
        NotificationId(i64::try_from(id).unwrap_or(i64::MAX))
    }

    /// The row number.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A notification as the store holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredNotification {
    /// Its row number.
    pub id: NotificationId,
    /// Its object.
    pub key: ObjectKey,
    /// The notification.
    pub record: NotificationRecord,
}

/// What can go wrong with the retention file. Every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An SQLite call failed.
    #[error("retention database '{path}': cannot {operation}: {source}")]
    Sqlite {
        /// The file (`:memory:` for an in-memory store).
        path: String,
        /// What the store was doing.
        operation: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The file exists and is not an SQLite database.
    #[error(
        "retention database '{path}' is not an SQLite database (while trying to {operation}); \
         point the retention setting at another file or move this one away"
    )]
    NotADatabase {
        /// The file.
        path: String,
        /// What the store was doing.
        operation: &'static str,
    },
    /// The file is an SQLite database with other tables and no wasmon schema.
    #[error(
        "retention database '{path}' is an SQLite database but not a wasmon one \
         (it has no wasmon_schema table); it was left unchanged"
    )]
    NotWasmon {
        /// The file.
        path: String,
    },
    /// The file was written by a newer wasmon.
    #[error(
        "retention database '{path}' has schema version {found}, newer than version {supported} \
         that this wasmon reads; use a newer wasmon or another file (it was left unchanged)"
    )]
    NewerSchema {
        /// The file.
        path: String,
        /// Its schema version.
        found: i64,
        /// The version this wasmon reads.
        supported: i64,
    },
    /// A row holds something this wasmon cannot read back.
    #[error("retention database '{path}': table {table}: {detail}")]
    Corrupt {
        /// The file.
        path: String,
        /// The table.
        table: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A time too far from the clock's epoch for a 64-bit count of
    /// nanoseconds (past the year 2262).
    #[error("retention database '{path}': cannot {operation}: time {time:?} is out of range")]
    TimeOutOfRange {
        /// The file.
        path: String,
        /// What the store was doing.
        operation: &'static str,
        /// The time.
        time: Time,
    },
}

/// Maps an SQLite error for `path` and `operation`, recognising a file that
/// is not a database.
pub(crate) fn sql_error(path: &str, operation: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| match source.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotADatabase { path: path.to_string(), operation },
        _ => StoreError::Sqlite { path: path.to_string(), operation, source },
    }
}

/// The retention store: one SQLite connection. Dropping it is all the
/// closing it needs; every method commits before it returns.
pub struct Store {
    conn: Connection,
    path: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the retention file at `path`, creating it and its schema if
    /// it does not exist or is empty. Refuses, without changing it, a file
    /// that is not SQLite, an SQLite database that is not wasmon's and one
    /// from a newer schema version.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let shown = path.as_ref().display().to_string();
        let conn = Connection::open(path.as_ref()).map_err(sql_error(&shown, "open"))?;
        Store::init(conn, shown, true)
    }

    /// A store that lives in memory and is gone when dropped, for tests
    /// and simulations.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let shown = ":memory:".to_string();
        let conn = Connection::open_in_memory().map_err(sql_error(&shown, "open"))?;
        Store::init(conn, shown, false)
    }

    fn init(mut conn: Connection, path: String, file: bool) -> Result<Store, StoreError> {
        // Wait for a lock held by someone reading with sqlite3 rather than
        // failing at once.
        conn.busy_timeout(Duration::from_secs(5)).map_err(sql_error(&path, "set the busy timeout"))?;
        schema::prepare(&mut conn, &path)?;
        if file {
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(sql_error(&path, "switch to WAL mode"))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(path = %path, mode = %mode, "retention database is not in WAL mode");
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(sql_error(&path, "set synchronous = NORMAL"))?;
        conn.pragma_update(None, "foreign_keys", true).map_err(sql_error(&path, "enable foreign keys"))?;
        Ok(Store { conn, path })
    }

    /// The file this store writes (`:memory:` for an in-memory one).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Runs `f` in one transaction: everything it writes is committed
    /// together when it returns `Ok`, and nothing when it returns `Err` (or
    /// the process dies first).
    pub fn transaction<T>(&mut self, f: impl FnOnce(&StoreTx<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_error(&self.path, "begin a transaction"))?;
        let store_tx = StoreTx { conn: &tx, path: &self.path };
        let value = f(&store_tx)?;
        tx.commit().map_err(sql_error(&self.path, "commit"))?;
        Ok(value)
    }

    /// Writes everything one processed result changed, atomically: the
    /// object's row, a history entry per state event, and `notifications`
    /// (normally [`DeliveryOutcome::Pending`]). Returns the notifications'
    /// ids, in order. This is step 2 of the order in the module docs.
    pub fn save_result(
        &mut self,
        key: &ObjectKey,
        time: Time,
        transition: &Transition,
        notify: &NotifyState,
        values: &Values,
        notifications: &[NotificationRecord],
    ) -> Result<Vec<NotificationId>, StoreError> {
        self.transaction(|tx| tx.save_result(key, time, transition, notify, values, notifications))
    }

    /// Saves one object's current state, notification bookkeeping and
    /// value store, replacing what was there.
    pub fn save_object(
        &mut self,
        key: &ObjectKey,
        state: &ObjectState,
        notify: &NotifyState,
        values: &Values,
    ) -> Result<(), StoreError> {
        self.transaction(|tx| tx.save_object(key, state, notify, values))
    }

    /// Appends one state change to the object's history.
    pub fn record_state_change(
        &mut self,
        key: &ObjectKey,
        time: Time,
        event: &StateEvent,
        output: &str,
    ) -> Result<(), StoreError> {
        self.transaction(|tx| tx.record_state_change(key, time, event, output))
    }

    /// Records one notification and returns its id.
    pub fn record_notification(
        &mut self,
        key: &ObjectKey,
        record: &NotificationRecord,
    ) -> Result<NotificationId, StoreError> {
        self.transaction(|tx| tx.record_notification(key, record))
    }

    /// Records how a notification's delivery ended (or that it is pending
    /// again) and how many attempts it took.
    pub fn set_notification_outcome(
        &mut self,
        id: NotificationId,
        outcome: &DeliveryOutcome,
        attempts: u32,
    ) -> Result<(), StoreError> {
        self.transaction(|tx| tx.set_notification_outcome(id, outcome, attempts))
    }

    /// Replaces the stored downtimes with `downtimes` and remembers `last_id`
    /// as the highest id given out.
    pub fn save_downtimes(&mut self, downtimes: &[Downtime], last_id: u64) -> Result<(), StoreError> {
        self.transaction(|tx| tx.save_downtimes(downtimes, last_id))
    }

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

    /// Records a suppressed notification of the object.
    pub fn record_suppressed(&mut self, key: &ObjectKey, record: &SuppressedRecord) -> Result<(), StoreError> {
        self.transaction(|tx| tx.record_suppressed(key, record))
    }

    /// The object's last `limit` suppressed notifications, newest first.
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
    /// `change_time` (see [`NotificationRecord::change_time`]) has been
    /// delivered to `contact` by `method` at least once.
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

/// The writes of one [`Store::transaction`].
pub struct StoreTx<'a> {
    conn: &'a Connection,
    path: &'a str,
}

impl StoreTx<'_> {
    /// [`Store::save_result`] inside this transaction.
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

    /// [`Store::save_object`] inside this transaction.
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

    /// [`Store::save_downtimes`] inside this transaction.
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

    /// [`Store::record_suppressed`] inside this transaction.
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

    /// [`Store::record_state_change`] inside this transaction.
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

    /// [`Store::record_notification`] inside this transaction.
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

    /// [`Store::set_notification_outcome`] inside this transaction.
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

/// One `objects` row as SQLite gives it.
struct ObjectRow {
    id: i64,
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
    fn read(r: &Row<'_>) -> rusqlite::Result<ObjectRow> {
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

    fn decode(self, path: &str) -> Result<(ObjectKey, Retained), StoreError> {
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
struct NotificationRow {
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
    fn read(r: &Row<'_>) -> rusqlite::Result<NotificationRow> {
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

    fn decode(self, path: &str) -> Result<StoredNotification, StoreError> {
        let id = self.id;
        let corrupt = |detail: String| StoreError::Corrupt {
            path: path.to_string(),
            table: "notifications",
            detail: format!("id {id}: {detail}"),
        };
        let kind = match self.kind.as_str() {
            "PROBLEM" => NotificationKind::Problem,
            "RECOVERY" => NotificationKind::Recovery,
            other => return Err(corrupt(format!("unknown kind '{other}'"))),
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

fn to_ns(t: Time, path: &str, operation: &'static str) -> Result<i64, StoreError> {
    i64::try_from(t.as_nanos()).map_err(|_| StoreError::TimeOutOfRange { path: path.to_string(), operation, time: t })
}

fn from_ns(ns: i64) -> Result<Time, String> {
    u64::try_from(ns).map(Duration::from_nanos).map_err(|_| format!("negative time {ns}"))
}

fn limit_sql(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn parse_state(s: &str) -> Result<State, String> {
    match s {
        "OK" => Ok(State::Ok),
        "WARNING" => Ok(State::Warning),
        "CRITICAL" => Ok(State::Critical),
        "UNKNOWN" => Ok(State::Unknown),
        other => Err(format!("unknown state '{other}'")),
    }
}

fn state_type_str(t: StateType) -> &'static str {
    match t {
        StateType::Soft => "SOFT",
        StateType::Hard => "HARD",
    }
}

fn parse_state_type(s: &str) -> Result<StateType, String> {
    match s {
        "SOFT" => Ok(StateType::Soft),
        "HARD" => Ok(StateType::Hard),
        other => Err(format!("unknown state type '{other}'")),
    }
}

fn parse_kind(s: &str) -> Result<NotificationKind, String> {
    match s {
        "PROBLEM" => Ok(NotificationKind::Problem),
        "RECOVERY" => Ok(NotificationKind::Recovery),
        other => Err(format!("unknown kind '{other}'")),
    }
}

fn kind_str(k: NotificationKind) -> &'static str {
    match k {
        NotificationKind::Problem => "PROBLEM",
        NotificationKind::Recovery => "RECOVERY",
    }
}

#[cfg(test)]
mod tests;

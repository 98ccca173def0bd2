//! Retention: the current state of every host and service, the value
//! store of every check, the history of state changes and the
//! notifications, in one SQLite file that `sqlite3` can read (schema in
//! [`SCHEMA`](schema::SCHEMA)).
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

mod codec;
mod dependency;
mod metrics;
mod prune;
mod read;
mod records;
mod removed;
mod schema;
mod write;
pub(crate) mod writer;

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

pub use self::metrics::{MetricSeries, SAMPLE_SPACING, SAMPLES_KEPT};
pub use self::prune::HistoryLimits;
pub use self::records::{
    DeliveryOutcome, HistoryEntry, NotificationId, NotificationRecord, ObjectKey, Retained, StoreError,
    StoredNotification, SuppressedRecord,
};
#[cfg(test)]
pub(crate) use self::schema::{APPLICATION_ID, SCHEMA, SCHEMA_VERSION};
pub use self::write::StoreTx;
#[cfg(test)]
use crate::sandbox::values::Values;
#[cfg(test)]
use crate::state::{Downtime, NotifyState, ObjectState, StateEvent, Time, Transition};

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
    #[cfg(test)]
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
    #[cfg(test)]
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
    #[cfg(test)]
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
    #[cfg(test)]
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
    #[cfg(test)]
    pub fn record_notification(
        &mut self,
        key: &ObjectKey,
        record: &NotificationRecord,
    ) -> Result<NotificationId, StoreError> {
        self.transaction(|tx| tx.record_notification(key, record))
    }

    /// Records how a notification's delivery ended (or that it is pending
    /// again) and how many attempts it took.
    #[cfg(test)]
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
    #[cfg(test)]
    pub fn save_downtimes(&mut self, downtimes: &[Downtime], last_id: u64) -> Result<(), StoreError> {
        self.transaction(|tx| tx.save_downtimes(downtimes, last_id))
    }

    /// Records a suppressed notification of the object.
    #[cfg(test)]
    pub fn record_suppressed(&mut self, key: &ObjectKey, record: &SuppressedRecord) -> Result<(), StoreError> {
        self.transaction(|tx| tx.record_suppressed(key, record))
    }
}

#[cfg(test)]
mod tests;

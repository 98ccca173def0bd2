//! What the store keeps and gives back: objects' keys and state, history
//! entries, notification records, and its errors.

use serde::{Deserialize, Serialize};

use crate::outcome::State;
use crate::sandbox::values::Values;
use crate::state::{NotificationKind, NotifyState, ObjectState, StateEvent, SuppressionReason, Time};

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

pub use crate::notify::DeliveryOutcome;

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
pub struct NotificationId(pub(super) i64);

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

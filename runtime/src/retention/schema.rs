//! The retention database's schema, and opening a file safely: a file that
//! is not SQLite, a SQLite database that is not wasmon's, or one written by
//! a newer wasmon is refused before anything in it is changed.

use rusqlite::{Connection, OptionalExtension};

use super::{StoreError, sql_error};

/// The schema version this wasmon writes and reads: [`SCHEMA`] is version
/// 1, and each of [`MIGRATIONS`] takes it one version further.
pub const SCHEMA_VERSION: i64 = 1 + MIGRATIONS.len() as i64;

/// The changes since version 1, in order: `MIGRATIONS[i]` takes a
/// database from version `i + 1` to `i + 2`. A new database gets
/// [`SCHEMA`] and then all of them; an older one gets those it lacks, in one
/// transaction, when it is opened. Add a step at the end; never edit one
/// that has been released.
pub const MIGRATIONS: &[&str] = &[
    // 1 -> 2: dependency failures and the states saved to restore.
    super::dependency::MIGRATION,
    // 2 -> 3: flapping, acknowledgements, downtime, suppressed notifications.
    "
ALTER TABLE objects ADD COLUMN flapping TEXT;         -- JSON FlapState (history, flapping, percent), NULL: none
ALTER TABLE objects ADD COLUMN acknowledgement TEXT;  -- JSON AckState (author, comment, sticky, time), NULL: none

-- Scheduled downtime, pending (started IS NULL) or in effect; a row goes
-- when its downtime ends or is cancelled.
CREATE TABLE downtimes (
    id            INTEGER PRIMARY KEY,
    host          TEXT    NOT NULL,
    service       TEXT,
    with_services INTEGER NOT NULL CHECK (with_services IN (0, 1)),
    start         INTEGER NOT NULL,  -- ns since the clock's epoch
    end_time      INTEGER NOT NULL,
    flexible      INTEGER,           -- duration in ns; NULL: fixed
    author        TEXT    NOT NULL,
    comment       TEXT    NOT NULL,
    started       INTEGER
);
-- Ids are never reused, also after the newest downtime ended.
CREATE TABLE downtime_ids (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);

-- Every notification decided and not sent, with why.
CREATE TABLE suppressed_notifications (
    id      INTEGER PRIMARY KEY,
    host    TEXT    NOT NULL,
    service TEXT,
    time    INTEGER NOT NULL,
    kind    TEXT    NOT NULL CHECK (kind IN ('PROBLEM', 'RECOVERY')),
    state   TEXT    NOT NULL,
    reason  TEXT    NOT NULL  -- downtime, flapping, acknowledged (and later reasons)
);
CREATE INDEX suppressed_notifications_object ON suppressed_notifications (host, service, id);
",
    // 3 -> 4: objects the configuration no longer has, and since when.
    super::removed::MIGRATION,
    // 4 -> 5: every notification type Nagios has. SQLite cannot change a
    // CHECK: both tables are made again with the rows they hold.
    "
CREATE TABLE notifications_4 (
    id          INTEGER PRIMARY KEY,
    host        TEXT    NOT NULL,
    service     TEXT,
    time        INTEGER NOT NULL,
    change_time INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('PROBLEM', 'RECOVERY', 'ACKNOWLEDGEMENT', 'FLAPPINGSTART',
                        'FLAPPINGSTOP', 'DOWNTIMESTART', 'DOWNTIMEEND', 'DOWNTIMECANCELLED', 'CUSTOM')),
    state       TEXT    NOT NULL,
    contact     TEXT,
    method      TEXT,
    output      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('pending', 'delivered', 'failed')),
    error       TEXT,
    attempts    INTEGER NOT NULL
);
INSERT INTO notifications_4 SELECT id, host, service, time, change_time, kind, state, contact, method, output,
    outcome, error, attempts FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_4 RENAME TO notifications;
CREATE INDEX notifications_object ON notifications (host, service, change_time);
CREATE INDEX notifications_pending ON notifications (id) WHERE outcome = 'pending';

CREATE TABLE suppressed_notifications_4 (
    id      INTEGER PRIMARY KEY,
    host    TEXT    NOT NULL,
    service TEXT,
    time    INTEGER NOT NULL,
    kind    TEXT    NOT NULL CHECK (kind IN ('PROBLEM', 'RECOVERY', 'ACKNOWLEDGEMENT', 'FLAPPINGSTART',
                    'FLAPPINGSTOP', 'DOWNTIMESTART', 'DOWNTIMEEND', 'DOWNTIMECANCELLED', 'CUSTOM')),
    state   TEXT    NOT NULL,
    reason  TEXT    NOT NULL  -- downtime, flapping, acknowledged, notification_period
);
INSERT INTO suppressed_notifications_4 SELECT id, host, service, time, kind, state, reason
    FROM suppressed_notifications;
DROP TABLE suppressed_notifications;
ALTER TABLE suppressed_notifications_4 RENAME TO suppressed_notifications;
CREATE INDEX suppressed_notifications_object ON suppressed_notifications (host, service, id);
",
    // 5 -> 6: metric history for the status page's graphs.
    super::metrics::MIGRATION,
];

/// `PRAGMA application_id` of a wasmon database ("wsmn"), so `file(1)` and
/// other tools can tell it apart from other SQLite files.
pub const APPLICATION_ID: i32 = 0x7773_6d6e;

/// The schema, version 1. Times are INTEGER nanoseconds since the clock's
/// epoch (the UNIX epoch for the real clock, the start of a simulation for
/// the simulated one): exact, so a stored time compares equal to the one
/// the engine holds. `datetime(t / 1000000000, 'unixepoch')` shows them.
pub const SCHEMA: &str = "
CREATE TABLE wasmon_schema (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    application TEXT    NOT NULL CHECK (application = 'wasmon'),
    version     INTEGER NOT NULL
);

-- Current state: one row per host (service IS NULL) or service.
CREATE TABLE objects (
    id                     INTEGER PRIMARY KEY,
    host                   TEXT    NOT NULL,
    service                TEXT,
    state                  TEXT    NOT NULL,  -- OK WARNING CRITICAL UNKNOWN (a host's UP is OK, DOWN is CRITICAL)
    state_type             TEXT    NOT NULL CHECK (state_type IN ('SOFT', 'HARD')),
    attempt                INTEGER NOT NULL,
    last_hard_state        TEXT    NOT NULL,
    last_check             INTEGER,           -- ns since the clock's epoch
    last_state_change      INTEGER,
    last_hard_state_change INTEGER,
    output                 TEXT    NOT NULL,
    long_output            TEXT,
    perfdata               TEXT    NOT NULL,  -- JSON array of metrics
    problem_since          INTEGER,           -- notification bookkeeping (NotifyState)
    problem_notified       INTEGER NOT NULL CHECK (problem_notified IN (0, 1)),
    last_notification      INTEGER
);
-- x'' (a BLOB) never equals a TEXT service name, so a host object cannot
-- collide with a service of any name.
CREATE UNIQUE INDEX objects_key ON objects (host, coalesce(service, x''));

-- The value store of every check.
CREATE TABLE object_values (
    object_id INTEGER NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    key       TEXT    NOT NULL,
    value     BLOB    NOT NULL,
    PRIMARY KEY (object_id, key)
) WITHOUT ROWID;

-- Every state change, SOFT and HARD, in the order it happened.
CREATE TABLE state_history (
    id         INTEGER PRIMARY KEY,
    host       TEXT    NOT NULL,
    service    TEXT,
    time       INTEGER NOT NULL,
    event      TEXT    NOT NULL CHECK (event IN ('state_change', 'hard_state_change')),
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL,
    state_type TEXT    NOT NULL CHECK (state_type IN ('SOFT', 'HARD')),
    output     TEXT    NOT NULL
);
CREATE INDEX state_history_object ON state_history (host, service, id);

-- Every notification decided, one row per contact and method: written
-- 'pending' with the state that decided it, then 'delivered' or 'failed'.
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    host        TEXT    NOT NULL,
    service     TEXT,
    time        INTEGER NOT NULL,  -- when it was decided
    change_time INTEGER NOT NULL,  -- last_hard_state_change of the HARD change it is about
    kind        TEXT    NOT NULL CHECK (kind IN ('PROBLEM', 'RECOVERY')),
    state       TEXT    NOT NULL,
    contact     TEXT,
    method      TEXT,
    output      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('pending', 'delivered', 'failed')),
    error       TEXT,
    attempts    INTEGER NOT NULL
);
CREATE INDEX notifications_object ON notifications (host, service, change_time);
CREATE INDEX notifications_pending ON notifications (id) WHERE outcome = 'pending';

-- For people at the sqlite3 prompt: times in seconds.
CREATE VIEW object_status AS
SELECT host, service, state, state_type, attempt,
       last_check / 1e9 AS last_check_s,
       last_state_change / 1e9 AS last_state_change_s,
       last_hard_state_change / 1e9 AS last_hard_state_change_s,
       output
FROM objects;
";

/// Checks what the file holds and creates the schema in an empty one.
/// Nothing is written unless the file is empty or already wasmon's at
/// [`SCHEMA_VERSION`].
pub(super) fn prepare(conn: &mut Connection, path: &str) -> Result<(), StoreError> {
    // Reading the catalogue is the first access to the file: a file that is
    // not SQLite fails here, before any pragma could change it.
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(sql_error(path, "read the table list"))?;
    if tables == 0 {
        return create(conn, path);
    }
    let has_version_table: bool = conn
        .query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'wasmon_schema'", [], |r| {
            r.get::<_, i64>(0).map(|n| n > 0)
        })
        .map_err(sql_error(path, "read the table list"))?;
    if !has_version_table {
        return Err(StoreError::NotWasmon { path: path.to_string() });
    }
    let version: Option<(String, i64)> = conn
        .query_row("SELECT application, version FROM wasmon_schema WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(sql_error(path, "read the schema version"))?;
    match version {
        Some((app, v)) if app == "wasmon" && v == SCHEMA_VERSION => Ok(()),
        Some((app, v)) if app == "wasmon" && (1..SCHEMA_VERSION).contains(&v) => migrate(conn, path, v),
        Some((app, v)) if app == "wasmon" && v > SCHEMA_VERSION => {
            Err(StoreError::NewerSchema { path: path.to_string(), found: v, supported: SCHEMA_VERSION })
        }
        Some((app, v)) if app == "wasmon" => Err(StoreError::Corrupt {
            path: path.to_string(),
            table: "wasmon_schema",
            detail: format!("schema version {v} is not one this wasmon can read (it reads 1 to {SCHEMA_VERSION})"),
        }),
        _ => Err(StoreError::NotWasmon { path: path.to_string() }),
    }
}

fn create(conn: &mut Connection, path: &str) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql_error(path, "create the schema"))?;
    // Another process may have created it between our look and our lock.
    let tables: i64 = tx
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(sql_error(path, "read the table list"))?;
    if tables != 0 {
        drop(tx);
        return prepare(conn, path);
    }
    tx.execute_batch(SCHEMA).map_err(sql_error(path, "create the schema"))?;
    for step in MIGRATIONS {
        tx.execute_batch(step).map_err(sql_error(path, "create the schema"))?;
    }
    tx.execute("INSERT INTO wasmon_schema (id, application, version) VALUES (1, 'wasmon', ?1)", [SCHEMA_VERSION])
        .map_err(sql_error(path, "create the schema"))?;
    tx.pragma_update(None, "application_id", APPLICATION_ID).map_err(sql_error(path, "create the schema"))?;
    tx.commit().map_err(sql_error(path, "create the schema"))
}

/// Brings a database at version `from` (older than [`SCHEMA_VERSION`]) up
/// to date, in one transaction: a failure leaves it as it was.
fn migrate(conn: &mut Connection, path: &str, from: i64) -> Result<(), StoreError> {
    const OP: &str = "upgrade the schema";
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sql_error(path, OP))?;
    // Another process may have upgraded it between our look and our lock.
    let now: i64 = tx
        .query_row("SELECT version FROM wasmon_schema WHERE id = 1", [], |r| r.get(0))
        .map_err(sql_error(path, OP))?;
    if now != from {
        drop(tx);
        return prepare(conn, path);
    }
    for step in &MIGRATIONS[(from - 1) as usize..] {
        tx.execute_batch(step).map_err(sql_error(path, OP))?;
    }
    tx.execute("UPDATE wasmon_schema SET version = ?1 WHERE id = 1", [SCHEMA_VERSION]).map_err(sql_error(path, OP))?;
    tx.commit().map_err(sql_error(path, OP))?;
    tracing::info!(path, from, to = SCHEMA_VERSION, "upgraded the retention database's schema");
    Ok(())
}

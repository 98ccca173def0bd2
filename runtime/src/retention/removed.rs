//! Objects the configuration no longer has: their rows stay for
//! `[engine] keep_removed` (a configuration put back within that time
//! finds them), then go. A table of its own (schema version 4) records
//! since when each has been gone.

use std::collections::HashSet;
use std::time::Duration;

use rusqlite::params;

use super::codec::to_ns;
use super::{ObjectKey, StoreError, StoreTx, sql_error};
use crate::state::Time;

/// The schema step that adds the table (a [`super::schema::MIGRATIONS`] entry).
pub(super) const MIGRATION: &str = "
-- Objects with rows here that the configuration no longer has, and since
-- when (ns); their rows go [engine] keep_removed after that.
CREATE TABLE removed_objects (
    host    TEXT    NOT NULL,
    service TEXT,
    since   INTEGER NOT NULL
);
CREATE UNIQUE INDEX removed_objects_key ON removed_objects (host, coalesce(service, x''));
";

impl StoreTx<'_> {
    /// At a start: every object with rows that is not in `configured` is
    /// removed since `now` unless it already was; every configured one is
    /// not removed.
    pub fn mark_configured(&self, configured: &HashSet<ObjectKey>, now: Time) -> Result<(), StoreError> {
        const OP: &str = "record removed objects";
        let p = self.path;
        let rows: Vec<ObjectKey> = self
            .conn
            .prepare("SELECT host, service FROM objects")
            .and_then(|mut s| {
                s.query_map([], |r| Ok(ObjectKey { host: r.get(0)?, service: r.get(1)? }))?.collect::<Result<_, _>>()
            })
            .map_err(sql_error(p, OP))?;
        let (gone, kept): (Vec<ObjectKey>, Vec<ObjectKey>) = rows.into_iter().partition(|k| !configured.contains(k));
        self.mark_removed(&gone, &kept, now)
    }

    /// A configuration reload: `removed` are gone since `now` (if they have
    /// rows), `added` are back.
    pub fn mark_removed(&self, removed: &[ObjectKey], added: &[ObjectKey], now: Time) -> Result<(), StoreError> {
        const OP: &str = "record removed objects";
        let p = self.path;
        let since = to_ns(now, p, OP)?;
        for k in removed {
            self.conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO removed_objects (host, service, since) \
                     SELECT host, service, ?3 FROM objects WHERE host = ?1 AND coalesce(service, x'') = coalesce(?2, x'')",
                )
                .and_then(|mut s| s.execute(params![k.host, k.service, since]))
                .map_err(sql_error(p, OP))?;
        }
        for k in added {
            self.conn
                .prepare_cached(
                    "DELETE FROM removed_objects WHERE host = ?1 AND coalesce(service, x'') = coalesce(?2, x'')",
                )
                .and_then(|mut s| s.execute(params![k.host, k.service]))
                .map_err(sql_error(p, OP))?;
        }
        Ok(())
    }

    /// Deletes the rows (state, value store, dependency failure) of objects
    /// removed `keep` or longer before `now`; their history and
    /// notifications stay. Returns how many objects went.
    pub fn prune_removed(&self, now: Time, keep: Duration) -> Result<usize, StoreError> {
        const OP: &str = "prune removed objects";
        let p = self.path;
        let cutoff = to_ns(now.saturating_sub(keep), p, OP)?;
        let keys: Vec<ObjectKey> = self
            .conn
            .prepare_cached("SELECT host, service FROM removed_objects WHERE since <= ?1")
            .and_then(|mut s| {
                s.query_map([cutoff], |r| Ok(ObjectKey { host: r.get(0)?, service: r.get(1)? }))?
                    .collect::<Result<_, _>>()
            })
            .map_err(sql_error(p, OP))?;
        for k in &keys {
            for sql in [
                "DELETE FROM objects WHERE host = ?1 AND coalesce(service, x'') = coalesce(?2, x'')",
                "DELETE FROM object_dependency WHERE host = ?1 AND coalesce(service, x'') = coalesce(?2, x'')",
                "DELETE FROM metric_samples WHERE host = ?1 AND service IS ?2",
                "DELETE FROM removed_objects WHERE host = ?1 AND coalesce(service, x'') = coalesce(?2, x'')",
            ] {
                self.conn
                    .prepare_cached(sql)
                    .and_then(|mut s| s.execute(params![k.host, k.service]))
                    .map_err(sql_error(p, OP))?;
            }
        }
        Ok(keys.len())
    }
}

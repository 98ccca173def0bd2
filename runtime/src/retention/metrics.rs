//! Metric history: a few hours of each metric of each object, so the
//! status page draws graphs without a time-series database. The retention
//! writer keeps at most one sample per object every [`SAMPLE_SPACING`]
//! and at most [`SAMPLES_KEPT`] per metric, pruning the oldest as it
//! writes.

use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};

use super::codec::{from_ns, to_ns};
use super::{ObjectKey, Store, StoreError, sql_error};
use crate::outcome::Metric;
use crate::state::Time;

/// The schema step that adds the table (a [`super::schema::MIGRATIONS`] entry).
pub(crate) const MIGRATION: &str = "
-- Metric history for graphs: one row per metric per sample, the newest
-- SAMPLES_KEPT of each metric kept.
CREATE TABLE metric_samples (
    host    TEXT    NOT NULL,
    service TEXT,
    label   TEXT    NOT NULL,
    time    INTEGER NOT NULL,  -- ns since the clock's epoch
    value   REAL    NOT NULL,
    uom     TEXT    NOT NULL
);
CREATE INDEX metric_samples_metric ON metric_samples (host, service, label, time);
";

/// At most one sample of an object's metrics this often.
pub const SAMPLE_SPACING: Duration = Duration::from_secs(30);

/// At most this many samples of one metric (6 hours at [`SAMPLE_SPACING`]).
pub const SAMPLES_KEPT: usize = 720;

/// The samples of one metric, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricSeries {
    /// The metric's label.
    pub label: String,
    /// Its unit, as the last sample had it.
    pub uom: String,
    /// (time, value), oldest first.
    pub points: Vec<(Time, f64)>,
}

impl super::StoreTx<'_> {
    /// Records one sample of each of `metrics` (those with a finite value)
    /// and deletes the samples of each beyond the newest `kept`, and the
    /// object's samples older than `2 * kept` sample spacings.
    pub fn save_samples(&self, key: &ObjectKey, time: Time, metrics: &[Metric], kept: usize) -> Result<(), StoreError> {
        const OP: &str = "record metric samples";
        let p = self.path;
        let mut insert = self
            .conn
            .prepare_cached(
                "INSERT INTO metric_samples (host, service, label, time, value, uom) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(sql_error(p, OP))?;
        let mut prune = self
            .conn
            .prepare_cached(
                "DELETE FROM metric_samples WHERE host = ?1 AND service IS ?2 AND label = ?3 AND time <= \
                 (SELECT time FROM metric_samples WHERE host = ?1 AND service IS ?2 AND label = ?3 \
                  ORDER BY time DESC LIMIT 1 OFFSET ?4)",
            )
            .map_err(sql_error(p, OP))?;
        // Metrics the object no longer reports (a label that changes every
        // run) go once they are older than the graphs reach.
        let mut expire = self
            .conn
            .prepare_cached("DELETE FROM metric_samples WHERE host = ?1 AND service IS ?2 AND time < ?3")
            .map_err(sql_error(p, OP))?;
        let t = to_ns(time, p, OP)?;
        let oldest = to_ns(
            time.saturating_sub(SAMPLE_SPACING * u32::try_from(kept.saturating_mul(2)).unwrap_or(u32::MAX)),
            p,
            OP,
        )?;
        expire.execute(params![key.host, key.service, oldest]).map_err(sql_error(p, OP))?;
        for m in metrics.iter().filter(|m| m.value.is_finite()) {
            insert.execute(params![key.host, key.service, m.label, t, m.value, m.uom]).map_err(sql_error(p, OP))?;
            prune
                .execute(params![key.host, key.service, m.label, i64::try_from(kept).unwrap_or(i64::MAX)])
                .map_err(sql_error(p, OP))?;
        }
        Ok(())
    }
}

impl Store {
    /// Opens the retention file at `path` to read only, while a running
    /// monitor writes it (WAL mode lets both work at once). The file must
    /// exist and be a wasmon database.
    pub fn open_read_only(path: impl AsRef<std::path::Path>) -> Result<Store, StoreError> {
        let shown = path.as_ref().display().to_string();
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path.as_ref(), flags).map_err(sql_error(&shown, "open"))?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(sql_error(&shown, "set the busy timeout"))?;
        Ok(Store { conn, path: shown })
    }

    /// Every metric of the object with its samples since `since`, oldest
    /// first, metrics by label.
    pub fn metric_history(&self, key: &ObjectKey, since: Time) -> Result<Vec<MetricSeries>, StoreError> {
        const OP: &str = "read the metric history";
        let p = self.path.as_str();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT label, time, value, uom FROM metric_samples \
                 WHERE host = ?1 AND service IS ?2 AND time >= ?3 ORDER BY label, time",
            )
            .map_err(sql_error(p, OP))?;
        let rows = stmt
            .query_map(params![key.host, key.service, to_ns(since, p, OP)?], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, f64>(2)?, r.get::<_, String>(3)?))
            })
            .map_err(sql_error(p, OP))?;
        let mut out: Vec<MetricSeries> = Vec::new();
        for row in rows {
            let (label, time, value, uom) = row.map_err(sql_error(p, OP))?;
            let time = from_ns(time).map_err(|detail| StoreError::Corrupt {
                path: p.to_string(),
                table: "metric_samples",
                detail,
            })?;
            match out.last_mut() {
                Some(s) if s.label == label => {
                    s.points.push((time, value));
                    s.uom = uom;
                }
                _ => out.push(MetricSeries { label, uom, points: vec![(time, value)] }),
            }
        }
        Ok(out)
    }
}

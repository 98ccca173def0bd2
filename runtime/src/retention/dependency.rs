//! Retention of dependency failures (seed 002): which objects are in one,
//! their cause and output, and the state saved to restore on recovery. A
//! table of its own (schema version 2), beside `objects`.

use std::collections::HashMap;

use rusqlite::params;

use super::{ObjectKey, Store, StoreError, StoreTx, sql_error};
use crate::state::dependency::DependencyFailure;

/// The schema step that adds the table (a [`super::schema::MIGRATIONS`] entry).
pub(super) const MIGRATION: &str = "
-- Objects in dependency failure: the highest failed parent, the imposed
-- output, and the state saved when the failure began (JSON, NULL once a
-- passive result overwrote it).
CREATE TABLE object_dependency (
    host          TEXT NOT NULL,
    service       TEXT,
    cause_host    TEXT NOT NULL,
    cause_service TEXT,
    output        TEXT NOT NULL,
    saved         TEXT
);
CREATE UNIQUE INDEX object_dependency_key ON object_dependency (host, coalesce(service, x''));
";

impl StoreTx<'_> {
    /// Records object `key`'s dependency failure, or (`None`) that it is in none.
    pub fn save_dependency(&self, key: &ObjectKey, failure: Option<&DependencyFailure>) -> Result<(), StoreError> {
        const OP: &str = "save a dependency failure";
        let p = self.path;
        let Some(f) = failure else {
            self.conn
                .prepare_cached(
                    "DELETE FROM object_dependency WHERE host = ?1 AND coalesce(service, x'') = coalesce(?2, x'')",
                )
                .and_then(|mut s| s.execute(params![key.host, key.service]))
                .map_err(sql_error(p, OP))?;
            return Ok(());
        };
        let saved = f.saved.as_ref().map(serde_json::to_string).transpose().map_err(|e| StoreError::Corrupt {
            path: p.to_string(),
            table: "object_dependency",
            detail: format!("cannot encode the saved state of {key:?}: {e}"),
        })?;
        self.conn
            .prepare_cached(
                "INSERT INTO object_dependency (host, service, cause_host, cause_service, output, saved) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (host, coalesce(service, x'')) DO UPDATE SET cause_host = excluded.cause_host, \
                 cause_service = excluded.cause_service, output = excluded.output, saved = excluded.saved",
            )
            .and_then(|mut s| s.execute(params![key.host, key.service, f.cause.0, f.cause.1, f.output, saved]))
            .map_err(sql_error(p, OP))?;
        Ok(())
    }
}

impl Store {
    /// [`StoreTx::save_dependency`] in a transaction of its own.
    #[cfg(test)]
    pub fn save_dependency(&mut self, key: &ObjectKey, failure: Option<&DependencyFailure>) -> Result<(), StoreError> {
        self.transaction(|tx| tx.save_dependency(key, failure))
    }

    /// Every object in dependency failure.
    pub fn load_dependencies(&self) -> Result<HashMap<ObjectKey, DependencyFailure>, StoreError> {
        const OP: &str = "load the dependency failures";
        let p = self.path.as_str();
        let mut stmt = self
            .conn
            .prepare("SELECT host, service, cause_host, cause_service, output, saved FROM object_dependency")
            .map_err(sql_error(p, OP))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    ObjectKey { host: r.get(0)?, service: r.get(1)? },
                    (r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?),
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .map_err(sql_error(p, OP))?;
        let mut out = HashMap::new();
        for row in rows {
            let (key, cause, output, saved) = row.map_err(sql_error(p, OP))?;
            let saved = saved.map(|s| serde_json::from_str(&s)).transpose().map_err(|e| StoreError::Corrupt {
                path: p.to_string(),
                table: "object_dependency",
                detail: format!("{key:?}: saved state: {e}"),
            })?;
            out.insert(key, DependencyFailure { cause, output, saved });
        }
        Ok(out)
    }
}

//! A sink's spool: the encoded points that could not be sent yet, oldest
//! first, capped.
//!
//! With a retention file the spool is the SQLite file beside it
//! (`<state_file>.spool`, table `sink_spool`, one row per point with the
//! sink's name and the point as the format encodes it), committed before
//! the points count as spooled, so it survives a restart and a `kill -9`.
//! Without one it is a queue in memory with the same cap. Beyond the cap
//! the oldest points are deleted, counted and logged.

use std::collections::VecDeque;
use std::path::Path;

use rusqlite::{Connection, params};

/// One point as its format encoded it, with its place in the spool.
pub(crate) type Record = Vec<u8>;

pub(crate) enum Spool {
    File { conn: Connection, sink: String, len: usize },
    Memory { items: VecDeque<Record> },
}

impl Spool {
    /// The spool of `sink` in `file`, or in memory.
    pub(crate) fn open(file: Option<&Path>, sink: &str) -> rusqlite::Result<Spool> {
        let Some(file) = file else { return Ok(Spool::Memory { items: VecDeque::new() }) };
        let conn = Connection::open(file)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS sink_spool (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                sink TEXT NOT NULL,
                record BLOB NOT NULL
            );
            CREATE INDEX IF NOT EXISTS sink_spool_by_sink ON sink_spool (sink, id);",
        )?;
        let len: i64 = conn.query_row("SELECT count(*) FROM sink_spool WHERE sink = ?1", [sink], |r| r.get(0))?;
        Ok(Spool::File { conn, sink: sink.to_string(), len: len as usize })
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Spool::File { len, .. } => *len,
            Spool::Memory { items } => items.len(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `records` in order, then deletes the oldest beyond `cap`;
    /// returns how many were deleted.
    pub(crate) fn push(&mut self, records: impl IntoIterator<Item = Record>, cap: usize) -> rusqlite::Result<usize> {
        match self {
            Spool::Memory { items } => {
                items.extend(records);
                let over = items.len().saturating_sub(cap);
                items.drain(..over);
                Ok(over)
            }
            Spool::File { conn, sink, len } => {
                let tx = conn.transaction()?;
                {
                    let mut insert = tx.prepare_cached("INSERT INTO sink_spool (sink, record) VALUES (?1, ?2)")?;
                    for r in records {
                        insert.execute(params![sink.as_str(), r])?;
                        *len += 1;
                    }
                }
                let over = len.saturating_sub(cap);
                if over > 0 {
                    tx.execute(
                        "DELETE FROM sink_spool WHERE id IN
                         (SELECT id FROM sink_spool WHERE sink = ?1 ORDER BY id LIMIT ?2)",
                        params![sink.as_str(), over as i64],
                    )?;
                    *len -= over;
                }
                tx.commit()?;
                Ok(over)
            }
        }
    }

    /// The oldest `n` records (fewer if there are fewer).
    pub(crate) fn peek(&mut self, n: usize) -> rusqlite::Result<Vec<Record>> {
        match self {
            Spool::Memory { items } => Ok(items.iter().take(n).cloned().collect()),
            Spool::File { conn, sink, .. } => {
                let mut q =
                    conn.prepare_cached("SELECT record FROM sink_spool WHERE sink = ?1 ORDER BY id LIMIT ?2")?;
                let rows = q.query_map(params![sink.as_str(), n as i64], |r| r.get::<_, Vec<u8>>(0))?;
                rows.collect()
            }
        }
    }

    /// Removes the oldest `n` records (the ones [`Spool::peek`] gave).
    pub(crate) fn pop(&mut self, n: usize) -> rusqlite::Result<()> {
        match self {
            Spool::Memory { items } => {
                items.drain(..n.min(items.len()));
                Ok(())
            }
            Spool::File { conn, sink, len } => {
                conn.execute(
                    "DELETE FROM sink_spool WHERE id IN
                     (SELECT id FROM sink_spool WHERE sink = ?1 ORDER BY id LIMIT ?2)",
                    params![sink.as_str(), n as i64],
                )?;
                *len = len.saturating_sub(n);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(mut s: Spool) {
        let r = |i: u8| vec![i];
        assert_eq!(s.push((0..5).map(r), 4).unwrap(), 1);
        assert_eq!(s.len(), 4);
        assert_eq!(s.peek(2).unwrap(), vec![r(1), r(2)]);
        s.pop(2).unwrap();
        assert_eq!(s.push([r(5)], 4).unwrap(), 0);
        assert_eq!(s.peek(10).unwrap(), vec![r(3), r(4), r(5)]);
    }

    #[test]
    fn keeps_order_and_drops_the_oldest_beyond_its_cap() {
        roundtrip(Spool::open(None, "a").unwrap());
        let dir = std::env::temp_dir().join(format!("wasmon-spool-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("w.db.spool");
        let _ = std::fs::remove_file(&file);
        roundtrip(Spool::open(Some(&file), "a").unwrap());
        // Another sink's rows are its own; a reopened spool has its rows.
        let mut b = Spool::open(Some(&file), "b").unwrap();
        assert!(b.is_empty());
        b.push([vec![9]], 10).unwrap();
        let mut a = Spool::open(Some(&file), "a").unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a.peek(1).unwrap(), vec![vec![3]]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! Pruning the state-change history (issue 16): by age and by size, so a
//! stream of large results cannot grow the retention file without bound.

use std::time::Duration;

use rusqlite::params;

use super::codec::to_ns;
use super::{Store, StoreError, sql_error};
use crate::state::Time;

/// How much state-change history retention keeps (`[engine]
/// history_max_age` and `history_max_size`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryLimits {
    /// Entries older than this are deleted. Default 31 days.
    pub max_age: Duration,
    /// The history's size at most, in bytes (its text plus a fixed
    /// overhead per entry); the oldest entries go first. Default 256 MiB.
    pub max_size: u64,
}

impl Default for HistoryLimits {
    fn default() -> HistoryLimits {
        HistoryLimits { max_age: Duration::from_secs(31 * 86_400), max_size: 256 << 20 }
    }
}

/// What one history entry costs beyond its text, in bytes (the row's other
/// columns and the index entry).
pub const ENTRY_OVERHEAD: u64 = 100;

impl Store {
    /// Deletes the history entries older than `now - limits.max_age`, then
    /// the oldest ones over `limits.max_size`. Returns how many went.
    pub fn prune_history(&mut self, now: Time, limits: HistoryLimits) -> Result<usize, StoreError> {
        const OP: &str = "prune the history";
        let p = self.path.clone();
        let cutoff = to_ns(now.saturating_sub(limits.max_age), &p, OP)?;
        let max_size = i64::try_from(limits.max_size).unwrap_or(i64::MAX);
        let overhead = ENTRY_OVERHEAD as i64;
        self.transaction(|tx| {
            let by_age = tx
                .conn
                .execute("DELETE FROM state_history WHERE time < ?1", params![cutoff])
                .map_err(sql_error(&p, OP))?;
            // The newest entry whose running total (newest first) passes
            // the limit, and everything older, go.
            let by_size = tx
                .conn
                .execute(
                    "DELETE FROM state_history WHERE id <= (SELECT id FROM (SELECT id, \
                     SUM(length(CAST(output AS BLOB)) + length(host) + ?2) OVER (ORDER BY id DESC) AS total \
                     FROM state_history) WHERE total > ?1 ORDER BY id DESC LIMIT 1)",
                    params![max_size, overhead],
                )
                .map_err(sql_error(&p, OP))?;
            Ok(by_age + by_size)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::State;
    use crate::retention::ObjectKey;
    use crate::state::StateEvent;

    #[test]
    fn history_is_pruned_by_age_and_by_size() {
        let mut store = Store::open_in_memory().unwrap();
        let key = ObjectKey { host: "web1".into(), service: Some("HTTP".into()) };
        let change = StateEvent::HardStateChange { from: State::Ok, to: State::Critical };
        let text = "x".repeat(1000);
        store
            .transaction(|tx| {
                for minute in 0..100u64 {
                    tx.record_state_change(&key, Duration::from_secs(minute * 60), &change, &text)?;
                }
                Ok(())
            })
            .unwrap();
        let count = |s: &Store| s.history(&key, 1000).unwrap().len();
        let limits = HistoryLimits { max_age: Duration::from_secs(30 * 60), max_size: u64::MAX };
        // Now is minute 99: minutes 69 to 99 stay.
        assert_eq!(store.prune_history(Duration::from_secs(99 * 60), limits).unwrap(), 69);
        assert_eq!(count(&store), 31);
        // Ten entries' worth of bytes: the newest ten stay.
        let entry = 1000 + "web1".len() as u64 + ENTRY_OVERHEAD;
        let limits = HistoryLimits { max_size: 10 * entry + entry / 2, ..limits };
        assert_eq!(store.prune_history(Duration::from_secs(99 * 60), limits).unwrap(), 21);
        let left = store.history(&key, 1000).unwrap();
        assert_eq!(left.len(), 10);
        assert_eq!(left[0].time, Duration::from_secs(99 * 60), "the newest stays");
        assert_eq!(store.prune_history(Duration::from_secs(99 * 60), limits).unwrap(), 0);
    }
}

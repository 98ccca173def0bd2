//! How many checks ran and how late they started: Nagios's "check
//! latency", kept as a histogram of fixed size whatever the number of runs.

use std::time::Duration;

/// Sub-buckets per power of two: values are kept to within 1/16 (6 %).
const SUB: u32 = 16;
/// Powers of two of microseconds covered (up to about 2^40 µs, 12 days).
const POWERS: u32 = 40;

/// Counts of executions and a histogram of their start lateness: the time
/// from when a check was due to when it started running (after waiting for
/// a sandbox slot).
#[derive(Clone, Debug)]
pub struct Stats {
    executions: u64,
    max: Duration,
    buckets: Vec<u64>,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats { executions: 0, max: Duration::ZERO, buckets: vec![0; (SUB * (POWERS + 1)) as usize] }
    }
}

/// Lateness percentiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lateness {
    /// Half of the checks started at most this late.
    pub p50: Duration,
    /// 99 % of the checks started at most this late.
    pub p99: Duration,
    /// The latest start.
    pub max: Duration,
}

fn bucket(micros: u64) -> usize {
    if micros < u64::from(SUB) {
        return micros as usize;
    }
    let power = 63 - micros.leading_zeros(); // >= 4
    let shift = power - SUB.trailing_zeros();
    let sub = (micros >> shift) as u32 - SUB; // 0..SUB
    let index = (power - SUB.trailing_zeros() + 1) * SUB + sub;
    index.min(SUB * (POWERS + 1) - 1) as usize
}

/// The largest value bucket `index` holds, in microseconds.
fn upper(index: usize) -> u64 {
    let index = index as u32;
    if index < SUB {
        return u64::from(index);
    }
    let group = index / SUB - 1; // the shift
    let sub = index % SUB;
    ((u64::from(SUB + sub) + 1) << group) - 1
}

impl Stats {
    /// Counts one execution that started `lateness` after it was due.
    pub fn record(&mut self, lateness: Duration) {
        self.executions += 1;
        self.max = self.max.max(lateness);
        let micros = u64::try_from(lateness.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket(micros)] += 1;
    }

    /// How many checks ran.
    pub fn executions(&self) -> u64 {
        self.executions
    }

    /// The lateness below which fraction `q` (0 to 1) of the starts fall,
    /// to within about 6 %.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.executions == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.executions as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Duration::from_micros(upper(i)).min(self.max);
            }
        }
        self.max
    }

    /// The executions counted since `earlier`, a copy of these statistics
    /// taken before. Its maximum is the upper end of the highest bucket
    /// used since (within 6 %), no more than the overall maximum.
    pub fn since(&self, earlier: &Stats) -> Stats {
        let buckets: Vec<u64> =
            self.buckets.iter().zip(&earlier.buckets).map(|(now, then)| now.saturating_sub(*then)).collect();
        let max = buckets
            .iter()
            .rposition(|n| *n > 0)
            .map_or(Duration::ZERO, |i| Duration::from_micros(upper(i)).min(self.max));
        Stats { executions: self.executions.saturating_sub(earlier.executions), max, buckets }
    }

    /// p50, p99 and the maximum.
    pub fn lateness(&self) -> Lateness {
        Lateness { p50: self.quantile(0.5), p99: self.quantile(0.99), max: self.max }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_their_values() {
        for v in [0u64, 1, 15, 16, 17, 31, 32, 33, 100, 1000, 12_345, 9_999_999, 1 << 39] {
            let b = bucket(v);
            assert!(upper(b) >= v, "{v} in bucket {b} with upper {}", upper(b));
            if b > 0 {
                assert!(upper(b - 1) < v, "{v}: bucket {b} is not the first that holds it");
            }
            assert!((upper(b) - v) as f64 <= v as f64 / 16.0 + 1.0, "{v}: upper {} too far", upper(b));
        }
    }

    #[test]
    fn quantiles_of_a_known_spread() {
        let mut s = Stats::default();
        for ms in 1..=1000u64 {
            s.record(Duration::from_micros(ms * 10));
        }
        assert_eq!(s.executions(), 1000);
        let l = s.lateness();
        let near = |d: Duration, want_us: f64| {
            let got = d.as_micros() as f64;
            assert!((got - want_us).abs() <= want_us / 16.0 + 1.0, "{got} µs, want about {want_us}");
        };
        near(l.p50, 5000.0);
        near(l.p99, 9900.0);
        assert_eq!(l.max, Duration::from_millis(10));
        assert_eq!(Stats::default().lateness().p99, Duration::ZERO);
    }

    #[test]
    fn since_counts_only_the_later_runs() {
        let mut s = Stats::default();
        for _ in 0..100 {
            s.record(Duration::from_millis(40));
        }
        let earlier = s.clone();
        for _ in 0..1000 {
            s.record(Duration::from_micros(500));
        }
        let later = s.since(&earlier);
        assert_eq!(later.executions(), 1000);
        let l = later.lateness();
        assert!(l.p99 <= Duration::from_micros(532) && l.p99 >= Duration::from_micros(500), "{l:?}");
        assert!(l.max < Duration::from_millis(1), "{l:?}");
        // The whole run still sees the early, late ones.
        assert_eq!(s.lateness().max, Duration::from_millis(40));
        assert_eq!(Stats::default().since(&Stats::default()).lateness().max, Duration::ZERO);
    }
}

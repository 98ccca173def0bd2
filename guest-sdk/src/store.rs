//! The per-service value store, and the rates and averages computed with it.
//!
//! The host keeps a small key-value store for each service (host, check and
//! item), so a fresh instance sees what an earlier run left. Limits: keys up to
//! 256 bytes, values up to 64 KiB, 64 keys per service.

use crate::CheckError;
use crate::bindings::wasmon::check::value_store;

/// The value stored under `key`, if any.
pub fn get(key: &str) -> Option<Vec<u8>> {
    value_store::get(key)
}

/// Stores `value` under `key`; fails with [`CheckError::Failed`] when the host's
/// limits are exceeded.
pub fn set(key: &str, value: &[u8]) -> Result<(), CheckError> {
    value_store::set(key, value).map_err(|e| CheckError::Failed(format!("value store: cannot set '{key}': {e}")))
}

/// Removes `key`; removing a missing key is not an error.
pub fn delete(key: &str) {
    value_store::delete(key)
}

/// Encodes numbers as consecutive little-endian `f64`s.
pub fn encode_f64s(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Decodes what [`encode_f64s`] wrote; `None` if the length is not a multiple of 8.
pub fn decode_f64s(bytes: &[u8]) -> Option<Vec<f64>> {
    if !bytes.len().is_multiple_of(8) {
        return None;
    }
    Some(bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("chunk of 8"))).collect())
}

/// The numbers stored under `key` with [`set_f64s`]; `None` if missing or not
/// in that format.
pub fn get_f64s(key: &str) -> Option<Vec<f64>> {
    get(key).and_then(|b| decode_f64s(&b))
}

/// Stores numbers under `key`.
pub fn set_f64s(key: &str, values: &[f64]) -> Result<(), CheckError> {
    set(key, &encode_f64s(values))
}

/// The text stored under `key` with [`set_string`]; `None` if missing or not UTF-8.
pub fn get_string(key: &str) -> Option<String> {
    get(key).and_then(|b| String::from_utf8(b).ok())
}

/// Stores a text under `key`.
pub fn set_string(key: &str, value: &str) -> Result<(), CheckError> {
    set(key, value.as_bytes())
}

/// The wall-clock time in seconds since the Unix epoch, from `wasi:clocks`.
pub fn now_secs() -> f64 {
    let now = wasip2::clocks::wall_clock::now();
    now.seconds as f64 + f64::from(now.nanoseconds) / 1e9
}

/// What [`rate_with`] does when the counter went down since the last sample
/// (Checkmk's `raise_overflow` argument of `get_rate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// The rate is negative (Checkmk's default, `raise_overflow=False`): for
    /// values that may go down, such as a queue length or a byte count.
    Negative,
    /// There is no rate (Checkmk's `raise_overflow=True`): a counter that went
    /// down wrapped or was reset, so it starts over from this sample. What
    /// [`rate`] does.
    Raise,
}

/// The rate of a continuously growing counter, per second (Checkmk counter
/// semantics), remembering the last sample under `key`. The same as
/// [`rate_with`] with [`Overflow::Raise`].
///
/// Returns `Ok(None)` when there is no rate yet, and the caller should report
/// that it is initializing the counter:
/// - on the first call (nothing stored),
/// - when the counter went backwards (a wrap or a reset): it starts over,
/// - when `now_secs` did not advance since the last sample.
///
/// Otherwise `(counter - last) / (now_secs - last_time)`. Every call stores the
/// current sample.
pub fn rate(key: &str, counter: f64, now_secs: f64) -> Result<Option<f64>, CheckError> {
    rate_with(key, counter, now_secs, Overflow::Raise)
}

/// The rate of a value per second since the sample remembered under `key`, as
/// Checkmk's `get_rate(value_store, key, time, value, raise_overflow=...)`:
/// `(value - last) / (now_secs - last_time)`, negative when the value went down
/// unless `overflow` is [`Overflow::Raise`].
///
/// Returns `Ok(None)` where Checkmk raises `GetRateError` (report that the
/// counter is initializing): on the first call, when `now_secs` did not
/// advance, and with [`Overflow::Raise`] when the value went down. Every call
/// stores the current sample.
pub fn rate_with(key: &str, value: f64, now_secs: f64, overflow: Overflow) -> Result<Option<f64>, CheckError> {
    let previous = get_f64s(key).and_then(|v| match v.as_slice() {
        [last_time, last_value] => Some((*last_time, *last_value)),
        _ => None,
    });
    set_f64s(key, &[now_secs, value])?;
    Ok(compute_rate_with(previous, value, now_secs, overflow))
}

/// The rate from the previous sample `(time, counter)` to `(now, counter)`;
/// see [`rate`]. The same as [`compute_rate_with`] with [`Overflow::Raise`].
pub fn compute_rate(previous: Option<(f64, f64)>, counter: f64, now: f64) -> Option<f64> {
    compute_rate_with(previous, counter, now, Overflow::Raise)
}

/// The rate from the previous sample `(time, value)` to `(now, value)`; see
/// [`rate_with`].
pub fn compute_rate_with(previous: Option<(f64, f64)>, value: f64, now: f64, overflow: Overflow) -> Option<f64> {
    let (last_time, last_value) = previous?;
    if now <= last_time {
        return None;
    }
    let rate = (value - last_value) / (now - last_time);
    if rate < 0.0 && overflow == Overflow::Raise {
        return None;
    }
    Some(rate)
}

/// The exponential moving average of `value` over about `backlog_minutes`,
/// remembering its state under `key`, as Checkmk's `get_average(value_store,
/// key, time, value, backlog_minutes)`; see [`compute_average`] for the
/// weighting.
///
/// The first call returns `value`. When `now_secs` did not advance since the
/// last call, it returns the last average and keeps the state.
pub fn average(key: &str, value: f64, now_secs: f64, backlog_minutes: f64) -> Result<f64, CheckError> {
    let previous = get_f64s(key).and_then(|v| match v.as_slice() {
        [start, last, average] => Some((*start, *last, *average)),
        _ => None,
    });
    let state = compute_average(previous, value, now_secs, backlog_minutes);
    set_f64s(key, &[state.0, state.1, state.2])?;
    Ok(state.2)
}

/// The next state `(start_time, last_time, average)` of an exponential moving
/// average from the previous one, for the new `value` at `now`; the average is
/// the last element. See [`average`].
///
/// The formula of Checkmk's `get_average` (agent-based API v2,
/// `packages/cmk-agent-based/cmk/agent_based/v2/_get_average.py` in
/// github.com/Checkmk/checkmk, commit d3754c3427c6):
/// - no previous state: `(now, now, value)`;
/// - `now <= last_time`: the previous state, unchanged;
/// - otherwise, with the horizon `h = backlog_minutes * 60` capped at the time
///   since the first value, `now - start_time` (so the first value gets no
///   undue weight), and `k = h / (now - last_time)` values in the horizon, the
///   weight `w = 0.5^(1/k)` makes the horizon count for half of the average:
///   `average = (1 - w) * value + w * last_average`.
pub fn compute_average(
    previous: Option<(f64, f64, f64)>,
    value: f64,
    now: f64,
    backlog_minutes: f64,
) -> (f64, f64, f64) {
    let Some((start_time, last_time, last_average)) = previous else {
        return (now, now, value);
    };
    let time_diff = now - last_time;
    if time_diff <= 0.0 {
        return (start_time, last_time, last_average);
    }
    let since_start = now - start_time;
    let horizon = backlog_minutes * 60.0;
    let backlog_count = if horizon < since_start { horizon / time_diff } else { since_start / time_diff };
    let weight = (1.0 - 0.5_f64).powf(1.0 / backlog_count);
    (start_time, now, (1.0 - weight) * value + weight * last_average)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f64_encoding_round_trips() {
        let values = [1.5, -0.0, f64::MAX, 1e-300];
        assert_eq!(decode_f64s(&encode_f64s(&values)).unwrap(), values);
        assert_eq!(decode_f64s(&[]).unwrap(), Vec::<f64>::new());
        assert_eq!(decode_f64s(&[1, 2, 3]), None);
    }

    #[test]
    fn rate_semantics() {
        assert_eq!(compute_rate(None, 100.0, 10.0), None, "first sample initialises");
        assert_eq!(compute_rate(Some((10.0, 100.0)), 160.0, 40.0), Some(2.0));
        assert_eq!(compute_rate(Some((10.0, 100.0)), 100.0, 20.0), Some(0.0));
        assert_eq!(compute_rate(Some((10.0, 100.0)), 50.0, 20.0), None, "wrap or reset");
        assert_eq!(compute_rate(Some((10.0, 100.0)), 150.0, 10.0), None, "no time passed");
        assert_eq!(compute_rate(Some((10.0, 100.0)), 150.0, 5.0), None, "clock went back");
    }

    // The shared test vectors of the four SDKs (Rust, Python, JavaScript, C):
    // the same cases and numbers in each.

    /// A rate case: previous `(time, value)`, value, now, overflow, the rate, why.
    type RateCase = (Option<(f64, f64)>, f64, f64, Overflow, Option<f64>, &'static str);

    const RATE_CASES: &[RateCase] = &[
        (None, 100.0, 10.0, Overflow::Negative, None, "first sample initialises"),
        (None, 100.0, 10.0, Overflow::Raise, None, "first sample initialises"),
        (Some((10.0, 100.0)), 160.0, 40.0, Overflow::Negative, Some(2.0), "growing"),
        (Some((10.0, 100.0)), 160.0, 40.0, Overflow::Raise, Some(2.0), "growing"),
        (Some((10.0, 100.0)), 100.0, 20.0, Overflow::Negative, Some(0.0), "unchanged"),
        (Some((10.0, 100.0)), 100.0, 20.0, Overflow::Raise, Some(0.0), "unchanged"),
        (Some((10.0, 100.0)), 50.0, 20.0, Overflow::Negative, Some(-5.0), "went down: negative rate"),
        (Some((10.0, 100.0)), 50.0, 20.0, Overflow::Raise, None, "went down: wrap or reset"),
        (Some((10.0, 100.0)), 150.0, 10.0, Overflow::Negative, None, "no time passed"),
        (Some((10.0, 100.0)), 150.0, 10.0, Overflow::Raise, None, "no time passed"),
        (Some((10.0, 100.0)), 150.0, 5.0, Overflow::Negative, None, "clock went back"),
        (Some((10.0, 100.0)), 150.0, 5.0, Overflow::Raise, None, "clock went back"),
        (Some((10.0, 23.0)), 56.0, 70.0, Overflow::Negative, Some(0.55), "Checkmk's get_rate example"),
    ];

    /// An average series: backlog minutes and `(time, value, average)` in
    /// order, each call continuing from the state the previous one returned.
    type AverageSeries = (f64, &'static [(f64, f64, f64)]);

    /// The first is Checkmk's `test_get_average`.
    const AVERAGE_SERIES: &[AverageSeries] = &[
        (1.0, &[(0.0, 23.0, 23.0), (60.0, 42.0, 32.5), (120.0, 42.0, 37.25), (300.0, 42.0, 41.40625)]),
        (
            5.0,
            &[
                (0.0, 10.0, 10.0),
                (60.0, 20.0, 15.0),
                (60.0, 99.0, 15.0), // no time passed: the last average
                (30.0, 99.0, 15.0), // clock went back: the last average
                (120.0, 30.0, 19.393398282201787),
                (600.0, 30.0, 26.501126281736973),
                (660.0, 0.0, 23.07057041254784),
            ],
        ),
    ];

    /// Equal up to 1e-12 relative to the expected value (pow may differ in the last bit).
    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() <= 1e-12 * expected.abs().max(1.0)
    }

    #[test]
    fn rate_cases() {
        for &(previous, value, now, overflow, expected, why) in RATE_CASES {
            assert_eq!(compute_rate_with(previous, value, now, overflow), expected, "{why} ({overflow:?})");
            if overflow == Overflow::Raise {
                assert_eq!(compute_rate(previous, value, now), expected, "{why}");
            }
        }
    }

    #[test]
    fn average_series() {
        for &(backlog_minutes, series) in AVERAGE_SERIES {
            let mut state = None;
            for (i, &(time, value, expected)) in series.iter().enumerate() {
                let next = compute_average(state, value, time, backlog_minutes);
                assert!(
                    close(next.2, expected),
                    "backlog {backlog_minutes}, [{i}]: got {}, expected {expected}",
                    next.2
                );
                state = Some(next);
            }
        }
        assert_eq!(compute_average(None, 7.0, 100.0, 5.0), (100.0, 100.0, 7.0), "first value");
        let state = Some((0.0, 60.0, 15.0));
        assert_eq!(compute_average(state, 99.0, 30.0, 5.0), (0.0, 60.0, 15.0), "time anomaly keeps the state");
    }
}

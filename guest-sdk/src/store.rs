//! The per-service value store, and counter rates computed with it.
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

/// The rate of a continuously growing counter, per second (Checkmk counter
/// semantics), remembering the last sample under `key`.
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
    let previous = get_f64s(key).and_then(|v| match v.as_slice() {
        [time, value] => Some((*time, *value)),
        _ => None,
    });
    set_f64s(key, &[now_secs, counter])?;
    Ok(compute_rate(previous, counter, now_secs))
}

/// The rate from the previous sample `(time, counter)` to `(now, counter)`;
/// see [`rate`].
pub fn compute_rate(previous: Option<(f64, f64)>, counter: f64, now: f64) -> Option<f64> {
    let (last_time, last_counter) = previous?;
    if counter < last_counter || now <= last_time {
        return None;
    }
    Some((counter - last_counter) / (now - last_time))
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
}

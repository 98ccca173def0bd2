//! Test guest `store-limits`: `check()` probes the value store's documented
//! limits (keys up to 256 bytes, values up to 64 KiB, 64 keys per service)
//! right at and just past each limit.
//!
//! One partial per probe, summary `<probe>: accepted` or `<probe>: rejected
//! (<host's message>)`; its state is OK when the host behaved as documented
//! (accepted at the limit, rejected past it) and CRITICAL otherwise. So a host
//! that enforces exactly the documented limits yields OK overall. The guest
//! deletes what it stored before returning.

use guest_common::*;

struct StoreLimits;

const MAX_KEY: usize = 256;
const MAX_VALUE: usize = 64 * 1024;
const MAX_KEYS: usize = 64;

impl Guest for StoreLimits {
    fn describe() -> CheckInfo {
        info(
            "store_limits",
            "Test: Value store limits",
            "Stores keys and values at and past the value store's documented \
             limits. OK when the store accepts what is within the limits and \
             rejects what is past them, CRIT for every probe where it does not.",
            &[],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(_: CheckRequest) -> Result<CheckResult, CheckError> {
        let mut partials = Vec::new();

        let key = "k".repeat(MAX_KEY);
        partials.push(probe(&format!("Key of {MAX_KEY} bytes"), &key, b"1", true));
        value_store::delete(&key);
        let key = "k".repeat(MAX_KEY + 1);
        partials.push(probe(&format!("Key of {} bytes", MAX_KEY + 1), &key, b"1", false));
        value_store::delete(&key);

        let value = vec![0x5a; MAX_VALUE];
        partials.push(probe(&format!("Value of {MAX_VALUE} bytes"), "value", &value, true));
        let value = vec![0x5a; MAX_VALUE + 1];
        partials.push(probe(&format!("Value of {} bytes", MAX_VALUE + 1), "value", &value, false));
        value_store::delete("value");

        let keys: Vec<String> = (0..=MAX_KEYS).map(|i| format!("key_{i:02}")).collect();
        let mut within = Vec::new();
        for key in &keys[..MAX_KEYS] {
            if let Err(e) = value_store::set(key, b"1") {
                within.push(format!("{key} ({e})"));
            }
        }
        partials.push(if within.is_empty() {
            partial(State::Ok, format!("{MAX_KEYS} keys: accepted"))
        } else {
            partial(State::Critical, format!("{MAX_KEYS} keys: rejected {}", within.join(", ")))
        });
        partials.push(probe(&format!("Key number {}", MAX_KEYS + 1), &keys[MAX_KEYS], b"1", false));
        for key in &keys {
            value_store::delete(key);
        }

        Ok(result(partials, Vec::new()))
    }
}

/// Stores `value` under `key` and reports whether the host accepted it as
/// `expect_accepted` says it should.
fn probe(what: &str, key: &str, value: &[u8], expect_accepted: bool) -> PartialResult {
    let (accepted, summary) = match value_store::set(key, value) {
        Ok(()) => (true, format!("{what}: accepted")),
        Err(e) => (false, format!("{what}: rejected ({e})")),
    };
    let state = if accepted == expect_accepted { State::Ok } else { State::Critical };
    partial(state, summary)
}

guest_common::export!(StoreLimits);

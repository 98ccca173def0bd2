//! Test guest `sleep-in-host`: `check()` sleeps (an hour by default) in
//! `std::thread::sleep`, which blocks in a host call (wasi:clocks +
//! wasi:io/poll) rather than in wasm. The host's deadline must interrupt it:
//! expect UNKNOWN with a timeout message well before the hour. If it ever
//! wakes up it returns OK `Slept N s`.

use std::time::Duration;

use guest_common::*;

struct SleepInHost;

impl Guest for SleepInHost {
    fn describe() -> CheckInfo {
        info(
            "sleep_in_host",
            "Test: Long sleep in a host call",
            "Sleeps for the given number of seconds, then reports OK.",
            &[("seconds", "How long to sleep, in whole seconds.", Some("3600"))],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let seconds = param_or(&request, "seconds", "whole seconds", 3600u64)?;
        hostile_sleep(Duration::from_secs(seconds));
        Ok(result(
            vec![partial(State::Ok, format!("Slept {seconds} s"))],
            vec![metric("sleep_time", seconds as f64, "s")],
        ))
    }
}

#[inline(never)]
fn hostile_sleep(duration: Duration) {
    std::thread::sleep(duration);
}

guest_common::export!(SleepInHost);

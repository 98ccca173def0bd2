//! Test guest `panic`: `check()` panics with "deliberate panic: <reason>".
//! With `panic = "abort"` the standard library writes the panic message to
//! stderr and aborts with a wasm trap. The host should report UNKNOWN naming
//! the panic (and may quote the captured stderr).

use guest_common::*;

struct Panic;

impl Guest for Panic {
    fn describe() -> CheckInfo {
        info(
            "panic",
            "Test: Panic in check",
            "Never returns from check: it panics with the message \
             \"deliberate panic: \" followed by the reason parameter.",
            &[("reason", "Text appended to the panic message.", Some("no reason"))],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        hostile_panic(param(&request, "reason").unwrap_or("no reason"))
    }
}

#[inline(never)]
fn hostile_panic(reason: &str) -> ! {
    panic!("deliberate panic: {}", reason)
}

guest_common::export!(Panic);

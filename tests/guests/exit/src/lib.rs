//! Test guest `exit`: `check()` calls `std::process::exit(code)` (code 0 by
//! default), i.e. `wasi:cli/exit`. A check must return a result rather than
//! exit, so the host should report UNKNOWN (the check did not return a
//! result), even for code 0, and must not exit itself.
//!
//! `wasi:cli/exit@0.2` carries only success or failure, so the host sees
//! status 0 for code 0 and status 1 for any other code.

use guest_common::*;

struct Exit;

impl Guest for Exit {
    fn describe() -> CheckInfo {
        info(
            "exit",
            "Test: Process exit in check",
            "Never returns from check: it exits through wasi:cli/exit with the \
             given code.",
            &[("code", "Exit code, 0-255; WASI 0.2 passes any non-zero code on as 1.", Some("0"))],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let code = param_or(&request, "code", "an exit code 0-255", 0u8)?;
        std::process::exit(i32::from(code))
    }
}

guest_common::export!(Exit);

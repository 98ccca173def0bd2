//! Test guest `check-error`: `check()` fails with the `check-error` case named
//! by parameter `error`; `discover()` fails the same way. The host should map
//! each to UNKNOWN:
//! - `item-not-found` → "Item not found in monitoring data",
//! - `bad-params` → the message `Parameter error: deliberately bad`,
//! - `failed` (default) → the message `Deliberate failure`.
//!
//! An unknown value of `error` is itself a `bad-params` error naming it.

use guest_common::*;

struct CheckErrorGuest;

impl Guest for CheckErrorGuest {
    fn describe() -> CheckInfo {
        info(
            "check_error",
            "Test: Check errors",
            "Always fails, with the check-error case given in parameter error.",
            &[("error", "\"item-not-found\", \"bad-params\" or \"failed\".", Some("failed"))],
        )
    }

    fn discover(request: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        let choice = request.params.iter().rev().find(|p| p.name == "error").map(|p| p.value.as_str());
        Err(error(choice))
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        Err(error(param(&request, "error")))
    }
}

/// The error a call returns for parameter `error`.
fn error(choice: Option<&str>) -> CheckError {
    match choice.unwrap_or("failed") {
        "item-not-found" => CheckError::ItemNotFound,
        "bad-params" => CheckError::BadParams("Parameter error: deliberately bad".to_owned()),
        "failed" => CheckError::Failed("Deliberate failure".to_owned()),
        other => CheckError::BadParams(format!(
            "Parameter error: expected item-not-found, bad-params or failed, got \"{other}\""
        )),
    }
}

guest_common::export!(CheckErrorGuest);

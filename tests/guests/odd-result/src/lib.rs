//! Test guest `odd-result`: `check()` returns a result that breaks the
//! contract's output rules in the way parameter `case` names, so tests can
//! pin down how the host validates results:
//! - `empty` (default): no partials and no metrics (the contract says UNKNOWN),
//! - `nan`: metrics whose values are NaN and +infinity,
//! - `bad-label`: a metric label with capitals, blanks and punctuation,
//! - `bad-uom`: a metric in a non-canonical unit (`ms`),
//! - `duplicate-label`: two metrics with the same label,
//! - `multiline`: a summary containing a line break,
//! - `control-chars`: a summary with NUL, escape and `|` (the perfdata
//!   separator) characters.
//!
//! Every case but `empty` has a single OK partial.

use guest_common::*;

struct OddResult;

const CASES: &str = "empty, nan, bad-label, bad-uom, duplicate-label, multiline or control-chars";

impl Guest for OddResult {
    fn describe() -> CheckInfo {
        info(
            "odd_result",
            "Test: Results that break the output rules",
            "Returns a result that breaks one output rule, chosen by parameter case.",
            &[("case", &format!("Which rule to break: {CASES}."), Some("empty"))],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let ok = |summary: &str| vec![partial(State::Ok, summary)];
        Ok(match param(&request, "case").unwrap_or("empty") {
            "empty" => result(Vec::new(), Vec::new()),
            "nan" => result(
                ok("Values: NaN and infinity"),
                vec![metric("not_a_number", f64::NAN, ""), metric("infinite", f64::INFINITY, "")],
            ),
            "bad-label" => result(ok("Response time: 12 ms"), vec![metric("Response Time (s)", 0.012, "s")]),
            "bad-uom" => result(ok("Response time: 12 ms"), vec![metric("response_time", 12.0, "ms")]),
            "duplicate-label" => result(
                ok("Response time: 12 ms"),
                vec![metric("response_time", 0.012, "s"), metric("response_time", 0.013, "s")],
            ),
            "multiline" => result(ok("First line\nSecond line"), Vec::new()),
            "control-chars" => result(ok("Nul \0, escape \x1b[31m, pipe | 'x'=1"), Vec::new()),
            other => {
                return Err(CheckError::BadParams(format!("Parameter case: expected {CASES}, got \"{other}\"")));
            }
        })
    }
}

guest_common::export!(OddResult);

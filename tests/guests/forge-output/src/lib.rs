//! Test guest `forge-output`: `check()` returns metrics and writes log
//! lines that try to get past the host's sanitiser and output limit, in
//! the way parameter `case` names:
//! - `newline-label`: a label holding a line break, a forged
//!   `CRITICAL - …` line and fake perfdata,
//! - `blank-unit`: a unit holding a blank and a second metric,
//! - `quote-label`: labels with `=`, `'` and `;`,
//! - `huge-labels`: 250 metrics whose labels are 20 KB each,
//! - `bad-numbers`: NaN and infinite bounds, thresholds and a reversed
//!   range,
//! - `log-escape`: a log line with CR, NUL, ESC and a line break, then OK.
//!
//! `discover()` returns `items` items (default 0), each name with a line
//! break and an escape character.

use guest_common::*;

struct ForgeOutput;

const CASES: &str = "newline-label, blank-unit, quote-label, huge-labels, bad-numbers or log-escape";

fn range(start: Option<f64>, end: Option<f64>) -> Option<Range> {
    Some(Range { start, end, inside: false })
}

impl Guest for ForgeOutput {
    fn describe() -> CheckInfo {
        info(
            "forge_output",
            "Test: Output that tries to forge plugin output",
            "Returns metrics or writes log lines that try to forge output, chosen by parameter case.",
            &[("case", &format!("What to try: {CASES}."), Some("newline-label"))],
        )
    }

    fn discover(request: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        let count: usize =
            request.params.iter().find(|p| p.name == "items").and_then(|p| p.value.parse().ok()).unwrap_or(0);
        Ok((0..count).map(|i| Item { name: format!("item {i}\n\x1b[2Jforged"), params: Vec::new() }).collect())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let ok = || vec![partial(State::Ok, "All fine")];
        Ok(match param(&request, "case").unwrap_or("newline-label") {
            "newline-label" => result(ok(), vec![metric("x\nCRITICAL - forged | fake=99;1;2\r\n", 1.0, "")]),
            "blank-unit" => result(ok(), vec![metric("time", 1.0, "s injected=666")]),
            "quote-label" => result(ok(), vec![metric("a=b", 1.0, ""), metric("it's;x", 2.0, "")]),
            "huge-labels" => {
                let metrics = (0..250).map(|i| metric(&format!("{i}{}", "l".repeat(20_000)), 1.0, "")).collect();
                result(ok(), metrics)
            }
            "bad-numbers" => {
                let mut m = metric("bounds", f64::NEG_INFINITY, "B");
                m.warn = range(Some(f64::NAN), Some(1.0));
                m.crit = range(Some(20.0), Some(10.0));
                m.min = Some(f64::NEG_INFINITY);
                m.max = Some(f64::NAN);
                let mut open = metric("open", 5.0, "");
                open.warn = range(Some(f64::NEG_INFINITY), Some(f64::INFINITY));
                result(ok(), vec![m, open])
            }
            "log-escape" => {
                log::log(log::Level::Warn, "forged\r\nERROR other check failed\0\x1b[2J");
                result(ok(), Vec::new())
            }
            other => {
                return Err(CheckError::BadParams(format!("Parameter case: expected {CASES}, got \"{other}\"")));
            }
        })
    }
}

guest_common::export!(ForgeOutput);

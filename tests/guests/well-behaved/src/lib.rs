//! Test guest `well-behaved`: a small, correct check, used to show the host is
//! healthy after a hostile guest and to exercise the value store and log.
//!
//! Every run reads the u64 (little endian) under key `runs` in the value
//! store, adds one, stores it back and logs `Run N` at level info. It returns
//! OK `Run N` and one metric `runs` = N (unit `c`). As the store is kept per
//! service, consecutive runs of the same service report Run 1, Run 2, ….
//! `discover` returns one item per name in parameter `items`
//! (comma-separated, none by default).

use guest_common::log::Level;
use guest_common::*;

struct WellBehaved;

const RUNS_KEY: &str = "runs";

impl Guest for WellBehaved {
    fn describe() -> CheckInfo {
        info(
            "well_behaved",
            "Test: Run counter",
            "Counts its own runs in the value store and reports the count; always OK.",
            &[("items", "Comma-separated item names that discovery reports.", Some(""))],
        )
    }

    fn discover(request: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        let items = request.params.iter().rev().find(|p| p.name == "items").map_or("", |p| p.value.as_str());
        Ok(items
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| Item { name: name.to_owned(), params: Vec::new() })
            .collect())
    }

    fn check(_: CheckRequest) -> Result<CheckResult, CheckError> {
        let previous = match value_store::get(RUNS_KEY) {
            None => 0,
            Some(bytes) => {
                let bytes: [u8; 8] = bytes.as_slice().try_into().map_err(|_| {
                    CheckError::Failed(format!("Value store key {RUNS_KEY} holds {} bytes, expected 8", bytes.len()))
                })?;
                u64::from_le_bytes(bytes)
            }
        };
        let runs = previous + 1;
        value_store::set(RUNS_KEY, &runs.to_le_bytes()).map_err(|e| CheckError::Failed(format!("Value store: {e}")))?;
        log::log(Level::Info, &format!("Run {runs}"));
        Ok(result(
            vec![partial(State::Ok, format!("Run {runs}"))],
            vec![Metric { min: Some(0.0), ..metric("runs", runs as f64, "c") }],
        ))
    }
}

guest_common::export!(WellBehaved);

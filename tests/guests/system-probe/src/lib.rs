//! Test guest `system-probe`: `check()` calls every function of the
//! `wasmon:check/system` interface, which the default policy does not grant.
//!
//! One partial per function, in this order: `Load average`, `Memory`,
//! `Filesystems`, `Uptime`. Each is OK with the value when the call succeeds
//! and CRITICAL `<name>: <error>` when it fails, so under the default policy
//! the result is CRIT with four denial messages; with `system` granted, OK.

use guest_common::*;

struct SystemProbe;

impl Guest for SystemProbe {
    fn describe() -> CheckInfo {
        info(
            "system_probe",
            "Test: Host system facts",
            "Reads load average, memory, filesystems and uptime through the system \
             interface. OK for each fact it can read, CRIT for each it cannot.",
            &[],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(_: CheckRequest) -> Result<CheckResult, CheckError> {
        let mut metrics = Vec::new();
        let load = match system::load() {
            Ok(load) => {
                metrics.push(metric("load1", load.one, ""));
                partial(
                    State::Ok,
                    format!(
                        "Load average: {:.2}, {:.2}, {:.2} ({} CPUs)",
                        load.one, load.five, load.fifteen, load.cpus
                    ),
                )
            }
            Err(e) => partial(State::Critical, format!("Load average: {e}")),
        };
        let memory = match system::memory() {
            Ok(memory) => {
                metrics.push(metric("mem_total", memory.mem_total as f64, "B"));
                partial(State::Ok, format!("Memory: {} B total", memory.mem_total))
            }
            Err(e) => partial(State::Critical, format!("Memory: {e}")),
        };
        let filesystems = match system::filesystems() {
            Ok(list) => partial(State::Ok, format!("Filesystems: {}", list.len())),
            Err(e) => partial(State::Critical, format!("Filesystems: {e}")),
        };
        let uptime = match system::uptime() {
            Ok(seconds) => {
                metrics.push(metric("uptime", seconds, "s"));
                partial(State::Ok, format!("Uptime: {seconds:.0} s"))
            }
            Err(e) => partial(State::Critical, format!("Uptime: {e}")),
        };
        Ok(result(vec![load, memory, filesystems, uptime], metrics))
    }
}

guest_common::export!(SystemProbe);

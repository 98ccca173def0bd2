//! `memory`: RAM and swap usage of the machine the host runs on.
//!
//! RAM is judged by the share in use (total minus available, as `free` shows
//! it); swap by the free space left, with the semantics of the Monitoring
//! Plugins' `check_swap`.

use wasmon_sdk::{
    Amount, Check, CheckError, CheckInfo, CheckRequest, CheckResult, DiscoverRequest, Item, Levels, Manpage, Metric,
    Output, ParamInfo, Params, Range, RequestExt, State, render, system,
};

const RAM_DEFAULT: (f64, f64) = (80.0, 90.0);
const RAM_SOURCE: &str = "Checkmk factory setting of its memory checks (Windows memory 'memory': \
     80%/90% used; the same pair is Checkmk's default for filesystems)";
const SWAP_DEFAULT: (Amount, Amount) = (Amount::Percent(20.0), Amount::Percent(10.0));
const SWAP_SOURCE: &str = "Nagios Core sample configuration (localhost.cfg, service 'Swap Usage': \
     warning if less than 20% of swap is free, critical if less than 10%)";
const NO_SWAP_SOURCE: &str = "wasmon's choice: many hosts (containers, cloud VMs) run without swap \
     by design; check_swap of the Monitoring Plugins defaults to CRITICAL (-n), set \
     no_swap=critical for that";

struct Memory;

/// Swap levels on free space: alert when the free amount is at or below them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SwapLevels {
    warn: Option<Amount>,
    crit: Option<Amount>,
}

/// Whether `free` of `total` swap is at or below `level`, as check_swap 2.3
/// compares: bytes `free <= level`; percentages `used% >= 100 - level` with
/// the used share truncated to a whole percent (0% means "no level").
fn swap_alerts(level: Option<Amount>, free: f64, total: f64) -> bool {
    match level {
        None | Some(Amount::Percent(0.0)) => false,
        Some(Amount::Percent(p)) => ((total - free) / total * 100.0).floor() >= 100.0 - p,
        Some(Amount::Bytes(b)) => free <= b,
    }
}

/// The free-swap amount as a byte count, for perfdata.
fn as_bytes(level: Amount, total: f64) -> f64 {
    match level {
        Amount::Percent(p) => total * p / 100.0,
        Amount::Bytes(b) => b,
    }
}

fn read_swap_levels(params: &Params<'_>) -> Result<SwapLevels, CheckError> {
    let warn = params.amount("swap_warning")?;
    let crit = params.amount("swap_critical")?;
    // A level not given keeps its default, as for the RAM levels.
    let (warn, crit) = (warn.or(Some(SWAP_DEFAULT.0)), crit.or(Some(SWAP_DEFAULT.1)));
    // check_swap refuses a warning level below the critical one (same unit).
    let inverted = match (warn, crit) {
        (Some(Amount::Percent(w)), Some(Amount::Percent(c))) => w < c,
        (Some(Amount::Bytes(w)), Some(Amount::Bytes(c))) => w < c,
        _ => false,
    };
    if inverted {
        return Err(CheckError::BadParams(format!(
            "parameters 'swap_warning' and 'swap_critical' are amounts of free swap, so the \
             warning level must not be below the critical one, got {} and {}",
            warn.expect("set"),
            crit.expect("set")
        )));
    }
    Ok(SwapLevels { warn, crit })
}

fn evaluate(
    mem: &system::MemoryInfo,
    ram: &Levels,
    swap: &SwapLevels,
    no_swap: State,
) -> Result<CheckResult, CheckError> {
    if mem.mem_total == 0 {
        return Err(CheckError::Failed("the host reports a total RAM of 0 bytes".into()));
    }
    let mut out = Output::new();
    let total = mem.mem_total as f64;
    let used = mem.mem_total.saturating_sub(mem.mem_available) as f64;
    let used_pct = used / total * 100.0;
    let state = ram.evaluate(used_pct);
    let mut summary =
        format!("RAM: {} - {} of {}", render::percent(used_pct), render::bytes(used), render::bytes(total));
    if let (false, Some((w, c))) = (state == State::Ok, ram.upper) {
        summary.push_str(&format!(" (warn/crit at {}/{} used)", render::percent(w), render::percent(c)));
    }
    out.partial(state, summary).details(format!(
        "Available: {}, Free: {}, Buffers: {}, Cached: {}",
        render::bytes(mem.mem_available as f64),
        render::bytes(mem.mem_free as f64),
        render::bytes(mem.buffers as f64),
        render::bytes(mem.cached as f64)
    ));
    let byte_levels = Levels { upper: ram.upper.map(|(w, c)| (total * w / 100.0, total * c / 100.0)), lower: None };
    out.metric(Metric::bytes("mem_used", used).max(total).with_levels(&byte_levels));
    out.metric(Metric::bytes("mem_total", total));
    out.metric(Metric::bytes("mem_available", mem.mem_available as f64).max(total));
    out.metric(Metric::percent("mem_used_percent", used_pct).with_levels(ram));

    if mem.swap_total == 0 {
        out.partial(no_swap, "Swap: none (disabled, not present or of zero size)");
        return Ok(out.into_result());
    }
    let swap_total = mem.swap_total as f64;
    let swap_free = mem.swap_free.min(mem.swap_total) as f64;
    let free_pct = swap_free / swap_total * 100.0;
    let state = if swap_alerts(swap.crit, swap_free, swap_total) {
        State::Critical
    } else if swap_alerts(swap.warn, swap_free, swap_total) {
        State::Warning
    } else {
        State::Ok
    };
    let mut summary = format!(
        "Swap: {} free - {} of {}",
        render::percent(free_pct),
        render::bytes(swap_free),
        render::bytes(swap_total)
    );
    if state != State::Ok {
        let show = |a: Option<Amount>| a.map_or("none".to_string(), |a| a.to_string());
        summary.push_str(&format!(" (warn/crit at or below {}/{} free)", show(swap.warn), show(swap.crit)));
    }
    out.partial(state, summary);
    let mut free_metric = Metric::bytes("swap_free", swap_free).max(swap_total);
    if let Some(w) = swap.warn {
        free_metric = free_metric.warn(Range::lower(as_bytes(w, swap_total)));
    }
    if let Some(c) = swap.crit {
        free_metric = free_metric.crit(Range::lower(as_bytes(c, swap_total)));
    }
    out.metric(free_metric);
    out.metric(Metric::bytes("swap_used", swap_total - swap_free).max(swap_total));
    out.metric(Metric::bytes("swap_total", swap_total));
    Ok(out.into_result())
}

impl Check for Memory {
    fn describe() -> CheckInfo {
        CheckInfo {
            name: "memory".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: "Linux: Memory and swap usage".into(),
            manpage: Manpage::new(
                "Monitors the RAM and swap usage of the machine the wasmon host runs on, from \
                 /proc/meminfo. RAM in use is the total minus the memory available for new \
                 programs without swapping (MemAvailable), as 'free' shows it; page cache that \
                 can be dropped does not count as used. The RAM part is WARN or CRIT when the \
                 used share is at or above 'warning' or 'critical' percent. The swap part \
                 follows check_swap of the Monitoring Plugins: it is WARN or CRIT when the free \
                 swap is at or below 'swap_warning' or 'swap_critical', each a percentage of \
                 the swap space or an absolute size; without any swap it takes the state \
                 'no_swap'. The service state is the worse of the two parts: OK when the used \
                 RAM is below 'warning' and the free swap above 'swap_warning'. Needs the \
                 'system' interface granted by the policy.",
            ),
            params: vec![
                ParamInfo::new("warning", "Warning level for the RAM in use, in percent of the total RAM.")
                    .default("80")
                    .source(RAM_SOURCE),
                ParamInfo::new("critical", "Critical level for the RAM in use, in percent of the total RAM.")
                    .default("90")
                    .source(RAM_SOURCE),
                ParamInfo::new(
                    "swap_warning",
                    "Warning when the free swap is at or below this: a percentage of the swap \
                     space ('20%'; 0% means no level, as in check_swap; the used share is \
                     truncated to a whole percent before the comparison, as check_swap does) \
                     or a size ('512MiB', '2GiB'; KB, MB, GB are powers of 1024 too).",
                )
                .default("20%")
                .source(SWAP_SOURCE),
                ParamInfo::new(
                    "swap_critical",
                    "Critical level for the free swap, in the same form as 'swap_warning'.",
                )
                .default("10%")
                .source(SWAP_SOURCE),
                ParamInfo::new(
                    "no_swap",
                    "State of the swap part when the machine has no swap: OK, WARNING, \
                     CRITICAL or UNKNOWN (check_swap -n).",
                )
                .default("OK")
                .source(NO_SWAP_SOURCE),
            ],
        }
    }

    fn discover(request: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        request.params().reject_unknown(&[])?;
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let params = request.params();
        params.reject_unknown(&["warning", "critical", "swap_warning", "swap_critical", "no_swap"])?;
        let ram = params.levels_upper("warning", "critical", Some(RAM_DEFAULT))?;
        let swap = read_swap_levels(&params)?;
        let no_swap = params.state("no_swap", State::Ok)?;
        // The host's message says what failed; pass it on unchanged.
        let mem = system::memory().map_err(CheckError::Failed)?;
        evaluate(&mem, &ram, &swap, no_swap)
    }
}

wasmon_sdk::export_check!(Memory);

#[cfg(test)]
mod tests {
    use super::*;
    use wasmon_sdk::{Param, params};

    const GIB: u64 = 1024 * 1024 * 1024;

    fn mem(total: u64, available: u64, swap_total: u64, swap_free: u64) -> system::MemoryInfo {
        system::MemoryInfo {
            mem_total: total,
            mem_free: available / 2,
            mem_available: available,
            buffers: 0,
            cached: available / 2,
            swap_total,
            swap_free,
        }
    }

    fn default_swap() -> SwapLevels {
        SwapLevels { warn: Some(SWAP_DEFAULT.0), crit: Some(SWAP_DEFAULT.1) }
    }

    #[test]
    fn ram_levels_on_used_share() {
        let ram = Levels::upper(80.0, 90.0);
        let r = evaluate(&mem(8 * GIB, 4 * GIB, 0, 0), &ram, &default_swap(), State::Ok).unwrap();
        assert_eq!(r.state(), State::Ok);
        assert_eq!(r.summary(), "RAM: 50% - 4.00 GiB of 8.00 GiB, Swap: none (disabled, not present or of zero size)");
        // 80% used exactly: WARN (>=).
        let r = evaluate(&mem(10 * GIB, 2 * GIB, 0, 0), &ram, &default_swap(), State::Ok).unwrap();
        assert_eq!(r.state(), State::Warning);
        assert!(
            r.summary().starts_with("RAM: 80% - 8.00 GiB of 10.00 GiB (warn/crit at 80%/90% used)"),
            "{}",
            r.summary()
        );
        let r = evaluate(&mem(10 * GIB, GIB, 0, 0), &ram, &default_swap(), State::Ok).unwrap();
        assert_eq!(r.state(), State::Critical);
        let m = r.metrics.iter().find(|m| m.label == "mem_used").unwrap();
        assert_eq!(m.warn, Some(Range::upper(8.0 * GIB as f64)));
    }

    #[test]
    fn swap_follows_check_swap() {
        let ram = Levels::none();
        let run = |free: u64, swap: SwapLevels| {
            evaluate(&mem(8 * GIB, 8 * GIB, 10 * GIB, free), &ram, &swap, State::Ok).unwrap()
        };
        assert_eq!(run(3 * GIB, default_swap()).state(), State::Ok);
        // 20% free exactly is WARN, 10% exactly is CRIT (check_swap: used% >= 100 - level).
        let r = run(2 * GIB, default_swap());
        assert_eq!(r.state(), State::Warning);
        assert_eq!(
            r.summary(),
            "RAM: 0% - 0 B of 8.00 GiB, Swap: 20% free - 2.00 GiB of 10.00 GiB (warn/crit at or below 20%/10% free)"
        );
        assert_eq!(run(GIB, default_swap()).state(), State::Critical);
        // 79.9% used truncates to 79%: not yet at the 20% free level.
        assert_eq!(run(2 * GIB + GIB / 100, default_swap()).state(), State::Ok);
        let half = SwapLevels { warn: Some(Amount::Percent(20.5)), crit: None };
        assert_eq!(run(2 * GIB + GIB / 50, half).state(), State::Ok, "79.8% used is 79 < 79.5");
        let bytes = SwapLevels { warn: Some(Amount::Bytes(4.0 * GIB as f64)), crit: Some(Amount::Bytes(GIB as f64)) };
        assert_eq!(run(4 * GIB, bytes).state(), State::Warning);
        assert_eq!(run(4 * GIB + 1, bytes).state(), State::Ok);
        assert_eq!(run(GIB, bytes).state(), State::Critical);
        let disabled = SwapLevels { warn: Some(Amount::Percent(0.0)), crit: None };
        assert_eq!(run(0, disabled).state(), State::Ok);
        let r = run(2 * GIB, default_swap());
        let free = r.metrics.iter().find(|m| m.label == "swap_free").unwrap();
        assert_eq!(free.warn, Some(Range::lower(2.0 * GIB as f64)));
    }

    #[test]
    fn no_swap_state() {
        let r = evaluate(&mem(8 * GIB, 8 * GIB, 0, 0), &Levels::none(), &default_swap(), State::Critical).unwrap();
        assert_eq!(r.state(), State::Critical);
    }

    #[test]
    fn swap_parameters() {
        let l = Param::list(&[]);
        assert_eq!(read_swap_levels(&params(&l)).unwrap(), default_swap());
        let l = Param::list(&[("swap_warning", "1GiB")]);
        assert_eq!(
            read_swap_levels(&params(&l)).unwrap(),
            SwapLevels { warn: Some(Amount::Bytes(GIB as f64)), crit: Some(SWAP_DEFAULT.1) }
        );
        let l = Param::list(&[("swap_warning", "10%"), ("swap_critical", "20%")]);
        assert!(
            matches!(read_swap_levels(&params(&l)), Err(CheckError::BadParams(m)) if m.contains("got 10% and 20%"))
        );
        let l = Param::list(&[("swap_critical", "lots")]);
        assert!(read_swap_levels(&params(&l)).is_err());
    }
}

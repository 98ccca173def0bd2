//! `load`: the system load averages (1, 5 and 15 minutes), like the Monitoring
//! Plugins' `check_load`.

use wasmon_sdk::{
    Check, CheckError, CheckInfo, CheckRequest, CheckResult, DiscoverRequest, Item, Levels, Manpage, Metric, Output,
    ParamInfo, Params, RequestExt, State, render, system,
};

/// Default warning levels for the 1, 5 and 15 minute averages.
const DEFAULT_WARNING: [f64; 3] = [5.0, 4.0, 3.0];
/// Default critical levels for the 1, 5 and 15 minute averages.
const DEFAULT_CRITICAL: [f64; 3] = [10.0, 6.0, 4.0];
const DEFAULT_SOURCE: &str = "Nagios Core sample configuration (localhost.cfg, service 'Current Load': \
     check_local_load!5.0,4.0,3.0!10.0,6.0,4.0)";
const MINUTES: [u32; 3] = [1, 5, 15];

struct Load;

/// Parses `w1,w5,w15`; with fewer than three numbers the last one given fills
/// the rest, as `check_load` does (a single number applies to all three).
fn parse_triple(params: &Params<'_>, name: &str, default: [f64; 3]) -> Result<[f64; 3], CheckError> {
    let Some(raw) = params.get(name) else { return Ok(default) };
    let expected = "one to three non-negative numbers for the 1, 5 and 15 minute averages, such as 5,4,3";
    let values: Vec<f64> = raw
        .split(',')
        .map(|v| v.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0))
        .collect::<Option<_>>()
        .filter(|v: &Vec<f64>| (1..=3).contains(&v.len()))
        .ok_or_else(|| wasmon_sdk::bad_param(name, expected, raw))?;
    let last = values[values.len() - 1];
    Ok([values[0], *values.get(1).unwrap_or(&last), *values.get(2).unwrap_or(&last)])
}

/// The evaluation of one load reading against the levels.
fn evaluate(load: &system::LoadAverage, warn: [f64; 3], crit: [f64; 3], percpu: bool) -> CheckResult {
    let raw = [load.one, load.five, load.fifteen];
    // Like check_load -r: divide only when the CPU count is known.
    let scale = percpu && load.cpus > 0;
    let compared = if scale { raw.map(|v| v / f64::from(load.cpus)) } else { raw };
    let levels: Vec<Levels> = (0..3).map(|i| Levels::upper(warn[i], crit[i])).collect();

    let mut state = State::Ok;
    let mut parts = Vec::new();
    for i in 0..3 {
        let s = levels[i].evaluate(compared[i]);
        state = state.worst(s);
        let mut text = render::float(compared[i], 2);
        if s != State::Ok {
            text.push_str(&format!(" (warn/crit at {}/{})", render::float(warn[i], 2), render::float(crit[i], 2)));
        }
        parts.push(text);
    }
    let mut out = Output::new();
    let label = if scale { "Load average per CPU" } else { "Load average" };
    out.partial(state, format!("{label}: {}", parts.join(", ")));
    if scale {
        let total: Vec<String> = raw.iter().map(|v| render::float(*v, 2)).collect();
        let cpus = if load.cpus == 1 { "1 CPU".to_string() } else { format!("{} CPUs", load.cpus) };
        out.ok(format!("Total load average: {} on {cpus}", total.join(", ")));
    }
    for i in 0..3 {
        let metric = Metric::number(format!("load{}", MINUTES[i]), raw[i]).min(0.0);
        if scale {
            out.metric(metric);
            out.metric(
                Metric::number(format!("scaled_load{}", MINUTES[i]), compared[i]).min(0.0).with_levels(&levels[i]),
            );
        } else {
            out.metric(metric.with_levels(&levels[i]));
        }
    }
    out.into_result()
}

impl Check for Load {
    fn describe() -> CheckInfo {
        CheckInfo {
            name: "load".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: "Linux: CPU load average".into(),
            manpage: Manpage::new(
                "Monitors the load averages over 1, 5 and 15 minutes of the machine the wasmon \
                 host runs on, as the kernel reports them in /proc/loadavg (the number of \
                 processes running or waiting for a CPU or for disk I/O). Each of the three \
                 averages is compared with its own level: the service is CRIT when any average \
                 is at or above its critical level, WARN when any is at or above its warning \
                 level, and OK otherwise. Note: check_load of the Monitoring Plugins alerts only \
                 when a value is above the threshold (>); this check follows the Checkmk rule \
                 of alerting at the level (>=), so a load of exactly 5.00 is already WARN. With \
                 'percpu' the averages are divided by the number of CPUs online before they \
                 are compared, like check_load -r. Needs the 'system' interface granted by \
                 the policy.",
            ),
            params: vec![
                ParamInfo::new(
                    "warning",
                    "Warning levels for the 1, 5 and 15 minute averages, as W1,W5,W15; with \
                     fewer numbers the last one applies to the rest (a single number to all \
                     three).",
                )
                .default("5.0,4.0,3.0")
                .source(DEFAULT_SOURCE),
                ParamInfo::new("critical", "Critical levels, in the same form as 'warning'.")
                    .default("10.0,6.0,4.0")
                    .source(DEFAULT_SOURCE),
                ParamInfo::new(
                    "percpu",
                    "Divide the averages by the number of CPUs online before comparing them \
                     (true or false), like check_load -r.",
                )
                .default("false"),
            ],
        }
    }

    fn discover(request: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        request.params().reject_unknown(&[])?;
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let params = request.params();
        params.reject_unknown(&["warning", "critical", "percpu"])?;
        let warn = parse_triple(&params, "warning", DEFAULT_WARNING)?;
        let crit = parse_triple(&params, "critical", DEFAULT_CRITICAL)?;
        for i in 0..3 {
            if warn[i] > crit[i] {
                return Err(CheckError::BadParams(format!(
                    "parameters 'warning' and 'critical': the {}-minute warning level {} is above the critical level {}",
                    MINUTES[i], warn[i], crit[i]
                )));
            }
        }
        let percpu = params.bool("percpu", false)?;
        // The host's message says what failed; pass it on unchanged.
        let load = system::load().map_err(CheckError::Failed)?;
        Ok(evaluate(&load, warn, crit, percpu))
    }
}

wasmon_sdk::export_check!(Load);

#[cfg(test)]
mod tests {
    use super::*;
    use wasmon_sdk::{Param, params};

    fn la(one: f64, five: f64, fifteen: f64, cpus: u32) -> system::LoadAverage {
        system::LoadAverage { one, five, fifteen, cpus }
    }

    #[test]
    fn triples() {
        let get = |v: &str| parse_triple(&params(&Param::list(&[("warning", v)])), "warning", DEFAULT_WARNING);
        assert_eq!(get("1,2,3").unwrap(), [1.0, 2.0, 3.0]);
        assert_eq!(get("7").unwrap(), [7.0; 3]);
        assert_eq!(get("1, 2").unwrap(), [1.0, 2.0, 2.0]);
        assert_eq!(parse_triple(&params(&[]), "warning", DEFAULT_WARNING).unwrap(), DEFAULT_WARNING);
        for bad in ["", "a", "1,2,3,4", "1,,3", "-1", "nan"] {
            let err = get(bad).unwrap_err();
            assert_eq!(
                err,
                CheckError::BadParams(format!(
                    "parameter 'warning': expected one to three non-negative numbers for the 1, 5 and 15 minute averages, such as 5,4,3, got '{bad}'"
                ))
            );
        }
    }

    #[test]
    fn levels_alert_at_the_value() {
        let r = evaluate(&la(1.5, 1.89, 1.54, 2), DEFAULT_WARNING, DEFAULT_CRITICAL, false);
        assert_eq!(r.state(), State::Ok);
        assert_eq!(r.summary(), "Load average: 1.50, 1.89, 1.54");
        let r = evaluate(&la(5.0, 1.0, 1.0, 2), DEFAULT_WARNING, DEFAULT_CRITICAL, false);
        assert_eq!(r.state(), State::Warning);
        assert_eq!(r.summary(), "Load average: 5.00 (warn/crit at 5.00/10.00), 1.00, 1.00");
        let r = evaluate(&la(1.0, 3.0, 4.0, 2), DEFAULT_WARNING, DEFAULT_CRITICAL, false);
        assert_eq!(r.state(), State::Critical);
        assert_eq!(r.summary(), "Load average: 1.00, 3.00, 4.00 (warn/crit at 3.00/4.00)");
        let labels: Vec<&str> = r.metrics.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["load1", "load5", "load15"]);
        assert_eq!(r.metrics[2].crit.map(|c| c.to_string()).as_deref(), Some("4"));
    }

    #[test]
    fn percpu_divides_by_online_cpus() {
        let r = evaluate(&la(8.0, 2.0, 2.0, 4), [1.5; 3], [3.0; 3], true);
        assert_eq!(r.state(), State::Warning);
        assert_eq!(
            r.summary(),
            "Load average per CPU: 2.00 (warn/crit at 1.50/3.00), 0.50, 0.50, Total load average: 8.00, 2.00, 2.00 on 4 CPUs"
        );
        let labels: Vec<&str> = r.metrics.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["load1", "scaled_load1", "load5", "scaled_load5", "load15", "scaled_load15"]);
        // Unknown CPU count: compared unscaled, as check_load does.
        let r = evaluate(&la(2.0, 2.0, 2.0, 0), [1.5; 3], [3.0; 3], true);
        assert_eq!(
            r.summary(),
            "Load average: 2.00 (warn/crit at 1.50/3.00), 2.00 (warn/crit at 1.50/3.00), 2.00 (warn/crit at 1.50/3.00)"
        );
    }
}

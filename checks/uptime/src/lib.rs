//! `uptime`: the time since the machine booted, to see reboots (and
//! machines that have gone unpatched too long).

use std::time::Duration;

use wasmon_sdk::{
    Check, CheckError, CheckInfo, CheckRequest, CheckResult, DiscoverRequest, Item, Levels, Manpage, Metric, Output,
    ParamInfo, Params, RequestExt, check_levels, render, system,
};

/// Default lower levels: warn below 15 minutes, crit below 5 minutes up.
const DEFAULT_MIN: (Duration, Duration) = (Duration::from_secs(15 * 60), Duration::from_secs(5 * 60));
const DEFAULT_SOURCE: &str = "wasmon's choice: with the built-in check interval of 5 minutes, a \
     reboot shows as an uptime below 5 minutes (CRIT) at the first check after it and below \
     15 minutes (WARN) at the check after that, so a reboot is always seen";

struct Uptime;

/// A duration parameter: what [`Params::duration`] reads (`10s`, `15m`,
/// `2h`, seconds) or a number of days (`90d`), which uptimes need.
fn duration(params: &Params<'_>, name: &str, default: Duration) -> Result<f64, CheckError> {
    if let Some(days) = params.get(name).and_then(|raw| raw.trim().strip_suffix('d')) {
        return match days.trim().parse::<f64>() {
            Ok(d) if d.is_finite() && d >= 0.0 => Ok(d * 86_400.0),
            _ => Err(wasmon_sdk::bad_param(
                name,
                "a duration such as 15m, 2h, 90d or 900 (seconds)",
                params.get(name).unwrap_or_default(),
            )),
        };
    }
    Ok(params.duration(name, default)?.as_secs_f64())
}

/// The levels from the parameters: lower levels always (defaults above),
/// upper levels only when both `max_warning` and `max_critical` are given.
fn levels(params: &Params<'_>) -> Result<Levels, CheckError> {
    let warn = duration(params, "warning", DEFAULT_MIN.0)?;
    let crit = duration(params, "critical", DEFAULT_MIN.1)?;
    if crit > warn {
        return Err(CheckError::BadParams(format!(
            "parameters 'warning' and 'critical': the critical level {} is above the warning level {} \
             (both are minimum uptimes: critical must be the shorter)",
            render::seconds(crit),
            render::seconds(warn)
        )));
    }
    let upper = match (params.get("max_warning"), params.get("max_critical")) {
        (None, None) => None,
        (Some(_), Some(_)) => {
            let w = duration(params, "max_warning", Duration::ZERO)?;
            let c = duration(params, "max_critical", Duration::ZERO)?;
            if w > c {
                return Err(CheckError::BadParams(format!(
                    "parameters 'max_warning' and 'max_critical': the warning level {} is above the critical level {}",
                    render::seconds(w),
                    render::seconds(c)
                )));
            }
            Some((w, c))
        }
        (Some(_), None) => {
            return Err(CheckError::BadParams(
                "parameter 'max_warning' is given without 'max_critical': give both or neither".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(CheckError::BadParams(
                "parameter 'max_critical' is given without 'max_warning': give both or neither".into(),
            ));
        }
    };
    Ok(match upper {
        Some(upper) => Levels::both(upper, (warn, crit)),
        None => Levels::lower(warn, crit),
    })
}

/// The result for an uptime of `up` seconds.
fn evaluate(up: f64, levels: &Levels) -> CheckResult {
    let mut out = Output::new();
    out.push(check_levels(up, levels, "Up since boot", render::seconds));
    let mut metric = Metric::seconds("uptime", up);
    // The plugin interface has one warn/crit pair per metric: the lower
    // levels, which are always set, as a range "alert below".
    if let Some((w, c)) = levels.lower {
        metric = metric.with_levels(&Levels::lower(w, c));
    }
    out.metric(metric);
    out.into_result()
}

impl Check for Uptime {
    fn describe() -> CheckInfo {
        CheckInfo {
            name: "uptime".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: "Linux: uptime since the last boot".into(),
            manpage: Manpage::new(
                "Monitors the time since the machine the wasmon host runs on was booted, as the \
                 kernel reports it in /proc/uptime, to make reboots visible. The service is CRIT \
                 when the uptime is below the critical level, WARN when it is below the warning \
                 level, and OK otherwise: by default a reboot within the last 5 minutes is CRIT \
                 and one within the last 15 minutes WARN, so the first two checks after a reboot \
                 report it and the service recovers by itself. With 'max_warning' and \
                 'max_critical' it is also WARN or CRIT when the machine has been up for at least \
                 that long (a machine that has not been rebooted for its kernel updates). Levels \
                 are compared with the Checkmk rule (at the level alerts). Needs the 'system' \
                 interface granted by the policy.",
            ),
            params: vec![
                ParamInfo::new(
                    "warning",
                    "WARN when the machine has been up for less than this: a duration such as \
                     15m, 2h, 90d or 900 (seconds).",
                )
                .default("15m")
                .source(DEFAULT_SOURCE),
                ParamInfo::new(
                    "critical",
                    "CRIT when the machine has been up for less than this, in the same form as \
                     'warning'; at most the warning level.",
                )
                .default("5m")
                .source(DEFAULT_SOURCE),
                ParamInfo::new(
                    "max_warning",
                    "WARN when the machine has been up for this long or longer, such as 90d; \
                     give it with 'max_critical'. No upper levels when neither is given.",
                ),
                ParamInfo::new(
                    "max_critical",
                    "CRIT when the machine has been up for this long or longer, such as 180d; \
                     at least 'max_warning'.",
                ),
            ],
        }
    }

    fn discover(request: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        request.params().reject_unknown(&[])?;
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let params = request.params();
        params.reject_unknown(&["warning", "critical", "max_warning", "max_critical"])?;
        let levels = levels(&params)?;
        // The host's message says what failed; pass it on unchanged.
        let up = system::uptime().map_err(CheckError::Failed)?;
        Ok(evaluate(up, &levels))
    }
}

wasmon_sdk::export_check!(Uptime);

#[cfg(test)]
mod tests {
    use super::*;
    use wasmon_sdk::{Param, State, params};

    fn levels_of(list: &[(&str, &str)]) -> Result<Levels, CheckError> {
        levels(&params(&Param::list(list)))
    }

    #[test]
    fn a_recent_reboot_is_crit_then_warn_then_ok() {
        let l = levels_of(&[]).unwrap();
        let r = evaluate(120.0, &l);
        assert_eq!(r.state(), State::Critical);
        assert_eq!(r.summary(), "Up since boot: 2 min 0 s (warn/crit below 15 min 0 s/5 min 0 s)");
        assert_eq!(evaluate(300.0, &l).state(), State::Warning);
        assert_eq!(evaluate(899.0, &l).state(), State::Warning);
        let r = evaluate(90_000.0, &l);
        assert_eq!(r.state(), State::Ok);
        assert_eq!(r.summary(), "Up since boot: 1 d 1 h");
        assert_eq!(r.metrics.len(), 1);
        assert_eq!(r.metrics[0].label, "uptime");
        assert_eq!(r.metrics[0].uom, "s");
    }

    #[test]
    fn upper_levels_catch_a_machine_never_rebooted() {
        let l = levels_of(&[("max_warning", "90d"), ("max_critical", "180d")]).unwrap();
        assert_eq!(evaluate(30.0 * 86_400.0, &l).state(), State::Ok);
        let r = evaluate(100.0 * 86_400.0, &l);
        assert_eq!(r.state(), State::Warning);
        assert_eq!(r.summary(), "Up since boot: 100 d 0 h (warn/crit at 90 d 0 h/180 d 0 h)");
        assert_eq!(evaluate(180.0 * 86_400.0, &l).state(), State::Critical);
        // The lower levels still apply.
        assert_eq!(evaluate(60.0, &l).state(), State::Critical);
    }

    #[test]
    fn bad_levels_are_refused() {
        let err = levels_of(&[("warning", "1m"), ("critical", "10m")]).unwrap_err();
        assert!(
            matches!(&err, CheckError::BadParams(m) if m.contains("critical level 10 min 0 s is above the warning level 1 min 0 s")),
            "{err:?}"
        );
        let err = levels_of(&[("max_warning", "90d")]).unwrap_err();
        assert_eq!(
            err,
            CheckError::BadParams(
                "parameter 'max_warning' is given without 'max_critical': give both or neither".into()
            )
        );
        let err = levels_of(&[("max_warning", "9d"), ("max_critical", "1d")]).unwrap_err();
        assert!(matches!(&err, CheckError::BadParams(m) if m.contains("warning level 9 d 0 h is above")), "{err:?}");
        assert!(matches!(levels_of(&[("warning", "soon")]).unwrap_err(), CheckError::BadParams(_)));
        assert!(
            matches!(levels_of(&[("max_warning", "xd"), ("max_critical", "1d")]).unwrap_err(), CheckError::BadParams(m) if m.contains("90d"))
        );
    }
}

//! `disk`: space and inodes of one mounted filesystem, with the semantics of
//! the Monitoring Plugins' `check_disk`.

use wasmon_sdk::{
    Amount, Check, CheckError, CheckInfo, CheckRequest, CheckResult, DiscoverRequest, Item, Levels, Manpage, Metric,
    Output, ParamInfo, Params, Range, RequestExt, State, render, system,
};

const SPACE_DEFAULT: (Amount, Amount) = (Amount::Percent(20.0), Amount::Percent(10.0));
const SPACE_SOURCE: &str = "Nagios Core sample configuration (localhost.cfg, service 'Root Partition': \
     check_local_disk!20%!10%!/); the same as Checkmk's filesystem factory setting of 80%/90% used";
const INODE_DEFAULT: (f64, f64) = (10.0, 5.0);
const INODE_SOURCE: &str = "Checkmk filesystem factory setting 'inodes_levels': (10.0, 5.0) percent free";
/// Filesystem types discovery leaves out unless `exclude_types` says otherwise.
const DEFAULT_EXCLUDED: &str = "tmpfs,devtmpfs,ramfs,squashfs,iso9660,udf,nfs,nfs4,cifs,smbfs,smb3";
const EXCLUDE_SOURCE: &str = "Checkmk's filesystem discovery excludes tmpfs, nfs, smbfs, cifs and \
     iso9660 by default; wasmon adds devtmpfs and ramfs (memory), squashfs and udf (read-only \
     images, always full) and the other network filesystems nfs4 and smb3";

struct Disk;

/// `used * 100 / total` rounded up to a whole percent, exactly as check_disk
/// 2.3 (and df's Use%) compute a used percentage; `None` for a zero total.
fn used_percent(used: u64, total: u64) -> Option<f64> {
    if total == 0 {
        return None;
    }
    let u100 = u128::from(used) * 100;
    let total = u128::from(total);
    let percent = u100 / total + u128::from(u100 % total != 0);
    Some(percent as f64)
}

/// Whether a free amount is at or below `level` (check_disk's `-w 20%` is the
/// range `@20`: alert when 0 <= free <= 20).
fn free_alerts(level: Option<Amount>, free_percent: f64, free_bytes: f64) -> bool {
    match level {
        None => false,
        Some(Amount::Percent(p)) => free_percent <= p,
        Some(Amount::Bytes(b)) => free_bytes <= b,
    }
}

fn state_of(warn: Option<Amount>, crit: Option<Amount>, free_percent: f64, free_bytes: f64) -> State {
    if free_alerts(crit, free_percent, free_bytes) {
        State::Critical
    } else if free_alerts(warn, free_percent, free_bytes) {
        State::Warning
    } else {
        State::Ok
    }
}

/// The levels of one check run.
#[derive(Debug, Clone, Copy, PartialEq)]
struct DiskLevels {
    warn: Option<Amount>,
    crit: Option<Amount>,
    inodes: Option<(f64, f64)>,
}

fn read_levels(params: &Params<'_>) -> Result<DiskLevels, CheckError> {
    let warn = params.amount("warning")?.unwrap_or(SPACE_DEFAULT.0);
    let crit = params.amount("critical")?.unwrap_or(SPACE_DEFAULT.1);
    let inodes = params.levels_lower("inodes_warning", "inodes_critical", Some(INODE_DEFAULT))?;
    for (name, value) in [("inodes_warning", inodes.lower.map(|l| l.0)), ("inodes_critical", inodes.lower.map(|l| l.1))]
    {
        if value.is_some_and(|v| !(0.0..=100.0).contains(&v)) {
            return Err(wasmon_sdk::bad_param(name, "a percentage from 0 to 100", params.get(name).unwrap_or("")));
        }
    }
    Ok(DiskLevels { warn: Some(warn), crit: Some(crit), inodes: inodes.lower })
}

/// The perfdata level for used bytes equivalent to a free-space level.
fn used_level(level: Amount, base: f64) -> f64 {
    match level {
        Amount::Percent(p) => base * (100.0 - p) / 100.0,
        Amount::Bytes(b) => (base - b).max(0.0),
    }
}

fn evaluate(fs: &system::Filesystem, levels: &DiskLevels) -> CheckResult {
    let used = fs.total_bytes.saturating_sub(fs.free_bytes);
    let available = fs.available_bytes;
    // Like df and check_disk: percentages of the space ordinary users can use
    // (used + available), so root's reserve counts neither as used nor free.
    let base = used + available;
    let used_pct = used_percent(used, base).unwrap_or(0.0);
    let free_pct = 100.0 - used_pct;
    let mut out = Output::new();
    out.ok(format!(
        "Used: {} - {} of {}",
        render::percent(used_pct),
        render::bytes(used as f64),
        render::bytes(base as f64)
    ));
    let state = state_of(levels.warn, levels.crit, free_pct, available as f64);
    let mut free_text = format!("Free: {} - {}", render::percent(free_pct), render::bytes(available as f64));
    if state != State::Ok {
        let show = |a: Option<Amount>| a.map_or("none".to_string(), |a| a.to_string());
        free_text.push_str(&format!(" (warn/crit at or below {}/{})", show(levels.warn), show(levels.crit)));
    }
    out.partial(state, free_text).details(format!(
        "Device: {}, Type: {}, Size: {}, Reserved for root: {}",
        fs.device,
        fs.fs_type,
        render::bytes(fs.total_bytes as f64),
        render::bytes(fs.free_bytes.saturating_sub(available) as f64)
    ));

    let base_f = base as f64;
    let used_levels = Levels {
        upper: levels.warn.zip(levels.crit).map(|(w, c)| (used_level(w, base_f), used_level(c, base_f))),
        lower: None,
    };
    out.metric(Metric::bytes("fs_used", used as f64).max(base_f).with_levels(&used_levels));
    let mut free_metric = Metric::bytes("fs_free", available as f64).max(base_f);
    if let Some(w) = levels.warn {
        free_metric = free_metric.warn(Range::lower(base_f - used_level(w, base_f)));
    }
    if let Some(c) = levels.crit {
        free_metric = free_metric.crit(Range::lower(base_f - used_level(c, base_f)));
    }
    out.metric(free_metric);
    out.metric(Metric::bytes("fs_size", fs.total_bytes as f64));
    let pct_levels = Levels {
        upper: levels.warn.zip(levels.crit).map(|(w, c)| {
            let pct = |a: Amount| 100.0 - used_level(a, base_f) / base_f.max(1.0) * 100.0;
            (100.0 - pct(w), 100.0 - pct(c))
        }),
        lower: None,
    };
    // The metric is exact; the summary and the levels use whole percents.
    let exact_pct = if base == 0 { 0.0 } else { used as f64 / base_f * 100.0 };
    out.metric(Metric::percent("fs_used_percent", exact_pct).with_levels(&pct_levels));

    if let Some(inode_used_pct) = used_percent(fs.total_inodes.saturating_sub(fs.free_inodes), fs.total_inodes) {
        let inode_free_pct = 100.0 - inode_used_pct;
        let inode_levels = levels.inodes.map(|(w, c)| (Amount::Percent(w), Amount::Percent(c)));
        let state = state_of(inode_levels.map(|l| l.0), inode_levels.map(|l| l.1), inode_free_pct, 0.0);
        let text =
            format!("Inodes free: {} - {} of {}", render::percent(inode_free_pct), fs.free_inodes, fs.total_inodes);
        if state == State::Ok {
            out.details(text);
        } else {
            let (w, c) = levels.inodes.expect("levels exist when the state is not OK");
            out.partial(state, format!("{text} (warn/crit at or below {}/{})", render::percent(w), render::percent(c)));
        }
        let mut inode_metric =
            Metric::count("inodes_used", (fs.total_inodes - fs.free_inodes.min(fs.total_inodes)) as f64)
                .max(fs.total_inodes as f64);
        if let Some((w, c)) = levels.inodes {
            let total = fs.total_inodes as f64;
            inode_metric = inode_metric
                .warn(Range::upper(total * (100.0 - w) / 100.0))
                .crit(Range::upper(total * (100.0 - c) / 100.0));
        }
        out.metric(inode_metric);
    }
    out.into_result()
}

/// The filesystems discovery proposes: all the host lists except the excluded types.
fn discover_items(filesystems: &[system::Filesystem], excluded: &[&str]) -> Vec<Item> {
    filesystems
        .iter()
        .filter(|fs| !excluded.contains(&fs.fs_type.as_str()))
        .map(|fs| Item { name: fs.mount_point.clone(), params: Vec::new() })
        .collect()
}

fn filesystems() -> Result<Vec<system::Filesystem>, CheckError> {
    system::filesystems().map_err(CheckError::Failed)
}

impl Check for Disk {
    fn describe() -> CheckInfo {
        CheckInfo {
            name: "disk".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: "Linux: Filesystem usage".into(),
            manpage: Manpage::new(
                "Monitors the free space and free inodes of one mounted filesystem of the \
                 machine the wasmon host runs on, with the semantics of check_disk of the \
                 Monitoring Plugins. Free space is the space available to ordinary users \
                 (statvfs f_bavail); percentages are of the space those users can fill, used \
                 plus available, in whole percents with the used share rounded up, as df and \
                 check_disk 2.3 compute them, so the blocks reserved for root count neither \
                 as used nor as free. The service is WARN or CRIT when the free space \
                 is at or below 'warning' or 'critical' (a percentage, or an absolute size), or \
                 when the free inodes are at or below 'inodes_warning' or 'inodes_critical' percent \
                 (filesystems without a fixed inode table have no inode levels). Otherwise it \
                 is OK. Needs the 'system' interface granted by the policy.",
            )
            .item("The mount point of the filesystem, e.g. '/' or '/var/lib/docker'.")
            .discovery(
                "One service per mounted filesystem the host lists; the host leaves out \
                 pseudo filesystems (proc, sysfs, cgroup, devpts and the like), filesystems \
                 of zero size, mounts it cannot read and all but the last of several mounts \
                 on one mount point. Discovery also skips the types in 'exclude_types'.",
            ),
            params: vec![
                ParamInfo::new(
                    "warning",
                    "Warning when the free space is at or below this: a percentage ('20%') or \
                     a size ('10GiB', '500MB'; KB, MB, GB, TB are powers of 1024 as in \
                     check_disk). Sizes are compared with the exact free bytes, as check_disk \
                     -u bytes does (with larger units check_disk first truncates the free \
                     space to whole units).",
                )
                .default("20%")
                .source(SPACE_SOURCE),
                ParamInfo::new("critical", "Critical level for the free space, in the same form as 'warning'.")
                    .default("10%")
                    .source(SPACE_SOURCE),
                ParamInfo::new(
                    "inodes_warning",
                    "Warning when the free inodes are at or below this percentage (check_disk -W).",
                )
                .default("10")
                .source(INODE_SOURCE),
                ParamInfo::new("inodes_critical", "Critical level for the free inodes, in percent (check_disk -K).")
                    .default("5")
                    .source(INODE_SOURCE),
                ParamInfo::new(
                    "exclude_types",
                    "Discovery only: comma-separated filesystem types not to monitor; empty to \
                     discover every type.",
                )
                .default(DEFAULT_EXCLUDED)
                .source(EXCLUDE_SOURCE),
            ],
        }
    }

    fn discover(request: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        let params = request.params();
        params.reject_unknown(&["exclude_types"])?;
        let excluded: Vec<&str> = params
            .get("exclude_types")
            .unwrap_or(DEFAULT_EXCLUDED)
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        Ok(discover_items(&filesystems()?, &excluded))
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let params = request.params();
        params.reject_unknown(&["warning", "critical", "inodes_warning", "inodes_critical"])?;
        let levels = read_levels(&params)?;
        let mount_point = request.required_item()?;
        let all = filesystems()?;
        let fs = all.iter().find(|fs| fs.mount_point == mount_point).ok_or(CheckError::ItemNotFound)?;
        Ok(evaluate(fs, &levels))
    }
}

wasmon_sdk::export_check!(Disk);

#[cfg(test)]
mod tests {
    use super::*;
    use wasmon_sdk::{Param, params};

    const GIB: u64 = 1024 * 1024 * 1024;

    fn fs(total: u64, free: u64, available: u64, inodes: (u64, u64)) -> system::Filesystem {
        system::Filesystem {
            mount_point: "/".into(),
            device: "/dev/vda".into(),
            fs_type: "ext4".into(),
            total_bytes: total,
            free_bytes: free,
            available_bytes: available,
            total_inodes: inodes.0,
            free_inodes: inodes.1,
        }
    }

    fn defaults() -> DiskLevels {
        read_levels(&params(&[])).unwrap()
    }

    #[test]
    fn percent_rounding_matches_check_disk() {
        assert_eq!(used_percent(1, 3), Some(34.0));
        assert_eq!(used_percent(2, 3), Some(67.0));
        // 1709 of 2560 blocks: check_disk 2.3.3 reports used_pct=67 free_pct=33.
        assert_eq!(used_percent(1709, 2560), Some(67.0));
        assert_eq!(used_percent(80, 100), Some(80.0));
        assert_eq!(used_percent(0, 100), Some(0.0));
        assert_eq!(used_percent(5, 0), None);
        assert_eq!(used_percent(u64::MAX, u64::MAX), Some(100.0));
    }

    #[test]
    fn free_space_levels_are_inclusive() {
        // The numbers of the machine this was written on: 270553174016 bytes,
        // 253192237056 free, 80211812352 available (check_disk: 82% free).
        let r = evaluate(&fs(270_553_174_016, 253_192_237_056, 80_211_812_352, (16_777_216, 16_362_335)), &defaults());
        assert_eq!(r.state(), State::Ok);
        assert_eq!(r.summary(), "Used: 18% - 16.17 GiB of 90.87 GiB, Free: 82% - 74.70 GiB");
        // 20.00% free exactly: WARN; 10.00% exactly: CRIT.
        let r = evaluate(&fs(100 * GIB, 20 * GIB, 20 * GIB, (0, 0)), &defaults());
        assert_eq!(r.state(), State::Warning);
        assert_eq!(
            r.summary(),
            "Used: 80% - 80.00 GiB of 100.00 GiB, Free: 20% - 20.00 GiB (warn/crit at or below 20%/10%)"
        );
        assert_eq!(evaluate(&fs(100 * GIB, 10 * GIB, 10 * GIB, (0, 0)), &defaults()).state(), State::Critical);
        assert_eq!(evaluate(&fs(100 * GIB, 21 * GIB, 21 * GIB, (0, 0)), &defaults()).state(), State::Ok);
    }

    #[test]
    fn reserved_blocks_count_neither_used_nor_free() {
        // 100 GiB, 30 free of which 10 reserved: used 70 of 90 = 77.78%, shown
        // rounded up as 78%.
        let r = evaluate(&fs(100 * GIB, 30 * GIB, 20 * GIB, (0, 0)), &defaults());
        assert_eq!(r.summary(), "Used: 78% - 70.00 GiB of 90.00 GiB, Free: 22% - 20.00 GiB");
        assert!(r.partials[1].details.as_deref().unwrap().contains("Reserved for root: 10.00 GiB"));
    }

    #[test]
    fn absolute_levels() {
        let list = vec![
            Param { name: "warning".into(), value: "5GiB".into() },
            Param { name: "critical".into(), value: "1GiB".into() },
        ];
        let levels = read_levels(&params(&list)).unwrap();
        assert_eq!(evaluate(&fs(100 * GIB, 5 * GIB, 5 * GIB, (0, 0)), &levels).state(), State::Warning);
        assert_eq!(evaluate(&fs(100 * GIB, 5 * GIB + 1, 5 * GIB + 1, (0, 0)), &levels).state(), State::Ok);
        let r = evaluate(&fs(100 * GIB, GIB, GIB, (0, 0)), &levels);
        assert_eq!(r.state(), State::Critical);
        let used = r.metrics.iter().find(|m| m.label == "fs_used").unwrap();
        assert_eq!(used.warn, Some(Range::upper(95.0 * GIB as f64)));
    }

    #[test]
    fn inode_levels() {
        let ok = evaluate(&fs(100 * GIB, 50 * GIB, 50 * GIB, (1000, 200)), &defaults());
        assert_eq!(ok.state(), State::Ok);
        assert_eq!(ok.partials.len(), 2);
        assert!(ok.partials[1].details.as_deref().unwrap().contains("Inodes free: 20% - 200 of 1000"));
        let warn = evaluate(&fs(100 * GIB, 50 * GIB, 50 * GIB, (1000, 99)), &defaults());
        assert_eq!(warn.state(), State::Warning);
        // 901 of 1000 used: 90.1% rounded up to 91%, so 9% free.
        assert_eq!(warn.partials[2].summary, "Inodes free: 9% - 99 of 1000 (warn/crit at or below 10%/5%)");
        let crit = evaluate(&fs(100 * GIB, 50 * GIB, 50 * GIB, (1000, 50)), &defaults());
        assert_eq!(crit.state(), State::Critical);
        let bad = vec![Param { name: "inodes_warning".into(), value: "120".into() }];
        assert!(read_levels(&params(&bad)).is_err());
    }

    #[test]
    fn discovery_skips_excluded_types() {
        let mut tmp = fs(GIB, GIB, GIB, (0, 0));
        tmp.fs_type = "tmpfs".into();
        tmp.mount_point = "/run".into();
        let all = [fs(GIB, GIB, GIB, (0, 0)), tmp];
        let excluded: Vec<&str> = DEFAULT_EXCLUDED.split(',').collect();
        let items = discover_items(&all, &excluded);
        assert_eq!(items.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["/"]);
        assert_eq!(discover_items(&all, &[]).len(), 2);
    }
}

//! Read-only facts about the local Linux machine, for the WIT `system`
//! interface: load averages, memory, mounted filesystems, uptime.
//!
//! Each fact has a reader (`load_average()`, `memory()`, `filesystems()`,
//! `uptime()`) that reads `/proc` or `/sys`, and a pure parser for the file's
//! text (`parse_loadavg()`, `parse_meminfo()`, `parse_mountinfo()`, ...), so the
//! parsing is tested with sample text on any machine.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;

/// The load averages, as in `/proc/loadavg`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadAverage {
    /// Average over 1 minute.
    pub one: f64,
    /// Average over 5 minutes.
    pub five: f64,
    /// Average over 15 minutes.
    pub fifteen: f64,
    /// Number of CPUs online (what `sysconf(_SC_NPROCESSORS_ONLN)` and thus
    /// `check_load -r` count), for per-CPU thresholds.
    pub cpus: u32,
}

/// Memory and swap in bytes, as in `/proc/meminfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryInfo {
    /// Total usable RAM (`MemTotal`).
    pub mem_total: u64,
    /// RAM not in use at all (`MemFree`).
    pub mem_free: u64,
    /// RAM available for new programs without swapping (`MemAvailable`; on
    /// kernels before 3.14, which lack it, `MemFree + Buffers + Cached`).
    pub mem_available: u64,
    /// RAM used for buffers (`Buffers`).
    pub buffers: u64,
    /// RAM used for the page cache (`Cached`).
    pub cached: u64,
    /// Total swap space (`SwapTotal`).
    pub swap_total: u64,
    /// Swap space not in use (`SwapFree`).
    pub swap_free: u64,
}

/// Usage of one mounted filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filesystem {
    /// Where it is mounted, e.g. "/" or "/var".
    pub mount_point: String,
    /// The mounted device or source, e.g. "/dev/sda1".
    pub device: String,
    /// Filesystem type, e.g. "ext4", "xfs", "tmpfs".
    pub fs_type: String,
    /// Size in bytes (`f_blocks`).
    pub total_bytes: u64,
    /// Free bytes, including those reserved for root (`f_bfree`).
    pub free_bytes: u64,
    /// Bytes available to unprivileged users (`f_bavail`).
    pub available_bytes: u64,
    /// Total inodes (0 when the filesystem has no fixed inode table).
    pub total_inodes: u64,
    /// Free inodes.
    pub free_inodes: u64,
}

/// One line of `/proc/self/mountinfo`: what is mounted where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The mount point, with octal escapes (`\040` for a blank) decoded.
    pub mount_point: String,
    /// The mount source (device), escapes decoded.
    pub device: String,
    /// The filesystem type.
    pub fs_type: String,
}

/// Filesystem types that hold no user data: kernel interfaces and the like.
/// [`filesystems`] leaves them out, and also every filesystem of zero size.
pub const PSEUDO_FILESYSTEMS: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "efivarfs",
    "fuse.gvfsd-fuse",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nfsd",
    "nsfs",
    "proc",
    "pstore",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "sysfs",
    "tracefs",
];

/// Whether `fs_type` is in [`PSEUDO_FILESYSTEMS`].
pub fn is_pseudo(fs_type: &str) -> bool {
    PSEUDO_FILESYSTEMS.contains(&fs_type)
}

fn invalid(file: &str, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{file}: {what}"))
}

fn read(path: &str) -> io::Result<String> {
    fs::read_to_string(path).map_err(|e| io::Error::new(e.kind(), format!("cannot read {path}: {e}")))
}

/// The current load averages and the number of CPUs online.
pub fn load_average() -> io::Result<LoadAverage> {
    let (one, five, fifteen) = parse_loadavg(&read("/proc/loadavg")?)?;
    Ok(LoadAverage { one, five, fifteen, cpus: cpus_online() })
}

/// The number of CPUs online, from `/sys/devices/system/cpu/online` as glibc's
/// `sysconf(_SC_NPROCESSORS_ONLN)` reads it; if that file cannot be read, the
/// parallelism the process may use.
fn cpus_online() -> u32 {
    fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|text| parse_cpu_list(&text).ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        })
}

/// Parses `/proc/loadavg` (`0.10 0.20 0.30 1/123 4567`) into the three averages.
pub fn parse_loadavg(text: &str) -> io::Result<(f64, f64, f64)> {
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0));
    match (fields.next(), fields.next(), fields.next()) {
        (Some(Some(a)), Some(Some(b)), Some(Some(c))) => Ok((a, b, c)),
        _ => Err(invalid("/proc/loadavg", format!("expected three load averages, got {:?}", text.trim()))),
    }
}

/// Counts the CPUs in a kernel CPU list such as `0-3,5,7-8` (the format of
/// `/sys/devices/system/cpu/online`).
pub fn parse_cpu_list(text: &str) -> io::Result<u32> {
    let bad = || invalid("/sys/devices/system/cpu/online", format!("not a CPU list: {:?}", text.trim()));
    let mut count = 0u32;
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<u32>().map_err(|_| bad())?, b.parse::<u32>().map_err(|_| bad())?),
            None => {
                let n = part.parse::<u32>().map_err(|_| bad())?;
                (n, n)
            }
        };
        if last < first {
            return Err(bad());
        }
        count = count.saturating_add(last - first + 1);
    }
    Ok(count)
}

/// The current memory and swap usage.
pub fn memory() -> io::Result<MemoryInfo> {
    parse_meminfo(&read("/proc/meminfo")?)
}

/// Parses `/proc/meminfo` (`MemTotal:  16318888 kB` lines); kB are KiB, so
/// values are multiplied by 1024. `MemTotal`, `MemFree`, `SwapTotal` and
/// `SwapFree` are required; `Buffers` and `Cached` count as 0 when missing.
pub fn parse_meminfo(text: &str) -> io::Result<MemoryInfo> {
    let mut values = std::collections::HashMap::new();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else { continue };
        let mut parts = rest.split_whitespace();
        let (Some(number), unit) = (parts.next(), parts.next()) else { continue };
        let Ok(number) = number.parse::<u64>() else {
            return Err(invalid("/proc/meminfo", format!("{key}: not a number: {:?}", rest.trim())));
        };
        let bytes = match unit {
            Some("kB") => number.saturating_mul(1024),
            None => number,
            Some(other) => return Err(invalid("/proc/meminfo", format!("{key}: unknown unit {other:?}"))),
        };
        values.insert(key.trim(), bytes);
    }
    let required =
        |key: &str| values.get(key).copied().ok_or_else(|| invalid("/proc/meminfo", format!("no {key} line")));
    let mem_free = required("MemFree")?;
    let buffers = values.get("Buffers").copied().unwrap_or(0);
    let cached = values.get("Cached").copied().unwrap_or(0);
    Ok(MemoryInfo {
        mem_total: required("MemTotal")?,
        mem_free,
        mem_available: values
            .get("MemAvailable")
            .copied()
            .unwrap_or_else(|| mem_free.saturating_add(buffers).saturating_add(cached)),
        buffers,
        cached,
        swap_total: required("SwapTotal")?,
        swap_free: required("SwapFree")?,
    })
}

/// Seconds since the machine booted.
pub fn uptime() -> io::Result<f64> {
    parse_uptime(&read("/proc/uptime")?)
}

/// Parses `/proc/uptime` (`12345.67 23456.78`): the first number.
pub fn parse_uptime(text: &str) -> io::Result<f64> {
    text.split_whitespace()
        .next()
        .and_then(|f| f.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| invalid("/proc/uptime", format!("expected seconds, got {:?}", text.trim())))
}

/// Decodes the octal escapes the kernel writes into mount paths: `\040`
/// (blank), `\011` (tab), `\012` (newline), `\134` (backslash). Anything else
/// is kept as it is.
pub fn unescape_octal(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b)) {
            let value = u32::from(bytes[i + 1] - b'0') * 64
                + u32::from(bytes[i + 2] - b'0') * 8
                + u32::from(bytes[i + 3] - b'0');
            if let Ok(byte) = u8::try_from(value) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `/proc/self/mountinfo`: for each line, the mount point (field 5),
/// and after the ` - ` separator the filesystem type and the source.
pub fn parse_mountinfo(text: &str) -> io::Result<Vec<Mount>> {
    let mut mounts = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let bad = || invalid("/proc/self/mountinfo", format!("line {}: unexpected format: {line:?}", n + 1));
        let fields: Vec<&str> = line.split(' ').collect();
        let separator = fields.iter().position(|f| *f == "-").ok_or_else(bad)?;
        if separator < 6 || fields.len() < separator + 3 {
            return Err(bad());
        }
        mounts.push(Mount {
            mount_point: unescape_octal(fields[4]),
            fs_type: unescape_octal(fields[separator + 1]),
            device: unescape_octal(fields[separator + 2]),
        });
    }
    Ok(mounts)
}

/// The mounts whose usage [`filesystems`] reports: pseudo filesystems left out,
/// and of several mounts on one mount point only the last (the one on top,
/// which is what the path shows), at its own position in mount order.
pub fn select_mounts(mounts: Vec<Mount>) -> Vec<Mount> {
    let mut seen = HashSet::new();
    let mut selected: Vec<Mount> = mounts
        .into_iter()
        .rev()
        .filter(|m| !is_pseudo(&m.fs_type))
        .filter(|m| seen.insert(m.mount_point.clone()))
        .collect();
    selected.reverse();
    selected
}

/// All mounted filesystems except pseudo filesystems ([`PSEUDO_FILESYSTEMS`]),
/// filesystems of zero size, mounts `statvfs` cannot read (no permission, gone)
/// and all but the last mount on one mount point, in mount order.
pub fn filesystems() -> io::Result<Vec<Filesystem>> {
    let mounts = select_mounts(parse_mountinfo(&read("/proc/self/mountinfo")?)?);
    Ok(mounts.into_iter().filter_map(|m| usage(m).ok().flatten()).collect())
}

/// The usage of one mount, or `None` for a filesystem of zero size.
fn usage(mount: Mount) -> io::Result<Option<Filesystem>> {
    let st = rustix::fs::statvfs(Path::new(&mount.mount_point))?;
    // Block counts are in units of the fragment size (f_frsize), as df counts.
    let unit = if st.f_frsize > 0 { st.f_frsize } else { st.f_bsize };
    if st.f_blocks == 0 {
        return Ok(None);
    }
    Ok(Some(Filesystem {
        mount_point: mount.mount_point,
        device: mount.device,
        fs_type: mount.fs_type,
        total_bytes: st.f_blocks.saturating_mul(unit),
        free_bytes: st.f_bfree.saturating_mul(unit),
        available_bytes: st.f_bavail.min(st.f_bfree).saturating_mul(unit),
        total_inodes: st.f_files,
        free_inodes: st.f_ffree.min(st.f_files),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loadavg() {
        assert_eq!(parse_loadavg("1.50 1.89 1.54 4/108 31414\n").unwrap(), (1.5, 1.89, 1.54));
        for bad in ["", "1.0 2.0", "a b c 1/2 3", "-1 0 0 1/1 1"] {
            let err = parse_loadavg(bad).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            assert!(err.to_string().starts_with("/proc/loadavg: expected three load averages"), "{err}");
        }
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1\n").unwrap(), 2);
        assert_eq!(parse_cpu_list("0").unwrap(), 1);
        assert_eq!(parse_cpu_list("0-3,5,7-8").unwrap(), 7);
        assert!(parse_cpu_list("3-1").is_err());
        assert!(parse_cpu_list("x").is_err());
    }

    #[test]
    fn the_cpu_count_is_positive_here() {
        assert!(cpus_online() >= 1);
    }

    const MEMINFO: &str = "MemTotal:        8029364 kB
MemFree:          307252 kB
MemAvailable:    5364208 kB
Buffers:          372364 kB
Cached:          4505784 kB
SwapCached:            0 kB
SwapTotal:       2097148 kB
SwapFree:        2097148 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
";

    #[test]
    fn meminfo_in_bytes() {
        let m = parse_meminfo(MEMINFO).unwrap();
        assert_eq!(
            m,
            MemoryInfo {
                mem_total: 8_029_364 * 1024,
                mem_free: 307_252 * 1024,
                mem_available: 5_364_208 * 1024,
                buffers: 372_364 * 1024,
                cached: 4_505_784 * 1024,
                swap_total: 2_097_148 * 1024,
                swap_free: 2_097_148 * 1024,
            }
        );
    }

    #[test]
    fn meminfo_without_memavailable_estimates_it() {
        let old: String =
            MEMINFO.lines().filter(|l| !l.starts_with("MemAvailable")).map(|l| format!("{l}\n")).collect();
        let m = parse_meminfo(&old).unwrap();
        assert_eq!(m.mem_available, (307_252 + 372_364 + 4_505_784) * 1024);
    }

    #[test]
    fn meminfo_errors_name_the_problem() {
        let err = parse_meminfo("MemFree: 1 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n").unwrap_err();
        assert_eq!(err.to_string(), "/proc/meminfo: no MemTotal line");
        let err = parse_meminfo("MemTotal: lots kB\n").unwrap_err();
        assert!(err.to_string().contains("MemTotal: not a number"), "{err}");
    }

    #[test]
    fn uptime_text() {
        assert_eq!(parse_uptime("12345.67 23456.78\n").unwrap(), 12345.67);
        assert!(parse_uptime("").is_err());
        assert!(parse_uptime("soon").is_err());
    }

    #[test]
    fn octal_escapes() {
        assert_eq!(unescape_octal(r"/mnt/my\040disk"), "/mnt/my disk");
        assert_eq!(unescape_octal(r"/a\011b\012c\134d"), "/a\tb\nc\\d");
        assert_eq!(unescape_octal(r"/plain"), "/plain");
        assert_eq!(unescape_octal(r"/odd\04"), r"/odd\04");
        assert_eq!(unescape_octal(r"/big\777"), r"/big\777");
        assert_eq!(unescape_octal(r"/x\0401"), "/x 1");
    }

    const MOUNTINFO: &str = r"22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
23 1 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
25 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
26 25 0:23 / /dev/pts rw,nosuid,noexec,relatime shared:3 - devpts devpts rw,gid=5,mode=620,ptmxmode=000
30 25 0:25 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=803932k,mode=755
31 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw
40 25 8:17 / /mnt/backup\040disk rw,relatime shared:20 master:7 - ext4 /dev/sdb1 rw
41 25 0:40 / /data rw,relatime shared:21 - xfs /dev/sdc1 rw
42 41 0:41 / /data rw,relatime shared:22 - tmpfs tmpfs rw
";

    #[test]
    fn mountinfo_fields_and_escapes() {
        let mounts = parse_mountinfo(MOUNTINFO).unwrap();
        assert_eq!(mounts.len(), 9);
        assert_eq!(mounts[2], Mount { mount_point: "/".into(), device: "/dev/vda".into(), fs_type: "ext4".into() });
        // Optional fields (shared:20 master:7) before the separator are skipped.
        assert_eq!(
            mounts[6],
            Mount { mount_point: "/mnt/backup disk".into(), device: "/dev/sdb1".into(), fs_type: "ext4".into() }
        );
        let err = parse_mountinfo("25 1 254:0 / / rw ext4 /dev/vda rw\n").unwrap_err();
        assert!(err.to_string().starts_with("/proc/self/mountinfo: line 1: unexpected format"), "{err}");
    }

    #[test]
    fn selection_drops_pseudo_filesystems_and_overmounts() {
        let selected = select_mounts(parse_mountinfo(MOUNTINFO).unwrap());
        let points: Vec<(&str, &str)> = selected.iter().map(|m| (m.mount_point.as_str(), m.fs_type.as_str())).collect();
        assert_eq!(points, [("/", "ext4"), ("/run", "tmpfs"), ("/mnt/backup disk", "ext4"), ("/data", "tmpfs")]);
    }

    #[test]
    fn pseudo_list() {
        for t in [
            "proc",
            "sysfs",
            "cgroup",
            "cgroup2",
            "devpts",
            "securityfs",
            "debugfs",
            "tracefs",
            "mqueue",
            "pstore",
            "bpf",
            "configfs",
            "fusectl",
            "hugetlbfs",
            "autofs",
            "binfmt_misc",
            "nsfs",
            "rpc_pipefs",
        ] {
            assert!(is_pseudo(t), "{t}");
        }
        for t in ["ext4", "xfs", "tmpfs", "overlay", "btrfs", "nfs"] {
            assert!(!is_pseudo(t), "{t}");
        }
    }

    #[test]
    fn the_local_machine_can_be_read() {
        let load = load_average().unwrap();
        assert!(load.cpus >= 1 && load.one >= 0.0);
        let mem = memory().unwrap();
        assert!(mem.mem_total > 0 && mem.mem_available <= mem.mem_total);
        assert!(uptime().unwrap() > 0.0);
        let all = filesystems().unwrap();
        assert!(all.iter().all(|f| f.total_bytes > 0 && !is_pseudo(&f.fs_type)));
        let mut points: Vec<&str> = all.iter().map(|f| f.mount_point.as_str()).collect();
        let n = points.len();
        points.sort_unstable();
        points.dedup();
        assert_eq!(points.len(), n, "mount points are unique");
        assert!(all.iter().any(|f| f.mount_point == "/"), "{all:#?}");
    }
}

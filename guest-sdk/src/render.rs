//! Rendering values for summaries, following the output rules of Checkmk
//! guideline 5.5: one blank between value and unit, none before `%`.

/// Formats `value` with `decimals` digits after the point, without a sign on
/// zero (`-0.00` becomes `0.00`).
///
/// ```
/// assert_eq!(wasmon_sdk::render::float(0.12345, 2), "0.12");
/// ```
pub fn float(value: f64, decimals: usize) -> String {
    let s = format!("{value:.decimals$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

/// Formats with at most `decimals` digits, dropping trailing zeros and a
/// trailing point.
fn trimmed(value: f64, decimals: usize) -> String {
    let s = float(value, decimals);
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// A size in bytes with binary units: `512 B`, `1.50 KiB`, `1.50 GiB`, up to PiB.
///
/// ```
/// assert_eq!(wasmon_sdk::render::bytes(1.5 * 1024.0 * 1024.0 * 1024.0), "1.50 GiB");
/// ```
pub fn bytes(value: f64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    let magnitude = value.abs();
    if magnitude < 1024.0 {
        return format!("{} B", float(value, 0));
    }
    let mut scaled = value / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        // Scale up only when the rounded figure would reach 1024.
        if (scaled.abs() * 100.0).round() / 100.0 < 1024.0 {
            break;
        }
        scaled /= 1024.0;
        unit = next;
    }
    format!("{} {unit}", float(scaled, 2))
}

/// A percentage (0-100) with up to two decimals and no blank: `89.5%`, `100%`,
/// `0.01%`. A value that is not zero but rounds to zero shows as `<0.01%`.
///
/// ```
/// assert_eq!(wasmon_sdk::render::percent(89.5), "89.5%");
/// ```
pub fn percent(value: f64) -> String {
    if value != 0.0 && value.abs() < 0.005 {
        let sign = if value < 0.0 { "-" } else { "" };
        return format!("{sign}<0.01%");
    }
    format!("{}%", trimmed(value, 2))
}

/// A duration in seconds, in the unit that reads best: `850 µs`, `12 ms`,
/// `1.5 ms`, `1.20 s`, `5 min 3 s`, `2 h 5 min`, `3 d 4 h`.
///
/// ```
/// assert_eq!(wasmon_sdk::render::seconds(0.012), "12 ms");
/// assert_eq!(wasmon_sdk::render::seconds(1.2), "1.20 s");
/// ```
pub fn seconds(value: f64) -> String {
    if value < 0.0 {
        return format!("-{}", seconds(-value));
    }
    if value == 0.0 {
        return "0 s".to_string();
    }
    if value < 0.000_999_5 {
        return format!("{} µs", float(value * 1e6, 0));
    }
    if value < 0.009_95 {
        return format!("{} ms", trimmed(value * 1e3, 1));
    }
    if value < 0.999_5 {
        return format!("{} ms", float(value * 1e3, 0));
    }
    if value < 59.995 {
        return format!("{} s", float(value, 2));
    }
    let total = value.round() as u64;
    let (days, hours, minutes, secs) = (total / 86_400, total / 3600 % 24, total / 60 % 60, total % 60);
    if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else {
        format!("{minutes} min {secs} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: f64 = 1024.0;

    #[test]
    fn bytes_use_binary_units() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1023.0), "1023 B");
        assert_eq!(bytes(KIB), "1.00 KiB");
        assert_eq!(bytes(1.5 * KIB * KIB), "1.50 MiB");
        assert_eq!(bytes(1.5 * KIB * KIB * KIB), "1.50 GiB");
        assert_eq!(bytes(2.0 * KIB.powi(4)), "2.00 TiB");
        assert_eq!(bytes(3.0 * KIB.powi(5)), "3.00 PiB");
        assert_eq!(bytes(KIB * KIB - 1.0), "1.00 MiB");
        assert_eq!(bytes(-2048.0), "-2.00 KiB");
    }

    #[test]
    fn percent_has_no_blank() {
        assert_eq!(percent(89.5), "89.5%");
        assert_eq!(percent(100.0), "100%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(33.3333), "33.33%");
        assert_eq!(percent(12.999), "13%");
        assert_eq!(percent(0.001), "<0.01%");
    }

    #[test]
    fn seconds_pick_a_readable_unit() {
        assert_eq!(seconds(0.0), "0 s");
        assert_eq!(seconds(0.000_85), "850 µs");
        assert_eq!(seconds(0.0015), "1.5 ms");
        assert_eq!(seconds(0.002), "2 ms");
        assert_eq!(seconds(0.012), "12 ms");
        assert_eq!(seconds(0.9994), "999 ms");
        assert_eq!(seconds(0.9996), "1.00 s");
        assert_eq!(seconds(1.2), "1.20 s");
        assert_eq!(seconds(303.0), "5 min 3 s");
        assert_eq!(seconds(7500.0), "2 h 5 min");
        assert_eq!(seconds(4.0 * 86_400.0 + 3.0 * 3600.0), "4 d 3 h");
        assert_eq!(seconds(-0.5), "-500 ms");
    }

    #[test]
    fn float_drops_negative_zero() {
        assert_eq!(float(-0.0001, 2), "0.00");
        assert_eq!(float(-1.5, 1), "-1.5");
        assert_eq!(float(2.0, 0), "2");
    }
}

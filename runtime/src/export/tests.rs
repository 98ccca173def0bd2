//! What the encoders' tests share: a point and the awkward labels.

use std::sync::Arc;

use super::{Bounds, Origin, Point, Unit, glob};

/// Labels that have broken batches elsewhere: spaces, commas, equals
/// signs, quotes, backslashes (a trailing one: `C:\`), dots, colons,
/// non-ASCII, line breaks.
pub(crate) fn awkward() -> [&'static str; 11] {
    [
        "with space",
        "comma,here",
        "equals=sign",
        "\"quoted\"",
        "back\\slash",
        "ends\\",
        "a.b",
        "c:d",
        "Größe",
        "new\nline",
        "double\\\\",
    ]
}

/// A point of host "web 1", service "Disk, all", check "dummy", at
/// 1765101600, with `value` in `uom`, warn `0.01:1`, crit `@~:2`, min 0
/// (all in `uom`).
pub(crate) fn point(label: &str, value: f64, uom: &str) -> Point {
    let (unit, f) = Unit::normalise(uom);
    Point {
        t: 1_765_101_600.0,
        host: Arc::from("web 1"),
        service: Some(Arc::from("Disk, all")),
        check: "dummy".into(),
        label: label.into(),
        value: value * f,
        unit,
        warn: Some(Bounds { low: Some(0.01 * f), high: Some(f), inside: false }),
        crit: Some(Bounds { low: None, high: Some(2.0 * f), inside: true }),
        min: Some(0.0),
        max: None,
        origin: Origin::Perfdata,
    }
}

#[test]
fn units_are_normalised_where_known() {
    assert_eq!(Unit::normalise("ms"), (Unit::Seconds, 1e-3));
    assert_eq!(Unit::normalise("µs"), (Unit::Seconds, 1e-6));
    assert_eq!(Unit::normalise("KiB"), (Unit::Bytes, 1024.0));
    assert_eq!(Unit::normalise("GB"), (Unit::Bytes, 1e9));
    assert_eq!(Unit::normalise("%"), (Unit::Percent, 1.0));
    for kept in ["W", "dBm", "GBP", "Bytes", "b"] {
        assert_eq!(Unit::normalise(kept), (Unit::Other(kept.into()), 1.0));
    }
}

#[test]
fn globs() {
    assert!(glob("web*", "web1"));
    assert!(glob("*", ""));
    assert!(glob("w?b*1", "web-01"));
    assert!(!glob("web?", "web"));
    assert!(glob("*disk*", "C: disk usage"));
    assert!(!glob("db*", "web1"));
}

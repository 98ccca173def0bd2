//! Graphite plaintext, in Icinga 2's scheme:
//! `<prefix>.<host>.services.<service>.<check>.perfdata.<label>.value`
//! (`<prefix>.<host>.host.<check>.perfdata.<label>.value` for a host
//! result), with `.warn`, `.crit`, `.min`, `.max` beside it (and
//! `.warn_low`, `.crit_low`, `.warn_inside`, `.crit_inside`); metadata as
//! `….<check>.metadata.<name>`. Timestamps in whole seconds.
//!
//! ```text
//! wasmon.web_1.services.Disk__all.dummy.perfdata.C__.value 1500000000 1765101600
//! ```
//!
//! Each path part keeps letters (any script), digits, `-` and `_`; every
//! other character (the `.` that separates parts, spaces that separate
//! fields, `;` that starts Graphite tags, `/` and `\` that are folders in
//! Whisper, line breaks) becomes `_`. Graphite has no unknown value: a
//! `U` writes only the point's thresholds.

use super::sink::Format;
use super::spool::Record;
use super::{Origin, Point};

/// The plaintext encoder.
#[derive(Clone, Debug)]
pub struct Graphite {
    /// The first path part(s), such as "wasmon" (written as given, each
    /// dot-separated part cleaned).
    pub prefix: String,
}

impl Graphite {
    /// The path of a point, without `.value`.
    pub fn path(&self, p: &Point) -> String {
        let mut s = String::new();
        for part in self.prefix.split('.').filter(|s| !s.is_empty()) {
            s.push_str(&clean(part));
            s.push('.');
        }
        s.push_str(&clean(&p.host));
        match &p.service {
            Some(svc) => {
                s.push_str(".services.");
                s.push_str(&clean(svc));
            }
            None => s.push_str(".host"),
        }
        s.push('.');
        s.push_str(&clean(&p.check));
        s.push_str(if p.origin == Origin::Metadata { ".metadata." } else { ".perfdata." });
        s.push_str(&clean(&p.label));
        s
    }

    /// The lines of a point (each with its newline).
    pub fn lines(&self, p: &Point) -> String {
        let path = self.path(p);
        let ts = p.t.floor() as i64;
        let mut out = String::new();
        let mut line = |suffix: &str, v: f64| {
            out.push_str(&format!("{path}{suffix} {} {ts}\n", number(v)));
        };
        if p.origin == Origin::Metadata {
            if p.known() {
                line("", p.value);
            }
            return out;
        }
        if p.known() {
            line(".value", p.value);
        }
        for (name, v) in p.thresholds() {
            line(&format!(".{name}"), v);
        }
        out
    }
}

impl Format for Graphite {
    fn encode(&self, p: &Point, out: &mut Vec<Record>) {
        let lines = self.lines(p);
        if !lines.is_empty() {
            out.push(lines.into_bytes());
        }
    }
}

/// A path part: letters, digits, `-` and `_` kept, the rest `_`; never empty.
pub fn clean(part: &str) -> String {
    let s: String = part.chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    if s.is_empty() { "_".to_string() } else { s }
}

/// A value as Graphite reads it.
fn number(v: f64) -> String {
    format!("{v}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::{awkward, point};

    #[test]
    fn icinga_paths_for_awkward_labels() {
        let g = Graphite { prefix: "wasmon".into() };
        let p = point("C:\\", 1.5, "GB");
        assert_eq!(
            g.lines(&p),
            "wasmon.web_1.services.Disk__all.dummy.perfdata.C__.value 1500000000 1765101600\n\
             wasmon.web_1.services.Disk__all.dummy.perfdata.C__.warn 1000000000 1765101600\n\
             wasmon.web_1.services.Disk__all.dummy.perfdata.C__.warn_low 10000000 1765101600\n\
             wasmon.web_1.services.Disk__all.dummy.perfdata.C__.crit 2000000000 1765101600\n\
             wasmon.web_1.services.Disk__all.dummy.perfdata.C__.crit_inside 1 1765101600\n\
             wasmon.web_1.services.Disk__all.dummy.perfdata.C__.min 0 1765101600\n"
        );
        let expected = [
            "with_space",
            "comma_here",
            "equals_sign",
            "_quoted_",
            "back_slash",
            "ends_",
            "a_b",
            "c_d",
            "Größe",
            "new_line",
            "double__",
        ];
        for (label, want) in awkward().iter().zip(expected) {
            let mut p = point(label, 2.0, "");
            (p.warn, p.crit, p.min) = (None, None, None);
            assert_eq!(
                g.lines(&p),
                format!("wasmon.web_1.services.Disk__all.dummy.perfdata.{want}.value 2 1765101600\n"),
                "{label:?}"
            );
        }
    }

    #[test]
    fn host_results_metadata_and_unknown_values() {
        let g = Graphite { prefix: "a.b c".into() };
        let mut p = point("rta", f64::NAN, "ms");
        p.service = None;
        (p.crit, p.min) = (None, None);
        p.warn = Some(crate::export::Bounds { low: None, high: Some(0.1), inside: false });
        assert_eq!(g.lines(&p), "a.b_c.web_1.host.dummy.perfdata.rta.warn 0.1 1765101600\n");
        p.origin = Origin::Metadata;
        p.label = "attempt".into();
        p.value = 2.0;
        assert_eq!(g.lines(&p), "a.b_c.web_1.host.dummy.metadata.attempt 2 1765101600\n");
    }
}

//! Reads `[cluster]` and checks the `zone` key (see [`crate::cluster`]).

use super::{Reader, Val, describe, sorted};
use crate::cluster::{ClusterSettings, valid_name};

const CLUSTER_KEYS: &[&str] = &["nats", "name", "batch_size", "ack_wait", "grace", "shards", "lease", "node"];

/// What a zone or cluster name may be made of.
const NAME_CHARS: &str = "letters, digits, '-' and '_', at most 64";

impl Reader<'_> {
    /// `[cluster]`, or `None` (with problems) if it is unusable.
    pub(super) fn cluster(&mut self, value: &Val<'_>) -> Option<ClusterSettings> {
        let Some(table) = value.get_ref().as_table() else {
            self.problem(value.span(), format!("key 'cluster': expected a table [cluster], found {}", describe(value)));
            return None;
        };
        let cx = "[cluster]";
        let mut ok = true;
        let mut settings = ClusterSettings::default();
        let mut nats = None;
        for (key, v) in sorted(table) {
            match key.get_ref().as_ref() {
                "nats" => {
                    let expected = "a NATS server URL such as \"nats://127.0.0.1:4222\"";
                    match v.get_ref().as_str().map(str::trim) {
                        Some(url)
                            if ["nats://", "tls://", "ws://", "wss://"].iter().any(|p| url.starts_with(p))
                                && url.split("://").nth(1).is_some_and(|rest| !rest.is_empty()) =>
                        {
                            nats = Some(url.to_string())
                        }
                        _ => {
                            self.bad(v.span(), cx, "nats", format!("expected {expected}, found {}", describe(v)));
                            ok = false;
                        }
                    }
                }
                "name" => match v.get_ref().as_str() {
                    Some(s) if valid_name(s) && !s.is_empty() => settings.name = s.to_string(),
                    _ => {
                        let found = describe(v);
                        self.bad(v.span(), cx, "name", format!("expected a name of {NAME_CHARS}, found {found}"));
                        ok = false;
                    }
                },
                "batch_size" => match self.integer(v, cx, "batch_size", 1, 10_000) {
                    Some(n) => settings.batch_size = n as usize,
                    None => ok = false,
                },
                "ack_wait" => match self.duration(v, cx, "ack_wait", false) {
                    Some(d) => settings.ack_wait = d,
                    None => ok = false,
                },
                "grace" => match self.duration(v, cx, "grace", true) {
                    Some(d) => settings.grace = d,
                    None => ok = false,
                },
                "shards" => match self.integer(v, cx, "shards", 1, 1024) {
                    Some(n) => settings.shards = n as u32,
                    None => ok = false,
                },
                "lease" => match self.duration(v, cx, "lease", false) {
                    Some(d) if d >= std::time::Duration::from_secs(1) => settings.lease = d,
                    Some(_) => {
                        self.bad(v.span(), cx, "lease", "expected a duration of at least 1s");
                        ok = false;
                    }
                    None => ok = false,
                },
                "node" => match v.get_ref().as_str() {
                    Some(s) if valid_name(s) && !s.is_empty() => settings.node = s.to_string(),
                    _ => {
                        let found = describe(v);
                        self.bad(v.span(), cx, "node", format!("expected a name of {NAME_CHARS}, found {found}"));
                        ok = false;
                    }
                },
                other => {
                    self.unknown(key.span(), cx, other, "[cluster]", CLUSTER_KEYS);
                    ok = false;
                }
            }
        }
        match nats {
            Some(url) => settings.nats = url,
            // A bad one is reported already.
            None if table.get("nats").is_some() => ok = false,
            None => {
                self.problem(value.span(), format!("{cx}: missing key 'nats' (expected a NATS server URL)"));
                ok = false;
            }
        }
        ok.then_some(settings)
    }

    /// A `zone`: a name of letters, digits, `-` and `_`, or an empty string
    /// (this process).
    pub(super) fn zone(&mut self, v: &Val<'_>, cx: &str, key: &str) -> Option<String> {
        let s = self.string(v, cx, key, "a zone name (a string)")?;
        if !valid_name(&s) {
            let why = format!("expected a zone name of {NAME_CHARS}, or \"\" for this process, found {}", describe(v));
            self.bad(v.span(), cx, key, why);
            return None;
        }
        Some(s)
    }
}

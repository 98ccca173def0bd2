//! `[[sink]]` tables: where metrics go (see [`crate::export`]).

use std::net::SocketAddr;

use super::*;
use crate::config::Secret;

/// Keys every sink may have, then the keys of each type.
const COMMON_KEYS: &[&str] = &[
    "name",
    "type",
    "hosts",
    "services",
    "labels",
    "thresholds",
    "metadata",
    "queue_points",
    "queue_bytes",
    "spool_points",
    "batch",
    "flush_interval",
    "timeout",
    "retry_max",
];
const TYPES: &[(&str, &[&str])] = &[
    ("prometheus", &["listen"]),
    ("opentsdb", &["url", "denormalize"]),
    ("influxdb", &["url", "token_env"]),
    ("graphite", &["address", "prefix"]),
    ("otlp", &["url"]),
];

impl Reader<'_> {
    /// Every `[[sink]]`, in file order, names unique.
    pub(super) fn sinks(&mut self, root: &DeTable<'_>) -> Vec<Sink> {
        let mut sinks = Vec::new();
        let mut seen = HashMap::new();
        for (i, t) in self.tables(root, "sink").iter().enumerate() {
            if let Some((sink, name_span)) = self.sink(i, t) {
                if self.duplicate(&mut seen, &sink.name, name_span, &format!("sink \"{}\"", sink.name), "sink") {
                    continue;
                }
                sinks.push(sink);
            }
        }
        sinks
    }

    fn sink(&mut self, index: usize, (span, table): &(Range<usize>, &DeTable<'_>)) -> Option<(Sink, Range<usize>)> {
        let name = table.get("name").and_then(|v| v.get_ref().as_str()).map(str::to_string);
        let context = match &name {
            Some(n) => format!("sink \"{n}\""),
            None => format!("[[sink]] number {}", index + 1),
        };
        let cx = context.as_str();
        let mut ok = true;
        let kind = match table.get("type") {
            None => {
                let types: Vec<&str> = TYPES.iter().map(|(t, _)| *t).collect();
                self.problem(span.clone(), format!("{cx}: missing key 'type' (expected one of: {})", types.join(", ")));
                return None;
            }
            Some(v) => match v.get_ref().as_str().and_then(|s| TYPES.iter().find(|(t, _)| *t == s)) {
                Some((kind, _)) => *kind,
                None => {
                    let types: Vec<String> = TYPES.iter().map(|(t, _)| format!("\"{t}\"")).collect();
                    self.bad(
                        v.span(),
                        cx,
                        "type",
                        format!("expected one of {}, found {}", types.join(", "), describe(v)),
                    );
                    return None;
                }
            },
        };
        let own: &[&str] = TYPES.iter().find(|(t, _)| *t == kind).map(|(_, k)| *k).unwrap_or_default();
        let mut sink = Sink {
            name: name.clone().unwrap_or_default(),
            target: SinkTarget::Otlp { url: String::new() },
            hosts: Vec::new(),
            services: Vec::new(),
            labels: Vec::new(),
            thresholds: true,
            metadata: false,
            queue_points: 100_000,
            queue_bytes: 64 << 20,
            spool_points: 1_000_000,
            batch: 1_000,
            flush_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            retry_max: Duration::from_secs(30),
        };
        let mut name_span = None;
        let (mut listen, mut url, mut address, mut token, mut denormalize) = (None, None, None, None, Vec::new());
        let mut prefix = "wasmon".to_string();
        for (key, v) in sorted(table) {
            let k: &str = key.get_ref().as_ref();
            if !COMMON_KEYS.contains(&k) && !own.contains(&k) {
                let expected: Vec<&str> = COMMON_KEYS.iter().chain(own.iter()).copied().collect();
                self.unknown(key.span(), cx, k, &format!("[[sink]] of type \"{kind}\""), &expected);
                ok = false;
                continue;
            }
            match k {
                "name" => {
                    ok &= self.nonempty(v, cx, k, "a name").is_some();
                    name_span = Some(v.span());
                }
                "type" => {}
                "hosts" | "services" | "labels" => match self.strings(v, cx, k, "a list of name patterns") {
                    Some(list) => {
                        let list = list.into_iter().map(|s| s.into_inner()).collect();
                        match k {
                            "hosts" => sink.hosts = list,
                            "services" => sink.services = list,
                            _ => sink.labels = list,
                        }
                    }
                    None => ok = false,
                },
                "thresholds" | "metadata" => match self.boolean(v, cx, k) {
                    Some(b) if k == "thresholds" => sink.thresholds = b,
                    Some(b) => sink.metadata = b,
                    None => ok = false,
                },
                "queue_points" | "spool_points" | "batch" => match self.integer(v, cx, k, 1, i64::from(u32::MAX)) {
                    Some(n) => {
                        let n = n as usize;
                        match k {
                            "queue_points" => sink.queue_points = n,
                            "spool_points" => sink.spool_points = n,
                            _ => sink.batch = n,
                        }
                    }
                    None => ok = false,
                },
                "queue_bytes" => match self.size(v, cx, k) {
                    Some(n) => sink.queue_bytes = n,
                    None => ok = false,
                },
                "flush_interval" | "timeout" | "retry_max" => match self.duration(v, cx, k, false) {
                    Some(d) => match k {
                        "flush_interval" => sink.flush_interval = d,
                        "timeout" => sink.timeout = d,
                        _ => sink.retry_max = d,
                    },
                    None => ok = false,
                },
                "listen" => {
                    let expected = "an IP address and port such as \"127.0.0.1:9642\"";
                    match v.get_ref().as_str().map(|s| s.trim().parse::<SocketAddr>()) {
                        Some(Ok(a)) => listen = Some(a),
                        _ => {
                            self.bad(v.span(), cx, k, format!("expected {expected}, found {}", describe(v)));
                            ok = false;
                        }
                    }
                }
                "url" => match self.url(v, cx, kind) {
                    Some(u) => url = Some(u),
                    None => ok = false,
                },
                "address" => match self.nonempty(v, cx, k, "a host and port such as \"127.0.0.1:2003\"") {
                    Some(a) if a.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) => {
                        address = Some(a)
                    }
                    Some(a) => {
                        self.bad(
                            v.span(),
                            cx,
                            k,
                            format!("expected a host and port such as \"127.0.0.1:2003\", found \"{a}\""),
                        );
                        ok = false;
                    }
                    None => ok = false,
                },
                "prefix" => match self.string(v, cx, k, "a metric path prefix such as \"wasmon\"") {
                    Some(p) => prefix = p,
                    None => ok = false,
                },
                "denormalize" => match self.strings(v, cx, k, "a list of tsdbrelay rules such as \"os.cpu__host\"") {
                    Some(list) => {
                        for rule in list {
                            match crate::export::opentsdb::Denormal::parse(rule.get_ref()) {
                                Ok(_) => denormalize.push(rule.into_inner()),
                                Err(e) => {
                                    self.bad(rule.span(), cx, k, e);
                                    ok = false;
                                }
                            }
                        }
                    }
                    None => ok = false,
                },
                "token_env" => {
                    match self.nonempty(v, cx, k, "the name of an environment variable") {
                        Some(var) => {
                            match std::env::var(&var) {
                                Ok(s) if !s.trim().is_empty() => token = Some(Secret::new(s)),
                                _ => {
                                    self.bad(v.span(), cx, k, format!("the environment variable {var} is not set or empty (expected the token in it)"));
                                    ok = false;
                                }
                            }
                        }
                        None => ok = false,
                    }
                }
                _ => {}
            }
        }
        let required: &[&str] = match kind {
            "prometheus" => &["name", "listen"],
            "graphite" => &["name", "address"],
            _ => &["name", "url"],
        };
        for key in required {
            if table.get(*key).is_none() {
                self.problem(span.clone(), format!("{cx}: missing key '{key}' (expected a string)"));
                ok = false;
            }
        }
        sink.target = match kind {
            "prometheus" => SinkTarget::Prometheus { listen: listen? },
            "opentsdb" => SinkTarget::OpenTsdb { url: url?, denormalize },
            "influxdb" => SinkTarget::Influx { url: url?, token },
            "graphite" => SinkTarget::Graphite { address: address?, prefix },
            _ => SinkTarget::Otlp { url: url? },
        };
        (ok && name.is_some()).then_some(())?;
        Some((sink, name_span?))
    }

    /// A sink's `url`: http(s), or for OpenTSDB also telnet.
    fn url(&mut self, v: &Val<'_>, cx: &str, kind: &str) -> Option<String> {
        let schemes: &[&str] = if kind == "opentsdb" { &["http", "https", "telnet"] } else { &["http", "https"] };
        let expected = format!("a URL with scheme {}", schemes.join(", "));
        let s = self.nonempty(v, cx, "url", &expected)?;
        match reqwest::Url::parse(&s) {
            Ok(u) if schemes.contains(&u.scheme()) && u.host_str().is_some() => Some(s),
            Ok(u) => {
                self.bad(v.span(), cx, "url", format!("expected {expected}, found \"{s}\" (scheme {})", u.scheme()));
                None
            }
            Err(e) => {
                self.bad(v.span(), cx, "url", format!("expected {expected}, found \"{s}\" ({e})"));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::model::SinkTarget;

    fn problems(text: &str) -> Vec<String> {
        match crate::config::parse(text, Path::new("w.toml")) {
            Ok(_) => Vec::new(),
            Err(e) => e.to_string().lines().map(str::to_string).collect(),
        }
    }

    #[test]
    fn sinks_with_defaults() {
        let text = r#"
[[sink]]
name = "prom"
type = "prometheus"
listen = "127.0.0.1:9642"

[[sink]]
name = "tsdb"
type = "opentsdb"
url = "http://127.0.0.1:4242"
denormalize = ["os.cpu__host"]
labels = ["cpu*"]

[[sink]]
name = "graphite"
type = "graphite"
address = "127.0.0.1:2003"
metadata = true
spool_points = 10
"#;
        let config = crate::config::parse(text, Path::new("w.toml")).unwrap();
        assert_eq!(config.sinks.len(), 3);
        assert_eq!(config.sinks[0].target, SinkTarget::Prometheus { listen: "127.0.0.1:9642".parse().unwrap() });
        assert!(config.sinks[0].thresholds && !config.sinks[0].metadata);
        assert_eq!(config.sinks[1].labels, ["cpu*"]);
        assert_eq!(
            config.sinks[2].target,
            SinkTarget::Graphite { address: "127.0.0.1:2003".into(), prefix: "wasmon".into() }
        );
        assert_eq!(config.sinks[2].spool_points, 10);
    }

    #[test]
    fn every_problem_names_its_line_and_key() {
        let text = r#"
[[sink]]
name = "a"
type = "influx"

[[sink]]
name = "b"
type = "graphite"
adress = "x:1"

[[sink]]
name = "c"
type = "opentsdb"
url = "ftp://x"
denormalize = ["os.cpu"]

[[sink]]
name = "c"
type = "prometheus"
listen = "nowhere"
batch = 0
"#;
        let p = problems(text).join("\n");
        assert!(p.contains("w.toml:4:8: sink \"a\": key 'type': expected one of \"prometheus\""), "{p}");
        assert!(p.contains("w.toml:9:1: sink \"b\": unknown key 'adress' in [[sink]] of type \"graphite\""), "{p}");
        assert!(p.contains("sink \"b\": missing key 'address'"), "{p}");
        assert!(
            p.contains("w.toml:14:7: sink \"c\": key 'url': expected a URL with scheme http, https, telnet"),
            "{p}"
        );
        assert!(p.contains("w.toml:15:16: sink \"c\": key 'denormalize'"), "{p}");
        assert!(p.contains("w.toml:20:10: sink \"c\": key 'listen'"), "{p}");
        assert!(p.contains("w.toml:21:9: sink \"c\": key 'batch'"), "{p}");
    }
}

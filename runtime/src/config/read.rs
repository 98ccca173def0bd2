//! Reads the spanned TOML tree into the model, collecting every problem with
//! its position instead of stopping at the first.

mod packs;

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::Problem;
use super::model::*;
use crate::outcome::State;
use crate::sandbox::policy::{Grants, Limits};
use crate::sandbox::standard;
use crate::state::{FlapPolicy, NotificationPolicy, Semantics};

mod api;

type Val<'i> = Spanned<DeValue<'i>>;

/// The built-in webhook timeout (schedule and engine defaults are in the
/// model, sandbox limits come from [`Limits::default`]).
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

const TOP_KEYS: &[&str] = &["engine", "defaults", "template", "host", "service", "contact", "handler", "api"];
const HANDLER_KEYS: &[&str] = &["name", "module", "on", "params", "grants", "timeout", "memory", "output_limit"];
const ENGINE_KEYS: &[&str] = &["state_semantics", "max_concurrent_checks", "state_file", "checks_dir", "packs_dir"];
/// Keys every host, service, template and `[defaults]` may set.
const SETTING_KEYS: &[&str] = &[
    "check",
    "params",
    "args",
    "check_interval",
    "retry_interval",
    "max_check_attempts",
    "notification_interval",
    "first_notification_delay",
    "contacts",
    "event_handlers",
    "timeout",
    "memory",
    "output_limit",
    "timeout_state",
    "grants",
    "parents",
    "active_checks",
    "passive_checks",
    "check_freshness",
    "freshness_threshold",
    "stale_state",
    "flap_detection",
    "low_flap_threshold",
    "high_flap_threshold",
];

/// What kind of table an object's keys come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Defaults,
    Template,
    Host,
    Service,
}

impl Kind {
    fn header(self) -> &'static str {
        match self {
            Kind::Defaults => "[defaults]",
            Kind::Template => "[[template]]",
            Kind::Host => "[[host]]",
            Kind::Service => "[[service]]",
        }
    }

    fn keys(self) -> Vec<&'static str> {
        let (before, after): (&[&str], &[&str]) = match self {
            Kind::Defaults => (&[], &[]),
            Kind::Template => (&["name"], &["item"]),
            Kind::Host => (&["name", "address", "use", "packs", "pack_params"], &[]),
            Kind::Service => (&["host", "name", "use", "item"], &[]),
        };
        let settings = SETTING_KEYS.iter().filter(|k| self != Kind::Defaults || (**k != "check" && **k != "parents"));
        before.iter().chain(settings).chain(after).copied().collect()
    }
}

/// One layer of settings: the built-ins, `[defaults]`, a template or an
/// object's own keys. `None` leaves the value of the layer below.
#[derive(Clone, Debug, Default)]
struct Layer {
    /// The module and its default grants.
    check: Option<(String, Grants)>,
    /// Whether some layer writes `check` (even a bad one, already reported).
    check_written: bool,
    params: Vec<(String, String)>,
    args: Option<Vec<String>>,
    item: Option<String>,
    check_interval: Option<Duration>,
    retry_interval: Option<Duration>,
    max_check_attempts: Option<u32>,
    notification_interval: Option<Duration>,
    first_notification_delay: Option<Duration>,
    contacts: Option<Vec<String>>,
    event_handlers: Option<Vec<String>>,
    timeout: Option<Duration>,
    memory: Option<usize>,
    output_limit: Option<usize>,
    timeout_state: Option<State>,
    grants: Option<Vec<String>>,
    parents: Option<Vec<super::parents::Written>>,
    active_checks: Option<bool>,
    passive_checks: Option<bool>,
    check_freshness: Option<bool>,
    freshness_threshold: Option<Duration>,
    stale_state: Option<State>,
    flap_detection: Option<bool>,
    /// The value and where it is written (for the low < high check).
    low_flap_threshold: Option<(f64, Range<usize>)>,
    high_flap_threshold: Option<(f64, Range<usize>)>,
}

impl Layer {
    /// Puts `top` over `self`: its values win; params merge key by key.
    fn apply(&mut self, top: &Layer) {
        fn over<T: Clone>(low: &mut Option<T>, high: &Option<T>) {
            if high.is_some() {
                low.clone_from(high);
            }
        }
        over(&mut self.check, &top.check);
        self.check_written |= top.check_written;
        over(&mut self.item, &top.item);
        over(&mut self.args, &top.args);
        over(&mut self.check_interval, &top.check_interval);
        over(&mut self.retry_interval, &top.retry_interval);
        over(&mut self.max_check_attempts, &top.max_check_attempts);
        over(&mut self.notification_interval, &top.notification_interval);
        over(&mut self.first_notification_delay, &top.first_notification_delay);
        over(&mut self.contacts, &top.contacts);
        over(&mut self.event_handlers, &top.event_handlers);
        over(&mut self.timeout, &top.timeout);
        over(&mut self.memory, &top.memory);
        over(&mut self.output_limit, &top.output_limit);
        over(&mut self.timeout_state, &top.timeout_state);
        over(&mut self.grants, &top.grants);
        over(&mut self.parents, &top.parents);
        over(&mut self.active_checks, &top.active_checks);
        over(&mut self.passive_checks, &top.passive_checks);
        over(&mut self.check_freshness, &top.check_freshness);
        over(&mut self.freshness_threshold, &top.freshness_threshold);
        over(&mut self.stale_state, &top.stale_state);
        over(&mut self.flap_detection, &top.flap_detection);
        over(&mut self.low_flap_threshold, &top.low_flap_threshold);
        over(&mut self.high_flap_threshold, &top.high_flap_threshold);
        for (k, v) in &top.params {
            match self.params.iter_mut().find(|(name, _)| name == k) {
                Some(slot) => slot.1.clone_from(v),
                None => self.params.push((k.clone(), v.clone())),
            }
        }
    }

    fn schedule(&self) -> Schedule {
        let d = Schedule::default();
        Schedule {
            check_interval: self.check_interval.unwrap_or(d.check_interval),
            retry_interval: self.retry_interval.unwrap_or(d.retry_interval),
            max_check_attempts: self.max_check_attempts.unwrap_or(d.max_check_attempts),
        }
    }

    /// Passive results and freshness: a threshold enables freshness
    /// checking unless `check_freshness = false`; enabled without one, it
    /// is the check interval plus [`FRESHNESS_LATENCY`].
    fn passive(&self) -> PassiveSettings {
        let d = PassiveSettings::default();
        let enabled = self.check_freshness.unwrap_or(self.freshness_threshold.is_some());
        let threshold = self.freshness_threshold.unwrap_or(self.schedule().check_interval + FRESHNESS_LATENCY);
        PassiveSettings {
            active_checks: self.active_checks.unwrap_or(d.active_checks),
            passive_checks: self.passive_checks.unwrap_or(d.passive_checks),
            freshness_threshold: enabled.then_some(threshold),
            stale_state: self.stale_state.unwrap_or(d.stale_state),
        }
    }

    fn notification(&self) -> NotificationPolicy {
        NotificationPolicy {
            interval: self.notification_interval.unwrap_or(Duration::ZERO),
            first_delay: self.first_notification_delay.unwrap_or(Duration::ZERO),
        }
    }

    fn flapping(&self) -> FlapPolicy {
        let d = FlapPolicy::default();
        FlapPolicy {
            enabled: self.flap_detection.unwrap_or(d.enabled),
            low_threshold: self.low_flap_threshold.as_ref().map_or(d.low_threshold, |(v, _)| *v),
            high_threshold: self.high_flap_threshold.as_ref().map_or(d.high_threshold, |(v, _)| *v),
        }
    }

    /// The check, if the layers name a module.
    fn check_spec(&self) -> Option<CheckSpec> {
        let (module, mut grants) = self.check.clone()?;
        for g in self.grants.iter().flatten() {
            // Each grant was validated where it is written.
            let _ = grants.add(g);
        }
        let d = Limits::default();
        let limits = Limits {
            timeout: self.timeout.unwrap_or(d.timeout),
            timeout_state: self.timeout_state.unwrap_or(d.timeout_state),
            memory: self.memory.unwrap_or(d.memory),
            output: self.output_limit.unwrap_or(d.output),
            metrics: d.metrics,
        };
        Some(CheckSpec {
            module,
            params: self.params.clone(),
            args: self.args.clone().unwrap_or_default(),
            limits,
            grants,
        })
    }
}

/// An object as written, before templates are applied.
struct Object {
    context: String,
    span: Range<usize>,
    name: Option<Spanned<String>>,
    host: Option<Spanned<String>>,
    address: Option<String>,
    uses: Vec<Spanned<String>>,
    layer: Layer,
    /// A host's `packs` and `pack_params`.
    packs: Vec<HostPack>,
}

/// The reader's state: the text (for positions) and the problems so far.
struct Reader<'a> {
    text: &'a str,
    file: &'a Path,
    dir: PathBuf,
    problems: Vec<(usize, Problem)>,
    contacts: Vec<String>,
    handlers: Vec<String>,
    templates: Vec<String>,
    packs_dir: PathBuf,
}

/// Reads `text`, the content of `file`.
pub(super) fn read(text: &str, file: &Path) -> Result<Config, Vec<Problem>> {
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let packs_dir = dir.join(PACKS_DIR);
    let mut r = Reader {
        text,
        file,
        dir,
        problems: Vec::new(),
        contacts: Vec::new(),
        handlers: Vec::new(),
        templates: Vec::new(),
        packs_dir,
    };
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            r.problem(span, format!("invalid TOML: {}", e.message().trim_end()));
        }
        return Err(r.finish());
    }
    let config = r.document(root.get_ref());
    let problems = r.finish();
    if problems.is_empty() { Ok(config) } else { Err(problems) }
}

impl Reader<'_> {
    fn problem(&mut self, span: Range<usize>, message: String) {
        let (line, column) = position(self.text, span.start);
        let problem = Problem { file: self.file.to_path_buf(), line, column, message };
        self.problems.push((span.start, problem));
    }

    /// A problem with the value of `key`.
    fn bad(&mut self, span: Range<usize>, context: &str, key: &str, message: impl AsRef<str>) {
        self.problem(span, format!("{context}: key '{key}': {}", message.as_ref()));
    }

    fn finish(&mut self) -> Vec<Problem> {
        let mut problems = std::mem::take(&mut self.problems);
        problems.sort_by_key(|(offset, _)| *offset);
        problems.into_iter().map(|(_, p)| p).collect()
    }

    fn document(&mut self, root: &DeTable<'_>) -> Config {
        for (key, _) in sorted(root) {
            if !TOP_KEYS.contains(&key.get_ref().as_ref()) {
                self.problem(
                    key.span(),
                    format!(
                        "unknown key '{}' at the top level (expected one of: {})",
                        key.get_ref(),
                        TOP_KEYS.join(", ")
                    ),
                );
            }
        }
        let engine = self.engine(root.get("engine"));
        self.packs_dir = engine.packs_dir.clone();
        let api = root.get("api").and_then(|v| self.api(v));

        // Contacts and templates first: objects refer to them.
        let contact_tables = self.tables(root, "contact");
        let mut contacts: Vec<Contact> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, t) in contact_tables.iter().enumerate() {
            if let Some((contact, name_span)) = self.contact(i, t) {
                if self.duplicate(
                    &mut seen,
                    &contact.name,
                    name_span,
                    &format!("contact \"{}\"", contact.name),
                    "contact",
                ) {
                    continue;
                }
                contacts.push(contact);
            }
        }
        self.contacts = contacts.iter().map(|c| c.name.clone()).collect();

        let mut handlers: Vec<Handler> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, t) in self.tables(root, "handler").iter().enumerate() {
            if let Some((handler, name_span)) = self.handler(i, t) {
                if self.duplicate(
                    &mut seen,
                    &handler.name,
                    name_span,
                    &format!("handler \"{}\"", handler.name),
                    "handler",
                ) {
                    continue;
                }
                handlers.push(handler);
            }
        }
        self.handlers = handlers.iter().map(|h| h.name.clone()).collect();

        let template_tables = self.tables(root, "template");
        let mut templates: HashMap<String, Layer> = HashMap::new();
        let mut seen = HashMap::new();
        for (i, t) in template_tables.iter().enumerate() {
            let o = self.object(Kind::Template, i, t);
            let Some(name) = &o.name else { continue };
            if self.duplicate(&mut seen, name.get_ref(), name.span(), &o.context, "template") {
                continue;
            }
            templates.insert(name.get_ref().clone(), o.layer);
        }
        let mut template_names: Vec<String> = templates.keys().cloned().collect();
        template_names.sort();
        self.templates = template_names;

        let defaults = match root.get("defaults") {
            None => Layer::default(),
            Some(v) => match v.get_ref().as_table() {
                Some(t) => self.object_table(Kind::Defaults, "[defaults]".into(), v.span(), t).layer,
                None => {
                    self.problem(
                        v.span(),
                        format!("key 'defaults': expected a table [defaults], found {}", describe(v)),
                    );
                    Layer::default()
                }
            },
        };
        let resolve = |o: &Object| {
            let mut layer = defaults.clone();
            for u in &o.uses {
                if let Some(t) = templates.get(u.get_ref()) {
                    layer.apply(t);
                }
            }
            layer.apply(&o.layer);
            layer
        };

        let mut hosts = Vec::new();
        let mut host_parents = Vec::new();
        let mut seen = HashMap::new();
        for (i, t) in self.tables(root, "host").iter().enumerate() {
            let o = self.object(Kind::Host, i, t);
            for u in &o.uses {
                if templates.get(u.get_ref()).is_some_and(|t| t.item.is_some()) {
                    self.bad(
                        u.span(),
                        &o.context,
                        "use",
                        format!("template \"{}\" sets 'item', which a host does not have", u.get_ref()),
                    );
                }
            }
            let Some(name) = &o.name else { continue };
            if self.duplicate(&mut seen, name.get_ref(), name.span(), &o.context, "host") {
                continue;
            }
            let layer = resolve(&o);
            self.flap_thresholds(&o.context, &layer);
            hosts.push(Host {
                name: name.get_ref().clone(),
                address: o.address.clone(),
                check: layer.check_spec(),
                schedule: layer.schedule(),
                contacts: layer.contacts.clone().unwrap_or_default(),
                notification: layer.notification(),
                event_handlers: layer.event_handlers.clone().unwrap_or_default(),
                passive: layer.passive(),
                flapping: layer.flapping(),
                packs: o.packs,
                ..Host::default()
            });
            host_parents.push((o.context.clone(), layer.parents.clone().unwrap_or_default()));
        }
        {
            let nodes: Vec<_> = hosts
                .iter()
                .zip(&host_parents)
                .map(|(h, (context, parents))| super::parents::Node { context, host: &h.name, service: None, parents })
                .collect();
            let (resolved, problems) = super::parents::hosts(&nodes);
            for (span, message) in problems {
                self.problem(span, message);
            }
            for (h, parents) in hosts.iter_mut().zip(resolved) {
                h.parents = parents;
            }
        }

        let host_names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
        let mut services = Vec::new();
        let mut service_parents = Vec::new();
        let mut seen = HashMap::new();
        for (i, t) in self.tables(root, "service").iter().enumerate() {
            let o = self.object(Kind::Service, i, t);
            let (Some(host), Some(name)) = (&o.host, &o.name) else { continue };
            if !host_names.contains(host.get_ref()) {
                let known = list(&host_names, "hosts");
                self.bad(host.span(), &o.context, "host", format!("no host named \"{}\" ({known})", host.get_ref()));
                continue;
            }
            let id = format!("{}\u{0}{}", host.get_ref(), name.get_ref());
            if let Some(&first) = seen.get(&id) {
                let line = position(self.text, first).0;
                self.bad(
                    name.span(),
                    &o.context,
                    "name",
                    format!(
                        "duplicate service: host \"{}\" already has a service \"{}\" (line {line})",
                        host.get_ref(),
                        name.get_ref()
                    ),
                );
                continue;
            }
            seen.insert(id, name.span().start);
            let layer = resolve(&o);
            self.flap_thresholds(&o.context, &layer);
            let passive = layer.passive();
            let check = match layer.check_spec() {
                Some(check) => Some(check),
                // A passive-only service needs no check.
                None if !passive.active_checks && !layer.check_written => Some(CheckSpec::default()),
                None => None,
            };
            let Some(check) = check else {
                if layer.check_written {
                    continue;
                }
                self.problem(
                    o.span.clone(),
                    format!("{}: no 'check' (expected a standard check name or a path to a .wasm, here or in a used template)", o.context),
                );
                continue;
            };
            services.push(Service {
                host: host.get_ref().clone(),
                name: name.get_ref().clone(),
                item: layer.item.clone(),
                check,
                schedule: layer.schedule(),
                contacts: layer.contacts.clone().unwrap_or_default(),
                notification: layer.notification(),
                event_handlers: layer.event_handlers.clone().unwrap_or_default(),
                passive,
                flapping: layer.flapping(),
                ..Service::default()
            });
            service_parents.push((o.context.clone(), layer.parents.clone().unwrap_or_default()));
        }
        {
            let nodes: Vec<_> = services
                .iter()
                .zip(&service_parents)
                .map(|(s, (context, parents))| super::parents::Node {
                    context,
                    host: &s.host,
                    service: Some(&s.name),
                    parents,
                })
                .collect();
            let (resolved, problems) = super::parents::services(&nodes);
            for (span, message) in problems {
                self.problem(span, message);
            }
            for (s, parents) in services.iter_mut().zip(resolved) {
                s.parents = parents;
            }
        }

        Config { path: self.file.to_path_buf(), engine, hosts, services, contacts, handlers, api }
    }

    /// Reports an object whose resolved `low_flap_threshold` is not below
    /// its `high_flap_threshold`, at the threshold written last in the
    /// file (each was checked for 0 to 100 where it is written).
    fn flap_thresholds(&mut self, cx: &str, layer: &Layer) {
        let policy = layer.flapping();
        if policy.low_threshold < policy.high_threshold {
            return;
        }
        let (low, high) = (&layer.low_flap_threshold, &layer.high_flap_threshold);
        let (key, span) = match (low, high) {
            (Some((_, l)), Some((_, h))) if l.start > h.start => ("low_flap_threshold", l.clone()),
            (_, Some((_, h))) => ("high_flap_threshold", h.clone()),
            (Some((_, l)), None) => ("low_flap_threshold", l.clone()),
            (None, None) => return,
        };
        self.bad(
            span,
            cx,
            key,
            format!(
                "expected low_flap_threshold below high_flap_threshold, found low {} and high {}",
                policy.low_threshold, policy.high_threshold
            ),
        );
    }

    /// A percentage from 0 to 100 (an integer or a float).
    fn percent(&mut self, v: &Val<'_>, cx: &str, key: &str) -> Option<(f64, Range<usize>)> {
        let n = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok().map(|n| n as f64),
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if (0.0..=100.0).contains(&n) => Some((n, v.span())),
            _ => {
                self.bad(v.span(), cx, key, format!("expected a percentage from 0 to 100, found {}", describe(v)));
                None
            }
        }
    }

    /// Records `name` as seen; reports and returns true if it was already.
    fn duplicate(
        &mut self,
        seen: &mut HashMap<String, usize>,
        name: &str,
        span: Range<usize>,
        context: &str,
        what: &str,
    ) -> bool {
        if let Some(&first) = seen.get(name) {
            let line = position(self.text, first).0;
            self.bad(span, context, "name", format!("duplicate {what} name \"{name}\" (first defined on line {line})"));
            return true;
        }
        seen.insert(name.to_string(), span.start);
        false
    }

    /// The tables of `[[key]]`, or none (with a problem) if `key` is
    /// something else.
    fn tables<'t, 'i>(&mut self, root: &'t DeTable<'i>, key: &str) -> Vec<(Range<usize>, &'t DeTable<'i>)> {
        let Some(v) = root.get(key) else { return Vec::new() };
        let expected = format!("expected an array of tables [[{key}]]");
        let Some(items) = v.get_ref().as_array() else {
            self.problem(v.span(), format!("key '{key}': {expected}, found {}", describe(v)));
            return Vec::new();
        };
        let mut tables = Vec::new();
        for item in items.iter() {
            match item.get_ref().as_table() {
                Some(t) => tables.push((item.span(), t)),
                None => self.problem(item.span(), format!("key '{key}': {expected}, found {}", describe(item))),
            }
        }
        tables
    }

    fn engine(&mut self, value: Option<&Val<'_>>) -> EngineSettings {
        let checks = self.dir.join(CHECKS_DIR);
        let checks_dir = checks.is_dir().then_some(checks);
        let mut engine = EngineSettings {
            state_file: self.dir.join(STATE_FILE),
            checks_dir,
            packs_dir: self.dir.join(PACKS_DIR),
            ..EngineSettings::default()
        };
        let Some(value) = value else { return engine };
        let Some(table) = value.get_ref().as_table() else {
            self.problem(value.span(), format!("key 'engine': expected a table [engine], found {}", describe(value)));
            return engine;
        };
        let cx = "[engine]";
        for (key, v) in sorted(table) {
            match key.get_ref().as_ref() {
                "state_semantics" => match v.get_ref().as_str() {
                    Some("opsview") => engine.state_semantics = Semantics::Opsview,
                    Some("nagios") => engine.state_semantics = Semantics::Nagios,
                    _ => self.bad(
                        v.span(),
                        cx,
                        "state_semantics",
                        format!("expected \"opsview\" or \"nagios\", found {}", describe(v)),
                    ),
                },
                "max_concurrent_checks" => {
                    if let Some(n) = self.integer(v, cx, "max_concurrent_checks", 1, u32::MAX.into()) {
                        engine.max_concurrent_checks = n as u32;
                    }
                }
                "state_file" => {
                    if let Some(s) = self.nonempty(v, cx, "state_file", "a file name") {
                        engine.state_file = self.dir.join(s);
                    }
                }
                "checks_dir" => {
                    if let Some(s) = self.nonempty(v, cx, "checks_dir", "a folder") {
                        let dir = self.dir.join(s);
                        match std::fs::metadata(&dir) {
                            Ok(m) if m.is_dir() => engine.checks_dir = Some(dir),
                            Ok(_) => self.bad(
                                v.span(),
                                cx,
                                "checks_dir",
                                format!("expected a folder, but {} is a file", dir.display()),
                            ),
                            Err(e) => self.bad(
                                v.span(),
                                cx,
                                "checks_dir",
                                format!("expected an existing folder, cannot read {}: {e}", dir.display()),
                            ),
                        }
                    }
                }
                "packs_dir" => {
                    if let Some(s) = self.nonempty(v, cx, "packs_dir", "a folder name") {
                        engine.packs_dir = self.dir.join(s);
                    }
                }
                other => self.unknown(key.span(), cx, other, "[engine]", ENGINE_KEYS),
            }
        }
        engine
    }

    fn unknown(&mut self, span: Range<usize>, context: &str, key: &str, header: &str, expected: &[&str]) {
        let hint = if header == "[defaults]" && (key == "check" || key == "item" || key == "parents") {
            format!(": '{key}' cannot be a default; set it on the object or in a template")
        } else {
            format!(" (expected one of: {})", expected.join(", "))
        };
        self.problem(span, format!("{context}: unknown key '{key}' in {header}{hint}"));
    }

    fn object<'i>(&mut self, kind: Kind, index: usize, (span, table): &(Range<usize>, &DeTable<'i>)) -> Object {
        let str_of = |k: &str| table.get(k).and_then(|v| v.get_ref().as_str()).map(str::to_string);
        let what = match kind {
            Kind::Template => "template",
            Kind::Host => "host",
            Kind::Service => "service",
            Kind::Defaults => "defaults",
        };
        let mut context = match str_of("name") {
            Some(n) => format!("{what} \"{n}\""),
            None => format!("{} number {}", kind.header(), index + 1),
        };
        if kind == Kind::Service
            && let Some(h) = str_of("host")
        {
            context.push_str(&format!(" on host \"{h}\""));
        }
        self.object_table(kind, context, span.clone(), table)
    }

    fn object_table(&mut self, kind: Kind, context: String, span: Range<usize>, table: &DeTable<'_>) -> Object {
        let cx = context.as_str();
        let mut o = Object {
            context: context.clone(),
            span: span.clone(),
            name: None,
            host: None,
            address: None,
            uses: Vec::new(),
            layer: Layer::default(),
            packs: Vec::new(),
        };
        let allowed = kind.keys();
        for (key, v) in sorted(table) {
            let k: &str = key.get_ref().as_ref();
            if !allowed.contains(&k) {
                self.unknown(key.span(), cx, k, kind.header(), &allowed);
                continue;
            }
            let l = &mut o.layer;
            match k {
                "name" => o.name = self.nonempty(v, cx, k, "a name").map(|s| Spanned::new(v.span(), s)),
                "host" => o.host = self.nonempty(v, cx, k, "a host name").map(|s| Spanned::new(v.span(), s)),
                "address" => o.address = self.nonempty(v, cx, k, "a host name or an IP address"),
                "item" => l.item = self.string(v, cx, k, "a string"),
                "use" => {
                    let names = match v.get_ref() {
                        DeValue::String(s) => vec![Spanned::new(v.span(), s.to_string())],
                        _ => self.strings(v, cx, k, "a template name or a list of them").unwrap_or_default(),
                    };
                    for u in names {
                        if self.templates.contains(u.get_ref()) {
                            o.uses.push(u);
                        } else {
                            let known = list(&self.templates, "templates");
                            self.bad(u.span(), cx, k, format!("no template named \"{}\" ({known})", u.get_ref()));
                        }
                    }
                }
                "check" => {
                    o.layer.check = self.check(v, cx);
                    o.layer.check_written = true;
                }
                "params" => o.layer.params = self.params(v, cx),
                "args" => {
                    let args = self.strings(v, cx, k, "a list of plugin arguments");
                    let mut ok = args.is_some();
                    for a in args.iter().flatten() {
                        if let Err(e) = crate::plugin::expand_macros(a.get_ref(), &Default::default()) {
                            self.bad(a.span(), cx, k, e.to_string());
                            ok = false;
                        }
                    }
                    o.layer.args = args.filter(|_| ok).map(|a| a.into_iter().map(Spanned::into_inner).collect());
                }
                "check_interval" => l.check_interval = self.duration(v, cx, k, false),
                "retry_interval" => l.retry_interval = self.duration(v, cx, k, false),
                "notification_interval" => l.notification_interval = self.duration(v, cx, k, true),
                "first_notification_delay" => l.first_notification_delay = self.duration(v, cx, k, true),
                "timeout" => l.timeout = self.duration(v, cx, k, false),
                "max_check_attempts" => {
                    l.max_check_attempts = self.integer(v, cx, k, 1, u32::MAX.into()).map(|n| n as u32)
                }
                "memory" => l.memory = self.size(v, cx, k),
                "output_limit" => l.output_limit = self.size(v, cx, k),
                "timeout_state" | "stale_state" => {
                    let state = match v.get_ref().as_str().map(str::parse::<State>) {
                        Some(Ok(s)) => Some(s),
                        _ => {
                            self.bad(
                                v.span(),
                                cx,
                                k,
                                format!("expected a state: OK, WARNING, CRITICAL or UNKNOWN, found {}", describe(v)),
                            );
                            None
                        }
                    };
                    if k == "timeout_state" {
                        l.timeout_state = state;
                    } else {
                        l.stale_state = state;
                    }
                }
                "active_checks" => l.active_checks = self.boolean(v, cx, k),
                "passive_checks" => l.passive_checks = self.boolean(v, cx, k),
                "check_freshness" => l.check_freshness = self.boolean(v, cx, k),
                "freshness_threshold" => l.freshness_threshold = self.duration(v, cx, k, false),
                "parents" => l.parents = self.parents(v, cx),
                "contacts" => {
                    let names = self.strings(v, cx, k, "a list of contact names");
                    let mut ok = names.is_some();
                    for c in names.iter().flatten() {
                        if !self.contacts.contains(c.get_ref()) {
                            let known = list(&self.contacts, "contacts");
                            self.bad(c.span(), cx, k, format!("no contact named \"{}\" ({known})", c.get_ref()));
                            ok = false;
                        }
                    }
                    o.layer.contacts = names.filter(|_| ok).map(|n| n.into_iter().map(Spanned::into_inner).collect());
                }
                "event_handlers" => {
                    let names = self.strings(v, cx, k, "a list of handler names");
                    let mut ok = names.is_some();
                    for h in names.iter().flatten() {
                        if !self.handlers.contains(h.get_ref()) {
                            let known = list(&self.handlers, "handlers");
                            self.bad(h.span(), cx, k, format!("no handler named \"{}\" ({known})", h.get_ref()));
                            ok = false;
                        }
                    }
                    o.layer.event_handlers =
                        names.filter(|_| ok).map(|n| n.into_iter().map(Spanned::into_inner).collect());
                }
                "grants" => {
                    let grants = self.strings(v, cx, k, "a list of grants");
                    let mut ok = grants.is_some();
                    for g in grants.iter().flatten() {
                        if let Err(e) = Grants::default().add(g.get_ref()) {
                            self.bad(g.span(), cx, k, e);
                            ok = false;
                        }
                    }
                    o.layer.grants = grants.filter(|_| ok).map(|n| n.into_iter().map(Spanned::into_inner).collect());
                }
                "flap_detection" => match v.get_ref() {
                    DeValue::Boolean(b) => l.flap_detection = Some(*b),
                    _ => self.bad(v.span(), cx, k, format!("expected true or false, found {}", describe(v))),
                },
                "low_flap_threshold" => l.low_flap_threshold = self.percent(v, cx, k),
                "high_flap_threshold" => l.high_flap_threshold = self.percent(v, cx, k),
                // Read after the loop: `pack_params` needs `packs`.
                "packs" | "pack_params" => {}
                _ => unreachable!("every allowed key is handled: {k}"),
            }
        }
        if kind == Kind::Host {
            o.packs = self.packs(cx, table.get("packs"), table.get("pack_params"));
        }
        let required: &[&str] = match kind {
            Kind::Defaults => &[],
            Kind::Template | Kind::Host => &["name"],
            Kind::Service => &["host", "name"],
        };
        for key in required {
            if table.get(*key).is_none() {
                self.problem(span.clone(), format!("{cx}: missing key '{key}' (expected a string)"));
            }
        }
        o
    }

    fn contact(
        &mut self,
        index: usize,
        (span, table): &(Range<usize>, &DeTable<'_>),
    ) -> Option<(Contact, Range<usize>)> {
        let name = table.get("name").and_then(|v| v.get_ref().as_str()).map(str::to_string);
        let context = match &name {
            Some(n) => format!("contact \"{n}\""),
            None => format!("[[contact]] number {}", index + 1),
        };
        let cx = context.as_str();
        let mut methods = Vec::new();
        let mut name_span = None;
        let mut ok = true;
        for (key, v) in sorted(table) {
            match key.get_ref().as_ref() {
                "name" => {
                    ok &= self.nonempty(v, cx, "name", "a name").is_some();
                    name_span = Some(v.span());
                }
                "methods" => {
                    let Some(items) = v.get_ref().as_array() else {
                        self.bad(
                            v.span(),
                            cx,
                            "methods",
                            format!("expected a list of methods such as [{{ type = \"log\" }}], found {}", describe(v)),
                        );
                        ok = false;
                        continue;
                    };
                    for (i, m) in items.iter().enumerate() {
                        match self.method(m, &format!("{cx}: methods[{}]", i + 1)) {
                            Some(m) => methods.push(m),
                            None => ok = false,
                        }
                    }
                }
                other => {
                    self.unknown(key.span(), cx, other, "[[contact]]", &["name", "methods"]);
                    ok = false;
                }
            }
        }
        if name.is_none() && table.get("name").is_none() {
            self.problem(span.clone(), format!("{cx}: missing key 'name' (expected a string)"));
        }
        match (ok, name, name_span) {
            (true, Some(name), Some(name_span)) => Some((Contact { name, methods }, name_span)),
            _ => None,
        }
    }

    fn handler(
        &mut self,
        index: usize,
        (span, table): &(Range<usize>, &DeTable<'_>),
    ) -> Option<(Handler, Range<usize>)> {
        let name = table.get("name").and_then(|v| v.get_ref().as_str()).map(str::to_string);
        let context = match &name {
            Some(n) => format!("handler \"{n}\""),
            None => format!("[[handler]] number {}", index + 1),
        };
        let cx = context.as_str();
        let mut ok = true;
        let mut name_span = None;
        let mut module = None;
        let mut on = HandlerTrigger::default();
        let mut params = Vec::new();
        let mut grants = Grants::default();
        let mut limits = Limits::default();
        for (key, v) in sorted(table) {
            let k: &str = key.get_ref().as_ref();
            match k {
                "name" => {
                    ok &= self.nonempty(v, cx, k, "a name").is_some();
                    name_span = Some(v.span());
                }
                "module" => {
                    let Some(spec) = self.nonempty(v, cx, k, "a path to a .wasm component of world handler") else {
                        ok = false;
                        continue;
                    };
                    let path = self.dir.join(&spec);
                    match std::fs::read(&path) {
                        Ok(bytes) if bytes.starts_with(b"\0asm") => module = Some(path.display().to_string()),
                        Ok(_) => {
                            self.bad(v.span(), cx, k, format!("{} is not a WebAssembly file", path.display()));
                            ok = false;
                        }
                        Err(e) => {
                            self.bad(v.span(), cx, k, format!("cannot read {}: {e}", path.display()));
                            ok = false;
                        }
                    }
                }
                "on" => match v.get_ref().as_str() {
                    Some("result") => on = HandlerTrigger::Result,
                    Some("state-change") => on = HandlerTrigger::StateChange,
                    Some("hard-change") => on = HandlerTrigger::HardChange,
                    _ => {
                        self.bad(
                            v.span(),
                            cx,
                            k,
                            format!("expected \"result\", \"state-change\" or \"hard-change\", found {}", describe(v)),
                        );
                        ok = false;
                    }
                },
                "params" => params = self.params(v, cx),
                "grants" => match self.strings(v, cx, k, "a list of grants") {
                    Some(list) => {
                        for g in list {
                            if let Err(e) = grants.add(g.get_ref()) {
                                self.bad(g.span(), cx, k, e);
                                ok = false;
                            }
                        }
                    }
                    None => ok = false,
                },
                "timeout" => match self.duration(v, cx, k, false) {
                    Some(d) => limits.timeout = d,
                    None => ok = false,
                },
                "memory" => match self.size(v, cx, k) {
                    Some(n) => limits.memory = n,
                    None => ok = false,
                },
                "output_limit" => match self.size(v, cx, k) {
                    Some(n) => limits.output = n,
                    None => ok = false,
                },
                other => {
                    self.unknown(key.span(), cx, other, "[[handler]]", HANDLER_KEYS);
                    ok = false;
                }
            }
        }
        for key in ["name", "module"] {
            if table.get(key).is_none() {
                self.problem(span.clone(), format!("{cx}: missing key '{key}' (expected a string)"));
                ok = false;
            }
        }
        match (ok, name, module, name_span) {
            (true, Some(name), Some(module), Some(name_span)) => {
                Some((Handler { name, module, on, params, limits, grants }, name_span))
            }
            _ => None,
        }
    }

    fn method(&mut self, value: &Val<'_>, cx: &str) -> Option<Method> {
        let Some(table) = value.get_ref().as_table() else {
            self.problem(
                value.span(),
                format!("{cx}: expected a table such as {{ type = \"log\" }}, found {}", describe(value)),
            );
            return None;
        };
        let kind = table.get("type");
        let keys: &[&str] = match kind.and_then(|k| k.get_ref().as_str()) {
            Some("log") => &["type"],
            Some("webhook") => &["type", "url", "timeout"],
            Some("email") => &["type", "to", "from", "smtp"],
            _ => {
                let (span, found) = match kind {
                    Some(k) => (k.span(), describe(k)),
                    None => (value.span(), "nothing".to_string()),
                };
                self.bad(span, cx, "type", format!("expected \"log\", \"webhook\" or \"email\", found {found}"));
                return None;
            }
        };
        let kind = kind.and_then(|k| k.get_ref().as_str()).unwrap_or_default();
        let mut ok = true;
        for (key, _) in sorted(table) {
            if !keys.contains(&key.get_ref().as_ref()) {
                self.unknown(key.span(), cx, key.get_ref(), &format!("a {kind} method"), keys);
                ok = false;
            }
        }
        let field = |r: &mut Self, key: &str, what: &str, valid: &dyn Fn(&str) -> bool| -> Option<String> {
            let Some(v) = table.get(key) else {
                r.problem(value.span(), format!("{cx}: missing key '{key}' (expected {what})"));
                return None;
            };
            let s = r.string(v, cx, key, what)?;
            if !valid(&s) {
                r.bad(v.span(), cx, key, format!("expected {what}, found \"{s}\""));
                return None;
            }
            Some(s)
        };
        let method = match kind {
            "log" => Some(Method::Log),
            "webhook" => {
                let url = field(self, "url", "an http:// or https:// URL", &|s| {
                    s.starts_with("http://") && s.len() > 7 || s.starts_with("https://") && s.len() > 8
                });
                let timeout = match table.get("timeout") {
                    Some(v) => self.duration(v, cx, "timeout", false),
                    None => Some(WEBHOOK_TIMEOUT),
                };
                match (url, timeout) {
                    (Some(url), Some(timeout)) => Some(Method::Webhook { url, timeout }),
                    _ => None,
                }
            }
            _ => {
                let address = |s: &str| s.split_once('@').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty());
                let to = field(self, "to", "an email address", &address);
                let from = field(self, "from", "an email address", &address);
                let smtp = field(self, "smtp", "an SMTP server as host:port", &|s| {
                    s.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
                });
                match (to, from, smtp) {
                    (Some(to), Some(from), Some(smtp)) => Some(Method::Email { to, from, smtp }),
                    _ => None,
                }
            }
        };
        method.filter(|_| ok)
    }

    fn boolean(&mut self, v: &Val<'_>, cx: &str, key: &str) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.bad(v.span(), cx, key, format!("expected true or false, found {}", describe(v)));
                None
            }
        }
    }

    /// `parents`: a list of names, or (for services) of tables
    /// `{ host = "h", service = "s" }`; checked against the objects later.
    fn parents(&mut self, v: &Val<'_>, cx: &str) -> Option<Vec<super::parents::Written>> {
        const WHAT: &str = "a list of parents such as [\"router1\"] or [\"SNMP Agent\", { host = \"core1\", service = \"SNMP Agent\" }]";
        let Some(items) = v.get_ref().as_array() else {
            self.bad(v.span(), cx, "parents", format!("expected {WHAT}, found {}", describe(v)));
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) if !s.trim().is_empty() => {
                    out.push(super::parents::Written { span: item.span(), host: None, name: s.to_string() })
                }
                DeValue::Table(t) => {
                    let mut host = None;
                    let mut service = None;
                    for (key, value) in sorted(t) {
                        let slot = match key.get_ref().as_ref() {
                            "host" => &mut host,
                            "service" => &mut service,
                            other => {
                                self.unknown(
                                    key.span(),
                                    cx,
                                    &format!("parents.{other}"),
                                    "a parent",
                                    &["host", "service"],
                                );
                                ok = false;
                                continue;
                            }
                        };
                        *slot = self.nonempty(value, cx, &format!("parents.{}", key.get_ref()), "a name");
                        ok &= slot.is_some();
                    }
                    match (host, service) {
                        (Some(host), Some(name)) => {
                            out.push(super::parents::Written { span: item.span(), host: Some(host), name })
                        }
                        _ if !ok => {}
                        _ => {
                            self.bad(item.span(), cx, "parents", "expected a table with both 'host' and 'service'");
                            ok = false;
                        }
                    }
                }
                _ => {
                    self.bad(
                        item.span(),
                        cx,
                        "parents",
                        format!("expected {WHAT}: each a name or a table, found {}", describe(item)),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn string(&mut self, v: &Val<'_>, cx: &str, key: &str, what: &str) -> Option<String> {
        match v.get_ref().as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.bad(v.span(), cx, key, format!("expected {what}, found {}", describe(v)));
                None
            }
        }
    }

    fn nonempty(&mut self, v: &Val<'_>, cx: &str, key: &str, what: &str) -> Option<String> {
        let s = self.string(v, cx, key, &format!("{what} (a string)"))?;
        if s.trim().is_empty() {
            self.bad(v.span(), cx, key, format!("expected {what}, found an empty string"));
            return None;
        }
        Some(s)
    }

    fn strings(&mut self, v: &Val<'_>, cx: &str, key: &str, what: &str) -> Option<Vec<Spanned<String>>> {
        let Some(items) = v.get_ref().as_array() else {
            self.bad(v.span(), cx, key, format!("expected {what} such as [\"a\", \"b\"], found {}", describe(v)));
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for item in items.iter() {
            match item.get_ref().as_str() {
                Some(s) => out.push(Spanned::new(item.span(), s.to_string())),
                None => {
                    self.bad(item.span(), cx, key, format!("expected {what}: each a string, found {}", describe(item)));
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn integer(&mut self, v: &Val<'_>, cx: &str, key: &str, min: i64, max: i64) -> Option<i64> {
        let n = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Some(n),
            Some(n) => {
                self.bad(v.span(), cx, key, format!("expected an integer from {min} to {max}, found {n}"));
                None
            }
            None => {
                self.bad(v.span(), cx, key, format!("expected an integer from {min} to {max}, found {}", describe(v)));
                None
            }
        }
    }

    fn duration(&mut self, v: &Val<'_>, cx: &str, key: &str, zero_ok: bool) -> Option<Duration> {
        let expected = if zero_ok {
            "a duration such as \"0s\", \"30s\" or \"5m\""
        } else {
            "a duration of more than zero such as \"31s\" or \"5m\""
        };
        let Some(s) = v.get_ref().as_str() else {
            self.bad(v.span(), cx, key, format!("expected {expected}, found {}", describe(v)));
            return None;
        };
        match humantime::parse_duration(s.trim()) {
            Ok(d) if d.is_zero() && !zero_ok => {
                self.bad(v.span(), cx, key, format!("expected {expected}, found \"{s}\" (zero)"));
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.bad(v.span(), cx, key, format!("expected {expected}, found \"{s}\" ({e})"));
                None
            }
        }
    }

    fn size(&mut self, v: &Val<'_>, cx: &str, key: &str) -> Option<usize> {
        let expected = "a size such as \"64MiB\", \"16KiB\" or 65536";
        let parsed = match v.get_ref() {
            DeValue::String(s) => parse_size(s),
            DeValue::Integer(i) => usize::from_str_radix(i.as_str(), i.radix()).ok().filter(|&n| n > 0),
            _ => None,
        };
        if parsed.is_none() {
            self.bad(
                v.span(),
                cx,
                key,
                format!("expected {expected} (more than zero; units B, KiB, MiB, GiB), found {}", describe(v)),
            );
        }
        parsed
    }

    fn check(&mut self, v: &Val<'_>, cx: &str) -> Option<(String, Grants)> {
        let spec = self.nonempty(v, cx, "check", "a standard check name or a path to a .wasm")?;
        let looks_like_path = spec.contains('/') || spec.ends_with(".wasm");
        if !looks_like_path && let Some(check) = standard::get(&spec) {
            return Some((check.name.to_string(), check.grants()));
        }
        let path = self.dir.join(&spec);
        let problem = match std::fs::read(&path) {
            Ok(bytes) if bytes.starts_with(b"\0asm") => return Some((path.display().to_string(), Grants::default())),
            Ok(_) => format!("{} is not a WebAssembly file", path.display()),
            Err(e) if looks_like_path => format!("cannot read {}: {e}", path.display()),
            Err(_) => {
                let names: Vec<String> = standard::all().map(|c| c.name.to_string()).collect();
                format!(
                    "no standard check named \"{spec}\" ({}) and no file {}",
                    list(&names, "standard checks"),
                    path.display()
                )
            }
        };
        self.bad(v.span(), cx, "check", problem);
        None
    }

    fn params(&mut self, v: &Val<'_>, cx: &str) -> Vec<(String, String)> {
        let Some(table) = v.get_ref().as_table() else {
            self.bad(
                v.span(),
                cx,
                "params",
                format!("expected a table such as {{ port = \"22\" }}, found {}", describe(v)),
            );
            return Vec::new();
        };
        let mut params = Vec::new();
        for (key, value) in sorted(table) {
            let text = match value.get_ref() {
                DeValue::String(s) => s.to_string(),
                DeValue::Integer(i) => match i128::from_str_radix(i.as_str(), i.radix()) {
                    Ok(n) => n.to_string(),
                    Err(_) => i.as_str().to_string(),
                },
                DeValue::Float(f) => f.as_str().to_string(),
                DeValue::Boolean(b) => b.to_string(),
                _ => {
                    let k = format!("params.{}", key.get_ref());
                    self.bad(
                        value.span(),
                        cx,
                        &k,
                        format!("expected a string, number or boolean, found {}", describe(value)),
                    );
                    continue;
                }
            };
            params.push((key.get_ref().to_string(), text));
        }
        params
    }
}

/// A table's entries in file order.
pub(crate) fn sorted<'t, 'i>(table: &'t DeTable<'i>) -> Vec<(&'t Spanned<std::borrow::Cow<'i, str>>, &'t Val<'i>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

/// "hosts: a, b" or "no hosts are defined", for messages.
pub(crate) fn list(names: &[String], what: &str) -> String {
    if names.is_empty() {
        return format!("no {what} are defined");
    }
    const SHOWN: usize = 12;
    let mut text = names.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(", and {} more", names.len() - SHOWN));
    }
    format!("{what}: {text}")
}

/// A value as messages show it: the value for a scalar, the type otherwise.
pub(crate) fn describe(v: &Val<'_>) -> String {
    match v.get_ref() {
        DeValue::String(s) => format!("\"{s}\""),
        DeValue::Integer(i) => format!("integer {i}"),
        DeValue::Float(f) => format!("float {f}"),
        DeValue::Boolean(b) => format!("boolean {b}"),
        DeValue::Datetime(d) => format!("datetime {d}"),
        DeValue::Array(_) => "an array".to_string(),
        DeValue::Table(_) => "a table".to_string(),
    }
}

/// Line and column (from 1, in characters) of a byte offset.
pub(crate) fn position(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// Sizes as `65536`, `64KiB`, `64MiB`, `1GiB` (also `K`/`M`/`G`, `KB`/`MB`/`GB`, all binary).
fn parse_size(s: &str) -> Option<usize> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num.parse().ok()?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult).filter(|&b| b > 0)
}

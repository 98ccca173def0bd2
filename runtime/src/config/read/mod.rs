//! Reads the spanned TOML tree into the model, collecting every problem with
//! its position instead of stopping at the first.
//!
//! [`keys`] holds the one table of the keys hosts, services, templates and
//! `[defaults]` may set (and the [`Layer`] it generates), [`layer`] how the
//! layers resolve, [`objects`] those tables, [`values`] the typed value
//! readers; contacts, handlers, `[engine]`, `[api]` and packs have a file
//! each.

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
mod cluster;
mod contacts;
mod engine;
mod handlers;
mod keys;
mod layer;
mod objects;
mod packs;
mod periods;
mod sinks;
mod values;

use keys::{Kind, Layer, Setting};
pub(crate) use periods::glob;
pub use values::parse_size;

type Val<'i> = Spanned<DeValue<'i>>;

/// The built-in webhook timeout (schedule and engine defaults are in the
/// model, sandbox limits come from [`Limits::default`]).
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

const TOP_KEYS: &[&str] = &[
    "engine",
    "defaults",
    "template",
    "host",
    "service",
    "contact",
    "handler",
    "api",
    "timeperiod",
    "contactgroup",
    "escalation",
    "sink",
    "cluster",
];
const HANDLER_KEYS: &[&str] = &["name", "module", "on", "params", "grants", "timeout", "memory", "output_limit"];
const ENGINE_KEYS: &[&str] = &[
    "state_semantics",
    "max_concurrent_checks",
    "state_file",
    "checks_dir",
    "packs_dir",
    "history_max_age",
    "history_max_size",
    "max_discovered_items",
    "keep_removed",
    "compile_timeout",
    "compile_memory",
];

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
    /// The `[[timeperiod]]` names.
    periods: Vec<String>,
    /// The `[[contactgroup]]`s and their members (nested groups' too).
    contact_groups: HashMap<String, Vec<String>>,
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
        periods: Vec::new(),
        contact_groups: HashMap::new(),
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
        let cluster = root.get("cluster").and_then(|v| self.cluster(v));

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
        let contact_groups = self.contact_groups(root);
        let timeperiods = self.timeperiods(root);
        let escalations = self.escalations(root);

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
        // Each host's zone as its layers write it ("" for this process).
        let mut host_zones: HashMap<String, String> = HashMap::new();
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
            if let Some(zone) = &layer.zone {
                host_zones.insert(name.get_ref().clone(), zone.clone());
            }
            hosts.push(Host {
                name: name.get_ref().clone(),
                address: o.address.clone(),
                check: layer.check_spec(),
                schedule: layer.schedule(),
                contacts: self.object_contacts(&layer),
                notification: layer.notification(),
                check_period: layer.check_period.clone(),
                notification_period: layer.notification_period.clone(),
                event_handlers: layer.event_handlers.clone().unwrap_or_default(),
                passive: layer.passive(),
                flapping: layer.flapping(),
                packs: o.packs,
                zone: layer.zone(),
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
            // A service without a zone of its own or of its templates takes
            // its host's: a host and its services run together.
            let own_zone = o.layer.zone.is_some()
                || o.uses.iter().any(|u| templates.get(u.get_ref()).is_some_and(|t| t.zone.is_some()));
            let host_zone = host_zones.get(host.get_ref()).filter(|_| !own_zone);
            let check = match layer.check_spec() {
                Some(check) if host_zone.is_some() => {
                    let zone = host_zone.filter(|z| !z.is_empty()).cloned();
                    Some(CheckSpec { zone, ..check })
                }
                Some(check) => Some(check),
                // A passive-only service needs no check.
                None if !passive.active_checks && !layer.check_written() => Some(CheckSpec::default()),
                None => None,
            };
            let Some(check) = check else {
                if layer.check_written() {
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
                contacts: self.object_contacts(&layer),
                notification: layer.notification(),
                check_period: layer.check_period.clone(),
                notification_period: layer.notification_period.clone(),
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

        let sinks = self.sinks(root);
        let escalations = self.escalation_targets(escalations, &hosts, &services);
        Config {
            path: self.file.to_path_buf(),
            engine,
            hosts,
            services,
            contacts,
            handlers,
            api,
            timeperiods,
            contact_groups,
            escalations,
            sinks,
            cluster,
        }
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

    fn unknown(&mut self, span: Range<usize>, context: &str, key: &str, header: &str, expected: &[&str]) {
        let expected = expected.join(", ");
        self.problem(span, format!("{context}: unknown key '{key}' in {header} (expected one of: {expected})"));
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

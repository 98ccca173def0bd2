//! The pack manifest: its model, the reader of a source `pack.toml` (every
//! problem with its file, line, column and key), and the checks every
//! manifest must pass, source or built.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::config::read::{describe, position, sorted};
use crate::sandbox::module::CheckInfo;
use crate::sandbox::policy::Grants;

/// A pack's manifest, as a built pack file holds it (`pack.toml`, first in
/// the archive) and as it is installed (`PACKS_DIR/NAME/pack.toml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The pack's name: lower-case letters, digits and `-`.
    pub name: String,
    /// Its version, MAJOR.MINOR.PATCH.
    pub version: String,
    /// One or two sentences: what a host with this pack is monitored for.
    pub description: String,
    /// The checks it ships, each with its component.
    #[serde(default, rename = "check")]
    pub checks: Vec<PackCheck>,
    /// The services a host with this pack gets.
    #[serde(default, rename = "service")]
    pub services: Vec<ServiceTemplate>,
}

/// One check of a pack: its component, what it says about itself, its
/// default parameters and what it is granted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackCheck {
    /// The name services of the pack refer to it by.
    pub name: String,
    /// The standard check it was built from, if it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard: Option<String>,
    /// The component's path in the pack: `checks/NAME.wasm`.
    pub component: String,
    /// The component's sha256, in hex.
    pub sha256: String,
    /// What it may use beyond its memory, as the configuration writes grants
    /// (`system`, `dns`, `net=any`, `no-target`, ...). A pack never gets
    /// more than it lists here.
    #[serde(default)]
    pub grants: Vec<String>,
    /// Default parameters of every service of this check.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Its `describe()`, captured when the pack was built: the manpage and
    /// the parameters with their defaults.
    pub info: CheckInfo,
}

/// A service a host with the pack gets, or with `discover`, one service
/// per item the check's `discover()` finds on the host.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceTemplate {
    /// The service name; with `discover`, it holds `{item}`, which is
    /// replaced by each item's name ("Disk {item}" gives "Disk /var").
    pub name: String,
    /// The pack check it runs.
    pub check: String,
    /// The item it monitors (without `discover`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// One service per discovered item.
    #[serde(default)]
    pub discover: bool,
    /// With `discover`: only items matching one of these patterns (`*`
    /// matches any text); none means every item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// With `discover`: no items matching any of these patterns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Parameters given to `discover()` (not to the checks).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub discovery_params: BTreeMap<String, String>,
    /// Parameters of the service, over the check's defaults.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// `check_interval`, such as "1m".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_interval: Option<String>,
    /// `retry_interval`, such as "30s".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<String>,
    /// `max_check_attempts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_check_attempts: Option<u32>,
}

impl Manifest {
    /// The check called `name`.
    pub fn check(&self, name: &str) -> Option<&PackCheck> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The service template called `name`.
    pub fn service(&self, name: &str) -> Option<&ServiceTemplate> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The grants of check `name` (the defaults plus what the manifest lists).
    pub fn grants(&self, name: &str) -> Grants {
        let mut grants = Grants::default();
        for g in self.check(name).map(|c| c.grants.as_slice()).unwrap_or_default() {
            // Validated when the manifest was read.
            let _ = grants.add(g);
        }
        grants
    }

    /// Whether the parameter `param` is one that check `check` takes.
    pub fn takes(&self, check: &str, param: &str) -> bool {
        self.check(check).is_some_and(|c| c.info.params.iter().any(|p| p.name == param))
    }
}

impl ServiceTemplate {
    /// The schedule keys, parsed over `base`.
    pub fn schedule(&self, base: crate::config::Schedule) -> crate::config::Schedule {
        let d = |s: &Option<String>| s.as_deref().and_then(|s| humantime::parse_duration(s.trim()).ok());
        crate::config::Schedule {
            check_interval: d(&self.check_interval).unwrap_or(base.check_interval),
            retry_interval: d(&self.retry_interval).unwrap_or(base.retry_interval),
            max_check_attempts: self.max_check_attempts.unwrap_or(base.max_check_attempts),
        }
    }

    /// Whether a discovered item is kept by `include` and `exclude`.
    pub fn keeps(&self, item: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| matches(p, item)))
            && !self.exclude.iter().any(|p| matches(p, item))
    }

    /// The service name for `item`.
    pub fn name_for(&self, item: &str) -> String {
        self.name.replace("{item}", item)
    }

    /// Whether `service` is a name this template gives (its own name, or
    /// with `discover` the name for some item).
    pub fn names(&self, service: &str) -> bool {
        if !self.discover {
            return self.name == service;
        }
        let (before, after) = self.name.split_once("{item}").unwrap_or((&self.name, ""));
        service.len() > before.len() + after.len() && service.starts_with(before) && service.ends_with(after)
    }
}

/// A glob: `*` matches any text (also none), everything else itself.
pub fn matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// Where in a manifest a problem is: the section and the key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Section {
    Top,
    Check(usize),
    Service(usize),
}

/// A problem found by [`verify`]: where, and what.
pub(crate) struct Finding {
    pub section: Section,
    pub key: String,
    pub message: String,
}

/// The rules every manifest keeps, source or built: names, versions,
/// references to the pack's checks, parameters the checks take (by their
/// captured `describe()`), grants, discovery and schedule keys.
pub(crate) fn verify(m: &Manifest) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut bad =
        |section: Section, key: &str, message: String| out.push(Finding { section, key: key.to_string(), message });
    if m.name.is_empty() || !m.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        bad(Section::Top, "name", format!("expected lower-case letters, digits and '-', found \"{}\"", m.name));
    }
    let parts: Vec<&str> = m.version.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.parse::<u64>().is_err()) {
        bad(
            Section::Top,
            "version",
            format!("expected a version MAJOR.MINOR.PATCH such as \"1.0.0\", found \"{}\"", m.version),
        );
    }
    if m.description.trim().is_empty() {
        bad(
            Section::Top,
            "description",
            "expected a description of what the pack monitors, found an empty string".into(),
        );
    }
    if m.checks.is_empty() {
        bad(Section::Top, "check", "expected at least one [[check]]".into());
    }
    if m.services.is_empty() {
        bad(Section::Top, "service", "expected at least one [[service]]".into());
    }
    let mut seen = HashMap::new();
    for (i, c) in m.checks.iter().enumerate() {
        if let Some(first) = seen.insert(c.name.as_str(), i) {
            bad(
                Section::Check(i),
                "name",
                format!("duplicate check name \"{}\" (also check number {})", c.name, first + 1),
            );
        }
        if !crate::contract::is_identifier(&c.name.replace('-', "_")) {
            bad(
                Section::Check(i),
                "name",
                format!("expected lower-case letters, digits, '-' and '_', found \"{}\"", c.name),
            );
        }
        for g in &c.grants {
            if let Err(e) = Grants::default().add(g) {
                bad(Section::Check(i), "grants", e);
            }
        }
        for k in c.params.keys() {
            if !m.takes(&c.name, k) {
                bad(Section::Check(i), &format!("params.{k}"), unknown_param(c, k));
            }
        }
    }
    let mut seen = HashMap::new();
    for (i, s) in m.services.iter().enumerate() {
        if let Some(first) = seen.insert(s.name.as_str(), i) {
            bad(
                Section::Service(i),
                "name",
                format!("duplicate service name \"{}\" (also service number {})", s.name, first + 1),
            );
        }
        let Some(check) = m.check(&s.check) else {
            let known: Vec<&str> = m.checks.iter().map(|c| c.name.as_str()).collect();
            bad(
                Section::Service(i),
                "check",
                format!("no check named \"{}\" in this pack (checks: {})", s.check, known.join(", ")),
            );
            continue;
        };
        for (key, params) in [("params", &s.params), ("discovery_params", &s.discovery_params)] {
            for k in params.keys() {
                if !m.takes(&s.check, k) {
                    bad(Section::Service(i), &format!("{key}.{k}"), unknown_param(check, k));
                }
            }
        }
        let holds_item = s.name.contains("{item}");
        if s.discover {
            if !holds_item {
                bad(
                    Section::Service(i),
                    "name",
                    format!(
                        "a service with discover = true needs \"{{item}}\" in its name, such as \"{} {{item}}\"",
                        s.name
                    ),
                );
            }
            if check.info.manpage.discovery.is_none() {
                bad(
                    Section::Service(i),
                    "discover",
                    format!("check \"{}\" does not discover items (its manpage has no discovery)", check.name),
                );
            }
            if s.item.is_some() {
                bad(
                    Section::Service(i),
                    "item",
                    "a discovered service takes its item from discovery: remove 'item' or 'discover'".into(),
                );
            }
        } else {
            if holds_item {
                bad(Section::Service(i), "name", "\"{item}\" in a name needs discover = true".into());
            }
            for (key, set) in [
                ("include", !s.include.is_empty()),
                ("exclude", !s.exclude.is_empty()),
                ("discovery_params", !s.discovery_params.is_empty()),
            ] {
                if set {
                    bad(Section::Service(i), key, "only a service with discover = true has it".into());
                }
            }
        }
        for (key, value) in [("check_interval", &s.check_interval), ("retry_interval", &s.retry_interval)] {
            if let Some(v) = value {
                match humantime::parse_duration(v.trim()) {
                    Ok(d) if d > Duration::ZERO => {}
                    _ => bad(
                        Section::Service(i),
                        key,
                        format!("expected a duration of more than zero such as \"31s\" or \"5m\", found \"{v}\""),
                    ),
                }
            }
        }
        if s.max_check_attempts == Some(0) {
            bad(Section::Service(i), "max_check_attempts", "expected an integer of at least 1, found 0".into());
        }
    }
    out
}

fn unknown_param(check: &PackCheck, key: &str) -> String {
    let known: Vec<&str> = check.info.params.iter().map(|p| p.name.as_str()).collect();
    let known = if known.is_empty() { "it takes none".to_string() } else { format!("it takes: {}", known.join(", ")) };
    format!("check \"{}\" has no parameter '{key}' ({known})", check.name)
}

/// A source manifest (`DIR/pack.toml` for `wasmon pack build`) as read:
/// the manifest without components yet, each check's component spec, and
/// where every key was, for messages.
pub(crate) struct Source {
    pub manifest: Manifest,
    /// Per check: a standard check's name or a path relative to DIR.
    pub components: Vec<String>,
    text: String,
    spans: HashMap<(Section, String), Range<usize>>,
}

impl Source {
    /// A finding as `FILE:LINE:COLUMN: context: key 'k': message`.
    pub fn locate(&self, file: &Path, f: &Finding) -> String {
        let key_root = f.key.split('.').next().unwrap_or_default().to_string();
        let span = self
            .spans
            .get(&(f.section.clone(), f.key.clone()))
            .or_else(|| self.spans.get(&(f.section.clone(), key_root)))
            .or_else(|| self.spans.get(&(f.section.clone(), String::new())))
            .cloned()
            .unwrap_or(0..0);
        let (line, column) = position(&self.text, span.start);
        format!(
            "{}:{line}:{column}: {}: key '{}': {}",
            file.display(),
            context(&self.manifest, &f.section),
            f.key,
            f.message
        )
    }
}

/// "pack", "check \"load\"" or "service \"Disk {item}\"", for messages.
pub(crate) fn context(m: &Manifest, section: &Section) -> String {
    match section {
        Section::Top => "pack".to_string(),
        Section::Check(i) => format!("check \"{}\"", m.checks.get(*i).map(|c| c.name.as_str()).unwrap_or("?")),
        Section::Service(i) => format!("service \"{}\"", m.services.get(*i).map(|s| s.name.as_str()).unwrap_or("?")),
    }
}

type Val<'i> = Spanned<DeValue<'i>>;

const TOP_KEYS: &[&str] = &["name", "version", "description", "check", "service"];
const CHECK_KEYS: &[&str] = &["name", "component", "grants", "params"];
const SERVICE_KEYS: &[&str] = &[
    "name",
    "check",
    "item",
    "discover",
    "include",
    "exclude",
    "discovery_params",
    "params",
    "check_interval",
    "retry_interval",
    "max_check_attempts",
];

/// Reads the source manifest `text` of `file`; every problem as
/// `FILE:LINE:COLUMN: context: key 'k': what was expected`.
pub(crate) fn read_source(text: &str, file: &Path) -> Result<Source, Vec<String>> {
    let mut r = SourceReader { text, file, problems: Vec::new(), spans: HashMap::new() };
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            r.problem(span, format!("invalid TOML: {}", e.message().trim_end()));
        }
        return Err(r.problems);
    }
    let root = root.get_ref();
    let mut manifest = Manifest {
        name: String::new(),
        version: String::new(),
        description: String::new(),
        checks: Vec::new(),
        services: Vec::new(),
    };
    let mut components = Vec::new();
    for (key, v) in sorted(root) {
        let k: &str = key.get_ref().as_ref();
        r.spans.insert((Section::Top, k.to_string()), v.span());
        match k {
            "name" => manifest.name = r.string(v, "pack", k).unwrap_or_default(),
            "version" => manifest.version = r.string(v, "pack", k).unwrap_or_default(),
            "description" => manifest.description = r.string(v, "pack", k).unwrap_or_default(),
            "check" | "service" => {}
            other => {
                r.problem(key.span(), format!("pack: unknown key '{other}' (expected one of: {})", TOP_KEYS.join(", ")))
            }
        }
    }
    for key in ["name", "version", "description"] {
        if root.get(key).is_none() {
            r.problem(0..0, format!("pack: missing key '{key}' (expected a string)"));
        }
    }
    for (i, (span, table)) in r.tables(root, "check").into_iter().enumerate() {
        let section = Section::Check(i);
        r.spans.insert((section.clone(), String::new()), span.clone());
        let name = table.get("name").and_then(|v| v.get_ref().as_str()).unwrap_or_default().to_string();
        let cx = if name.is_empty() { format!("[[check]] number {}", i + 1) } else { format!("check \"{name}\"") };
        let mut check = PackCheck {
            name,
            standard: None,
            component: String::new(),
            sha256: String::new(),
            grants: Vec::new(),
            params: BTreeMap::new(),
            info: empty_info(),
        };
        let mut component = None;
        let mut grants = None;
        for (key, v) in sorted(table) {
            let k: &str = key.get_ref().as_ref();
            r.spans.insert((section.clone(), k.to_string()), v.span());
            match k {
                "name" => {
                    r.string(v, &cx, k);
                }
                "component" => component = r.string(v, &cx, k),
                "grants" => grants = r.strings(v, &cx, k),
                "params" => check.params = r.params(v, &cx, k, &section),
                other => r.problem(
                    key.span(),
                    format!("{cx}: unknown key '{other}' in [[check]] (expected one of: {})", CHECK_KEYS.join(", ")),
                ),
            }
        }
        if table.get("name").is_none() {
            r.problem(span.clone(), format!("{cx}: missing key 'name' (expected a string)"));
        }
        let spec = component.unwrap_or_else(|| check.name.clone());
        let is_path = spec.contains('/') || spec.ends_with(".wasm");
        if !is_path {
            match crate::sandbox::standard::get(&spec) {
                Some(std) => {
                    check.standard = Some(std.name.to_string());
                    if grants.is_none() {
                        grants = Some(grant_names(&std.grants()));
                    }
                }
                None => {
                    let known: Vec<&str> = crate::sandbox::standard::all().map(|c| c.name).collect();
                    let at = table.get("component").or(table.get("name")).map(|v| v.span()).unwrap_or(span.clone());
                    r.problem(at, format!(
                        "{cx}: key 'component': no standard check named \"{spec}\" (standard checks: {}); a component of the pack is a path ending in .wasm",
                        known.join(", ")
                    ));
                }
            }
        }
        check.grants = grants.unwrap_or_default();
        manifest.checks.push(check);
        components.push(spec);
    }
    for (i, (span, table)) in r.tables(root, "service").into_iter().enumerate() {
        let section = Section::Service(i);
        r.spans.insert((section.clone(), String::new()), span.clone());
        let name = table.get("name").and_then(|v| v.get_ref().as_str()).unwrap_or_default().to_string();
        let cx = if name.is_empty() { format!("[[service]] number {}", i + 1) } else { format!("service \"{name}\"") };
        let mut s = ServiceTemplate { name, ..ServiceTemplate::default() };
        for (key, v) in sorted(table) {
            let k: &str = key.get_ref().as_ref();
            r.spans.insert((section.clone(), k.to_string()), v.span());
            match k {
                "name" => {
                    r.string(v, &cx, k);
                }
                "check" => s.check = r.string(v, &cx, k).unwrap_or_default(),
                "item" => s.item = r.string(v, &cx, k),
                "discover" => match v.get_ref() {
                    DeValue::Boolean(b) => s.discover = *b,
                    _ => r.bad(v, &cx, k, "true or false"),
                },
                "include" => s.include = r.strings(v, &cx, k).unwrap_or_default(),
                "exclude" => s.exclude = r.strings(v, &cx, k).unwrap_or_default(),
                "discovery_params" => s.discovery_params = r.params(v, &cx, k, &section),
                "params" => s.params = r.params(v, &cx, k, &section),
                "check_interval" => s.check_interval = r.string(v, &cx, k),
                "retry_interval" => s.retry_interval = r.string(v, &cx, k),
                "max_check_attempts" => match v.get_ref() {
                    DeValue::Integer(n) => match u32::from_str_radix(n.as_str(), n.radix()) {
                        Ok(n) => s.max_check_attempts = Some(n),
                        Err(_) => r.bad(v, &cx, k, "an integer from 1 to 4294967295"),
                    },
                    _ => r.bad(v, &cx, k, "an integer from 1 to 4294967295"),
                },
                other => r.problem(
                    key.span(),
                    format!(
                        "{cx}: unknown key '{other}' in [[service]] (expected one of: {})",
                        SERVICE_KEYS.join(", ")
                    ),
                ),
            }
        }
        for key in ["name", "check"] {
            if table.get(key).is_none() {
                r.problem(span.clone(), format!("{cx}: missing key '{key}' (expected a string)"));
            }
        }
        manifest.services.push(s);
    }
    if r.problems.is_empty() {
        Ok(Source { manifest, components, text: text.to_string(), spans: r.spans })
    } else {
        Err(r.problems)
    }
}

struct SourceReader<'a> {
    text: &'a str,
    file: &'a Path,
    problems: Vec<String>,
    spans: HashMap<(Section, String), Range<usize>>,
}

impl SourceReader<'_> {
    fn problem(&mut self, span: Range<usize>, message: String) {
        let (line, column) = position(self.text, span.start);
        self.problems.push(format!("{}:{line}:{column}: {message}", self.file.display()));
    }

    fn bad(&mut self, v: &Val<'_>, cx: &str, key: &str, expected: &str) {
        self.problem(v.span(), format!("{cx}: key '{key}': expected {expected}, found {}", describe(v)));
    }

    fn string(&mut self, v: &Val<'_>, cx: &str, key: &str) -> Option<String> {
        match v.get_ref().as_str() {
            Some(s) if !s.trim().is_empty() => Some(s.to_string()),
            _ => {
                self.bad(v, cx, key, "a non-empty string");
                None
            }
        }
    }

    fn strings(&mut self, v: &Val<'_>, cx: &str, key: &str) -> Option<Vec<String>> {
        let Some(items) = v.get_ref().as_array() else {
            self.bad(v, cx, key, "a list of strings such as [\"a\", \"b\"]");
            return None;
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref().as_str() {
                Some(s) => out.push(s.to_string()),
                None => self.bad(item, cx, key, "a list of strings: each a string"),
            }
        }
        Some(out)
    }

    fn params(&mut self, v: &Val<'_>, cx: &str, key: &str, section: &Section) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(table) = v.get_ref().as_table() else {
            self.bad(v, cx, key, "a table such as { warning = \"80%\" }");
            return out;
        };
        for (k, value) in sorted(table) {
            let name = format!("{key}.{}", k.get_ref());
            self.spans.insert((section.clone(), name.clone()), k.span());
            let text = match value.get_ref() {
                DeValue::String(s) => s.to_string(),
                DeValue::Integer(i) => i.as_str().to_string(),
                DeValue::Float(f) => f.as_str().to_string(),
                DeValue::Boolean(b) => b.to_string(),
                _ => {
                    self.bad(value, cx, &name, "a string, number or boolean");
                    continue;
                }
            };
            out.insert(k.get_ref().to_string(), text);
        }
        out
    }

    fn tables<'t, 'i>(&mut self, root: &'t DeTable<'i>, key: &str) -> Vec<(Range<usize>, &'t DeTable<'i>)> {
        let Some(v) = root.get(key) else { return Vec::new() };
        let Some(items) = v.get_ref().as_array() else {
            self.bad(v, "pack", key, &format!("an array of tables [[{key}]]"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref().as_table() {
                Some(t) => out.push((item.span(), t)),
                None => self.bad(item, "pack", key, &format!("an array of tables [[{key}]]")),
            }
        }
        out
    }
}

/// A placeholder until the component has described itself.
fn empty_info() -> CheckInfo {
    CheckInfo {
        name: String::new(),
        version: String::new(),
        title: String::new(),
        manpage: crate::sandbox::module::Manpage { description: String::new(), item: None, discovery: None },
        params: Vec::new(),
    }
}

/// `grants` as the configuration writes them, beyond the defaults.
pub fn grant_names(grants: &Grants) -> Vec<String> {
    let mut out = Vec::new();
    if grants.system {
        out.push("system".to_string());
    }
    if grants.dns {
        out.push("dns".to_string());
    }
    if grants.any_address {
        out.push("net=any".to_string());
    }
    out.extend(grants.addresses.iter().map(|a| format!("net={a}")));
    if !grants.target {
        out.push("no-target".to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(matches("/*", "/var"));
        assert!(matches("/*", "/"));
        assert!(!matches("/snap/*", "/var"));
        assert!(matches("/snap/*", "/snap/core/1"));
        assert!(matches("*boot*", "/boot/efi"));
        assert!(matches("/a*c*e", "/abcde"));
        assert!(!matches("/a*c*e", "/abcdf"));
        assert!(matches("/", "/"));
        assert!(!matches("/", "/var"));
        assert!(!matches("ab*ba", "aba"));
    }

    #[test]
    fn template_names() {
        let t = ServiceTemplate { name: "Disk {item}".into(), discover: true, ..ServiceTemplate::default() };
        assert!(t.names("Disk /var"));
        assert!(!t.names("Disk "));
        assert!(!t.names("Load"));
        assert_eq!(t.name_for("/"), "Disk /");
        let t = ServiceTemplate { exclude: vec!["/boot*".into()], include: vec!["/*".into()], ..t };
        assert!(t.keeps("/var") && !t.keeps("/boot/efi") && !t.keeps("tmp"));
    }

    #[test]
    fn source_problems_name_file_line_and_key() {
        let text = "name = \"x\"\nversion = 1\nflavour = \"sweet\"\n\n[[check]]\nname = \"load\"\ncolour = 1\n\n[[service]]\nname = \"Load\"\n";
        let problems = read_source(text, Path::new("dir/pack.toml")).err().unwrap();
        assert!(
            problems.contains(
                &"dir/pack.toml:2:11: pack: key 'version': expected a non-empty string, found integer 1".to_string()
            ),
            "{problems:#?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("dir/pack.toml:3:1: pack: unknown key 'flavour'")),
            "{problems:#?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("dir/pack.toml:7:1: check \"load\": unknown key 'colour' in [[check]]")),
            "{problems:#?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("dir/pack.toml:1:1: pack: missing key 'description'")),
            "{problems:#?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("dir/pack.toml:9:1: service \"Load\": missing key 'check'")),
            "{problems:#?}"
        );
    }
}

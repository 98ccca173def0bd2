//! The pack manifest: its model, the reader of a source `pack.toml`
//! ([`source`]: every problem with its file, line, column and key), and
//! the checks every manifest must pass, source or built.

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

mod source;
pub(crate) use source::{context, read_source};

#[cfg(test)]
mod tests;

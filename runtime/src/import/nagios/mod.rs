//! `wasmon import nagios`: a Nagios or Naemon object configuration turned
//! into an equivalent wasmon configuration.
//!
//! What is read: the main file's `cfg_file`, `cfg_dir`, `resource_file` and
//! `interval_length`; hosts, services, templates (`name`, `use` with
//! several templates, `register 0`, `+` additive values, `null`), host and
//! service groups, commands with `$ARGn$` and `$USERn$`, contacts and
//! contact groups, time periods (as `[[timeperiod]]`, `check_period` and
//! `notification_period`), host and service dependencies, and
//! `parents`. Services are made one per host they apply to (`host_name`
//! lists with `*` and `!`, `hostgroup_name`), and inherit contacts and
//! notification settings from their host as Nagios does.
//!
//! What is written: contacts (an `email` method for `notify-*-by-email`,
//! else `log`), hosts and services with their intervals, attempts,
//! notification, freshness and flapping settings. A `check_command` that
//! runs `check_tcp`, `check_http`, `check_dns`, `check_load`,
//! `check_disk`, `check_swap` or `check_dummy` becomes the standard check
//! with its options translated; any other becomes a command plugin
//! (`check = "<plugins>/<plugin>.wasm"` with its arguments, written as
//! comments) with active checks off, so that the configuration validates and
//! runs today (passive results are taken) and the plugin can be built for
//! WASI later. Everything that needs attention, and
//! every object that could not be translated, is listed with its file and
//! line: in [`Import::attention`] and at the end of the output.

mod command;
mod objects;
mod parse;
mod settings;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use parse::{At, Problem};

use command::{Check, Target};
use objects::{Object, Objects, expand_hosts, group_members};

/// How to import.
#[derive(Clone, Debug)]
pub struct Options {
    /// Absolute paths in the configuration are read under this directory.
    pub root: Option<PathBuf>,
    /// Where the command plugins' `.wasm` files are to be built, as written
    /// in `check = "…"` (relative to the new configuration file).
    pub plugins_dir: String,
    /// The SMTP server (`host:port`) of the contacts' email method.
    pub smtp: String,
    /// The sender of the contacts' email.
    pub from: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            root: None,
            plugins_dir: "plugins".into(),
            smtp: "127.0.0.1:25".into(),
            from: "wasmon@localhost".into(),
        }
    }
}

/// The result of an import.
#[derive(Debug)]
pub struct Import {
    /// The wasmon configuration, TOML.
    pub toml: String,
    /// What needs attention, in the order of the input files.
    pub attention: Vec<Problem>,
    /// Hosts written.
    pub hosts: usize,
    /// Services written.
    pub services: usize,
    /// Services and hosts that are command plugins still to be built.
    pub plugins: BTreeSet<String>,
}

/// Reads the configuration `main` and translates it. `Err` only when `main`
/// itself cannot be read; everything else is in [`Import::attention`].
pub fn import(main: &Path, options: &Options) -> Result<Import, std::io::Error> {
    let input = parse::read(main, options.root.as_deref())?;
    let mut problems = input.problems;
    let objects = objects::resolve(&input.defs, &mut problems);
    let mut t = Translator {
        objects: &objects,
        options,
        users: &input.users,
        interval: input.interval_length,
        problems,
        out: String::new(),
        plugins: BTreeSet::new(),
    };
    let (hosts, services) = t.translate(main);
    let mut attention = t.problems;
    attention.sort_by(|a, b| a.at.cmp(&b.at));
    attention.dedup();
    let mut toml = t.out;
    if !attention.is_empty() {
        let _ = writeln!(toml, "\n# Needs attention ({}):", attention.len());
        for p in &attention {
            let _ = writeln!(toml, "# {}", one_line(&p.to_string()));
        }
    }
    Ok(Import { toml, attention, hosts, services, plugins: t.plugins })
}

/// A host as it will be written.
struct Host<'o> {
    name: String,
    object: &'o Object,
    address: String,
}

struct Translator<'a> {
    objects: &'a Objects,
    options: &'a Options,
    users: &'a BTreeMap<String, String>,
    interval: f64,
    problems: Vec<Problem>,
    out: String,
    plugins: BTreeSet<String>,
}

impl<'a> Translator<'a> {
    fn attention(&mut self, at: At, message: impl Into<String>) {
        self.problems.push(Problem { at, message: message.into() });
    }

    fn translate(&mut self, main: &Path) -> (usize, usize) {
        let _ = writeln!(self.out, "# Imported by `wasmon import nagios` from {}.", main.display());
        let _ = writeln!(self.out, "# What needs attention is listed at the end.\n");
        let contacts = self.contacts();
        let contact_groups = group_members(
            self.objects.of("contactgroup"),
            "contactgroup_name",
            "contactgroup_members",
            self.objects
                .of("contact")
                .iter()
                .filter_map(|c| Some((c.get("contact_name")?.to_owned(), c.list("contactgroups")))),
        );
        let objects = self.objects;
        let hosts = self.hosts();
        let names: BTreeSet<String> = hosts.iter().map(|h| h.name.clone()).collect();
        let host_groups = group_members(
            objects.of("hostgroup"),
            "hostgroup_name",
            "hostgroup_members",
            hosts.iter().map(|h| (h.name.clone(), h.object.list("hostgroups"))),
        );
        let parents = self.dependencies(&names, &host_groups);
        let cx = Context { contacts: &contacts, contact_groups: &contact_groups };
        for h in &hosts {
            self.write_host(h, &cx, parents.hosts.get(&h.name));
        }
        let services = self.services(&hosts, &names, &host_groups, &cx, &parents.services);
        for g in objects.of("servicegroup") {
            let name = g.get("servicegroup_name").unwrap_or("?");
            self.attention(
                g.at.clone(),
                format!("servicegroup \"{name}\": wasmon has no service groups; not translated"),
            );
        }
        for kind in objects.by_kind.keys() {
            let known = [
                "host",
                "service",
                "hostgroup",
                "servicegroup",
                "command",
                "contact",
                "contactgroup",
                "timeperiod",
                "servicedependency",
                "hostdependency",
            ];
            if !known.contains(&kind.as_str()) {
                for o in objects.of(kind) {
                    self.attention(o.at.clone(), format!("define {kind}: no equivalent in wasmon; not translated"));
                }
            }
        }
        self.timeperiods();
        (hosts.len(), services)
    }

    /// `[[contact]]` tables; the names written.
    fn contacts(&mut self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for c in self.objects.of("contact") {
            let Some(name) = c.get("contact_name") else {
                self.attention(c.at.clone(), "define contact without contact_name: not translated");
                continue;
            };
            if !names.insert(name.to_owned()) {
                self.attention(c.at("contact_name"), format!("contact \"{name}\" is defined again; the first is kept"));
                continue;
            }
            let mut commands = c.list("service_notification_commands");
            commands.extend(c.list("host_notification_commands"));
            commands.sort();
            commands.dedup();
            let email = c.get("email").filter(|e| e.contains('@'));
            let mut methods = Vec::new();
            let mut by_email = false;
            for cmd in &commands {
                if cmd.ends_with("-by-email") {
                    by_email = true;
                } else {
                    self.attention(
                        c.at("service_notification_commands"),
                        format!(
                            "contact \"{name}\": notification command \"{cmd}\" is not translated (only *-by-email is)"
                        ),
                    );
                }
            }
            match (by_email, email) {
                (true, Some(to)) => methods.push(format!(
                    "{{ type = \"email\", to = {}, from = {}, smtp = {} }}",
                    toml_str(to),
                    toml_str(&self.options.from),
                    toml_str(&self.options.smtp)
                )),
                (true, None) => self.attention(
                    c.at.clone(),
                    format!("contact \"{name}\" is notified by email but has no email address; it logs instead"),
                ),
                _ => {}
            }
            if methods.is_empty() {
                methods.push("{ type = \"log\" }".into());
            }
            for key in ["service_notification_period", "host_notification_period"] {
                if let Some(period) = c.get(key).filter(|p| !self.always(p)) {
                    self.attention(
                        c.at(key),
                        format!("contact \"{name}\": {key} \"{period}\": wasmon has no periods per contact; the objects' notification_period applies"),
                    );
                }
            }
            let _ = writeln!(self.out, "[[contact]]\nname = {}", toml_str(name));
            let _ = writeln!(self.out, "methods = [{}]\n", methods.join(", "));
        }
        names
    }

    /// Registered hosts with a name, first definition kept.
    fn hosts(&mut self) -> Vec<Host<'a>> {
        let objects = self.objects;
        let mut seen = BTreeSet::new();
        let mut hosts = Vec::new();
        for o in objects.of("host") {
            let Some(name) = o.get("host_name") else {
                self.attention(o.at.clone(), "define host without host_name (and without register 0): not translated");
                continue;
            };
            if !seen.insert(name.to_owned()) {
                self.attention(o.at("host_name"), format!("host \"{name}\" is defined again; the first is kept"));
                continue;
            }
            let address = o.get("address").unwrap_or(name).to_owned();
            hosts.push(Host { name: name.to_owned(), object: o, address });
        }
        hosts
    }

    /// Parents from `parents`, host dependencies and service dependencies.
    fn dependencies(&mut self, hosts: &BTreeSet<String>, groups: &BTreeMap<String, BTreeSet<String>>) -> Parents {
        let mut parents = Parents::default();
        for d in self.objects.of("hostdependency") {
            let (dependents, _) =
                self.host_targets(d, "dependent_host_name", "dependent_hostgroup_name", hosts, groups);
            let (masters, _) = self.host_targets(d, "host_name", "hostgroup_name", hosts, groups);
            for child in &dependents {
                for m in &masters {
                    parents.hosts.entry(child.clone()).or_default().push(m.clone());
                }
            }
            self.criteria_note(d);
        }
        for d in self.objects.of("servicedependency") {
            let (dependents, _) =
                self.host_targets(d, "dependent_host_name", "dependent_hostgroup_name", hosts, groups);
            let (masters, _) = self.host_targets(d, "host_name", "hostgroup_name", hosts, groups);
            let (Some(child_service), Some(master_service)) =
                (d.get("dependent_service_description"), d.get("service_description"))
            else {
                self.attention(
                    d.at.clone(),
                    "servicedependency without service_description or dependent_service_description: not translated",
                );
                continue;
            };
            // As Nagios: without dependent hosts, the dependent is on the master's hosts.
            let dependents = if dependents.is_empty() { masters.clone() } else { dependents };
            for child in &dependents {
                for m in &masters {
                    parents.services.entry((child.clone(), child_service.to_owned())).or_default().push((
                        m.clone(),
                        master_service.to_owned(),
                        d.at.clone(),
                    ));
                }
            }
            self.criteria_note(d);
        }
        parents
    }

    fn criteria_note(&mut self, d: &Object) {
        for key in ["execution_failure_criteria", "notification_failure_criteria", "dependency_period"] {
            if d.get(key).is_some() {
                self.attention(
                    d.at(key),
                    format!(
                        "{key}: wasmon's dependencies follow seed 002 (a HARD failure of the parent); not translated"
                    ),
                );
            }
        }
        if d.flag("inherits_parent") == Some(true) {
            self.attention(
                d.at("inherits_parent"),
                "inherits_parent: dependencies in wasmon are always followed up the tree",
            );
        }
    }

    /// The hosts an object names through `key` (hosts) and `group_key`.
    fn host_targets(
        &mut self,
        o: &Object,
        key: &str,
        group_key: &str,
        hosts: &BTreeSet<String>,
        groups: &BTreeMap<String, BTreeSet<String>>,
    ) -> (BTreeSet<String>, bool) {
        let (mut set, unknown) = expand_hosts(&o.list(key), hosts);
        for u in unknown {
            self.attention(o.at(key), format!("{key}: no host named \"{u}\""));
        }
        let mut excluded = BTreeSet::new();
        for g in o.list(group_key) {
            let (g, exclude) = match g.strip_prefix('!') {
                Some(x) => (x.to_owned(), true),
                None => (g, false),
            };
            match groups.get(&g) {
                Some(members) if exclude => excluded.extend(members.iter().cloned()),
                Some(members) => set.extend(members.iter().filter(|m| hosts.contains(*m)).cloned()),
                None => self.attention(o.at(group_key), format!("{group_key}: no hostgroup named \"{g}\"")),
            }
        }
        set.retain(|h| !excluded.contains(h));
        let named = o.get(key).is_some() || o.get(group_key).is_some();
        (set, named)
    }

    fn write_host(&mut self, h: &Host<'_>, cx: &Context<'_>, parents: Option<&Vec<String>>) {
        let o = h.object;
        let _ = writeln!(self.out, "[[host]]\nname = {}", toml_str(&h.name));
        if h.address != h.name {
            let _ = writeln!(self.out, "address = {}", toml_str(&h.address));
        }
        let mut all_parents = o.list("parents");
        all_parents.extend(parents.into_iter().flatten().cloned());
        all_parents.dedup();
        if !all_parents.is_empty() {
            let list: Vec<String> = all_parents.iter().map(|p| toml_str(p)).collect();
            let _ = writeln!(self.out, "parents = [{}]", list.join(", "));
        }
        let target = Target { name: &h.name, address: &h.address };
        let what = format!("host \"{}\"", h.name);
        let active_off = o.get("check_command").is_some() && self.write_check(o, &target, &what, None);
        self.write_settings(o, None, cx, &what, active_off);
        self.out.push('\n');
    }

    fn services(
        &mut self,
        hosts: &[Host<'_>],
        names: &BTreeSet<String>,
        groups: &BTreeMap<String, BTreeSet<String>>,
        cx: &Context<'_>,
        dependencies: &ServiceParents,
    ) -> usize {
        let objects = self.objects;
        let by_name: BTreeMap<&str, &Host<'_>> = hosts.iter().map(|h| (h.name.as_str(), h)).collect();
        let mut written: BTreeSet<(String, String)> = BTreeSet::new();
        for o in objects.of("service") {
            let Some(desc) = o.get("service_description") else {
                self.attention(o.at.clone(), "define service without service_description: not translated");
                continue;
            };
            let (targets, named) = self.host_targets(o, "host_name", "hostgroup_name", names, groups);
            if !named {
                self.attention(
                    o.at.clone(),
                    format!("service \"{desc}\" names no host_name or hostgroup_name: not translated"),
                );
                continue;
            }
            for host in targets {
                if !written.insert((host.clone(), desc.to_owned())) {
                    self.attention(
                        o.at.clone(),
                        format!("service \"{desc}\" on \"{host}\" is defined again; the first is kept"),
                    );
                    continue;
                }
                let h = by_name[host.as_str()];
                let _ = writeln!(self.out, "[[service]]\nhost = {}\nname = {}", toml_str(&host), toml_str(desc));
                let what = format!("service \"{desc}\" on \"{host}\"");
                let target = Target { name: &h.name, address: &h.address };
                let active_off = if o.get("check_command").is_some() {
                    self.write_check(o, &target, &what, Some(h.object))
                } else {
                    self.attention(
                        o.at.clone(),
                        format!("{what} has no check_command: imported with active checks off"),
                    );
                    let _ = writeln!(self.out, "active_checks = false");
                    true
                };
                if let Some(deps) = dependencies.get(&(host.clone(), desc.to_owned())) {
                    let list: Vec<String> = deps
                        .iter()
                        .map(|(ph, ps, _)| {
                            if *ph == host {
                                toml_str(ps)
                            } else {
                                format!("{{ host = {}, service = {} }}", toml_str(ph), toml_str(ps))
                            }
                        })
                        .collect();
                    let _ = writeln!(self.out, "parents = [{}]", list.join(", "));
                }
                self.write_settings(o, Some(h.object), cx, &what, active_off);
                self.out.push('\n');
            }
        }
        // Dependencies on services that were not written.
        for ((host, service), deps) in dependencies {
            for (ph, ps, at) in deps {
                if !written.contains(&(host.clone(), service.clone())) {
                    self.attention(at.clone(), format!("servicedependency: no service \"{service}\" on \"{host}\""));
                } else if !written.contains(&(ph.clone(), ps.clone())) {
                    self.attention(at.clone(), format!("servicedependency: no service \"{ps}\" on \"{ph}\""));
                }
            }
        }
        written.len()
    }
}

/// Seconds as a wasmon duration (`5m`, `1m 30s`, `500ms`), written as the
/// configuration reader parses it.
fn seconds(s: f64) -> String {
    let ms = (s * 1000.0).round() as u64;
    humantime::format_duration(std::time::Duration::from_millis(ms)).to_string()
}

/// What translating services needs from contacts.
struct Context<'a> {
    contacts: &'a BTreeSet<String>,
    contact_groups: &'a BTreeMap<String, BTreeSet<String>>,
}

/// Service parents from service dependencies: for each (host, service),
/// its parents' hosts and services and where the dependency was written.
type ServiceParents = BTreeMap<(String, String), Vec<(String, String, At)>>;

/// Parents found in dependencies.
#[derive(Default)]
struct Parents {
    hosts: BTreeMap<String, Vec<String>>,
    services: ServiceParents,
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text for a comment line: control characters replaced.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests;

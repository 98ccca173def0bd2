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

    /// `check`, `params`, `args`, `item`, `timeout` from `check_command`.
    fn write_check(&mut self, o: &Object, target: &Target<'_>, what: &str, host: Option<&Object>) -> bool {
        let at = o.at("check_command");
        let (name, args) = command::split_check_command(o.get("check_command").unwrap_or_default());
        let Some(cmd) = self.objects.of("command").iter().find(|c| c.get("command_name") == Some(name.as_str())) else {
            self.attention(at, format!("{what}: no command named \"{name}\"; imported with active checks off"));
            let _ = writeln!(self.out, "active_checks = false");
            return true;
        };
        let line = command::substitute(cmd.get("command_line").unwrap_or_default(), &args, self.users);
        let words = match command::shell_words(&line) {
            Ok(w) if !w.is_empty() => w,
            Ok(_) => {
                self.attention(cmd.at("command_line"), format!("command \"{name}\" has an empty command_line"));
                let _ = writeln!(self.out, "active_checks = false");
                return true;
            }
            Err(e) => {
                self.attention(
                    cmd.at("command_line"),
                    format!("{what}: command \"{name}\" is {e}, not one plugin with arguments; imported with active checks off"),
                );
                let _ = writeln!(self.out, "active_checks = false");
                return true;
            }
        };
        match command::translate(&words, target) {
            Check::Standard { check, params, item, timeout, timeout_state, note } => {
                let _ = writeln!(self.out, "check = {}", toml_str(check));
                if let Some(item) = item {
                    let _ = writeln!(self.out, "item = {}", toml_str(&item));
                }
                if !params.is_empty() {
                    let p: Vec<String> = params.iter().map(|(k, v)| format!("{k} = {}", toml_str(v))).collect();
                    let _ = write!(self.out, "params = {{ {} }}", p.join(", "));
                    match note {
                        Some(n) => {
                            let _ = writeln!(self.out, "   # {n}");
                        }
                        None => self.out.push('\n'),
                    }
                }
                if let Some(t) = timeout {
                    let _ = writeln!(self.out, "timeout = {}", toml_str(&t));
                }
                if let Some(s) = timeout_state {
                    match s.as_str() {
                        "OK" | "WARNING" | "CRITICAL" | "UNKNOWN" => {
                            let _ = writeln!(self.out, "timeout_state = {}", toml_str(&s));
                        }
                        _ => self
                            .attention(at.clone(), format!("{what}: timeout state \"{s}\" is not a state; left out")),
                    }
                }
                false
            }
            Check::Plugin { plugin, args, why } => {
                let module = format!("{}/{plugin}.wasm", self.options.plugins_dir.trim_end_matches('/'));
                let args: Vec<String> = args.iter().map(|a| self.macros(a, o, host, &at, what)).collect();
                // Commented out: a module that does not exist yet cannot be loaded.
                // Once it is built, these two lines replace `active_checks = false`.
                let _ = writeln!(self.out, "# check = {}", toml_str(&module));
                if !args.is_empty() {
                    let list: Vec<String> = args.iter().map(|a| toml_str(a)).collect();
                    let _ = writeln!(self.out, "# args = [{}]", list.join(", "));
                }
                let _ = writeln!(self.out, "active_checks = false   # until {module} is built for WASI");
                self.attention(
                    at,
                    format!("{what}: `{plugin}` becomes the command plugin {module} ({why}); active checks are off until it is built and its `check` line uncommented"),
                );
                self.plugins.insert(plugin);
                true
            }
        }
    }

    /// A plugin argument with Nagios macros replaced by what wasmon knows:
    /// its own macros stay, custom variables and aliases are filled in,
    /// any other is kept as literal text and named.
    fn macros(&mut self, arg: &str, o: &Object, host: Option<&Object>, at: &At, what: &str) -> String {
        let mut out = String::new();
        let mut rest = arg;
        while let Some(start) = rest.find('$') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let Some(end) = after.find('$') else {
                out.push_str("$$");
                out.push_str(after);
                return out;
            };
            let name = &after[..end];
            rest = &after[end + 1..];
            let host_object = host.unwrap_or(o);
            let known = match name {
                "" => Some("$$".to_owned()),
                "HOSTNAME" | "HOSTADDRESS" => Some(format!("${name}$")),
                "SERVICEDESC" if host.is_some() => Some("$SERVICEDESC$".into()),
                "HOSTALIAS" => host_object.get("alias").or(host_object.get("host_name")).map(|a| a.replace('$', "$$")),
                _ => {
                    let custom = |object: &Object, prefix: &str| {
                        name.strip_prefix(prefix)
                            .and_then(|v| object.get(&format!("_{v}")))
                            .map(|v| v.replace('$', "$$"))
                    };
                    custom(host_object, "_HOST").or_else(|| if host.is_some() { custom(o, "_SERVICE") } else { None })
                }
            };
            match known {
                Some(v) => out.push_str(&v),
                None => {
                    self.attention(
                        at.clone(),
                        format!("{what}: the macro ${name}$ has no equivalent; it is passed as the text ${name}$"),
                    );
                    let _ = write!(out, "$${name}$$");
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Intervals, attempts, notification, freshness and flapping settings.
    fn write_settings(&mut self, o: &Object, host: Option<&Object>, cx: &Context<'_>, what: &str, active_off: bool) {
        // Services inherit these from their host when they do not set them (Nagios' implicit inheritance).
        let inherited = |key: &str| o.get(key).or_else(|| host.and_then(|h| h.get(key)));
        let old = |new: &'static str, old: &'static str| if o.get(new).is_some() { new } else { old };
        for (key, nagios) in [
            ("check_interval", old("check_interval", "normal_check_interval")),
            ("retry_interval", old("retry_interval", "retry_check_interval")),
        ] {
            if let Some(v) = o.get(nagios) {
                match self.duration(v, self.interval) {
                    Some(d) if d != "0s" => {
                        let _ = writeln!(self.out, "{key} = {}", toml_str(&d));
                    }
                    Some(_) => self
                        .attention(o.at(nagios), format!("{what}: {nagios} 0 (no regular checks) is not translated")),
                    None => self.attention(o.at(nagios), format!("{what}: {nagios} `{v}` is not a number")),
                }
            }
        }
        if let Some(v) = o.get("max_check_attempts") {
            match v.trim().parse::<u32>() {
                Ok(n) if n >= 1 => {
                    let _ = writeln!(self.out, "max_check_attempts = {n}");
                }
                _ => self.attention(
                    o.at("max_check_attempts"),
                    format!("{what}: max_check_attempts `{v}` is not at least 1"),
                ),
            }
        }
        for key in ["notification_interval", "first_notification_delay"] {
            let v = if key == "notification_interval" { inherited(key) } else { o.get(key) };
            if let Some(v) = v {
                match self.duration(v, self.interval) {
                    Some(d) => {
                        let _ = writeln!(self.out, "{key} = {}", toml_str(&d));
                    }
                    None => self.attention(o.at(key), format!("{what}: {key} `{v}` is not a number")),
                }
            }
        }
        for (key, nagios) in [
            ("active_checks", "active_checks_enabled"),
            ("passive_checks", "passive_checks_enabled"),
            ("check_freshness", "check_freshness"),
            ("flap_detection", "flap_detection_enabled"),
        ] {
            if key == "active_checks" && active_off {
                continue;
            }
            if let Some(b) = o.flag(nagios) {
                let _ = writeln!(self.out, "{key} = {b}");
            }
        }
        if let Some(v) = o.get("freshness_threshold") {
            match v.trim().parse::<f64>() {
                Ok(0.0) => {}
                Ok(s) if s > 0.0 => {
                    let _ = writeln!(self.out, "freshness_threshold = {}", toml_str(&seconds(s)));
                }
                _ => self.attention(
                    o.at("freshness_threshold"),
                    format!("{what}: freshness_threshold `{v}` is not seconds"),
                ),
            }
        }
        for key in ["low_flap_threshold", "high_flap_threshold"] {
            if let Some(v) = o.get(key) {
                match v.trim().parse::<f64>() {
                    Ok(0.0) => {}
                    Ok(p) if p > 0.0 && p <= 100.0 => {
                        let _ = writeln!(self.out, "{key} = {}", toml_str(&format!("{p}%")));
                    }
                    _ => self.attention(o.at(key), format!("{what}: {key} `{v}` is not a percentage")),
                }
            }
        }
        // Contacts: none when notifications are off.
        let contacts = if o.flag("notifications_enabled") == Some(false) {
            Some(Vec::new())
        } else if inherited("contacts").is_some() || inherited("contact_groups").is_some() {
            let mut list: Vec<String> = Vec::new();
            let mut from = |names: Vec<String>, groups: bool, t: &mut Self| {
                for n in names {
                    let members: Vec<String> = if groups {
                        match cx.contact_groups.get(&n) {
                            Some(m) => m.iter().cloned().collect(),
                            None => {
                                t.attention(o.at("contact_groups"), format!("{what}: no contactgroup named \"{n}\""));
                                continue;
                            }
                        }
                    } else {
                        vec![n]
                    };
                    for m in members {
                        if !cx.contacts.contains(&m) {
                            t.attention(o.at("contacts"), format!("{what}: no contact named \"{m}\""));
                        } else if !list.contains(&m) {
                            list.push(m);
                        }
                    }
                }
            };
            let (own_contacts, own_groups) = (o.get("contacts").is_some(), o.get("contact_groups").is_some());
            let source = match host {
                Some(h) if !own_contacts && !own_groups => h,
                _ => o,
            };
            from(source.list("contacts"), false, self);
            from(source.list("contact_groups"), true, self);
            Some(list)
        } else {
            None
        };
        if let Some(list) = contacts {
            let list: Vec<String> = list.iter().map(|c| toml_str(c)).collect();
            let _ = writeln!(self.out, "contacts = [{}]", list.join(", "));
        }
        // Services inherit the notification period from their host, not the check period (as Nagios).
        self.write_period(o, "check_period", o.get("check_period"));
        self.write_period(o, "notification_period", inherited("notification_period"));
        if let Some(h) = o.get("event_handler")
            && o.flag("event_handler_enabled") != Some(false)
        {
            self.attention(
                o.at("event_handler"),
                format!(
                    "{what}: event_handler \"{h}\" is a command; wasmon's handlers are components (see [[handler]])"
                ),
            );
        }
        if o.flag("is_volatile") == Some(true) {
            self.attention(o.at("is_volatile"), format!("{what}: is_volatile has no equivalent; not translated"));
        }
        let options_key = "notification_options";
        if let Some(v) = o.get(options_key) {
            let all: &[&str] = if host.is_some() { &["w", "u", "c", "r"] } else { &["d", "u", "r"] };
            let given: BTreeSet<&str> = v.split(',').map(str::trim).collect();
            if !all.iter().all(|x| given.contains(x)) {
                self.attention(
                    o.at(options_key),
                    format!("{what}: notification_options `{v}`: wasmon notifies on every state; not translated"),
                );
            }
        }
    }

    /// `key = "period"` for an object, unless the period holds at every
    /// moment (as 24x7 does, the same as none); an unknown period is named.
    fn write_period(&mut self, o: &Object, key: &str, period: Option<&str>) {
        let Some(name) = period else { return };
        if !self.objects.of("timeperiod").iter().any(|p| p.get("timeperiod_name") == Some(name)) {
            self.attention(o.at(key), format!("{key}: no timeperiod named \"{name}\"; left out"));
            return;
        }
        if !self.always(name) {
            let _ = writeln!(self.out, "{key} = {}", toml_str(name));
        }
    }

    /// Whether the time period `name` holds at every minute of every day.
    fn always(&self, name: &str) -> bool {
        let Some(p) = self.objects.of("timeperiod").iter().find(|p| p.get("timeperiod_name") == Some(name)) else {
            return false;
        };
        let days = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
        let other = p.vars.keys().any(|k| !days.contains(&k.as_str()) && k != "timeperiod_name" && k != "alias");
        !other && days.iter().all(|d| p.get(d).is_some_and(|v| v.replace(' ', "") == "00:00-24:00"))
    }

    /// `[[timeperiod]]` tables for every period but those that always hold:
    /// weekday and date entries as Nagios writes them, and exclusions. An
    /// entry wasmon does not read is named and left out.
    fn timeperiods(&mut self) {
        let objects = self.objects;
        for p in objects.of("timeperiod") {
            let Some(name) = p.get("timeperiod_name") else {
                self.attention(p.at.clone(), "define timeperiod without timeperiod_name: not translated");
                continue;
            };
            if self.always(name) {
                continue;
            }
            let mut table = format!("[[timeperiod]]\nname = {}\n", toml_str(name));
            if let Some(alias) = p.get("alias") {
                let _ = writeln!(table, "alias = {}", toml_str(alias));
            }
            for (key, (value, at)) in &p.vars {
                if matches!(key.as_str(), "timeperiod_name" | "alias" | "exclude") {
                    continue;
                }
                // A day may be several words (`monday -1 may 00:00-24:00`): the
                // reader split the line at its first blank, Nagios at its last.
                let line = format!("{key} {value}");
                let (key, value) = line.trim().rsplit_once(char::is_whitespace).unwrap_or((key.as_str(), ""));
                let (key, value) = (key.trim(), value.trim());
                let day = crate::timeperiod::parse_day(key);
                match (day, crate::timeperiod::parse_ranges(value)) {
                    (Some(_), Ok(_)) => {
                        let _ = writeln!(table, "{} = {}", toml_str(key), toml_str(value));
                    }
                    (None, _) => self.attention(
                        at.clone(),
                        format!("timeperiod \"{name}\": the day `{key}` is not one wasmon reads; left out"),
                    ),
                    (Some(_), Err(e)) => {
                        self.attention(at.clone(), format!("timeperiod \"{name}\": `{key} {value}`: {e}; left out"))
                    }
                }
            }
            let mut exclude = Vec::new();
            for x in p.list("exclude") {
                if !objects.of("timeperiod").iter().any(|q| q.get("timeperiod_name") == Some(x.as_str())) {
                    self.attention(p.at("exclude"), format!("timeperiod \"{name}\": no timeperiod \"{x}\" to exclude"));
                } else if self.always(&x) {
                    self.attention(
                        p.at("exclude"),
                        format!(
                            "timeperiod \"{name}\" excludes \"{x}\", which always holds: the exclusion is left out"
                        ),
                    );
                } else {
                    exclude.push(toml_str(&x));
                }
            }
            if !exclude.is_empty() {
                let _ = writeln!(table, "exclude = [{}]", exclude.join(", "));
            }
            let _ = writeln!(self.out, "{table}");
        }
    }

    /// `v` interval units as a duration (`5m`, `90s`).
    fn duration(&self, v: &str, unit: f64) -> Option<String> {
        let n: f64 = v.trim().parse().ok().filter(|n: &f64| *n >= 0.0 && n.is_finite())?;
        Some(seconds(n * unit))
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

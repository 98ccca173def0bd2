//! Writing one host's or service's check, settings and time periods:
//! `check_command` into a check with its parameters, intervals, attempts,
//! notification, freshness and flapping settings, and `[[timeperiod]]`
//! tables.

use super::*;

impl Translator<'_> {
    /// `check`, `params`, `args`, `item`, `timeout` from `check_command`.
    pub(super) fn write_check(&mut self, o: &Object, target: &Target<'_>, what: &str, host: Option<&Object>) -> bool {
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
    pub(super) fn macros(&mut self, arg: &str, o: &Object, host: Option<&Object>, at: &At, what: &str) -> String {
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
    pub(super) fn write_settings(
        &mut self,
        o: &Object,
        host: Option<&Object>,
        cx: &Context<'_>,
        what: &str,
        active_off: bool,
    ) {
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
    pub(super) fn write_period(&mut self, o: &Object, key: &str, period: Option<&str>) {
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
    pub(super) fn always(&self, name: &str) -> bool {
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
    pub(super) fn timeperiods(&mut self) {
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
    pub(super) fn duration(&self, v: &str, unit: f64) -> Option<String> {
        let n: f64 = v.trim().parse().ok().filter(|n: &f64| *n >= 0.0 && n.is_finite())?;
        Some(seconds(n * unit))
    }
}

//! The typed value readers: strings, durations, sizes, numbers, booleans,
//! lists, and the values of particular keys.

use super::*;

impl Reader<'_> {
    /// A percentage from 0 to 100 (an integer or a float).
    pub(super) fn percent(&mut self, v: &Val<'_>, cx: &str, key: &str) -> Option<(f64, Range<usize>)> {
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

    pub(super) fn boolean(&mut self, v: &Val<'_>, cx: &str, key: &str) -> Option<bool> {
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
    pub(super) fn parents(&mut self, v: &Val<'_>, cx: &str) -> Option<Vec<crate::config::parents::Written>> {
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
                    out.push(crate::config::parents::Written { span: item.span(), host: None, name: s.to_string() })
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
                            out.push(crate::config::parents::Written { span: item.span(), host: Some(host), name })
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

    pub(super) fn string(&mut self, v: &Val<'_>, cx: &str, key: &str, what: &str) -> Option<String> {
        match v.get_ref().as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.bad(v.span(), cx, key, format!("expected {what}, found {}", describe(v)));
                None
            }
        }
    }

    pub(super) fn nonempty(&mut self, v: &Val<'_>, cx: &str, key: &str, what: &str) -> Option<String> {
        let s = self.string(v, cx, key, &format!("{what} (a string)"))?;
        if s.trim().is_empty() {
            self.bad(v.span(), cx, key, format!("expected {what}, found an empty string"));
            return None;
        }
        Some(s)
    }

    pub(super) fn strings(&mut self, v: &Val<'_>, cx: &str, key: &str, what: &str) -> Option<Vec<Spanned<String>>> {
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

    pub(super) fn integer(&mut self, v: &Val<'_>, cx: &str, key: &str, min: i64, max: i64) -> Option<i64> {
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

    pub(super) fn duration(&mut self, v: &Val<'_>, cx: &str, key: &str, zero_ok: bool) -> Option<Duration> {
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
            Ok(d) if d > crate::sanitize::MAX_DURATION => {
                let max = humantime::format_duration(crate::sanitize::MAX_DURATION);
                self.bad(v.span(), cx, key, format!("expected {expected} of at most {max}, found \"{s}\""));
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.bad(v.span(), cx, key, format!("expected {expected}, found \"{s}\" ({e})"));
                None
            }
        }
    }

    pub(super) fn size(&mut self, v: &Val<'_>, cx: &str, key: &str) -> Option<usize> {
        let expected = "a size such as \"64MiB\", \"16KiB\" or 65536";
        let parsed = match v.get_ref() {
            DeValue::String(s) => parse_size(s).ok(),
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

    pub(super) fn check(&mut self, v: &Val<'_>, cx: &str) -> Option<(String, Grants)> {
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

    pub(super) fn params(&mut self, v: &Val<'_>, cx: &str) -> Vec<(String, String)> {
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

    /// `args`: plugin arguments, their macros checked.
    pub(super) fn args(&mut self, v: &Val<'_>, cx: &str, k: &str) -> Option<Vec<String>> {
        let args = self.strings(v, cx, k, "a list of plugin arguments");
        let mut ok = args.is_some();
        for a in args.iter().flatten() {
            if let Err(e) = crate::plugin::expand_macros(a.get_ref(), &Default::default()) {
                self.bad(a.span(), cx, k, e.to_string());
                ok = false;
            }
        }
        args.filter(|_| ok).map(|a| a.into_iter().map(Spanned::into_inner).collect())
    }

    /// `contacts`: names of `[[contact]]`s.
    pub(super) fn contact_names(&mut self, v: &Val<'_>, cx: &str, k: &str) -> Option<Vec<String>> {
        let names = self.strings(v, cx, k, "a list of contact names");
        let mut ok = names.is_some();
        for c in names.iter().flatten() {
            if !self.contacts.contains(c.get_ref()) {
                let known = list(&self.contacts, "contacts");
                self.bad(c.span(), cx, k, format!("no contact named \"{}\" ({known})", c.get_ref()));
                ok = false;
            }
        }
        names.filter(|_| ok).map(|n| n.into_iter().map(Spanned::into_inner).collect())
    }

    /// `event_handlers`: names of `[[handler]]`s.
    pub(super) fn handler_names(&mut self, v: &Val<'_>, cx: &str, k: &str) -> Option<Vec<String>> {
        let names = self.strings(v, cx, k, "a list of handler names");
        let mut ok = names.is_some();
        for h in names.iter().flatten() {
            if !self.handlers.contains(h.get_ref()) {
                let known = list(&self.handlers, "handlers");
                self.bad(h.span(), cx, k, format!("no handler named \"{}\" ({known})", h.get_ref()));
                ok = false;
            }
        }
        names.filter(|_| ok).map(|n| n.into_iter().map(Spanned::into_inner).collect())
    }

    /// `grants`: each checked as [`Grants::add`] reads it.
    pub(super) fn grant_names(&mut self, v: &Val<'_>, cx: &str, k: &str) -> Option<Vec<String>> {
        let grants = self.strings(v, cx, k, "a list of grants");
        let mut ok = grants.is_some();
        for g in grants.iter().flatten() {
            if let Err(e) = Grants::default().add(g.get_ref()) {
                self.bad(g.span(), cx, k, e);
                ok = false;
            }
        }
        grants.filter(|_| ok).map(|n| n.into_iter().map(Spanned::into_inner).collect())
    }

    /// A check state: `OK`, `WARNING`, `CRITICAL` or `UNKNOWN`.
    pub(super) fn state(&mut self, v: &Val<'_>, cx: &str, k: &str) -> Option<State> {
        match v.get_ref().as_str().map(str::parse::<State>) {
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
        }
    }
}

/// Reads a size: `65536`, `64KiB`, `64MiB`, `1GiB` (also `K`/`M`/`G`,
/// `KB`/`MB`/`GB`, all binary), more than zero; the error says why not.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num.parse().map_err(|_| format!("'{s}': expected a size such as 65536, 64KiB or 64MiB"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        u => return Err(format!("'{s}': unknown unit '{u}' (expected B, KiB, MiB or GiB)")),
    };
    n.checked_mul(mult)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("'{s}': the size must be more than zero and fit in memory"))
}

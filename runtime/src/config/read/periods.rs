//! `[[timeperiod]]`, `[[contactgroup]]` and `[[escalation]]` tables, and
//! the keys that name them (`check_period`, `notification_period`,
//! `contact_groups`) or say what a contact is notified about
//! (`notification_options`).

use super::*;
use crate::timeperiod::{self, DAY_FORMS, RANGE_FORMS, Rule, TimePeriod};

const PERIOD_KEYS: &[&str] = &["name", "alias", "timezone", "exclude"];
const GROUP_KEYS: &[&str] = &["name", "alias", "members", "contactgroup_members"];
const ESCALATION_KEYS: &[&str] = &[
    "host",
    "service",
    "first_notification",
    "last_notification",
    "contacts",
    "contact_groups",
    "notification_interval",
];

/// A name's context for messages: `what "name"`, or `[[table]] number N`.
fn context(table: &DeTable<'_>, key: &str, what: &str, header: &str, index: usize) -> String {
    match table.get(key).and_then(|v| v.get_ref().as_str()) {
        Some(n) => format!("{what} \"{n}\""),
        None => format!("[[{header}]] number {}", index + 1),
    }
}

impl Reader<'_> {
    /// Every `[[timeperiod]]`, checked: their days, ranges and zones, their
    /// names unique, every exclusion a known period and no cycle.
    pub(super) fn timeperiods(&mut self, root: &DeTable<'_>) -> Vec<TimePeriod> {
        let mut periods: Vec<TimePeriod> = Vec::new();
        let mut exclude_spans = Vec::new();
        let mut seen = HashMap::new();
        for (i, (span, table)) in self.tables(root, "timeperiod").iter().enumerate() {
            let cx = context(table, "name", "timeperiod", "timeperiod", i);
            let mut p = TimePeriod {
                name: String::new(),
                alias: None,
                timezone: None,
                tz: jiff::tz::TimeZone::UTC,
                rules: Vec::new(),
                exclude: Vec::new(),
            };
            let mut name_span = None;
            let mut spans = Vec::new();
            for (key, v) in sorted(table) {
                let k: &str = key.get_ref().as_ref();
                match k {
                    "name" => {
                        p.name = self.nonempty(v, &cx, k, "a name").unwrap_or_default();
                        name_span = Some(v.span());
                    }
                    "alias" => p.alias = self.string(v, &cx, k, "a description"),
                    "timezone" => {
                        let Some(name) = self.nonempty(v, &cx, k, "an IANA time zone name such as \"Europe/Berlin\"")
                        else {
                            continue;
                        };
                        match jiff::tz::TimeZone::get(&name) {
                            Ok(tz) => (p.tz, p.timezone) = (tz, Some(name)),
                            Err(_) => self.bad(
                                v.span(),
                                &cx,
                                k,
                                format!("expected an IANA time zone name such as \"Europe/Berlin\", found \"{name}\""),
                            ),
                        }
                    }
                    "exclude" => {
                        for e in self.strings(v, &cx, k, "a list of time period names").unwrap_or_default() {
                            spans.push(e.span());
                            p.exclude.push(e.into_inner());
                        }
                    }
                    day => {
                        let Some(d) = timeperiod::parse_day(day) else {
                            let expected = PERIOD_KEYS.join(", ");
                            self.problem(
                                key.span(),
                                format!("{cx}: unknown key '{day}' in [[timeperiod]] (expected one of: {expected}, or {DAY_FORMS})"),
                            );
                            continue;
                        };
                        let Some(text) = self.string(v, &cx, day, RANGE_FORMS) else { continue };
                        match timeperiod::parse_ranges(&text) {
                            Ok(ranges) => p.rules.push(Rule { day: d, ranges }),
                            Err(why) => self.bad(v.span(), &cx, day, format!("expected {RANGE_FORMS}: {why}")),
                        }
                    }
                }
            }
            let Some(name_span) = name_span else {
                self.problem(span.clone(), format!("{cx}: missing key 'name' (expected a string)"));
                continue;
            };
            if p.name.is_empty() || self.duplicate(&mut seen, &p.name, name_span, &cx, "timeperiod") {
                continue;
            }
            exclude_spans.push(spans);
            periods.push(p);
        }
        let names: Vec<String> = periods.iter().map(|p| p.name.clone()).collect();
        for (p, spans) in periods.iter().zip(&exclude_spans) {
            for (e, span) in p.exclude.iter().zip(spans) {
                if !names.contains(e) {
                    let known = list(&names, "time periods");
                    self.bad(
                        span.clone(),
                        &format!("timeperiod \"{}\"", p.name),
                        "exclude",
                        format!("no time period named \"{e}\" ({known})"),
                    );
                    continue;
                }
                let mut one = p.clone();
                one.exclude = vec![e.clone()];
                let mut all = periods.clone();
                all.retain(|q| q.name != p.name);
                all.push(one);
                // Only cycles: an unknown name further on is reported where it is written.
                if let Err(why) = timeperiod::Period::build(&p.name, &all)
                    && why.starts_with("time period exclusions form a cycle")
                {
                    self.bad(span.clone(), &format!("timeperiod \"{}\"", p.name), "exclude", why);
                }
            }
        }
        self.periods = names;
        periods
    }

    /// Every `[[contactgroup]]`: members are known contacts, nested groups
    /// known groups (their members taken in), names unique.
    pub(super) fn contact_groups(&mut self, root: &DeTable<'_>) -> Vec<ContactGroup> {
        let tables = self.tables(root, "contactgroup");
        let names: Vec<String> = tables
            .iter()
            .filter_map(|(_, t)| t.get("name").and_then(|v| v.get_ref().as_str()).map(str::to_string))
            .collect();
        let mut groups = Vec::new();
        let mut nested = Vec::new();
        let mut seen = HashMap::new();
        for (i, (span, table)) in tables.iter().enumerate() {
            let cx = context(table, "name", "contactgroup", "contactgroup", i);
            let mut g = ContactGroup::default();
            let mut inner = Vec::new();
            let mut name_span = None;
            for (key, v) in sorted(table) {
                let k: &str = key.get_ref().as_ref();
                match k {
                    "name" => {
                        g.name = self.nonempty(v, &cx, k, "a name").unwrap_or_default();
                        name_span = Some(v.span());
                    }
                    "alias" => g.alias = self.string(v, &cx, k, "a description"),
                    "members" => g.members = self.contact_names(v, &cx, k).unwrap_or_default(),
                    "contactgroup_members" => {
                        for n in self.strings(v, &cx, k, "a list of contact group names").unwrap_or_default() {
                            if names.contains(n.get_ref()) {
                                inner.push(n.into_inner());
                            } else {
                                let known = list(&names, "contact groups");
                                self.bad(
                                    n.span(),
                                    &cx,
                                    k,
                                    format!("no contact group named \"{}\" ({known})", n.get_ref()),
                                );
                            }
                        }
                    }
                    other => self.unknown(key.span(), &cx, other, "[[contactgroup]]", GROUP_KEYS),
                }
            }
            let Some(name_span) = name_span else {
                self.problem(span.clone(), format!("{cx}: missing key 'name' (expected a string)"));
                continue;
            };
            if g.name.is_empty() || self.duplicate(&mut seen, &g.name, name_span, &cx, "contactgroup") {
                continue;
            }
            groups.push(g);
            nested.push(inner);
        }
        // Nested groups' members, to any depth (a cycle just stops).
        let direct: HashMap<String, (Vec<String>, Vec<String>)> =
            groups.iter().zip(&nested).map(|(g, n)| (g.name.clone(), (g.members.clone(), n.clone()))).collect();
        for g in &mut groups {
            let mut todo = vec![g.name.clone()];
            let mut done = Vec::new();
            while let Some(name) = todo.pop() {
                if done.contains(&name) {
                    continue;
                }
                if let Some((members, inner)) = direct.get(&name) {
                    for m in members {
                        if !g.members.contains(m) {
                            g.members.push(m.clone());
                        }
                    }
                    todo.extend(inner.iter().cloned());
                }
                done.push(name);
            }
        }
        self.contact_groups = groups.iter().map(|g| (g.name.clone(), g.members.clone())).collect();
        groups
    }

    /// Every `[[escalation]]`; hosts and services are checked once they
    /// are read ([`Reader::escalation_targets`]).
    pub(super) fn escalations(&mut self, root: &DeTable<'_>) -> Vec<(Escalation, Range<usize>, String)> {
        let mut out = Vec::new();
        for (i, (span, table)) in self.tables(root, "escalation").iter().enumerate() {
            let cx = format!("[[escalation]] number {}", i + 1);
            let mut e = Escalation::default();
            let mut ok = true;
            let mut groups = Vec::new();
            for (key, v) in sorted(table) {
                let k: &str = key.get_ref().as_ref();
                match k {
                    "host" => e.host = self.nonempty(v, &cx, k, "a host name or pattern").unwrap_or_default(),
                    "service" => e.service = self.nonempty(v, &cx, k, "a service name or pattern"),
                    "first_notification" => {
                        e.first_notification = self.integer(v, &cx, k, 1, u32::MAX.into()).unwrap_or(0) as u32
                    }
                    "last_notification" => match self.integer(v, &cx, k, 0, u32::MAX.into()) {
                        Some(n) => e.last_notification = n as u32,
                        None => ok = false,
                    },
                    "contacts" => e.contacts = self.contact_names(v, &cx, k).unwrap_or_default(),
                    "contact_groups" => groups = self.contact_group_names(v, &cx, k).unwrap_or_default(),
                    "notification_interval" => {
                        e.notification_interval = self.duration(v, &cx, k, true);
                        ok &= e.notification_interval.is_some();
                    }
                    other => {
                        self.unknown(key.span(), &cx, other, "[[escalation]]", ESCALATION_KEYS);
                        ok = false;
                    }
                }
            }
            for key in ["host", "first_notification"] {
                if table.get(key).is_none() {
                    let what = if key == "host" { "a host name or pattern" } else { "a notification number from 1" };
                    self.problem(span.clone(), format!("{cx}: missing key '{key}' (expected {what})"));
                    ok = false;
                }
            }
            if e.last_notification != 0 && e.first_notification > e.last_notification {
                let at = table.get("last_notification").map_or(span.clone(), |v| v.span());
                self.bad(
                    at,
                    &cx,
                    "last_notification",
                    format!(
                        "expected 0 (no last) or at least first_notification ({}), found {}",
                        e.first_notification, e.last_notification
                    ),
                );
                ok = false;
            }
            self.add_group_members(&mut e.contacts, &groups);
            if table.get("contacts").is_none() && table.get("contact_groups").is_none() {
                self.problem(
                    span.clone(),
                    format!("{cx}: missing key 'contacts' or 'contact_groups' (expected who is notified)"),
                );
                ok = false;
            }
            if ok && !e.host.is_empty() && e.first_notification > 0 {
                let at = table.get("service").or(table.get("host")).map_or(span.clone(), |v| v.span());
                out.push((e, at, cx));
            }
        }
        out
    }

    /// Reports an escalation whose host or service pattern matches nothing.
    pub(super) fn escalation_targets(
        &mut self,
        escalations: Vec<(Escalation, Range<usize>, String)>,
        hosts: &[Host],
        services: &[Service],
    ) -> Vec<Escalation> {
        let mut out = Vec::new();
        for (e, span, cx) in escalations {
            let matched = match &e.service {
                None => hosts.iter().any(|h| glob(&e.host, &h.name)),
                Some(s) => services.iter().any(|x| glob(&e.host, &x.host) && glob(s, &x.name)),
            };
            if !matched {
                let what = match &e.service {
                    None => format!("no host matches \"{}\"", e.host),
                    Some(s) => format!("no service matches host \"{}\" and service \"{s}\"", e.host),
                };
                self.problem(span, format!("{cx}: {what}"));
                continue;
            }
            out.push(e);
        }
        out
    }

    /// An object's `contacts` with the members of its `contact_groups`.
    pub(super) fn object_contacts(&self, layer: &Layer) -> Vec<String> {
        let mut contacts = layer.contacts.clone().unwrap_or_default();
        self.add_group_members(&mut contacts, layer.contact_groups.as_deref().unwrap_or_default());
        contacts
    }

    /// The members of `groups` added to `contacts`, each once.
    pub(super) fn add_group_members(&self, contacts: &mut Vec<String>, groups: &[String]) {
        for g in groups {
            for m in self.contact_groups.get(g).into_iter().flatten() {
                if !contacts.contains(m) {
                    contacts.push(m.clone());
                }
            }
        }
    }

    /// `check_period`, `notification_period`: a `[[timeperiod]]`'s name.
    pub(super) fn period_name(&mut self, v: &Val<'_>, cx: &str, k: &str) -> Option<String> {
        let name = self.nonempty(v, cx, k, "a time period name")?;
        if self.periods.contains(&name) {
            return Some(name);
        }
        let known = list(&self.periods, "time periods");
        self.bad(v.span(), cx, k, format!("no time period named \"{name}\" ({known})"));
        None
    }

    /// `contact_groups`: names of `[[contactgroup]]`s.
    pub(super) fn contact_group_names(&mut self, v: &Val<'_>, cx: &str, k: &str) -> Option<Vec<String>> {
        let names = self.strings(v, cx, k, "a list of contact group names");
        let mut ok = names.is_some();
        let mut known: Vec<String> = self.contact_groups.keys().cloned().collect();
        known.sort();
        for g in names.iter().flatten() {
            if !self.contact_groups.contains_key(g.get_ref()) {
                let known = list(&known, "contact groups");
                self.bad(g.span(), cx, k, format!("no contact group named \"{}\" ({known})", g.get_ref()));
                ok = false;
            }
        }
        names.filter(|_| ok).map(|n| n.into_iter().map(Spanned::into_inner).collect())
    }

    /// A contact's `notification_options` (`host_…`, `service_…`): Nagios
    /// letters separated by commas, `n` for none, `a` for all. `host`
    /// and `service` say which letters are valid.
    pub(super) fn option_letters(&mut self, v: &Val<'_>, cx: &str, k: &str, valid: &str) -> Option<Vec<char>> {
        let expected = format!("letters from \"{valid},n,a\" separated by commas, such as \"w,c,r\"");
        let text = self.string(v, cx, k, &expected)?;
        let mut letters = Vec::new();
        for part in text.split(',').map(str::trim) {
            let mut chars = part.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c == 'n' || c == 'a' || valid.split(',').any(|l| l.starts_with(c)) => {
                    letters.push(c)
                }
                _ => {
                    self.bad(v.span(), cx, k, format!("expected {expected}, found \"{part}\" in \"{text}\""));
                    return None;
                }
            }
        }
        Some(letters)
    }
}

/// Whether `name` matches `pattern`, where `*` is any text and `?` any one
/// character: the name patterns of escalations and of sinks' filters.
pub(crate) fn glob(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Letters as a set: `n` empties it, `a` fills it.
pub(super) fn letters(letters: &[char]) -> OptionLetters {
    if letters.contains(&'a') {
        return OptionLetters::ALL;
    }
    OptionLetters::of(letters)
}

#[cfg(test)]
mod tests;

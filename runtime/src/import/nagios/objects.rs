//! Nagios' object model after inheritance: templates (`name`, `use`,
//! `register 0`) resolved as Nagios resolves them, groups expanded, services
//! given one per host they apply to.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::parse::{At, Def, Problem};

/// An object's variables after inheritance, each with where it was written
/// (in the object or the template it came from).
pub(super) type Vars = BTreeMap<String, (String, At)>;

/// A registered object with its variables resolved.
#[derive(Clone, Debug)]
pub(super) struct Object {
    /// Where the object was defined.
    pub(super) at: At,
    pub(super) vars: Vars,
}

impl Object {
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(|(v, _)| v.as_str())
    }

    /// Where `key` was written, or the object itself.
    pub(super) fn at(&self, key: &str) -> At {
        self.vars.get(key).map_or_else(|| self.at.clone(), |(_, at)| at.clone())
    }

    /// A comma-separated list value.
    pub(super) fn list(&self, key: &str) -> Vec<String> {
        self.get(key).map(split_list).unwrap_or_default()
    }

    /// A `0`/`1` value.
    pub(super) fn flag(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| v.trim() != "0")
    }
}

/// Splits a comma-separated Nagios list.
pub(super) fn split_list(v: &str) -> Vec<String> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Every registered object by type, in definition order.
#[derive(Debug, Default)]
pub(super) struct Objects {
    pub(super) by_kind: BTreeMap<String, Vec<Object>>,
}

impl Objects {
    pub(super) fn of(&self, kind: &str) -> &[Object] {
        self.by_kind.get(kind).map(Vec::as_slice).unwrap_or_default()
    }
}

/// Resolves `use` chains and drops templates (`register 0`).
pub(super) fn resolve(defs: &[Def], problems: &mut Vec<Problem>) -> Objects {
    let mut templates: HashMap<(&str, &str), &Def> = HashMap::new();
    for d in defs {
        if let Some(name) = d.get("name")
            && templates.insert((d.kind.as_str(), name), d).is_some()
        {
            problems.push(Problem {
                at: d.at("name"),
                message: format!("{} template \"{name}\" is defined again; the last one is used", d.kind),
            });
        }
    }
    let mut objects = Objects::default();
    for d in defs {
        if d.get("register").is_some_and(|r| r.trim() == "0") {
            continue;
        }
        let mut visiting = Vec::new();
        let mut vars = flatten(d, &templates, &mut visiting, problems);
        vars.retain(|k, (v, _)| {
            if let Some(rest) = v.strip_prefix('+') {
                *v = rest.to_owned();
            }
            k != "use" && k != "name" && k != "register" && v != "null"
        });
        objects.by_kind.entry(d.kind.clone()).or_default().push(Object { at: d.at.clone(), vars });
    }
    objects
}

/// `d`'s variables with those of its templates under them: the first
/// template listed in `use` wins over later ones; a value starting with
/// `+` is appended to the inherited one (additive inheritance).
fn flatten<'d>(
    d: &'d Def,
    templates: &HashMap<(&str, &str), &'d Def>,
    visiting: &mut Vec<(String, String)>,
    problems: &mut Vec<Problem>,
) -> Vars {
    let mut vars: Vars = d
        .vars
        .iter()
        .map(|(k, (v, line))| (k.clone(), (v.clone(), At { file: d.at.file.clone(), line: *line })))
        .collect();
    for name in d.get("use").map(split_list).unwrap_or_default() {
        let Some(t) = templates.get(&(d.kind.as_str(), name.as_str())) else {
            problems.push(Problem {
                at: d.at("use"),
                message: format!("use: no {} template named \"{name}\"; nothing inherited from it", d.kind),
            });
            continue;
        };
        let key = (d.kind.clone(), name.clone());
        if visiting.contains(&key) {
            problems.push(Problem {
                at: d.at("use"),
                message: format!("use: template \"{name}\" inherits from itself; the loop is cut here"),
            });
            continue;
        }
        visiting.push(key);
        let inherited = flatten(t, templates, visiting, problems);
        visiting.pop();
        for (k, (v, at)) in inherited {
            if matches!(k.as_str(), "name" | "register" | "use") {
                continue;
            }
            match vars.get_mut(&k) {
                None => {
                    vars.insert(k, (v, at));
                }
                Some((own, _)) if own.starts_with('+') && v != "null" => {
                    let base = v.strip_prefix('+').unwrap_or(&v);
                    *own = format!("{base},{}", &own[1..]);
                }
                Some(_) => {}
            }
        }
    }
    vars
}

/// Expands a host list as Nagios does: names, `*` for every host, `!name`
/// to exclude one.
pub(super) fn expand_hosts(list: &[String], all: &BTreeSet<String>) -> (BTreeSet<String>, Vec<String>) {
    let mut hosts = BTreeSet::new();
    let mut excluded = BTreeSet::new();
    let mut unknown = Vec::new();
    for h in list {
        if h == "*" {
            hosts.extend(all.iter().cloned());
        } else if let Some(x) = h.strip_prefix('!') {
            excluded.insert(x.to_owned());
        } else if all.contains(h) {
            hosts.insert(h.clone());
        } else {
            unknown.push(h.clone());
        }
    }
    hosts.retain(|h| !excluded.contains(h));
    (hosts, unknown)
}

/// Members of groups: `members` and the objects' own group lists, and
/// nested groups (`<kind>group_members`), resolved to a fixed point.
pub(super) fn group_members(
    groups: &[Object],
    name_key: &str,
    nested_key: &str,
    own: impl Iterator<Item = (String, Vec<String>)>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut nested: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for g in groups {
        let Some(name) = g.get(name_key) else { continue };
        members.entry(name.to_owned()).or_default().extend(g.list("members"));
        nested.insert(name.to_owned(), g.list(nested_key));
    }
    for (object, groups) in own {
        for g in groups {
            members.entry(g).or_default().insert(object.clone());
        }
    }
    loop {
        let mut grew = false;
        for (g, subs) in &nested {
            let add: BTreeSet<String> = subs.iter().filter_map(|s| members.get(s)).flatten().cloned().collect();
            let set = members.entry(g.clone()).or_default();
            let before = set.len();
            set.extend(add);
            grew |= set.len() != before;
        }
        if !grew {
            return members;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::super::parse::{Input, parse_objects};
    use super::*;

    fn objects(text: &str) -> (Objects, Vec<Problem>) {
        let mut input = Input::default();
        parse_objects(text, &Arc::from(Path::new("t.cfg")), &mut input);
        let mut problems = input.problems;
        let o = resolve(&input.defs, &mut problems);
        (o, problems)
    }

    #[test]
    fn first_template_wins_and_plus_appends() {
        let (o, problems) = objects(
            "define host { name a\n check_interval 5\n contact_groups admins\n register 0 }\n\
             define host { name b\n check_interval 7\n max_check_attempts 2\n notes x\n register 0 }\n\
             define host { use a,b\n host_name h\n contact_groups +ops\n notes null }\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        let hosts = o.of("host");
        assert_eq!(hosts.len(), 1, "templates are not objects");
        let h = &hosts[0];
        assert_eq!(h.get("check_interval"), Some("5"));
        assert_eq!(h.get("max_check_attempts"), Some("2"));
        assert_eq!(h.get("contact_groups"), Some("admins,ops"));
        assert_eq!(h.get("notes"), None, "null unsets the inherited value");
        assert_eq!(h.at("check_interval").line, 2, "where the value was written");
    }

    #[test]
    fn unknown_and_looping_templates_are_named() {
        let (o, problems) = objects(
            "define host { name a\n use b\n register 0 }\ndefine host { name b\n use a\n register 0 }\n\
             define host { host_name h\n use a,zz }\n",
        );
        assert_eq!(o.of("host").len(), 1);
        let m: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
        assert!(m.iter().any(|m| m.contains("inherits from itself")), "{m:?}");
        assert!(m.iter().any(|m| m.contains("no host template named \"zz\"")), "{m:?}");
    }

    #[test]
    fn host_lists_and_nested_groups() {
        let all: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
        let (hosts, unknown) = expand_hosts(&["*".into(), "!b".into(), "zz".into()], &all);
        assert_eq!(hosts.into_iter().collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(unknown, ["zz"]);
        let (o, _) = objects(
            "define hostgroup { hostgroup_name web\n members a }\n\
             define hostgroup { hostgroup_name all\n hostgroup_members web\n members c }\n",
        );
        let m = group_members(
            o.of("hostgroup"),
            "hostgroup_name",
            "hostgroup_members",
            [("b".to_owned(), vec!["web".to_owned()])].into_iter(),
        );
        assert_eq!(m["all"].iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    }
}

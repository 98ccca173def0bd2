//! The reader of a source `pack.toml`: the manifest, each check's
//! component spec, and where every key was, for messages.

use super::*;

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

//! Reading a Nagios/Naemon configuration: the main file (`cfg_file`,
//! `cfg_dir`, `resource_file`, `interval_length`), the object files
//! (`define TYPE { key value }`) and the resource file (`$USERn$=…`), each
//! definition and value with the file and line it came from.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where something was written: a file and a 1-based line.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct At {
    /// The file, as the configuration names it (under `--root` when given).
    pub file: Arc<Path>,
    /// The line, from 1.
    pub line: usize,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One `define TYPE { … }` block.
#[derive(Clone, Debug)]
pub(super) struct Def {
    /// The object type: `host`, `service`, `command`…
    pub(super) kind: String,
    /// Where `define` was written.
    pub(super) at: At,
    /// Its variables, with the line each was written on.
    pub(super) vars: BTreeMap<String, (String, usize)>,
}

impl Def {
    /// The value of `key`, if written.
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(|(v, _)| v.as_str())
    }

    /// Where `key` was written (the definition's own line if it was not).
    pub(super) fn at(&self, key: &str) -> At {
        match self.vars.get(key) {
            Some((_, line)) => At { file: self.at.file.clone(), line: *line },
            None => self.at.clone(),
        }
    }
}

/// A problem with the input that stops nothing else: the object or line is
/// left out and named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where it was written.
    pub at: At,
    /// What is wrong or was not translated, and why.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Everything read from a Nagios configuration.
#[derive(Debug, Default)]
pub(super) struct Input {
    /// Every definition of every object file, in the order read.
    pub(super) defs: Vec<Def>,
    /// `$USERn$` macros of the resource files.
    pub(super) users: BTreeMap<String, String>,
    /// Seconds per interval unit (`interval_length`, 60 by default).
    pub(super) interval_length: f64,
    /// What could not be read.
    pub(super) problems: Vec<Problem>,
}

/// Reads `main` (a `nagios.cfg`, or a single object file) and every file it
/// names. Absolute paths in it are taken under `root` when given, so a
/// configuration copied from another machine imports as it is. `Err` only
/// when `main` itself cannot be read.
pub(super) fn read(main: &Path, root: Option<&Path>) -> Result<Input, std::io::Error> {
    let text = std::fs::read_to_string(main)?;
    let file: Arc<Path> = Arc::from(main);
    let mut input = Input { interval_length: 60.0, ..Input::default() };
    if text.lines().any(|l| l.trim_start().starts_with("define")) {
        // An object file given on its own.
        parse_objects(&text, &file, &mut input);
        return Ok(input);
    }
    let base = main.parent().unwrap_or(Path::new("."));
    let place = |value: &str| -> PathBuf {
        let p = Path::new(value);
        match (p.is_absolute(), root) {
            (true, Some(root)) => root.join(p.strip_prefix("/").unwrap_or(p)),
            (true, None) => p.to_path_buf(),
            (false, _) => base.join(p),
        }
    };
    for (n, line) in text.lines().enumerate() {
        let at = At { file: file.clone(), line: n + 1 };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            input.problems.push(Problem { at, message: format!("expected `key=value`, found `{line}`") });
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "cfg_file" => read_object_file(&place(value), at, &mut input),
            "cfg_dir" => {
                let dir = place(value);
                match cfg_files(&dir) {
                    Ok(files) => {
                        for f in files {
                            read_object_file(&f, at.clone(), &mut input);
                        }
                    }
                    Err(e) => input.problems.push(Problem {
                        at,
                        message: format!("cfg_dir {}: cannot read it: {e}; its objects are missing", dir.display()),
                    }),
                }
            }
            "resource_file" => {
                let path = place(value);
                match std::fs::read_to_string(&path) {
                    Ok(text) => parse_resources(&text, &Arc::from(path.as_path()), &mut input),
                    Err(e) => input.problems.push(Problem {
                        at,
                        message: format!(
                            "resource_file {}: cannot read it: {e}; $USERn$ macros stay unknown",
                            path.display()
                        ),
                    }),
                }
            }
            "interval_length" => match value.parse::<f64>() {
                Ok(v) if v > 0.0 && v.is_finite() => input.interval_length = v,
                _ => input.problems.push(Problem {
                    at,
                    message: format!(
                        "interval_length: expected a positive number of seconds, found `{value}`; 60 is used"
                    ),
                }),
            },
            _ => {}
        }
    }
    Ok(input)
}

/// The `.cfg` files under `dir`, recursively, in name order (as Nagios
/// reads them).
fn cfg_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    let mut files = Vec::new();
    for p in entries {
        if p.is_dir() {
            files.extend(cfg_files(&p)?);
        } else if p.extension().is_some_and(|e| e == "cfg") {
            files.push(p);
        }
    }
    Ok(files)
}

fn read_object_file(path: &Path, named_at: At, input: &mut Input) {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_objects(&text, &Arc::from(path), input),
        Err(e) => input.problems.push(Problem {
            at: named_at,
            message: format!("cfg_file {}: cannot read it: {e}; its objects are missing", path.display()),
        }),
    }
}

/// `$USERn$=value` lines.
fn parse_resources(text: &str, file: &Arc<Path>, input: &mut Input) {
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) if k.trim().starts_with("$USER") && k.trim().ends_with('$') => {
                input.users.insert(k.trim().to_owned(), v.trim().to_owned());
            }
            _ => input.problems.push(Problem {
                at: At { file: file.clone(), line: n + 1 },
                message: format!("expected `$USERn$=value`, found `{line}`"),
            }),
        }
    }
}

/// Strips a `;` comment (not a `\;`), unescaping `\;`.
fn strip_comment(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&';') => {
                out.push(';');
                chars.next();
            }
            ';' => break,
            _ => out.push(c),
        }
    }
    out
}

/// The keys of a `define timeperiod` that are not days.
const TIMEPERIOD_DIRECTIVES: [&str; 6] = ["timeperiod_name", "alias", "use", "name", "register", "exclude"];

/// The object definitions of one file.
pub(super) fn parse_objects(text: &str, file: &Arc<Path>, input: &mut Input) {
    let mut open: Option<Def> = None;
    let lines: Vec<&str> = text.lines().collect();
    let mut n = 0;
    while n < lines.len() {
        let line_no = n + 1;
        // A line ending in a backslash continues on the next one.
        let mut line = lines[n].to_owned();
        while line.ends_with('\\') && n + 1 < lines.len() {
            line.pop();
            n += 1;
            line.push_str(lines[n].trim_start());
        }
        n += 1;
        let at = At { file: file.clone(), line: line_no };
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') {
            continue;
        }
        let line = strip_comment(trimmed);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let body;
        if let Some(rest) = line.strip_prefix("define") {
            if let Some(def) = open.take() {
                input.problems.push(Problem { at: def.at, message: format!("define {}: no closing `}}`", def.kind) });
            }
            // `define TYPE {`, perhaps with a first variable after the brace.
            let Some((kind, after)) =
                rest.split_once('{').map(|(k, a)| (k.trim(), a.trim())).filter(|(k, _)| !k.is_empty())
            else {
                input.problems.push(Problem { at, message: format!("expected `define TYPE {{`, found `{line}`") });
                continue;
            };
            open = Some(Def { kind: kind.to_owned(), at: at.clone(), vars: BTreeMap::new() });
            if after.is_empty() {
                continue;
            }
            body = after.to_owned();
        } else {
            body = line.to_owned();
        }
        let line = body.as_str();
        let Some(def) = open.as_mut() else {
            input.problems.push(Problem { at, message: format!("`{line}` outside a `define` block") });
            continue;
        };
        if line == "}" {
            input.defs.push(open.take().expect("open"));
            continue;
        }
        let (key, value, close) = match line.strip_suffix('}') {
            Some(body) => (body.trim(), "", true),
            None => (line, "", false),
        };
        let (key, value) = match key.split_once(char::is_whitespace) {
            // A time period's day may be several words (`monday -1 may
            // 00:00-24:00`): Nagios splits such a line at its last blank, so
            // `monday -1 may` and `monday 1 september` are two entries.
            Some((k, _)) if def.kind == "timeperiod" && !TIMEPERIOD_DIRECTIVES.contains(&k) => {
                let (k, v) = key.rsplit_once(char::is_whitespace).expect("the line has a blank");
                (k.trim_end(), v)
            }
            Some((k, v)) => (k, v.trim()),
            None => (key, value),
        };
        if !key.is_empty() {
            // A later line for the same key replaces the earlier one, as in Nagios.
            let key = if def.kind == "timeperiod" {
                key.split_whitespace().collect::<Vec<_>>().join(" ")
            } else {
                key.to_owned()
            };
            def.vars.insert(key, (value.to_owned(), line_no));
        }
        if close {
            input.defs.push(open.take().expect("open"));
        }
    }
    if let Some(def) = open {
        input.problems.push(Problem { at: def.at, message: format!("define {}: no closing `}}`", def.kind) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Input {
        let mut input = Input::default();
        parse_objects(text, &Arc::from(Path::new("x.cfg")), &mut input);
        input
    }

    #[test]
    fn time_period_days_of_several_words_are_split_at_the_last_blank() {
        let input = parse(
            "define timeperiod {\n\
             \ttimeperiod_name us-holidays\n\
             \talias           U.S. Holidays\n\
             \tmonday -1 may   00:00-00:00 ; Memorial Day\n\
             \tmonday  1 september 00:00-00:00\n\
             \tmonday          09:00-17:00\n\
             }\n",
        );
        assert!(input.problems.is_empty(), "{:?}", input.problems);
        let vars = &input.defs[0].vars;
        let get = |k: &str| vars.get(k).map(|(v, _)| v.as_str());
        assert_eq!(get("alias"), Some("U.S. Holidays"));
        assert_eq!(get("monday -1 may"), Some("00:00-00:00"));
        assert_eq!(get("monday 1 september"), Some("00:00-00:00"));
        assert_eq!(get("monday"), Some("09:00-17:00"));
    }

    #[test]
    fn definitions_with_comments_and_lines() {
        let input = parse(
            "# a comment\n\
             define host {\n\
             \thost_name   web1 ; the web server\n\
             \taddress     10.0.0.1\n\
             \tnotes       a \\; b\n\
             \t; only a comment\n\
             }\n\
             define command{\n command_name check_x\n command_line $USER1$/check_x -w $ARG1$ }\n",
        );
        assert!(input.problems.is_empty(), "{:?}", input.problems);
        assert_eq!(input.defs.len(), 2);
        let host = &input.defs[0];
        assert_eq!((host.kind.as_str(), host.at.line), ("host", 2));
        assert_eq!(host.get("host_name"), Some("web1"));
        assert_eq!(host.get("notes"), Some("a ; b"));
        assert_eq!(host.at("address").line, 4);
        assert_eq!(input.defs[1].get("command_line"), Some("$USER1$/check_x -w $ARG1$"));
    }

    #[test]
    fn broken_blocks_are_named_with_their_line() {
        let input = parse("host_name x\ndefine host {\n host_name a\ndefine service {\n}\ndefine {\n");
        let messages: Vec<String> = input.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "x.cfg:1: `host_name x` outside a `define` block",
                "x.cfg:2: define host: no closing `}`",
                "x.cfg:6: expected `define TYPE {`, found `define {`",
            ]
        );
        assert_eq!(input.defs.len(), 1);
    }
}

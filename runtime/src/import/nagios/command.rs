//! A Nagios `check_command` turned into a wasmon check: the command line
//! with its `$USERn$` and `$ARGn$` macros substituted, split as the shell
//! would, and, when it runs a Monitoring Plugins plugin that wasmon has a
//! standard check for, that check with the plugin's options translated to
//! its parameters. Anything else stays a command plugin.

use std::collections::BTreeMap;

/// What a `check_command` becomes.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Check {
    /// A standard check with its parameters; `item` and `timeout` are the
    /// service's own keys.
    Standard {
        check: &'static str,
        params: Vec<(String, String)>,
        item: Option<String>,
        timeout: Option<String>,
        timeout_state: Option<String>,
        /// A remark written beside it in the output.
        note: Option<String>,
    },
    /// A command plugin: the module to build and its arguments.
    Plugin { plugin: String, args: Vec<String>, why: String },
}

/// Splits `check_command` into the command's name and its `!` arguments
/// (`\!` is a literal `!`).
pub(super) fn split_check_command(v: &str) -> (String, Vec<String>) {
    let mut parts = vec![String::new()];
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'!') => {
                parts.last_mut().expect("one part").push('!');
                chars.next();
            }
            '!' => parts.push(String::new()),
            _ => parts.last_mut().expect("one part").push(c),
        }
    }
    let name = parts.remove(0).trim().to_owned();
    (name, parts)
}

/// `$USERn$` and `$ARGn$` substituted in a command line; other macros stay.
pub(super) fn substitute(line: &str, args: &[String], users: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('$') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &after[..end];
        let whole = &rest[start..start + end + 2];
        if let Some(n) = name.strip_prefix("ARG").and_then(|n| n.parse::<usize>().ok()) {
            out.push_str(args.get(n.wrapping_sub(1)).map(String::as_str).unwrap_or(""));
        } else if name.starts_with("USER") {
            out.push_str(users.get(whole).map(String::as_str).unwrap_or(whole));
        } else {
            out.push_str(whole);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Splits a command line as `/bin/sh` would for a simple command: words,
/// single and double quotes, backslash escapes. `Err` names the shell
/// syntax (pipes, redirections, lists, substitutions) that makes it more
/// than one plugin with arguments.
pub(super) fn shell_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("an unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') if matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                            word.push(chars.next().expect("peeked"));
                        }
                        Some('`') => return Err("a command substitution (`…`)".into()),
                        Some(c) => word.push(c),
                        None => return Err("an unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            '|' | '&' | ';' | '<' | '>' | '`' | '(' | ')' => {
                return Err(format!("shell syntax (`{c}`)"));
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// How one option of a plugin is translated.
#[derive(Clone, Copy)]
enum Opt {
    /// A parameter of the standard check, with the option's value.
    Param(&'static str),
    /// A parameter set to a fixed value when the flag is given.
    Flag(&'static str, &'static str),
    /// The target host: fine when it is the host's address or name.
    Target,
    /// The check's time limit: the service's `timeout` (`N` or `N:STATE`).
    Timeout,
    /// check_disk's `-p`: the service's item.
    Item,
    /// check_disk's `-u`: the unit of plain numbers in `-w` and `-c`.
    Units,
    /// Accepted and without effect here (address family, output details).
    Ignore,
    /// Accepted with a value and without effect here.
    IgnoreValue,
}

/// One plugin's options: short letter, long name, and translation.
type Options = &'static [(char, &'static str, Opt)];

const TCP: Options = &[
    ('H', "hostname", Opt::Target),
    ('p', "port", Opt::Param("port")),
    ('w', "warning", Opt::Param("warning")),
    ('c', "critical", Opt::Param("critical")),
    ('s', "send", Opt::Param("send")),
    ('e', "expect", Opt::Param("expect")),
    ('E', "escape", Opt::Ignore),
    ('M', "mismatch", Opt::Param("mismatch")),
    ('r', "refuse", Opt::Param("refuse")),
    ('m', "maxbytes", Opt::Param("max_bytes")),
    ('t', "timeout", Opt::Timeout),
    ('4', "use-ipv4", Opt::Ignore),
    ('6', "use-ipv6", Opt::Ignore),
    ('j', "jail", Opt::Ignore),
];

const HTTP: Options = &[
    ('H', "hostname", Opt::Target),
    ('I', "IP-address", Opt::Target),
    ('p', "port", Opt::Param("port")),
    ('u', "url", Opt::Param("path")),
    ('S', "ssl", Opt::Flag("ssl", "true")),
    ('e', "expect", Opt::Param("expect")),
    ('s', "string", Opt::Param("body")),
    ('j', "method", Opt::Param("method")),
    ('f', "onredirect", Opt::Param("onredirect")),
    ('w', "warning", Opt::Param("warning")),
    ('c', "critical", Opt::Param("critical")),
    ('t', "timeout", Opt::Timeout),
    ('4', "use-ipv4", Opt::Ignore),
    ('6', "use-ipv6", Opt::Ignore),
    ('N', "no-body", Opt::Ignore),
    ('L', "link", Opt::Ignore),
];

const DNS: Options = &[
    ('H', "hostname", Opt::Param("name")),
    ('a', "expected-address", Opt::Param("expect")),
    ('L', "all", Opt::Flag("expect_all", "true")),
    ('n', "expect-nxdomain", Opt::Flag("expect_nxdomain", "true")),
    ('w', "warning", Opt::Param("warning")),
    ('c', "critical", Opt::Param("critical")),
    ('t', "timeout", Opt::Timeout),
];

const LOAD: Options = &[
    ('w', "warning", Opt::Param("warning")),
    ('c', "critical", Opt::Param("critical")),
    ('r', "percpu", Opt::Flag("percpu", "true")),
];

const DISK: Options = &[
    ('w', "warning", Opt::Param("warning")),
    ('c', "critical", Opt::Param("critical")),
    ('W', "iwarning", Opt::Param("inodes_warning")),
    ('K', "icritical", Opt::Param("inodes_critical")),
    ('p', "path", Opt::Item),
    ('u', "units", Opt::Units),
    ('e', "errors-only", Opt::Ignore),
    ('l', "local", Opt::Ignore),
    ('m', "megabytes", Opt::Ignore),
    ('k', "kilobytes", Opt::Ignore),
    ('X', "exclude-type", Opt::IgnoreValue),
    ('t', "timeout", Opt::Timeout),
];

const SWAP: Options = &[
    ('w', "warning", Opt::Param("swap_warning")),
    ('c', "critical", Opt::Param("swap_critical")),
    ('n', "no-swap", Opt::Param("no_swap")),
    ('a', "allswaps", Opt::Ignore),
];

/// The standard check for a Monitoring Plugins plugin, and its options.
fn standard(plugin: &str) -> Option<(&'static str, Options)> {
    Some(match plugin {
        "check_tcp" => ("tcp", TCP),
        "check_http" | "check_curl" => ("http", HTTP),
        "check_dns" => ("dns", DNS),
        "check_load" => ("load", LOAD),
        "check_disk" => ("disk", DISK),
        "check_swap" => ("memory", SWAP),
        "check_dummy" => ("dummy", &[]),
        _ => return None,
    })
}

/// What the target options may name: the host's address or name, given
/// literally or by macro.
pub(super) struct Target<'a> {
    pub(super) name: &'a str,
    pub(super) address: &'a str,
}

impl Target<'_> {
    fn is(&self, v: &str) -> bool {
        matches!(v, "$HOSTADDRESS$" | "$HOSTNAME$") || v == self.name || v == self.address
    }
}

/// Translates a split command line (`words[0]` is the plugin).
pub(super) fn translate(words: &[String], target: &Target<'_>) -> Check {
    let plugin = words.first().map(|w| w.rsplit('/').next().unwrap_or(w).to_owned()).unwrap_or_default();
    let args: Vec<String> = words.iter().skip(1).cloned().collect();
    let fallback = |why: String| Check::Plugin { plugin: plugin.clone(), args: args.clone(), why };
    let Some((check, options)) = standard(&plugin) else {
        return fallback("no standard check does what it does".into());
    };
    match translate_options(check, options, &args, target) {
        Ok(c) => c,
        Err(why) => fallback(format!("{plugin} {why}, which the standard check `{check}` cannot express")),
    }
}

fn translate_options(
    check: &'static str,
    options: Options,
    args: &[String],
    target: &Target<'_>,
) -> Result<Check, String> {
    let mut params: Vec<(String, String)> = Vec::new();
    let mut positional = Vec::new();
    let (mut item, mut timeout, mut timeout_state, mut units) = (None, None, None, None::<String>);
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a.is_empty() {
            // `'$ARG1$'` with no argument given: an empty word the plugin ignores.
            continue;
        }
        let (opt, inline) = if let Some(long) = a.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            match options.iter().find(|(_, l, _)| *l == name) {
                Some((_, _, o)) => (*o, value),
                None => return Err(format!("has the option --{name}")),
            }
        } else if let Some(short) = a.strip_prefix('-').filter(|s| !s.is_empty()) {
            let c = short.chars().next().expect("not empty");
            let rest = &short[c.len_utf8()..];
            match options.iter().find(|(s, _, _)| *s == c) {
                Some((_, _, o)) => (*o, (!rest.is_empty()).then(|| rest.to_owned())),
                None => return Err(format!("has the option -{c}")),
            }
        } else {
            positional.push(a.clone());
            continue;
        };
        let takes_value = !matches!(opt, Opt::Flag(..) | Opt::Ignore);
        let value = if takes_value {
            match inline {
                Some(v) => v,
                None if i < args.len() => {
                    i += 1;
                    args[i - 1].clone()
                }
                None => return Err(format!("has an option without its value ({a})")),
            }
        } else {
            String::new()
        };
        match opt {
            Opt::Param(p) => {
                if params.iter().any(|(k, _)| k == p) {
                    return Err(format!("gives {a} twice"));
                }
                params.push((p.to_owned(), value));
            }
            Opt::Flag(p, v) => params.push((p.to_owned(), v.to_owned())),
            Opt::Target => {
                if !target.is(&value) {
                    return Err(format!("checks `{value}`, not the host's own address"));
                }
            }
            Opt::Timeout => {
                let (secs, state) = match value.split_once(':') {
                    Some((s, st)) => (s, Some(st)),
                    None => (value.as_str(), None),
                };
                let secs: u64 = secs.trim().parse().map_err(|_| format!("has the timeout `{value}`"))?;
                timeout = Some(format!("{secs}s"));
                timeout_state = state.map(|s| s.trim().to_uppercase());
            }
            Opt::Item => {
                if item.replace(value).is_some() {
                    return Err("names more than one path (-p)".into());
                }
            }
            Opt::Units => units = Some(value),
            Opt::Ignore | Opt::IgnoreValue => {}
        }
    }
    let mut note = None;
    match check {
        "dummy" => {
            let mut pos = positional.into_iter();
            let state = pos.next().ok_or("has no state")?;
            params.push(("state".into(), state));
            let text: Vec<String> = pos.collect();
            if !text.is_empty() {
                params.push(("text".into(), text.join(" ")));
            }
        }
        _ if !positional.is_empty() => return Err(format!("has the argument `{}`", positional[0])),
        "disk" => {
            // check_disk's plain numbers are in its units (MB by default).
            let unit = units.unwrap_or_else(|| "MB".into());
            for (k, v) in &mut params {
                if (k == "warning" || k == "critical") && !v.ends_with('%') {
                    if v.parse::<f64>().is_err() {
                        return Err(format!("has the level `{v}`"));
                    }
                    *v = format!("{v}{unit}");
                }
            }
        }
        "memory" => {
            // check_swap has no RAM levels: the memory check's RAM part never alerts.
            params.insert(0, ("warning".into(), "101".into()));
            params.insert(1, ("critical".into(), "101".into()));
            for (k, v) in &mut params {
                if (k == "swap_warning" || k == "swap_critical") && !v.ends_with('%') {
                    // check_swap's plain numbers are bytes.
                    *v = format!("{v}B");
                }
            }
            note = Some("RAM levels above 100% so that only the swap alerts, as check_swap".into());
        }
        _ => {}
    }
    Ok(Check::Standard { check, params, item, timeout, timeout_state, note })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        shell_words(s).unwrap()
    }

    const T: Target<'static> = Target { name: "web1", address: "10.0.0.1" };

    #[test]
    fn macros_and_quotes() {
        let users = BTreeMap::from([("$USER1$".to_owned(), "/usr/lib/nagios/plugins".to_owned())]);
        let line = substitute(
            "$USER1$/check_disk -w '$ARG1$' -c $ARG2$ -p $ARG3$ -H $HOSTADDRESS$",
            &["20%".into(), "10%".into()],
            &users,
        );
        assert_eq!(line, "/usr/lib/nagios/plugins/check_disk -w '20%' -c 10% -p  -H $HOSTADDRESS$");
        assert_eq!(words(r#"a 'b c' "d \"e\"" f\ g ''"#), ["a", "b c", "d \"e\"", "f g", ""]);
        assert!(shell_words("/bin/printf x | mail").unwrap_err().contains('|'));
        assert_eq!(
            split_check_command("check_x!a\\!b!!c"),
            ("check_x".into(), vec!["a!b".into(), "".into(), "c".into()])
        );
    }

    #[test]
    fn plugins_with_standard_checks() {
        let c = translate(&words("/p/check_tcp -H '$HOSTADDRESS$' -p 22 -w 1 -c2 --timeout=5:UNKNOWN ''"), &T);
        assert_eq!(
            c,
            Check::Standard {
                check: "tcp",
                params: vec![
                    ("port".into(), "22".into()),
                    ("warning".into(), "1".into()),
                    ("critical".into(), "2".into())
                ],
                item: None,
                timeout: Some("5s".into()),
                timeout_state: Some("UNKNOWN".into()),
                note: None,
            }
        );
        let Check::Standard { check, params, item, .. } =
            translate(&words("check_disk -w 20% -c 100 -u GB -e -p /"), &T)
        else {
            panic!()
        };
        assert_eq!((check, item.as_deref()), ("disk", Some("/")));
        assert_eq!(params, [("warning".to_owned(), "20%".to_owned()), ("critical".into(), "100GB".into())]);
        let Check::Standard { params, .. } = translate(&words("check_dummy 2 'it is' down"), &T) else { panic!() };
        assert_eq!(params, [("state".to_owned(), "2".to_owned()), ("text".into(), "it is down".into())]);
        let Check::Standard { check, params, .. } = translate(&words("check_load --warning=5,4,3 -c 10,6,4 -r"), &T)
        else {
            panic!()
        };
        assert_eq!(check, "load");
        assert_eq!(params[2], ("percpu".to_owned(), "true".to_owned()));
    }

    #[test]
    fn what_a_standard_check_cannot_express_stays_a_plugin() {
        for (line, why) in [
            ("check_tcp -H 10.9.9.9 -p 22", "checks `10.9.9.9`, not the host's own address"),
            ("check_tcp -H web1 -p 22 -D 30", "has the option -D"),
            ("check_disk -w 10% -c 5% -p / -p /var", "names more than one path"),
            ("check_http -H web1 stray", "has the argument `stray`"),
        ] {
            match translate(&words(line), &T) {
                Check::Plugin { why: w, .. } => assert!(w.contains(why), "{line}: {w}"),
                c => panic!("{line}: {c:?}"),
            }
        }
        let Check::Plugin { plugin, args, .. } =
            translate(&words("/usr/lib/nagios/plugins/check_ping -H x -w 1,1%"), &T)
        else {
            panic!()
        };
        assert_eq!((plugin.as_str(), args.len()), ("check_ping", 4));
    }
}

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::outcome::State;
use crate::sandbox::policy::{Grants, Limits};
use crate::state::{NotificationPolicy, Semantics};

const FULL: &str = r#"
[engine]
state_semantics = "nagios"
max_concurrent_checks = 8
state_file = "state/wasmon.db"

[defaults]
check_interval = "2m"
max_check_attempts = 4
notification_interval = "30m"
contacts = ["ops"]
params = { warning = "1", critical = "2" }

[[template]]
name = "fast"
check_interval = "31s"
retry_interval = "20s"
params = { critical = "5" }

[[template]]
name = "patient"
max_check_attempts = 5
retry_interval = "45s"
timeout = "30s"
item = "/"

[[host]]
name = "web1"
address = "127.0.0.1"
check = "tcp"
params = { port = 22 }
use = "fast"

[[host]]
name = "db1"

[[service]]
host = "web1"
name = "Lifecycle"
use = "fast"
check = "dummy"
params = { sequence = "OK,WARNING,CRITICAL" }
check_interval = "40s"
max_check_attempts = 3
notification_interval = "0s"
first_notification_delay = "1m"
contacts = ["ops", "dev"]
timeout = "5s"
memory = "32MiB"
output_limit = "4KiB"
timeout_state = "UNKNOWN"
grants = ["dns", "net=10.0.0.5"]

[[service]]
host = "web1"
name = "Root disk"
use = ["fast", "patient"]
check = "disk"
params = { warning = 80.5, critical = 90, verbose = true }

[[service]]
host = "db1"
name = "Lifecycle"
check = "dummy"

[[contact]]
name = "ops"
methods = [
  { type = "log" },
  { type = "webhook", url = "http://127.0.0.1:9000/hook" },
  { type = "email", to = "ops@example.com", from = "wasmon@example.com", smtp = "127.0.0.1:2525" },
]

[[contact]]
name = "dev"
methods = [{ type = "webhook", url = "https://hooks.example.com/x", timeout = "3s" }]
"#;

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn errors(text: &str) -> Vec<Problem> {
    match parse(text, Path::new("conf/wasmon.toml")) {
        Ok(c) => panic!("expected errors, got {c:#?}"),
        Err(e) => {
            println!("{e}");
            e.problems().to_vec()
        }
    }
}

/// The single problem of `text`; asserts its line and that its message
/// contains each of `parts`.
#[track_caller]
fn one_error(text: &str, line: usize, parts: &[&str]) -> Problem {
    let problems = errors(text);
    assert_eq!(problems.len(), 1, "exactly one problem: {problems:#?}");
    let p = problems.into_iter().next().unwrap();
    assert_eq!(p.line, line, "line of {p}");
    for part in parts {
        assert!(p.message.contains(part), "{p}\n  lacks: {part}");
    }
    assert!(p.to_string().starts_with(&format!("conf/wasmon.toml:{line}:")), "{p}");
    p
}

#[test]
fn full_file_resolves_with_defaults_templates_and_precedence() {
    let c = parse(FULL, Path::new("conf/wasmon.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.path, PathBuf::from("conf/wasmon.toml"));
    assert_eq!(c.engine.state_semantics, Semantics::Nagios);
    assert_eq!(c.engine.max_concurrent_checks, 8);
    assert_eq!(c.engine.state_file, PathBuf::from("conf/state/wasmon.db"));

    // Hosts, in file order.
    assert_eq!(c.hosts.len(), 2);
    let web1 = &c.hosts[0];
    assert_eq!(web1.name, "web1");
    assert_eq!(web1.address.as_deref(), Some("127.0.0.1"));
    let hc = web1.check.as_ref().expect("host check");
    assert_eq!(hc.module, "tcp");
    // [defaults] params, then the template's, then the host's own.
    assert_eq!(hc.params, params(&[("warning", "1"), ("critical", "5"), ("port", "22")]));
    assert_eq!(hc.limits, Limits::default());
    assert_eq!(hc.grants, Grants::default());
    // check interval from the template over [defaults], attempts from [defaults].
    assert_eq!(
        web1.schedule,
        Schedule {
            check_interval: Duration::from_secs(31),
            retry_interval: Duration::from_secs(20),
            max_check_attempts: 4
        }
    );
    assert_eq!(web1.contacts, vec!["ops".to_string()]);
    assert_eq!(
        web1.notification,
        NotificationPolicy { interval: Duration::from_secs(1800), first_delay: Duration::ZERO }
    );

    let db1 = &c.hosts[1];
    assert_eq!(db1.address, None);
    assert_eq!(db1.check, None);
    assert_eq!(
        db1.schedule,
        Schedule {
            check_interval: Duration::from_secs(120),
            retry_interval: Duration::from_secs(60),
            max_check_attempts: 4
        }
    );

    // Services.
    assert_eq!(c.services.len(), 3);
    let s = &c.services[0];
    assert_eq!((s.host.as_str(), s.name.as_str(), s.item.as_deref()), ("web1", "Lifecycle", None));
    assert_eq!(s.check.module, "dummy");
    assert_eq!(s.check.params, params(&[("warning", "1"), ("critical", "5"), ("sequence", "OK,WARNING,CRITICAL")]));
    // Own keys win over the template (40s over 31s) and [defaults] (3 over 4).
    assert_eq!(
        s.schedule,
        Schedule {
            check_interval: Duration::from_secs(40),
            retry_interval: Duration::from_secs(20),
            max_check_attempts: 3
        }
    );
    assert_eq!(s.notification, NotificationPolicy { interval: Duration::ZERO, first_delay: Duration::from_secs(60) });
    assert_eq!(s.contacts, vec!["ops".to_string(), "dev".to_string()]);
    assert_eq!(
        s.check.limits,
        Limits {
            timeout: Duration::from_secs(5),
            timeout_state: State::Unknown,
            memory: 32 << 20,
            output: 4 << 10,
            ..Limits::default()
        }
    );
    let grants = Grants { dns: true, addresses: vec!["10.0.0.5".parse().unwrap()], ..Grants::default() };
    assert_eq!(s.check.grants, grants);

    // Two templates: the later wins where both set a key.
    let disk = &c.services[1];
    assert_eq!(disk.item.as_deref(), Some("/"));
    assert_eq!(disk.check.module, "disk");
    assert_eq!(
        disk.schedule,
        Schedule {
            check_interval: Duration::from_secs(31),
            retry_interval: Duration::from_secs(45),
            max_check_attempts: 5
        }
    );
    assert_eq!(disk.check.limits.timeout, Duration::from_secs(30));
    assert_eq!(disk.check.params, params(&[("warning", "80.5"), ("critical", "90"), ("verbose", "true")]));
    // The standard check's own grants (disk reads `system`, not the target).
    assert_eq!(disk.check.grants, crate::sandbox::standard::get("disk").unwrap().grants());
    assert!(disk.check.grants.system && !disk.check.grants.target);

    // Same service name on another host is fine; only [defaults] apply.
    let db = &c.services[2];
    assert_eq!((db.host.as_str(), db.name.as_str()), ("db1", "Lifecycle"));
    assert_eq!(db.schedule.check_interval, Duration::from_secs(120));
    assert_eq!(db.check.params, params(&[("warning", "1"), ("critical", "2")]));
    assert_eq!(db.check.limits, Limits::default());

    // Contacts.
    assert_eq!(c.contacts.len(), 2);
    assert_eq!(c.contacts[0].name, "ops");
    assert_eq!(
        c.contacts[0].methods,
        vec![
            Method::Log,
            Method::Webhook { url: "http://127.0.0.1:9000/hook".into(), timeout: Duration::from_secs(10) },
            Method::Email {
                to: "ops@example.com".into(),
                from: "wasmon@example.com".into(),
                smtp: "127.0.0.1:2525".into()
            },
        ]
    );
    assert_eq!(
        c.contacts[1].methods,
        vec![Method::Webhook { url: "https://hooks.example.com/x".into(), timeout: Duration::from_secs(3) }]
    );
}

#[test]
fn built_in_defaults() {
    let c = parse(
        "[[host]]\nname = \"h\"\n[[service]]\nhost = \"h\"\nname = \"s\"\ncheck = \"dummy\"\n",
        Path::new("w.toml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.engine.state_semantics, Semantics::Opsview);
    assert_eq!(c.engine.max_concurrent_checks, 64);
    assert_eq!(c.engine.state_file, PathBuf::from("wasmon.db"));
    let s = &c.services[0];
    assert_eq!(
        s.schedule,
        Schedule {
            check_interval: Duration::from_secs(300),
            retry_interval: Duration::from_secs(60),
            max_check_attempts: 3
        }
    );
    assert_eq!(s.notification, NotificationPolicy { interval: Duration::ZERO, first_delay: Duration::ZERO });
    assert_eq!(s.check.limits, Limits::default());
    assert_eq!(s.check.grants, Grants::default());
    assert!(s.contacts.is_empty() && s.check.params.is_empty() && s.item.is_none());
    assert!(c.contacts.is_empty());
}

#[test]
fn check_module_from_a_file_beside_the_config() {
    let dir = std::env::temp_dir().join(format!("wasmon-config-test-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("checks")).unwrap();
    std::fs::write(dir.join("checks/mine.wasm"), b"\0asm\x0d\0\x01\0").unwrap();
    std::fs::write(dir.join("checks/text.wasm"), b"not wasm").unwrap();
    let conf = dir.join("wasmon.toml");
    std::fs::write(
        &conf,
        "[[host]]\nname = \"h\"\n[[service]]\nhost = \"h\"\nname = \"s\"\ncheck = \"checks/mine.wasm\"\n",
    )
    .unwrap();
    let c = load(&conf).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.services[0].check.module, dir.join("checks/mine.wasm").display().to_string());
    assert_eq!(c.services[0].check.grants, Grants::default());

    std::fs::write(
        &conf,
        "[[host]]\nname = \"h\"\n[[service]]\nhost = \"h\"\nname = \"s\"\ncheck = \"checks/text.wasm\"\n",
    )
    .unwrap();
    let e = load(&conf).unwrap_err().to_string();
    assert!(
        e.contains(":6:9: service \"s\" on host \"h\": key 'check':") && e.contains("is not a WebAssembly file"),
        "{e}"
    );

    std::fs::remove_dir_all(&dir).unwrap();
    let e = load(&conf).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }));
    assert!(e.to_string().contains("wasmon.toml: cannot read it"), "{e}");
}

const BASE: &str = "[[host]]\nname = \"web1\"\n\n[[template]]\nname = \"fast\"\n\n[[contact]]\nname = \"ops\"\n\n";
// BASE is 9 lines; the service below starts on line 10.

fn with_service(lines: &str) -> String {
    format!("{BASE}[[service]]\nhost = \"web1\"\nname = \"Lifecycle\"\ncheck = \"dummy\"\n{lines}")
}

#[test]
fn each_kind_of_problem_names_line_and_key() {
    // Line 14 is the first line after the service's check.
    let cases: &[(&str, &[&str])] = &[
        (
            "chek_interval = \"5m\"",
            &[
                "service \"Lifecycle\" on host \"web1\"",
                "unknown key 'chek_interval' in [[service]]",
                "expected one of:",
                "check_interval",
            ],
        ),
        ("check_interval = 30", &["key 'check_interval'", "expected a duration", "found integer 30"]),
        ("check_interval = \"soon\"", &["key 'check_interval'", "found \"soon\""]),
        ("retry_interval = \"0s\"", &["key 'retry_interval'", "more than zero"]),
        ("check_interval = \"0m\"", &["key 'check_interval'", "(zero)"]),
        ("max_check_attempts = 0", &["key 'max_check_attempts'", "from 1", "found 0"]),
        ("max_check_attempts = \"3\"", &["key 'max_check_attempts'", "expected an integer", "found \"3\""]),
        ("memory = \"64 furlongs\"", &["key 'memory'", "expected a size"]),
        ("output_limit = \"0KiB\"", &["key 'output_limit'", "expected a size"]),
        ("timeout_state = \"BROKEN\"", &["key 'timeout_state'", "expected a state", "\"BROKEN\""]),
        ("grants = [\"filesystem\"]", &["key 'grants'", "unknown grant 'filesystem'"]),
        ("grants = [\"net=example\"]", &["key 'grants'", "expected net=<IP address>"]),
        ("grants = \"dns\"", &["key 'grants'", "expected a list of grants"]),
        ("use = \"fats\"", &["key 'use'", "no template named \"fats\" (templates: fast)"]),
        ("use = [\"fast\", \"slow\"]", &["key 'use'", "no template named \"slow\""]),
        ("contacts = [\"opz\"]", &["key 'contacts'", "no contact named \"opz\" (contacts: ops)"]),
        ("params = { port = [22] }", &["key 'params.port'", "expected a string, number or boolean"]),
        ("params = \"port=22\"", &["key 'params'", "expected a table"]),
        ("timeout = \"10 parsecs\"", &["key 'timeout'", "expected a duration"]),
        // Once a panic computing the deadline (issue 16).
        ("timeout = \"18446744073709551615s\"", &["key 'timeout'", "of at most 10years"]),
        ("item = 5", &["key 'item'", "expected a string, found integer 5"]),
    ];
    for (line, parts) in cases {
        println!("case: {line}");
        one_error(&with_service(&format!("{line}\n")), 14, parts);
    }
}

#[test]
fn columns_point_at_the_value_or_key() {
    let p = one_error(&with_service("use = \"fats\"\n"), 14, &[]);
    assert_eq!(p.column, 7);
    assert_eq!(
        p.to_string(),
        "conf/wasmon.toml:14:7: service \"Lifecycle\" on host \"web1\": key 'use': no template named \"fats\" (templates: fast)"
    );
    let p = one_error(&with_service("  chek_interval = \"5m\"\n"), 14, &[]);
    assert_eq!(p.column, 3);
}

#[test]
fn references_and_duplicates() {
    // A service on a missing host.
    one_error(
        &format!("{BASE}[[service]]\nhost = \"web2\"\nname = \"x\"\ncheck = \"dummy\"\n"),
        11,
        &["service \"x\" on host \"web2\": key 'host': no host named \"web2\" (hosts: web1)"],
    );
    // A missing module: neither a standard check nor a file.
    one_error(
        &format!("{BASE}[[service]]\nhost = \"web1\"\nname = \"x\"\ncheck = \"dumy\"\n"),
        13,
        &["key 'check': no standard check named \"dumy\" (standard checks: ", "dummy", "and no file conf/dumy"],
    );
    one_error(
        &format!("{BASE}[[service]]\nhost = \"web1\"\nname = \"x\"\ncheck = \"./nope.wasm\"\n"),
        13,
        &["key 'check': cannot read conf/./nope.wasm"],
    );
    // No check at all.
    one_error(
        &format!("{BASE}[[service]]\nhost = \"web1\"\nname = \"x\"\n"),
        10,
        &["service \"x\" on host \"web1\": no 'check'"],
    );
    // Duplicates.
    one_error(
        &format!("{BASE}[[host]]\nname = \"web1\"\n"),
        11,
        &["host \"web1\": key 'name': duplicate host name \"web1\" (first defined on line 2)"],
    );
    one_error(
        &format!("{BASE}[[template]]\nname = \"fast\"\n"),
        11,
        &["duplicate template name \"fast\" (first defined on line 5)"],
    );
    one_error(
        &format!("{BASE}[[contact]]\nname = \"ops\"\n"),
        11,
        &["duplicate contact name \"ops\" (first defined on line 8)"],
    );
    one_error(
        &format!("{}[[service]]\nhost = \"web1\"\nname = \"Lifecycle\"\ncheck = \"tcp\"\n", with_service("")),
        16,
        &["key 'name': duplicate service: host \"web1\" already has a service \"Lifecycle\" (line 12)"],
    );
    // Missing names.
    one_error(&format!("{BASE}[[host]]\naddress = \"10.0.0.1\"\n"), 10, &["[[host]] number 2: missing key 'name'"]);
    one_error(
        &format!("{BASE}[[service]]\nname = \"x\"\ncheck = \"dummy\"\n"),
        10,
        &["service \"x\": missing key 'host'"],
    );
    one_error(&format!("{BASE}[[host]]\nname = \"\"\n"), 11, &["key 'name': expected a name, found an empty string"]);
    // A host using a template that sets an item.
    one_error(
        &format!("{BASE}[[template]]\nname = \"root\"\nitem = \"/\"\n[[host]]\nname = \"h2\"\nuse = \"root\"\n"),
        15,
        &["host \"h2\": key 'use': template \"root\" sets 'item', which a host does not have"],
    );
}

#[test]
fn engine_defaults_contacts_and_top_level() {
    one_error(
        &format!("[engine]\nstate_semantics = \"icinga\"\n{BASE}"),
        2,
        &["[engine]: key 'state_semantics': expected \"opsview\" or \"nagios\", found \"icinga\""],
    );
    one_error(&format!("[engine]\nmax_concurrent_checks = 0\n{BASE}"), 2, &["key 'max_concurrent_checks'", "from 1"]);
    one_error(
        &format!("[engine]\nthreads = 4\n{BASE}"),
        2,
        &[
            "[engine]: unknown key 'threads' in [engine] (expected one of: state_semantics, max_concurrent_checks, state_file, checks_dir, packs_dir, history_max_age, history_max_size, max_discovered_items, keep_removed, compile_timeout, compile_memory)",
        ],
    );
    one_error(&format!("[engine]\ncompile_memory = \"lots\"\n{BASE}"), 2, &["[engine]: key 'compile_memory'"]);
    one_error(&format!("[engine]\ncompile_timeout = 5\n{BASE}"), 2, &["[engine]: key 'compile_timeout'"]);
    let c = parse(
        &format!("[engine]\ncompile_timeout = \"30s\"\ncompile_memory = \"512MiB\"\n{BASE}"),
        Path::new("t.toml"),
    )
    .unwrap();
    assert_eq!(c.engine.compile, crate::sandbox::CompileLimits { time: Duration::from_secs(30), memory: 512 << 20 });
    one_error(
        &format!("[defaults]\ncheck = \"dummy\"\n{BASE}"),
        2,
        &["unknown key 'check' in [defaults]: 'check' cannot be a default"],
    );
    one_error(&format!("[defaults]\nretry_interval = \"-1s\"\n{BASE}"), 2, &["[defaults]: key 'retry_interval'"]);
    one_error(
        &format!("{BASE}[hosts]\nname = \"x\"\n"),
        10,
        &[
            "unknown key 'hosts' at the top level (expected one of: engine, defaults, template, host, service, contact, handler, api, \
             timeperiod, contactgroup, escalation, sink, cluster)",
        ],
    );
    one_error("[host]\nname = \"x\"\n", 1, &["key 'host': expected an array of tables [[host]], found a table"]);
    one_error(
        &format!("{BASE}[[contact]]\nname = \"dev\"\nmethods = [{{ type = \"pager\" }}]\n"),
        12,
        &["contact \"dev\": methods[1]: key 'type': expected \"log\", \"webhook\" or \"email\", found \"pager\""],
    );
    one_error(
        &format!("{BASE}[[contact]]\nname = \"dev\"\nmethods = [{{ type = \"webhook\", url = \"ftp://x\" }}]\n"),
        12,
        &["methods[1]: key 'url': expected an http:// or https:// URL, found \"ftp://x\""],
    );
    one_error(
        &format!(
            "{BASE}[[contact]]\nname = \"dev\"\nmethods = [{{ type = \"email\", to = \"a@b\", from = \"c@d\" }}]\n"
        ),
        12,
        &["methods[1]: missing key 'smtp'"],
    );
    one_error(
        &format!(
            "{BASE}[[contact]]\nname = \"dev\"\nmethods = [{{ type = \"email\", to = \"a@b\", from = \"c@d\", smtp = \"mail\" }}]\n"
        ),
        12,
        &["key 'smtp': expected an SMTP server as host:port"],
    );
    one_error(
        &format!("{BASE}[[contact]]\nname = \"dev\"\nmethods = [{{ type = \"log\", url = \"http://x\" }}]\n"),
        12,
        &["unknown key 'url' in a log method (expected one of: type)"],
    );
    one_error(
        &format!("{BASE}[[contact]]\nname = \"dev\"\nemail = \"dev@example.com\"\n"),
        12,
        &["contact \"dev\": unknown key 'email' in [[contact]]"],
    );
}

#[test]
fn toml_syntax_errors_keep_their_position() {
    let problems = errors("[[host]]\nname = \"web1\"\naddress = 127.0.0.1\n");
    assert!(!problems.is_empty());
    assert_eq!(problems[0].line, 3, "{}", problems[0]);
    assert!(problems[0].message.starts_with("invalid TOML: "), "{}", problems[0]);
    let problems = errors("[[host]]\nname = \"a\"\nname = \"b\"\n");
    assert_eq!(problems[0].line, 3, "{}", problems[0]);
}

#[test]
fn every_problem_is_reported_in_file_order() {
    let text = r#"[[host]]
name = "web1"
chek = "tcp"

[[service]]
host = "web1"
name = "Lifecycle"
use = "fats"
check = "dummy"
check_interval = "0s"
max_check_attempts = 0
contacts = ["nobody"]

[[service]]
host = "web9"
name = "Other"
check = "dummy"
"#;
    let e = parse(text, Path::new("wasmon.toml")).unwrap_err();
    let lines: Vec<String> = e.to_string().lines().map(str::to_string).collect();
    println!("{}", lines.join("\n"));
    assert_eq!(lines.len(), 6, "{lines:#?}");
    let prefixes = [
        "wasmon.toml:3:1: ",
        "wasmon.toml:8:7: ",
        "wasmon.toml:10:18: ",
        "wasmon.toml:11:22: ",
        "wasmon.toml:12:13: ",
        "wasmon.toml:15:8: ",
    ];
    for (line, prefix) in lines.iter().zip(prefixes) {
        assert!(line.starts_with(prefix), "{line} should start with {prefix}");
    }
    assert!(lines[0].contains("unknown key 'chek'"));
    assert!(lines[1].contains("no template named \"fats\""));
    assert!(lines[2].contains("key 'check_interval'"));
    assert!(lines[3].contains("key 'max_check_attempts'"));
    assert!(lines[4].contains("no contact named \"nobody\""));
    assert!(lines[5].contains("no host named \"web9\""));
    assert_eq!(e.problems().len(), 6);
}

#[test]
fn the_builtin_configuration_monitors_this_machine() {
    let c = super::builtin().unwrap();
    let services: Vec<(&str, &str)> = c.services.iter().map(|s| (s.name.as_str(), s.check.module.as_str())).collect();
    assert_eq!(services, [("CPU load", "load"), ("Memory", "memory"), ("Filesystem /", "disk")]);
    assert!(c.services.iter().all(|s| s.check.grants.system), "the local checks get the system interface");
    assert_eq!(c.engine.state_file, std::path::PathBuf::from("wasmon.db"));
    assert_eq!(c.contacts[0].methods, [super::Method::Log]);
}

mod keys;
mod parents;

//! The time-period, escalation and name-glob readers.

use std::path::Path;
use std::time::Duration;

use super::glob;
use crate::config::{Config, OptionLetters, parse};
use crate::timeperiod::{Day, TimeRange};

const GOOD: &str = r#"
[[timeperiod]]
name = "nights"
alias = "Night shift"
timezone = "Europe/Berlin"
monday = "22:00-24:00"
tuesday = "00:00-06:00,22:00-24:00"
"december 25" = "00:00-24:00"
exclude = ["holidays"]

[[timeperiod]]
name = "holidays"
"2026-12-24" = "00:00-24:00"

[[contact]]
name = "ops"
methods = [{ type = "log" }]
notification_options = "w,c,r"
host_notification_options = "d"

[[contact]]
name = "boss"
methods = [{ type = "log" }]
service_notification_options = "n"

[[contactgroup]]
name = "managers"
members = ["boss"]

[[contactgroup]]
name = "everyone"
members = ["ops"]
contactgroup_members = ["managers"]

[defaults]
notification_period = "nights"

[[host]]
name = "web1"

[[service]]
host = "web1"
name = "HTTP"
check = "dummy"
check_period = "nights"
contact_groups = ["everyone"]

[[escalation]]
host = "web*"
service = "*"
first_notification = 3
last_notification = 5
contact_groups = ["managers"]
notification_interval = "10m"
"#;

fn config(text: &str) -> Config {
    parse(text, Path::new("conf/wasmon.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// Every problem of `text` as `LINE: message`.
fn problems(text: &str) -> Vec<String> {
    match parse(text, Path::new("conf/wasmon.toml")) {
        Ok(_) => panic!("expected problems in:\n{text}"),
        Err(e) => e.problems().iter().map(|p| format!("{}: {}", p.line, p.message)).collect(),
    }
}

/// The one problem of `GOOD` with `from` replaced by `to`: on the
/// line where `to` starts, containing each of `parts`.
#[track_caller]
fn one_problem(from: &str, to: &str, parts: &[&str]) {
    assert!(GOOD.contains(from), "{from}");
    let text = GOOD.replacen(from, to, 1);
    let line = text[..text.find(to).unwrap()].matches('\n').count() + 1;
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].starts_with(&format!("{line}: ")), "line {line}: {}", found[0]);
    for part in parts {
        assert!(found[0].contains(part), "{}\n  lacks: {part}", found[0]);
    }
}

/// Like [`one_problem`], for a change that makes more problems
/// follow (a contact dropped): only the first is looked at.
#[track_caller]
fn first_problem(from: &str, to: &str, parts: &[&str]) {
    let text = GOOD.replacen(from, to, 1);
    let line = text[..text.find(to).unwrap()].matches('\n').count() + 1;
    let found = problems(&text);
    assert!(found[0].starts_with(&format!("{line}: ")), "line {line}: {}", found[0]);
    for part in parts {
        assert!(found[0].contains(part), "{}\n  lacks: {part}", found[0]);
    }
}

#[test]
fn periods_groups_options_and_escalations_resolve() {
    let c = config(GOOD);
    let nights = &c.timeperiods[0];
    assert_eq!((nights.name.as_str(), nights.alias.as_deref()), ("nights", Some("Night shift")));
    assert_eq!(nights.timezone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(nights.exclude, ["holidays"]);
    assert_eq!(nights.rules.len(), 3);
    assert_eq!(nights.rules[1].ranges[1], TimeRange { start: 22 * 3600, end: 86_400 });
    assert_eq!(nights.rules[2].day, Day::MonthDay { month: 12, day: 25 });
    assert_eq!(c.timeperiods[1].timezone, None);
    let s = &c.services[0];
    assert_eq!(s.check_period.as_deref(), Some("nights"));
    assert_eq!(s.notification_period.as_deref(), Some("nights"), "from [defaults]");
    // The group's members, its nested group's too.
    assert_eq!(s.contacts, ["ops", "boss"]);
    assert_eq!(c.contact_groups[1].members, ["ops", "boss"]);
    let ops = &c.contacts[0].options;
    assert!(ops.service.has('w') && ops.service.has('c') && ops.service.has('r') && !ops.service.has('u'));
    assert!(ops.host.has('d') && !ops.host.has('r'), "host_notification_options wins for hosts");
    assert_eq!(c.contacts[1].options.service, OptionLetters::NONE);
    assert_eq!(c.contacts[1].options.host, OptionLetters::ALL);
    let e = &c.escalations[0];
    assert_eq!((e.host.as_str(), e.service.as_deref()), ("web*", Some("*")));
    assert_eq!((e.first_notification, e.last_notification), (3, 5));
    assert_eq!(e.contacts, ["boss"]);
    assert_eq!(e.notification_interval, Some(Duration::from_secs(600)));
}

#[test]
fn bad_periods_name_file_line_and_key() {
    one_problem(
        r#"monday = "22:00-24:00""#,
        r#"monday = "22-24""#,
        &["timeperiod \"nights\": key 'monday'", "expected time ranges", "\"22-24\" is not a range"],
    );
    one_problem(
        r#"monday = "22:00-24:00""#,
        r#"monday = "22:00-06:00""#,
        &["key 'monday'", "ends before it starts", "two"],
    );
    one_problem(r#"monday = "22:00-24:00""#, r#"mon = "22:00-24:00""#, &["unknown key 'mon' in [[timeperiod]]"]);
    one_problem(r#""december 25""#, r#""february 30""#, &["unknown key 'february 30'", "\"december 25\""]);
    one_problem(
        r#"timezone = "Europe/Berlin""#,
        r#"timezone = "Mars/Olympus""#,
        &["key 'timezone'", "IANA time zone", "\"Mars/Olympus\""],
    );
    one_problem(
        r#"exclude = ["holidays"]"#,
        r#"exclude = ["holydays"]"#,
        &["key 'exclude'", "no time period named \"holydays\"", "nights, holidays"],
    );
    one_problem(
        r#"check_period = "nights""#,
        r#"check_period = "night""#,
        &["service \"HTTP\" on host \"web1\": key 'check_period'", "no time period named \"night\""],
    );
    let text = GOOD.replace(r#"exclude = ["holidays"]"#, "").replace(r#"name = "holidays""#, r#"name = "nights""#);
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains("key 'name': duplicate timeperiod name \"nights\" (first defined on line"),
        "{}",
        found[0]
    );
    // A cycle is named where each exclusion in it is written.
    let text = GOOD.replace(r#""2026-12-24" = "00:00-24:00""#, r#"exclude = ["nights"]"#);
    let found = problems(&text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].contains("cycle: nights excludes holidays excludes nights"), "{}", found[0]);
    assert!(found[1].contains("cycle: holidays excludes nights excludes holidays"), "{}", found[1]);
}

#[test]
fn bad_groups_options_and_escalations_name_file_line_and_key() {
    first_problem(
        r#"notification_options = "w,c,r""#,
        r#"notification_options = "w,x""#,
        &["contact \"ops\": key 'notification_options'", "found \"x\""],
    );
    first_problem(
        r#"host_notification_options = "d""#,
        r#"host_notification_options = "c""#,
        &["key 'host_notification_options'", "d,u,r,f,s,n,a"],
    );
    one_problem(r#"members = ["boss"]"#, r#"members = ["bos"]"#, &["key 'members'", "no contact named \"bos\""]);
    one_problem(
        r#"contactgroup_members = ["managers"]"#,
        r#"contactgroup_members = ["manager"]"#,
        &["contactgroup \"everyone\": key 'contactgroup_members'", "no contact group named \"manager\""],
    );
    one_problem(
        r#"contact_groups = ["everyone"]"#,
        r#"contact_groups = ["all"]"#,
        &["key 'contact_groups'", "no contact group named \"all\" (contact groups: everyone, managers)"],
    );
    one_problem(
        r#"last_notification = 5"#,
        r#"last_notification = 2"#,
        &["[[escalation]] number 1: key 'last_notification'", "at least first_notification (3), found 2"],
    );
    one_problem(
        r#"service = "*""#,
        r#"service = "Web*""#,
        &["[[escalation]] number 1: no service matches host \"web*\" and service \"Web*\""],
    );
    one_problem(r#"first_notification = 3"#, r#"first_notification = 0"#, &["key 'first_notification'"]);
    one_problem(
        r#"notification_interval = "10m""#,
        r#"interval = "10m""#,
        &["[[escalation]] number 1: unknown key 'interval' in [[escalation]]"],
    );
}

#[test]
fn patterns_match_names() {
    assert!(glob("web*", "web1"));
    assert!(glob("*", ""));
    assert!(glob("w?b*1", "web-01"));
    assert!(glob("Disk *", "Disk /var"));
    assert!(!glob("web?", "web12"));
    assert!(!glob("db*", "web1"));
    assert!(glob("a*b*c", "axxbyyc"));
    assert!(!glob("a*b*c", "axxbyy"));
}

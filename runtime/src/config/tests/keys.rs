//! Passive and freshness, flapping, `checks_dir`, zones and `[cluster]`
//! keys: defaults, inheritance and the problems they name.

use super::*;

#[test]
fn passive_and_freshness_keys_with_their_defaults() {
    let c = parse(
        &format!(
            "{BASE}[[service]]\nhost = \"web1\"\nname = \"Backup\"\nactive_checks = false\ncheck_freshness = true\n\n\
             [[service]]\nhost = \"web1\"\nname = \"Push\"\ncheck = \"dummy\"\npassive_checks = false\n\
             freshness_threshold = \"10m\"\nstale_state = \"CRITICAL\"\n"
        ),
        Path::new("wasmon.toml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let backup = &c.services[0];
    assert_eq!(backup.check, CheckSpec::default(), "a passive-only service needs no check");
    assert_eq!(
        backup.passive,
        PassiveSettings {
            active_checks: false,
            passive_checks: true,
            freshness_threshold: Some(CHECK_INTERVAL + FRESHNESS_LATENCY),
            stale_state: State::Unknown
        }
    );
    let push = &c.services[1];
    assert_eq!(
        push.passive,
        PassiveSettings {
            active_checks: true,
            passive_checks: false,
            freshness_threshold: Some(Duration::from_secs(600)),
            stale_state: State::Critical
        }
    );
    assert_eq!(c.hosts[0].passive, PassiveSettings::default());
    // Without active_checks = false a service still needs its check.
    one_error(
        &format!("{BASE}[[service]]\nhost = \"web1\"\nname = \"x\"\ncheck_freshness = true\n"),
        10,
        &["no 'check'"],
    );
    one_error(&with_service("active_checks = \"no\""), 14, &["key 'active_checks': expected true or false"]);
}

#[test]
fn flap_detection_keys_inherit_and_are_validated() {
    let text = "[defaults]\nlow_flap_threshold = 10\n\n[[template]]\nname = \"calm\"\nflap_detection = false\n\
                high_flap_threshold = 50.5\n\n[[host]]\nname = \"web1\"\n\n[[service]]\nhost = \"web1\"\nname = \"S\"\n\
                check = \"dummy\"\nuse = \"calm\"\n";
    let c = parse(text, Path::new("conf/wasmon.toml")).unwrap();
    let s = &c.services[0];
    assert_eq!(s.flapping, crate::state::FlapPolicy { enabled: false, low_threshold: 10.0, high_threshold: 50.5 });
    // A host without the keys gets the defaults (and [defaults]).
    assert_eq!(c.hosts[0].flapping, crate::state::FlapPolicy { low_threshold: 10.0, ..Default::default() });

    one_error(
        &with_service("low_flap_threshold = 101\n"),
        14,
        &["key 'low_flap_threshold'", "expected a percentage from 0 to 100", "integer 101"],
    );
    one_error(&with_service("high_flap_threshold = \"30\"\n"), 14, &["key 'high_flap_threshold'", "found \"30\""]);
    one_error(&with_service("flap_detection = \"yes\"\n"), 14, &["key 'flap_detection'", "expected true or false"]);
    one_error(
        &with_service("high_flap_threshold = 25\nlow_flap_threshold = 25.0\n"),
        15,
        &[
            "service \"Lifecycle\" on host \"web1\"",
            "key 'low_flap_threshold'",
            "expected low_flap_threshold below high_flap_threshold, found low 25 and high 25",
        ],
    );
    one_error(
        &with_service("high_flap_threshold = 15\n"),
        14,
        &["key 'high_flap_threshold'", "found low 20 and high 15"],
    );
}

#[test]
fn checks_dir_defaults_to_an_existing_checks_folder_and_must_exist_when_set() {
    let dir = std::env::temp_dir().join(format!("wasmon-checks-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("wasmon.toml");
    // No `checks` folder: none watched.
    assert_eq!(parse(BASE, &file).unwrap().engine.checks_dir, None);
    std::fs::create_dir(dir.join("checks")).unwrap();
    assert_eq!(parse(BASE, &file).unwrap().engine.checks_dir, Some(dir.join("checks")));
    std::fs::create_dir(dir.join("modules")).unwrap();
    let set = parse(&format!("[engine]\nchecks_dir = \"modules\"\n{BASE}"), &file).unwrap();
    assert_eq!(set.engine.checks_dir, Some(dir.join("modules")));
    let missing = parse(&format!("[engine]\nchecks_dir = \"nowhere\"\n{BASE}"), &file).unwrap_err();
    let problems = missing.problems();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].line, 2);
    assert!(
        problems[0].message.starts_with("[engine]: key 'checks_dir': expected an existing folder, cannot read")
            && problems[0].message.contains("nowhere"),
        "{}",
        problems[0]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn zones_inherit_and_cluster_settings_are_read() {
    let text = "[cluster]\nnats = \"nats://10.0.0.5:4222\"\nname = \"prod\"\nbatch_size = 100\nack_wait = \"10s\"\n\
                grace = \"5s\"\n[defaults]\nzone = \"dc0\"\n[[template]]\nname = \"far\"\nzone = \"dc2\"\n\
                [[host]]\nname = \"h\"\nzone = \"dc1\"\ncheck = \"dummy\"\n\
                [[host]]\nname = \"g\"\nzone = \"\"\n\
                [[service]]\nhost = \"h\"\nname = \"of the host\"\ncheck = \"dummy\"\n\
                [[service]]\nhost = \"h\"\nname = \"templated\"\nuse = \"far\"\ncheck = \"dummy\"\n\
                [[service]]\nhost = \"h\"\nname = \"here\"\nzone = \"\"\ncheck = \"dummy\"\n\
                [[service]]\nhost = \"g\"\nname = \"of g\"\ncheck = \"dummy\"\n";
    let c = parse(text, Path::new("w.toml")).unwrap_or_else(|e| panic!("{e}"));
    let cluster = c.cluster.as_ref().unwrap();
    assert_eq!(
        (cluster.nats.as_str(), cluster.name.as_str(), cluster.batch_size),
        ("nats://10.0.0.5:4222", "prod", 100)
    );
    assert_eq!((cluster.ack_wait, cluster.grace), (Duration::from_secs(10), Duration::from_secs(5)));
    assert_eq!(c.hosts[0].check.as_ref().unwrap().zone.as_deref(), Some("dc1"));
    assert_eq!(c.hosts[1].zone, None, "an empty zone is this process");
    let zones: Vec<Option<&str>> = c.services.iter().map(|s| s.check.zone.as_deref()).collect();
    // [defaults] is under the host's own zone; a template's or the
    // service's own zone wins; a host without one gives none.
    assert_eq!(zones, [Some("dc1"), Some("dc2"), None, None]);
}

#[test]
fn bad_zones_and_cluster_settings_name_file_line_and_key() {
    one_error(
        "[[host]]\nname = \"h\"\nzone = \"dc 1\"\n",
        3,
        &["host \"h\": key 'zone': expected a zone name of letters, digits, '-' and '_'"],
    );
    one_error("[cluster]\nname = \"x\"\n", 1, &["[cluster]: missing key 'nats'"]);
    one_error("[cluster]\nnats = \"http://x\"\n", 2, &["[cluster]: key 'nats': expected a NATS server URL"]);
    one_error("[cluster]\nnats = \"nats://x\"\nbatch_size = 0\n", 3, &["[cluster]: key 'batch_size'"]);
    one_error("[cluster]\nnats = \"nats://x\"\nwho = 1\n", 3, &["unknown key 'who' in [cluster]"]);
    one_error("[cluster]\nnats = \"nats://x\"\nshards = 0\n", 3, &["[cluster]: key 'shards'"]);
    one_error(
        "[cluster]\nnats = \"nats://x\"\nlease = \"500ms\"\n",
        3,
        &["[cluster]: key 'lease': expected a duration of at least 1s"],
    );
    one_error(
        "[cluster]\nnats = \"nats://x\"\nnode = \"a.b\"\n",
        3,
        &["[cluster]: key 'node': expected a name of letters"],
    );
}

#[test]
fn shard_settings_are_read() {
    let text = "[cluster]\nnats = \"nats://x\"\nshards = 32\nlease = \"5s\"\nnode = \"sched-1\"\n";
    let c = parse(text, Path::new("w.toml")).unwrap_or_else(|e| panic!("{e}"));
    let cluster = c.cluster.as_ref().unwrap();
    assert_eq!((cluster.shards, cluster.lease, cluster.node.as_str()), (32, Duration::from_secs(5), "sched-1"));
    let c = parse("[cluster]\nnats = \"nats://x\"\n", Path::new("w.toml")).unwrap_or_else(|e| panic!("{e}"));
    let cluster = c.cluster.as_ref().unwrap();
    assert_eq!((cluster.shards, cluster.lease, cluster.node.as_str()), (16, Duration::from_secs(10), ""));
}

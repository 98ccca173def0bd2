use std::path::Path;

use super::*;
use crate::config::{self, Config};

/// A configuration written for this test: templates with `use` and
/// `register 0`, multiple inheritance, host and service groups, commands
/// with `$ARGn$` and `$USERn$`, contacts and contact groups, time periods,
/// a service and a host dependency, parents.
const MAIN: &str = "\
# main file
log_file=/var/log/nagios.log
interval_length=60
resource_file=resource.cfg
cfg_file=objects.cfg
cfg_dir=more
";

const RESOURCE: &str = "$USER1$=/usr/lib/nagios/plugins\n$USER3$=secret\n";

const OBJECTS: &str = r#"
define timeperiod {
    timeperiod_name 24x7
    sunday 00:00-24:00
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
}
define timeperiod {
    timeperiod_name workhours
    monday 09:00-17:00
}
define command {
    command_name check_tcp
    command_line $USER1$/check_tcp -H $HOSTADDRESS$ -p $ARG1$ -w $ARG2$ -c $ARG3$
}
define command {
    command_name check_root
    command_line $USER1$/check_disk -w $ARG1$ -c $ARG2$ -p /
}
define command {
    command_name check_mysql
    command_line $USER1$/check_mysql -H $HOSTADDRESS$ -u nagios -p $USER3$ -d $_HOSTDB$ -s $SERVICESTATE$
}
define command {
    command_name notify-by-pager
    command_line /usr/bin/pager $CONTACTPAGER$
}
define command {
    command_name notify-service-by-email
    command_line /usr/bin/mail $CONTACTEMAIL$
}
define contact {
    name                          base-contact
    service_notification_commands notify-service-by-email
    host_notification_commands    notify-service-by-email
    register                      0
}
define contact {
    use           base-contact
    contact_name  alice
    email         alice@example.com
}
define contact {
    contact_name  bob
    email         bob@example.com
    service_notification_commands notify-by-pager
}
define contactgroup {
    contactgroup_name ops
    members alice,bob
}
define host {
    name                  base-host
    check_interval        5
    retry_interval        1
    max_check_attempts    3
    contact_groups        ops
    notification_interval 30
    register              0
}
define host {
    name                  db-host
    max_check_attempts    5
    _DB                   orders
    register              0
}
define host {
    use         db-host,base-host
    host_name   db1
    alias       Database one
    address     10.0.0.5
    hostgroups  databases
    parents     router
}
define host {
    use         base-host
    host_name   router
    address     10.0.0.1
}
define host {
    use         base-host
    host_name   web1
    address     10.0.0.10
    hostgroups  webs
}
define hostgroup {
    hostgroup_name webs
}
define hostgroup {
    hostgroup_name all-servers
    hostgroup_members webs,databases
}
define service {
    name                  base-service
    check_interval        2
    retry_interval        0.5
    max_check_attempts    4
    check_period          24x7
    notification_period   workhours
    register              0
}
define service {
    use                   base-service
    hostgroup_name        all-servers
    service_description   SSH
    check_command         check_tcp!22!1!2
}
define service {
    use                   base-service
    host_name             db1
    service_description   MySQL
    check_command         check_mysql
    contacts              alice
}
define service {
    use                   base-service
    host_name             *,!router
    service_description   Root
    check_command         check_root!20%!10%
    notifications_enabled 0
}
define servicegroup {
    servicegroup_name     important
    members               db1,MySQL
}
define servicedependency {
    host_name                     db1
    service_description           SSH
    dependent_host_name           db1
    dependent_service_description MySQL
}
define hostdependency {
    host_name            db1
    dependent_host_name  web1
}
"#;

const MORE: &str = "define service {\n    host_name nowhere\n    service_description Lost\n    check_command check_tcp!1\n}\n\
    define hostextinfo {\n    host_name db1\n}\n";

fn imported() -> (Import, Config, tempdir::Dir) {
    let dir = tempdir::Dir::new("nagios-import");
    std::fs::write(dir.path().join("nagios.cfg"), MAIN).unwrap();
    std::fs::write(dir.path().join("resource.cfg"), RESOURCE).unwrap();
    std::fs::write(dir.path().join("objects.cfg"), OBJECTS).unwrap();
    std::fs::create_dir(dir.path().join("more")).unwrap();
    std::fs::write(dir.path().join("more/extra.cfg"), MORE).unwrap();
    let import = import(&dir.path().join("nagios.cfg"), &Options::default()).unwrap();
    let toml_path = dir.path().join("wasmon.toml");
    let config = match config::parse(&import.toml, &toml_path) {
        Ok(c) => c,
        Err(e) => panic!("the import does not validate:\n{e}\n---\n{}", import.toml),
    };
    (import, config, dir)
}

#[test]
fn a_configuration_with_templates_groups_and_dependencies_validates() {
    let (import, config, _dir) = imported();
    let toml = &import.toml;
    assert_eq!((import.hosts, import.services), (3, 5), "{toml}");
    let hosts: Vec<&str> = config.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(hosts, ["db1", "router", "web1"]);
    let service = |h: &str, s: &str| {
        config.services.iter().find(|x| x.host == h && x.name == s).unwrap_or_else(|| panic!("{h}/{s} in\n{toml}"))
    };
    // SSH on every host of all-servers (nested group webs, and databases from the host's own `hostgroups`).
    service("db1", "SSH");
    let ssh = service("web1", "SSH");
    assert!(config.services.iter().all(|s| !(s.host == "router" && s.name == "SSH")));
    assert_eq!(ssh.check.module, "tcp");
    assert!(toml.contains("params = { port = \"22\", warning = \"1\", critical = \"2\" }"), "{toml}");
    // Intervals from the template, in interval_length units (0.5 → 30 s).
    assert_eq!(ssh.schedule.check_interval, std::time::Duration::from_secs(120));
    assert_eq!(ssh.schedule.retry_interval, std::time::Duration::from_secs(30));
    assert_eq!(ssh.schedule.max_check_attempts, 4);
    // Multiple inheritance: db-host's attempts win over base-host's.
    assert!(
        toml.contains(
            "[[host]]\nname = \"db1\"\naddress = \"10.0.0.5\"\nparents = [\"router\"]\ncheck_interval = \"5m\"\n\
             retry_interval = \"1m\"\nmax_check_attempts = 5"
        ),
        "{toml}"
    );
    // The host dependency is a parent; the service dependency a service parent.
    assert!(toml.contains("name = \"web1\"\naddress = \"10.0.0.10\"\nparents = [\"db1\"]"), "{toml}");
    assert!(toml.contains("name = \"MySQL\"\n# check = \"plugins/check_mysql.wasm\""), "{toml}");
    assert!(toml.contains("parents = [\"SSH\"]"), "{toml}");
    // Root on every host but the router, check_disk translated, notifications off.
    let root = service("db1", "Root");
    assert_eq!(root.item.as_deref(), Some("/"));
    assert!(
        toml.contains("check = \"disk\"\nitem = \"/\"\nparams = { warning = \"20%\", critical = \"10%\" }"),
        "{toml}"
    );
    assert!(root.contacts.is_empty());
    // Contacts from the host's contact group (implicit inheritance), or the service's own.
    assert_eq!(ssh.contacts, ["alice", "bob"]);
    assert_eq!(service("db1", "MySQL").contacts, ["alice"]);
    assert!(toml.contains("name = \"alice\"\nmethods = [{ type = \"email\", to = \"alice@example.com\""), "{toml}");
    assert!(toml.contains("name = \"bob\"\nmethods = [{ type = \"log\" }]"), "{toml}");
    // The command plugin: $USER3$ and the host's custom variable filled in, an unknown macro kept as text.
    assert!(
        toml.contains(
            "# args = [\"-H\", \"$HOSTADDRESS$\", \"-u\", \"nagios\", \"-p\", \"secret\", \"-d\", \"orders\", \"-s\", \"$$SERVICESTATE$$\"]\nactive_checks = false"
        ),
        "{toml}"
    );
    assert_eq!(import.plugins.iter().collect::<Vec<_>>(), ["check_mysql"]);
    // Time periods: workhours is written and named by the services' template; 24x7 always holds and is left out.
    assert!(toml.contains("[[timeperiod]]\nname = \"workhours\"\n\"monday\" = \"09:00-17:00\""), "{toml}");
    assert!(!toml.contains("name = \"24x7\"") && !toml.contains("check_period"), "{toml}");
    assert_eq!(ssh.notification_period.as_deref(), Some("workhours"));
}

#[test]
fn what_cannot_be_translated_is_named_with_file_and_line() {
    let (import, _, dir) = imported();
    let lines: Vec<String> =
        import.attention.iter().map(|p| p.to_string().replace(&format!("{}/", dir.path().display()), "")).collect();
    let has = |s: &str| assert!(lines.iter().any(|l| l == s), "{s}\nnot in\n{}", lines.join("\n"));
    has("more/extra.cfg:2: host_name: no host named \"nowhere\"");
    has("more/extra.cfg:6: define hostextinfo: no equivalent in wasmon; not translated");
    has(
        "objects.cfg:116: service \"MySQL\" on \"db1\": `check_mysql` becomes the command plugin plugins/check_mysql.wasm (no standard check does what it does); active checks are off until it is built and its `check` line uncommented",
    );
    has(
        "objects.cfg:116: service \"MySQL\" on \"db1\": the macro $SERVICESTATE$ has no equivalent; it is passed as the text $SERVICESTATE$",
    );
    has(
        "objects.cfg:50: contact \"bob\": notification command \"notify-by-pager\" is not translated (only *-by-email is)",
    );
    has("objects.cfg:126: servicegroup \"important\": wasmon has no service groups; not translated");
    assert!(import.toml.contains("# Needs attention ("), "the list is in the output too");
}

#[test]
fn an_unreadable_main_file_is_an_error() {
    let e = import(Path::new("/nonexistent/nagios.cfg"), &Options::default()).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
}

/// A temporary directory removed on drop.
mod tempdir {
    use std::path::{Path, PathBuf};

    pub(super) struct Dir(PathBuf);

    impl Dir {
        pub(super) fn new(name: &str) -> Dir {
            let p = std::env::temp_dir().join(format!(
                "wasmon-{name}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }

        pub(super) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

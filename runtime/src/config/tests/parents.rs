//! Parents of hosts and services: resolved from templates and across
//! hosts; unknown names and cycles refused where they are written.

use super::*;

const TREE: &str = r#"
[[template]]
name = "behind-router"
parents = ["router"]

[[host]]
name = "router"

[[host]]
name = "switch"
use = "behind-router"

[[host]]
name = "server"
parents = ["switch"]

[[service]]
host = "router"
name = "SNMP Agent"
check = "dummy"

[[service]]
host = "server"
name = "Interface"
check = "dummy"
parents = ["Agent", { host = "router", service = "SNMP Agent" }]

[[service]]
host = "server"
name = "Agent"
check = "dummy"
"#;

#[test]
fn parents_resolve_for_hosts_from_templates_and_for_services_on_any_host() {
    let c = parse(TREE, Path::new("wasmon.toml")).unwrap_or_else(|e| panic!("{e}"));
    let parents: Vec<(&str, Vec<String>)> = c.hosts.iter().map(|h| (h.name.as_str(), h.parents.clone())).collect();
    assert_eq!(
        parents,
        [("router", vec![]), ("switch", vec!["router".to_string()]), ("server", vec!["switch".to_string()])]
    );
    assert_eq!(
        c.services[1].parents,
        [
            ServiceRef { host: "server".into(), service: "Agent".into() },
            ServiceRef { host: "router".into(), service: "SNMP Agent".into() }
        ]
    );
    assert!(c.services[0].parents.is_empty());
}

#[test]
fn unknown_parents_and_cycles_are_rejected_where_they_are_written() {
    one_error(
        "[[host]]\nname = \"a\"\nparents = [\"nope\"]\n",
        3,
        &["host \"a\": key 'parents': no host named \"nope\" (hosts: a)"],
    );
    one_error(
        &format!(
            "{BASE}[[service]]\nhost = \"web1\"\nname = \"x\"\ncheck = \"dummy\"\nparents = [{{ host = \"web1\", service = \"y\" }}]\n"
        ),
        14,
        &["service \"x\" on host \"web1\": key 'parents': no service \"y\" on host \"web1\""],
    );
    one_error(
        "[[host]]\nname = \"a\"\nparents = [\"b\"]\n\n[[host]]\nname = \"b\"\nparents = [\"a\"]\n",
        7,
        &["host \"b\": key 'parents': dependency cycle a -> b -> a"],
    );
    one_error(
        "[[host]]\nname = \"h\"\n\n[[service]]\nhost = \"h\"\nname = \"s\"\ncheck = \"dummy\"\nparents = [\"s\"]\n",
        8,
        &["dependency cycle h/s -> h/s"],
    );
    one_error("[defaults]\nparents = [\"a\"]\n", 2, &["unknown key 'parents' in [defaults]", "cannot be a default"]);
    one_error("[[host]]\nname = \"a\"\nparents = \"b\"\n", 3, &["key 'parents': expected a list of parents"]);
}

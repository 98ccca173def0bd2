//! Configuration reload under a running daemon: services added, removed
//! and changed while checks run, through `POST /api/v1/reload` and SIGHUP;
//! a broken configuration refused with every problem named while the
//! running one goes on.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Api, CI, DASH, start};

/// The objects of one version of the configuration.
fn objects(services: &[(&str, &str)]) -> String {
    let mut s = String::from(
        "[defaults]\ncheck_interval = \"1s\"\nretry_interval = \"1s\"\nmax_check_attempts = 2\n\n\
         [[host]]\nname = \"web1\"\naddress = \"127.0.0.1\"\n\n\
         [[service]]\nhost = \"web1\"\nname = \"Passive\"\nactive_checks = false\n\n",
    );
    for (name, rest) in services {
        s.push_str(&format!("[[service]]\nhost = \"web1\"\nname = \"{name}\"\ncheck = \"dummy\"\n{rest}\n\n"));
    }
    s
}

/// Writes a new version of the daemon's configuration file.
fn write(d: &super::Daemon, objects: &str) {
    let path = d.dir().join("wasmon.toml");
    let old = std::fs::read_to_string(&path).unwrap();
    // Keep the [engine] and [api] parts the test harness wrote.
    let api = &old[old.find("[api]").unwrap()..];
    std::fs::write(&path, format!("[engine]\nstate_file = \"state.db\"\n\n{objects}\n{api}")).unwrap();
}

async fn service(api: &Api, d: &super::Daemon, name: &str) -> (u16, Value) {
    let a = api.call(d, "GET", &format!("/api/v1/hosts/web1/services/{name}"), Some(DASH), None).await;
    (a.status, a.body)
}

/// Polls `name`'s status until `done` holds.
async fn wait(api: &Api, d: &super::Daemon, name: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (status, body) = service(api, d, name).await;
        if status == 200 && done(&body) {
            return body;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{name}: {what}; last: {status} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_reload_adds_removes_and_changes_services_while_checks_run() {
    let v1 = objects(&[
        ("Keep", "params = { state = \"CRITICAL\", text = \"down\" }"),
        ("Change", "params = { state = \"OK\", text = \"version one\" }"),
        ("Remove", "params = { state = \"OK\" }"),
    ]);
    let mut d = start("reload", &v1, &["--no-watch"]);
    let api = Api::new(&d).await;

    // Keep reaches HARD CRITICAL; Passive gets a submitted result.
    let keep = wait(&api, &d, "Keep", "HARD CRITICAL", |s| s["state_type"] == "HARD" && s["state"] == "CRITICAL").await;
    let passive = json!({"host": "web1", "service": "Passive", "state": "WARNING", "output": "submitted"});
    assert_eq!(api.call(&d, "POST", "/api/v1/results", Some(CI), Some(passive)).await.status, 200);

    // Version two: Remove goes, Added comes, Change gets new parameters and interval.
    write(
        &d,
        &objects(&[
            ("Keep", "params = { state = \"CRITICAL\", text = \"down\" }"),
            ("Change", "params = { state = \"OK\", text = \"version two\" }\ncheck_interval = \"2s\""),
            ("Added", "params = { state = \"WARNING\", text = \"new\" }"),
        ]),
    );
    let a = api.call(&d, "POST", "/api/v1/reload", Some(CI), None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let key = |s: &str| json!({"host": "web1", "service": s});
    assert_eq!(a.body["config"]["added"], json!([key("Added")]), "{}", a.body);
    assert_eq!(a.body["config"]["removed"], json!([key("Remove")]));
    assert_eq!(a.body["config"]["changed"], json!([key("Change")]));
    assert_eq!(a.body["config"]["unchanged"], 2, "Keep and Passive");
    d.wait_for(0, &["configuration reloaded", "added=1", "removed=1", "changed=1"]);

    // Kept objects keep their state; Keep's checks go on (no check lost).
    let (_, after) = service(&api, &d, "Keep").await;
    assert_eq!((after["state"].as_str(), after["state_type"].as_str()), (Some("CRITICAL"), Some("HARD")));
    assert_eq!(after["last_hard_state_change"], keep["last_hard_state_change"], "the HARD change is not forgotten");
    let checked = after["last_check"].as_f64().unwrap();
    wait(&api, &d, "Keep", "checked after the reload", |s| s["last_check"].as_f64() > Some(checked)).await;
    let (_, p) = service(&api, &d, "Passive").await;
    assert_eq!((p["state"].as_str(), p["output"].as_str()), (Some("WARNING"), Some("submitted")));
    // The changed service runs with its new parameters; the new one starts; the removed one is gone.
    wait(&api, &d, "Change", "the new parameters", |s| s["output"].as_str().is_some_and(|o| o.contains("version two")))
        .await;
    wait(&api, &d, "Added", "its first result", |s| s["state"] == "WARNING").await;
    assert_eq!(service(&api, &d, "Remove").await.0, 404);

    // A broken configuration: refused with every problem, the running one stays.
    write(
        &d,
        &objects(&[
            ("Keep", "params = { state = \"CRITICAL\" }\ncheck_interval = \"soon\""),
            ("Added", "colour = \"blue\""),
            ("Other", "check_interval = \"1s\"\nmax_check_attempts = 0"),
        ]),
    );
    let a = api.call(&d, "POST", "/api/v1/reload", Some(CI), None).await;
    assert_eq!(a.status, 422, "{}", a.body);
    let message = a.body["error"].as_str().unwrap();
    assert!(message.contains("the running one stays"), "{message}");
    for problem in ["check_interval", "colour", "max_check_attempts"] {
        assert!(message.lines().any(|l| l.contains("wasmon.toml:") && l.contains(problem)), "{problem} in {message}");
    }
    let (_, added) = service(&api, &d, "Added").await;
    let checked = added["last_check"].as_f64().unwrap();
    wait(&api, &d, "Added", "still checked", |s| s["last_check"].as_f64() > Some(checked)).await;
    assert_eq!(service(&api, &d, "Other").await.0, 404);

    // SIGHUP reads the file again too.
    write(&d, &objects(&[("Keep", "params = { state = \"CRITICAL\", text = \"down\" }")]));
    let from = d.lines();
    d.signal("HUP");
    d.wait_for(from, &["configuration reloaded", "removed=2"]);
    assert_eq!(service(&api, &d, "Added").await.0, 404);
    assert_eq!(service(&api, &d, "Change").await.0, 404);
    let (_, keep) = service(&api, &d, "Keep").await;
    assert_eq!(keep["state_type"], "HARD");
    assert_eq!(d.stop(), Some(0));
}

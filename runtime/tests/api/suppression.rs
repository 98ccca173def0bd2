//! Downtime, acknowledgements and reload; acknowledged results after
//! kill -9.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downtime_suppresses_a_notification_and_acknowledgements_and_reload() {
    let hooks = Webhooks::start();
    let port = hooks.port();
    // A module file of its own, for the reload; the daemon only reloads
    // when asked (--no-watch), so the answer says what the request did.
    let modules = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("api-reload-module-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&modules);
    std::fs::create_dir_all(&modules).unwrap();
    let probe = modules.join("probe.wasm");
    std::fs::write(&probe, wasmon_runtime::standard::find("dummy").unwrap().wasm).unwrap();
    let objects = format!(
        "[defaults]\ncheck_interval = \"1h\"\nretry_interval = \"1h\"\nmax_check_attempts = 1\n\n\
         [[host]]\nname = \"web1\"\naddress = \"127.0.0.1\"\n\n\
         [[service]]\nhost = \"web1\"\nname = \"Backup\"\nactive_checks = false\ncontacts = [\"ops\"]\n\n\
         [[service]]\nhost = \"web1\"\nname = \"Probe\"\ncheck = \"{}\"\nparams = {{ text = \"fine\" }}\n\n\
         [[contact]]\nname = \"ops\"\nmethods = [{{ type = \"webhook\", url = \"http://127.0.0.1:{port}/hook\" }}]\n\
         notification_options = \"w,u,c,r\"\n",
        probe.display()
    );
    let mut d = start("downtime", &objects, &["--no-watch"]);
    let api = Api::new(&d).await;
    let mut stream = api.http.get(d.url("/api/v1/events")).bearer_auth(DASH).send().await.unwrap();
    let mut buffer = String::new();
    while !buffer.contains(": subscribed") {
        buffer.push_str(&String::from_utf8_lossy(&stream.chunk().await.unwrap().unwrap()));
    }
    let backup = json!({"host": "web1", "service": "Backup"});
    let critical = json!({"host": "web1", "service": "Backup", "state": "CRITICAL", "output": "backup failed"});

    // A downtime from now (no start) for an hour, by a read-only token: refused.
    let end = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64() + 3600.0;
    let request = json!({"host": "web1", "service": "Backup", "end": end, "author": "alice", "comment": "disk swap"});
    let a = api.call(&d, "POST", "/api/v1/downtimes", Some(DASH), Some(request.clone())).await;
    assert_eq!(a.status, 403);
    let a = api.call(&d, "POST", "/api/v1/downtimes", Some(CI), Some(request)).await;
    assert_eq!(a.status, 201);
    let id = a.body["id"].as_u64().unwrap();
    assert!(a.body["started"].is_number(), "a fixed downtime from now is in effect: {}", a.body);
    assert_eq!((a.body["author"].as_str(), a.body["flexible"].is_null()), (Some("alice"), true));
    let e = next_event(&mut stream, &mut buffer, "downtime", |e| e["id"] == id).await;
    assert_eq!(e["started"], true);
    let list = api.call(&d, "GET", "/api/v1/downtimes", Some(DASH), None).await;
    assert_eq!(
        list.body["downtimes"].as_array().unwrap().iter().map(|d| d["id"].as_u64()).collect::<Vec<_>>(),
        [Some(id)]
    );

    // A HARD problem in downtime: no webhook, a suppression on the stream.
    let a = api.call(&d, "POST", "/api/v1/results", Some(CI), Some(critical.clone())).await;
    assert_eq!((a.status, a.body["state_type"].as_str()), (200, Some("HARD")));
    let e = next_event(&mut stream, &mut buffer, "notification_suppressed", |e| e["service"] == "Backup").await;
    assert_eq!(
        (e["reason"].as_str(), e["type"].as_str(), e["state"].as_str()),
        (Some("downtime"), Some("PROBLEM"), Some("CRITICAL"))
    );
    let s = api.call(&d, "GET", "/api/v1/hosts/web1/services/Backup", Some(DASH), None).await;
    assert_eq!((s.body["in_downtime"].as_bool(), s.body["downtimes"].clone()), (Some(true), json!([id])));
    std::thread::sleep(Duration::from_millis(500));
    assert!(hooks.json().is_empty(), "a notification in downtime was sent: {:?}", hooks.json());

    // Malformed and refused downtime requests name their field.
    let cases = [
        (json!({"host": "web1", "start": 2000, "end": 1000, "author": "a"}), 400, "field 'end': must be after 'start'"),
        (
            json!({"host": "web1", "end": "next week", "author": "a"}),
            400,
            r#"field 'end': expected seconds since the UNIX epoch or an RFC 3339 time such as "2026-12-01T22:00:00Z", found "next week""#,
        ),
        (
            json!({"host": "web1", "service": "Backup", "with_services": true, "end": end, "author": "a"}),
            400,
            "field 'with_services': applies to a host downtime only (no 'service')",
        ),
        (json!({"host": "web2", "end": end, "author": "a"}), 404, "no such object: host 'web2'"),
    ];
    for (body, status, expected) in cases {
        let a = api.call(&d, "POST", "/api/v1/downtimes", Some(CI), Some(body)).await;
        assert_eq!((a.status, error(&a)), (status, expected));
    }

    // Cancelled: the next problem result notifies (the suppressed one
    // counts as not sent).
    let a = api.call(&d, "DELETE", &format!("/api/v1/downtimes/{id}"), Some(CI), None).await;
    assert_eq!(a.status, 204);
    let e = next_event(&mut stream, &mut buffer, "downtime", |e| e["id"] == id).await;
    assert_eq!(e["started"], false);
    let a = api.call(&d, "DELETE", &format!("/api/v1/downtimes/{id}"), Some(CI), None).await;
    assert_eq!(
        (a.status, error(&a)),
        (404, format!("no downtime with id {id} (it may have ended or been cancelled)").as_str())
    );
    let a = api.call(&d, "DELETE", "/api/v1/downtimes/first", Some(CI), None).await;
    assert_eq!((a.status, error(&a)), (400, r#"path 'id': expected a downtime id (a whole number), found "first""#));
    api.call(&d, "POST", "/api/v1/results", Some(CI), Some(critical.clone())).await;
    let n = next_event(&mut stream, &mut buffer, "notification", |e| e["service"] == "Backup").await;
    assert_eq!(
        (n["type"].as_str(), n["method"].as_str(), n["contact"].as_str()),
        (Some("PROBLEM"), Some("webhook"), Some("ops"))
    );
    let got = hooks.wait(1, Duration::from_secs(20));
    assert_eq!(
        (got[0]["service"].as_str(), got[0]["kind"].as_str(), got[0]["state"].as_str()),
        (Some("Backup"), Some("PROBLEM"), Some("CRITICAL")),
        "{got:?}"
    );

    // Acknowledgements: given (write scope only), shown, removed.
    let ack = json!({"host": "web1", "service": "Backup", "author": "bob", "comment": "restoring", "sticky": true});
    let a = api.call(&d, "POST", "/api/v1/acknowledgements", Some(DASH), Some(ack.clone())).await;
    assert_eq!(a.status, 403);
    let a = api.call(&d, "POST", "/api/v1/acknowledgements", Some(CI), Some(ack)).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body["acknowledgement"],
        json!({"host": "web1", "service": "Backup", "author": "bob", "comment": "restoring", "sticky": true})
    );
    let e = next_event(&mut stream, &mut buffer, "acknowledgement", |e| e["service"] == "Backup").await;
    assert_eq!((e["active"].as_bool(), e["author"].as_str()), (Some(true), Some("bob")));
    let a = api
        .call(
            &d,
            "POST",
            "/api/v1/acknowledgements",
            Some(CI),
            Some(json!({"host": "web1", "service": "Probe", "author": "bob"})),
        )
        .await;
    assert_eq!(a.status, 409);
    assert!(error(&a).contains("only a problem (not OK/UP) can be acknowledged"), "{}", error(&a));
    let a = api
        .call(&d, "POST", "/api/v1/acknowledgements", Some(CI), Some(json!({"host": "web1", "service": "Backup"})))
        .await;
    assert_eq!((a.status, error(&a)), (400, "field 'author': missing (expected who acknowledges)"));
    let a = api.call(&d, "DELETE", "/api/v1/acknowledgements", Some(CI), Some(backup.clone())).await;
    assert_eq!((a.status, a.body["acknowledgement"].is_null()), (200, true));
    let a = api.call(&d, "DELETE", "/api/v1/acknowledgements", Some(CI), Some(backup)).await;
    assert_eq!((a.status, error(&a)), (404, "host 'web1', service 'Backup' has no acknowledgement"));
    // The acknowledgement was notified (ops takes CRITICAL: "c"); its
    // downtime's start and end were not (no "s").
    let got = hooks.wait(2, Duration::from_secs(20));
    assert_eq!(
        (got[1]["kind"].as_str(), got[1]["author"].as_str(), got[1]["comment"].as_str()),
        (Some("ACKNOWLEDGEMENT"), Some("bob"), Some("restoring")),
        "{got:?}"
    );

    // A custom notification: write scope, every field named, then sent.
    let custom = json!({"host": "web1", "service": "Backup", "author": "carol", "comment": "restore done, verify"});
    let a = api.call(&d, "POST", "/api/v1/notifications", Some(DASH), Some(custom.clone())).await;
    assert_eq!(a.status, 403);
    let a =
        api.call(&d, "POST", "/api/v1/notifications", Some(CI), Some(json!({"host": "web1", "author": "carol"}))).await;
    assert_eq!((a.status, error(&a)), (400, "field 'comment': missing (expected what it says)"));
    let a = api
        .call(
            &d,
            "POST",
            "/api/v1/notifications",
            Some(CI),
            Some(json!({"host": "web2", "author": "c", "comment": "c"})),
        )
        .await;
    assert_eq!((a.status, error(&a)), (404, "no such object: host 'web2'"));
    let a = api.call(&d, "POST", "/api/v1/notifications", Some(CI), Some(custom)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let n = &a.body["events"][0];
    assert_eq!(
        (n["kind"].as_str(), n["type"].as_str(), n["contact"].as_str(), n["comment"].as_str()),
        (Some("notification"), Some("CUSTOM"), Some("ops"), Some("restore done, verify"))
    );
    let got = hooks.wait(3, Duration::from_secs(20));
    assert_eq!(
        (got[2]["kind"].as_str(), got[2]["state"].as_str(), got[2]["author"].as_str()),
        (Some("CUSTOM"), Some("CRITICAL"), Some("carol")),
        "{got:?}"
    );

    // Modules and a reload after the file changed.
    let path = probe.display().to_string();
    let m = api.call(&d, "GET", "/api/v1/modules", Some(DASH), None).await;
    let before = m.body["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["path"] == path.as_str())
        .cloned()
        .expect("the probe module is listed");
    assert_eq!(before["services"], 1);
    let a = api.call(&d, "POST", "/api/v1/reload", Some(CI), None).await;
    let unchanged = json!({"added": [], "removed": [], "changed": [], "unchanged": 2});
    assert_eq!(
        a.body,
        json!({"loaded": [], "replaced": [], "rejected": [], "removed": [], "config": unchanged}),
        "nothing changed yet (the configuration file is read again too)"
    );
    std::fs::write(&probe, std::fs::read(wasmon_tests::HOTLOAD_V2).unwrap()).unwrap();
    let a = api.call(&d, "POST", "/api/v1/reload", Some(CI), None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["replaced"].as_array().unwrap().len(), 1, "{}", a.body);
    let m = api.call(&d, "GET", "/api/v1/modules", Some(DASH), None).await;
    let after = m.body["modules"].as_array().unwrap().iter().find(|m| m["path"] == path.as_str()).cloned().unwrap();
    assert_eq!(after["version"], "2.0.0");
    assert_ne!(after["digest"], before["digest"]);
    let a = api.call(&d, "POST", "/api/v1/recheck", Some(CI), Some(json!({"host": "web1", "service": "Probe"}))).await;
    assert_eq!(a.body["output"], "Version 2: fine");

    assert_eq!(d.stop(), Some(0));
    let _ = std::fs::remove_dir_all(d.dir());
    let _ = std::fs::remove_dir_all(&modules);
}

/// A 200 from `POST /results` means committed (issue 16): a batch of
/// 10,000 results, each a HARD change, answered 200 and then `kill -9`
/// at once: every HARD change is in the state file, and after a restart
/// every object has the state it was last given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_results_survive_kill_9() {
    const SERVICES: usize = 200;
    const ROUNDS: usize = 50;
    let mut config = format!(
        "[engine]\nstate_file = \"state.db\"\n\n[defaults]\nmax_check_attempts = 1\n\n\
         [api]\nlisten = \"127.0.0.1:0\"\nmax_body = \"8MiB\"\n\n\
         [[api.token]]\nname = \"ci\"\ntoken = \"{CI}\"\nscopes = [\"read\", \"write\"]\n\n\
         [[host]]\nname = \"agent\"\n"
    );
    for i in 0..SERVICES {
        config.push_str(&format!("\n[[service]]\nhost = \"agent\"\nname = \"S{i}\"\nactive_checks = false\n"));
    }
    // Every result changes its service's state, HARD at once.
    let state = |round: usize, i: usize| if (round + i).is_multiple_of(2) { "CRITICAL" } else { "OK" };
    let results: Vec<Value> = (0..ROUNDS)
        .flat_map(|r| {
            (0..SERVICES).map(move |i| json!({"host": "agent", "service": format!("S{i}"), "state": state(r, i), "output": format!("round {r}")}))
        })
        .collect();
    let mut d = Daemon::with_config("api-durable", &config, &["-v"], &[]);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
    let answer =
        http.post(d.url("/api/v1/results")).bearer_auth(CI).json(&json!({ "results": results })).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    d.kill(); // SIGKILL, right after the answer
    assert_eq!((body["accepted"].as_u64(), body["rejected"].as_u64()), (Some(10_000), Some(0)));
    let hard = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["event"]["hard_state_changed"].as_bool() == Some(true))
        .count();
    assert!(hard >= 9_900, "{hard} HARD changes");

    let db = rusqlite::Connection::open(d.dir().join("state.db")).unwrap();
    let kept: usize =
        db.query_row("SELECT count(*) FROM state_history WHERE event = 'hard_state_change'", [], |r| r.get(0)).unwrap();
    assert_eq!(kept, hard, "every acknowledged HARD change is in the state file");
    drop(db);

    let mut again = Daemon::start(&d.dir().join("wasmon.toml"), &["-v"], &[]);
    let status: Value =
        http.get(again.url("/api/v1/status")).bearer_auth(CI).send().await.unwrap().json().await.unwrap();
    let objects = status["objects"].as_array().unwrap();
    for i in 0..SERVICES {
        let name = format!("S{i}");
        let o = objects.iter().find(|o| o["service"] == name.as_str()).unwrap();
        assert_eq!(
            (o["state"].as_str(), o["output"].as_str()),
            (Some(state(ROUNDS - 1, i)), Some(format!("round {}", ROUNDS - 1).as_str())),
            "{name}"
        );
    }
    assert_eq!(again.stop(), Some(0));
}

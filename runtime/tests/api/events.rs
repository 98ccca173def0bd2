//! Passive results, rechecks and the event stream; dependency failure and
//! objects that refuse what is asked of them.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passive_results_rechecks_and_the_event_stream() {
    let mut d = start("passive", OBJECTS, &[]);
    let api = Api::new(&d).await;

    // Subscribed (with the read token) before anything is submitted.
    let mut stream = api.http.get(d.url("/api/v1/events")).bearer_auth(DASH).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut buffer = String::new();
    while !buffer.contains(": subscribed") {
        buffer.push_str(&String::from_utf8_lossy(&stream.chunk().await.unwrap().unwrap()));
    }

    let a = api
        .call(
            &d,
            "POST",
            "/api/v1/results",
            Some(CI),
            Some(json!({"host": "web1", "service": "Passive", "state": "CRITICAL", "output": "HTTP 500 | time=2.5s;1;2;0 size=512B\nfirst detail\nsecond detail"})),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        (a.body["state"].as_str(), a.body["state_type"].as_str(), a.body["source"].as_str()),
        (Some("CRITICAL"), Some("HARD"), Some("passive"))
    );
    assert_eq!(a.body["output"], "HTTP 500");

    let s = api.call(&d, "GET", "/api/v1/hosts/web1/services/Passive", Some(DASH), None).await;
    assert_eq!(s.status, 200);
    assert_eq!((s.body["state"].as_str(), s.body["state_type"].as_str()), (Some("CRITICAL"), Some("HARD")));
    assert_eq!(s.body["output"], "HTTP 500");
    assert_eq!(s.body["long_output"], "first detail\nsecond detail");
    let perfdata = s.body["perfdata"].as_str().unwrap();
    assert!(
        perfdata.contains("time=2.5s;1;2;0") && perfdata.contains("size=512B"),
        "perfdata became metrics: {perfdata}"
    );
    assert!(s.body["last_check"].as_f64().unwrap() > 1.7e9, "seconds since the UNIX epoch");

    // The stream delivers the change, and the notification it caused.
    let e = next_event(&mut stream, &mut buffer, "result", |e| e["service"] == "Passive").await;
    assert_eq!(
        (e["state"].as_str(), e["output"].as_str(), e["source"].as_str()),
        (Some("CRITICAL"), Some("HTTP 500"), Some("passive"))
    );
    api.doc.validate(&json!({"$ref": "#/components/schemas/Event"}), &e, "$").unwrap();
    let n = next_event(&mut stream, &mut buffer, "notification", |e| e["service"] == "Passive").await;
    assert_eq!((n["type"].as_str(), n["state"].as_str()), (Some("PROBLEM"), Some("CRITICAL")));

    // `wasmon submit`, with the token from the environment.
    let out = submit(
        &d,
        Some(CI),
        &["-H", "web1", "-s", "Passive", "--state", "0", "back to normal | time=0.1s\nall", "good"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "web1/Passive: OK HARD 1/1: back to normal");
    let s = api.call(&d, "GET", "/api/v1/hosts/web1/services/Passive", Some(DASH), None).await;
    assert_eq!((s.body["state"].as_str(), s.body["long_output"].as_str()), (Some("OK"), Some("all good")));
    assert_eq!(s.body["perfdata"], "time=0.1s");
    let e = next_event(&mut stream, &mut buffer, "result", |e| e["service"] == "Passive").await;
    assert_eq!(e["state"], "OK");

    // Refusals, with the server's reason; exit 3.
    let out = submit(&d, None, &["--token", DASH, "-H", "web1", "--state", "DOWN"], None);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("403 Forbidden") && stderr.contains("token 'dash' lacks the 'write' scope"), "{stderr}");
    let out = submit(&d, Some(CI), &["-H", "web1", "-s", "Passive", "--state", "SO-SO"], None);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            r#"400 Bad Request): field 'state': expected one of OK, WARNING, CRITICAL, UNKNOWN (or 0-3), found "SO-SO""#
        ),
        "{stderr}"
    );
    let out = submit(&d, None, &["-H", "web1", "--state", "DOWN"], None);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no API token: give --token or set WASMON_API_TOKEN"));

    // A batch on stdin, JSON lines; one item is for no object.
    let batch = "{\"host\": \"web1\", \"state\": \"DOWN\", \"output\": \"no ping\"}\n\n\
                 {\"host\": \"web1\", \"service\": \"Ghost\", \"state\": \"OK\"}\n";
    let out = submit(&d, Some(CI), &["--batch", "-"], Some(batch));
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "web1: DOWN HARD 1/1: no ping");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("result 2 refused: no such object: host 'web1', service 'Ghost'"), "{stderr}");
    assert!(stderr.contains("1 of 2 results were refused"), "{stderr}");
    let a = api
        .call(
            &d,
            "POST",
            "/api/v1/results",
            Some(CI),
            Some(json!({"results": [{"host": "web1", "state": 0}, {"host": "web1", "service": "Ghost", "state": 0}]})),
        )
        .await;
    assert_eq!((a.status, a.body["accepted"].as_u64(), a.body["rejected"].as_u64()), (200, Some(1), Some(1)));
    assert_eq!(a.body["results"][1]["status"], 404);
    let file = d.dir().join("batch.json");
    std::fs::write(&file, r#"[{"host": "web1", "service": "Disk", "state": "WARNING", "output": "from a file"}]"#)
        .unwrap();
    let out = submit(&d, Some(CI), &["--batch", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "web1/Disk: WARNING HARD 1/1: from a file");

    // A recheck runs the active check now and answers with its result.
    let a =
        api.call(&d, "POST", "/api/v1/recheck", Some(CI), Some(json!({"host": "web1", "service": "Passive"}))).await;
    assert_eq!(a.status, 200);
    assert_eq!((a.body["state"].as_str(), a.body["source"].as_str()), (Some("OK"), Some("active")));
    assert!(a.body["output"].as_str().unwrap().contains("active says fine"), "{}", a.body);
    let a = api.call(&d, "POST", "/api/v1/recheck", Some(CI), Some(json!({"host": "web1", "service": "Gone"}))).await;
    assert_eq!((a.status, error(&a)), (404, "no such object: host 'web1', service 'Gone'"));

    // SIGTERM stops it cleanly, the open event stream too.
    let started = Instant::now();
    assert_eq!(d.stop(), Some(0));
    assert!(started.elapsed() < Duration::from_secs(20), "stopped with a subscriber connected");
    let rest =
        tokio::time::timeout(Duration::from_secs(10), async { while let Ok(Some(_)) = stream.chunk().await {} }).await;
    assert!(rest.is_ok(), "the event stream ends when wasmon stops");

    // A stopped API: submit cannot reach it.
    let out = submit(&d, Some(CI), &["-H", "web1", "--state", "UP"], None);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot reach the wasmon API at http://127.0.0.1:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependency_failure_and_objects_that_refuse() {
    let objects = "[defaults]\ncheck_interval = \"1h\"\nretry_interval = \"1h\"\nmax_check_attempts = 1\n\n\
        [[host]]\nname = \"router\"\ncheck = \"dummy\"\n\n\
        [[host]]\nname = \"web2\"\nparents = [\"router\"]\ncheck = \"dummy\"\n\n\
        [[service]]\nhost = \"web2\"\nname = \"HTTP\"\ncheck = \"dummy\"\n\n\
        [[service]]\nhost = \"router\"\nname = \"Closed\"\ncheck = \"dummy\"\npassive_checks = false\n\n\
        [[service]]\nhost = \"router\"\nname = \"Backup\"\nactive_checks = false\n";
    let d = start("dependency", objects, &[]);
    let api = Api::new(&d).await;

    // The parent goes DOWN by a passive result: the child's status names it.
    let a = api
        .call(
            &d,
            "POST",
            "/api/v1/results",
            Some(CI),
            Some(json!({"host": "router", "state": "DOWN", "output": "no route"})),
        )
        .await;
    assert_eq!((a.status, a.body["state"].as_str()), (200, Some("DOWN")));
    let h = api.call(&d, "GET", "/api/v1/hosts/web2", Some(DASH), None).await;
    assert_eq!(h.status, 200);
    assert_eq!(h.body["host"]["state"], "UNREACHABLE");
    assert_eq!(h.body["host"]["dependency_failure"], "Dependency failure: router is DOWN");
    assert_eq!(h.body["services"][0]["dependency_failure"], "Dependency failure: router is DOWN");
    let s = api.call(&d, "GET", "/api/v1/hosts/router/services/Backup", Some(DASH), None).await;
    assert_eq!((s.body["stale"].as_bool(), s.body["dependency_failure"].is_null()), (Some(false), false), "{}", s.body);

    // Objects that do not take what is asked: 409, naming them.
    let a = api
        .call(
            &d,
            "POST",
            "/api/v1/results",
            Some(CI),
            Some(json!({"host": "router", "service": "Closed", "state": "OK"})),
        )
        .await;
    assert_eq!(a.status, 409);
    assert!(error(&a).starts_with("host 'router', service 'Closed': "), "{}", error(&a));
    let a =
        api.call(&d, "POST", "/api/v1/recheck", Some(CI), Some(json!({"host": "router", "service": "Backup"}))).await;
    assert_eq!(a.status, 409);
    assert!(error(&a).starts_with("host 'router', service 'Backup': "), "{}", error(&a));
    let a = api
        .call(
            &d,
            "POST",
            "/api/v1/results",
            Some(CI),
            Some(json!({"results": [
                {"host": "router", "service": "Backup", "state": "CRITICAL", "output": "backup failed"},
                {"host": "router", "service": "Closed", "state": "OK"}
            ]})),
        )
        .await;
    assert_eq!((a.status, a.body["accepted"].as_u64(), a.body["rejected"].as_u64()), (200, Some(1), Some(1)));
    assert_eq!(a.body["results"][0]["event"]["output"], "backup failed");
    assert_eq!(a.body["results"][1]["status"], 409);
}

//! Tokens, scopes and malformed requests.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_scopes_and_malformed_requests() {
    let d = start("auth", OBJECTS, &[]);
    let api = Api::new(&d).await;

    // No token, a bad one, a token without the scope.
    let a = api.call(&d, "GET", "/api/v1/status", None, None).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.headers["www-authenticate"], "Bearer realm=\"wasmon\"");
    assert!(error(&a).contains("missing bearer token"));
    let a = api.call(&d, "GET", "/api/v1/status", Some("not-a-token"), None).await;
    assert_eq!(a.status, 401);
    assert!(a.headers["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    let a = api.call(&d, "POST", "/api/v1/results", None, Some(json!({"host": "web1", "state": "DOWN"}))).await;
    assert_eq!(a.status, 401, "unauthenticated writes are refused");
    let a = api.call(&d, "POST", "/api/v1/results", Some(DASH), Some(json!({"host": "web1", "state": "DOWN"}))).await;
    assert_eq!(a.status, 403);
    assert!(error(&a).starts_with("token 'dash' lacks the 'write' scope"), "{}", error(&a));
    let a = api.call(&d, "GET", "/api/v1/nothing-here", None, None).await;
    assert_eq!(a.status, 401, "no route is told to a caller without a token");

    // Reads with the read token.
    let a = api.call(&d, "GET", "/api/v1/status", Some(DASH), None).await;
    assert_eq!(a.status, 200);
    let names: Vec<(String, Option<String>)> = a.body["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["host"].as_str().unwrap().to_string(), o["service"].as_str().map(str::to_string)))
        .collect();
    assert!(names.contains(&("web1".into(), Some("Disk".into()))), "{names:?}");
    let a = api.call(&d, "GET", "/api/v1/hosts/web1", Some(DASH), None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["services"].as_array().unwrap().len(), 2);
    assert_eq!(a.body["host"]["host"], "web1");
    let a = api.call(&d, "GET", "/api/v1/modules", Some(DASH), None).await;
    assert_eq!(a.status, 200);
    let dummy =
        a.body["modules"].as_array().unwrap().iter().find(|m| m["name"] == "dummy").expect("the dummy check is listed");
    assert_eq!(
        (dummy["kind"].as_str(), dummy["path"].is_null(), dummy["services"].as_u64()),
        (Some("check"), true, Some(4))
    );
    let digest = dummy["digest"].as_str().unwrap();
    assert!(digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()), "{digest}");
    let a = api.call(&d, "GET", "/api/v1/hosts/nocheck", Some(DASH), None).await;
    assert_eq!(a.status, 200);
    assert!(a.body["host"].is_null(), "a host without a check has no status of its own");
    assert_eq!(a.body["services"][0]["service"], "Only");
    let a = api.call(&d, "GET", "/api/v1/hosts/web2", Some(DASH), None).await;
    assert_eq!((a.status, error(&a)), (404, "no such object: host 'web2'"));
    let a = api.call(&d, "GET", "/api/v1/hosts/web1/services/No%20Such", Some(DASH), None).await;
    assert_eq!((a.status, error(&a)), (404, "no such object: host 'web1', service 'No Such'"));

    // Malformed bodies: each names its field.
    let cases = [
        (
            json!({"host": "web1", "service": "Passive", "state": "BAD"}),
            r#"field 'state': expected one of OK, WARNING, CRITICAL, UNKNOWN (or 0-3), found "BAD""#,
        ),
        (
            json!({"host": "web1", "state": "WARNING"}),
            r#"field 'state': expected one of UP, DOWN (or 0-3), found "WARNING""#,
        ),
        (json!({"service": "Passive", "state": "OK"}), "field 'host': missing (expected a host name)"),
        (
            json!({"host": "web1", "service": "Passive", "state": "OK", "exit": 0}),
            "field 'exit': unknown field (expected one of: host, service, state, output)",
        ),
        (
            json!({"host": "web1", "service": "Passive", "state": "OK", "output": 12}),
            "field 'output': expected plugin output (a string), found 12",
        ),
        (
            json!({"results": [{"host": "web1", "state": "UP"}, {"host": "web1", "service": "Passive"}]}),
            "field 'results[1].state': missing (expected one of OK, WARNING, CRITICAL, UNKNOWN (or 0-3))",
        ),
        (json!([1, 2]), "the request body: expected a JSON object, found an array"),
    ];
    for (body, expected) in cases {
        let a = api.call(&d, "POST", "/api/v1/results", Some(CI), Some(body)).await;
        assert_eq!((a.status, error(&a)), (400, expected));
    }
    let a = api.call(&d, "POST", "/api/v1/recheck", Some(CI), Some(json!({"host": "web1", "service": 3}))).await;
    assert_eq!(
        (a.status, error(&a)),
        (400, "field 'service': expected a service name, or null for the host (a string), found 3")
    );
    let a = api
        .call(&d, "POST", "/api/v1/results", Some(CI), Some(json!({"host": "web1", "service": "Nope", "state": "OK"})))
        .await;
    assert_eq!((a.status, error(&a)), (404, "no such object: host 'web1', service 'Nope'"));

    let raw = |content_type: &'static str, body: Vec<u8>| {
        api.http.post(d.url("/api/v1/results")).bearer_auth(CI).header("content-type", content_type).body(body)
    };
    let a = api.send("POST", "/api/v1/results", raw("application/json", b"{\"host\": \"web1\",".to_vec())).await;
    assert_eq!(a.status, 400);
    assert!(error(&a).starts_with("the request body is not valid JSON: EOF while parsing"), "{}", error(&a));
    let a = api.send("POST", "/api/v1/results", raw("text/plain", b"{}".to_vec())).await;
    assert_eq!((a.status, error(&a)), (415, "header 'Content-Type': expected application/json, found 'text/plain'"));
    let a =
        api.send("POST", "/api/v1/results", api.http.post(d.url("/api/v1/results")).bearer_auth(CI).body("{}")).await;
    assert_eq!((a.status, error(&a)), (415, "header 'Content-Type': missing (expected application/json)"));
    // Oversized: declared, and streamed without a length.
    let big = format!("{{\"host\": \"web1\", \"state\": \"UP\", \"output\": \"{}\"}}", "x".repeat(5000));
    let a = api.send("POST", "/api/v1/results", raw("application/json", big.clone().into_bytes())).await;
    assert_eq!(
        (a.status, error(&a)),
        (413, "request body too large: the limit is 4 KiB (4096 bytes) ([api] max_body)")
    );
    let (status, answer) = chunked(&d, "/api/v1/results", CI, big.as_bytes());
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains("the limit is 4 KiB"), "{answer}");

    // Not in the description: the router's own 404 and 405, as JSON.
    let a = api.call(&d, "GET", "/api/v1/nothing-here", Some(DASH), None).await;
    assert_eq!(
        (a.status, error(&a)),
        (404, "no such endpoint: GET /api/v1/nothing-here (see GET /api/v1/openapi.json)")
    );
    let a = api.call(&d, "DELETE", "/api/v1/status", Some(CI), None).await;
    assert_eq!((a.status, error(&a)), (405, "method DELETE is not allowed on /api/v1/status (allowed: GET)"));

    // Every documented operation is served (neither the no-route 404 nor 405).
    for (method, template) in api.doc.operations() {
        let path = template.replace("{host}", "web1").replace("{service}", "Disk");
        let mut req = api.http.request(method.parse().unwrap(), d.url(&path)).bearer_auth(CI);
        if method != "GET" {
            req = req.json(&json!({}));
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        if path == "/api/v1/events" {
            assert_eq!(status, 200);
            assert_eq!(r.headers()["content-type"], "text/event-stream");
            continue;
        }
        let body: Value = r.json().await.unwrap();
        println!("{method} {path} -> {status} {body}");
        assert_ne!(status, 405, "{method} {template} is served");
        assert!(!body["error"].as_str().unwrap_or("").starts_with("no such endpoint"), "{method} {template} is served");
    }
    assert_eq!(d.log().iter().filter(|l| l.contains("panicked")).count(), 0);
}

/// POSTs `body` with chunked transfer encoding (no length declared) on a
/// raw connection; the status and the whole answer.
fn chunked(d: &Daemon, path: &str, token: &str, body: &[u8]) -> (u16, String) {
    use std::io::Read;
    let mut conn = std::net::TcpStream::connect(d.base().trim_start_matches("http://")).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).unwrap();
    for chunk in body.chunks(1000) {
        // The server may answer and close before it has read everything.
        if conn
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .and_then(|()| conn.write_all(chunk))
            .and_then(|()| conn.write_all(b"\r\n"))
            .is_err()
        {
            break;
        }
    }
    let _ = conn.write_all(b"0\r\n\r\n");
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer)
}

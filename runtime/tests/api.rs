//! The HTTP API of a real `wasmon run` on loopback, and `wasmon submit`
//! against it. Every JSON answer is checked against the OpenAPI
//! description the server itself serves.

#[path = "api/reload.rs"]
mod reload;
mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use support::openapi::Doc;
use support::{Daemon, Webhooks};

const CI: &str = "ci-token-0123456789";
const DASH: &str = "dash-token-0123456789";

/// A `wasmon run` with `objects` (hosts and services) and an API on a free
/// loopback port with the tokens `ci` (read, write) and `dash` (read), body
/// limit 4 KiB; `run_args` are more arguments for `wasmon run`. Returns
/// when the API listens.
fn start(name: &str, objects: &str, run_args: &[&str]) -> Daemon {
    let config = format!(
        "[engine]\nstate_file = \"state.db\"\n\n{objects}\n\
         [api]\nlisten = \"127.0.0.1:0\"\nmax_body = \"4KiB\"\n\n\
         [[api.token]]\nname = \"ci\"\ntoken = \"{CI}\"\nscopes = [\"read\", \"write\"]\n\n\
         [[api.token]]\nname = \"dash\"\ntoken_env = \"WASMON_TEST_DASH_TOKEN\"\nscopes = [\"read\"]\n"
    );
    let args: Vec<&str> = ["-v"].iter().chain(run_args).copied().collect();
    let d = Daemon::with_config(&format!("api-{name}"), &config, &args, &[("WASMON_TEST_DASH_TOKEN", DASH)]);
    d.base();
    d
}

const OBJECTS: &str = "[defaults]\ncheck_interval = \"1h\"\nretry_interval = \"1h\"\nmax_check_attempts = 1\n\n\
    [[host]]\nname = \"web1\"\naddress = \"127.0.0.1\"\ncheck = \"dummy\"\nparams = { state = \"OK\", text = \"pings\" }\n\n\
    [[host]]\nname = \"nocheck\"\n\n\
    [[service]]\nhost = \"nocheck\"\nname = \"Only\"\ncheck = \"dummy\"\n\n\
    [[service]]\nhost = \"web1\"\nname = \"Passive\"\ncheck = \"dummy\"\nparams = { state = \"OK\", text = \"active says fine\" }\n\n\
    [[service]]\nhost = \"web1\"\nname = \"Disk\"\ncheck = \"dummy\"\nparams = { state = \"WARNING\", text = \"Disk nearly full\" }\n";

/// A client that checks every JSON answer against the description.
struct Api {
    http: reqwest::Client,
    doc: Doc,
}

/// An answer: status, headers, JSON body (null if none).
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Api {
    async fn new(d: &Daemon) -> Api {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        let doc = http.get(d.url("/api/v1/openapi.json")).bearer_auth(DASH).send().await.unwrap();
        assert_eq!(doc.status(), 200);
        assert_eq!(doc.headers()["content-type"], "application/json");
        let doc = Doc::parse(&doc.text().await.unwrap());
        Api { http, doc }
    }

    async fn call(&self, d: &Daemon, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut req = self.http.request(method.parse().unwrap(), d.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(method, path, req).await
    }

    async fn send(&self, method: &str, path: &str, req: reqwest::RequestBuilder) -> Answer {
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        if status == 204 {
            assert!(text.is_empty(), "{method} {path} -> 204 with a body: {text}");
            assert!(
                self.doc.0["paths"][self.doc.template_for(path).unwrap()][method.to_lowercase()]["responses"]["204"]
                    .is_object()
            );
            return Answer { status, headers, body: Value::Null };
        }
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path} -> {status}: not JSON ({e}): {text}"));
        println!("{method} {path} -> {status} {body}");
        // Statuses the router itself gives to what is not in the
        // description (404 of no route, 405) are not in it.
        if self.doc.template_for(path).is_some() && status != 405 {
            self.doc.check_response(method, path, status, &body).unwrap();
        }
        Answer { status, headers, body }
    }
}

fn error(a: &Answer) -> &str {
    a.body["error"].as_str().unwrap_or_else(|| panic!("an error body: {}", a.body))
}

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

/// Reads server-sent events until one of `kind` whose data `matches`.
async fn next_event(
    stream: &mut reqwest::Response,
    buffer: &mut String,
    kind: &str,
    matches: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let message: String = buffer.drain(..end + 2).collect();
            let mut event = None;
            let mut data = String::new();
            for line in message.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = Some(e.to_string());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            if event.as_deref() == Some(kind) {
                let value: Value = serde_json::from_str(&data).unwrap();
                assert_eq!(value["kind"], kind, "event: is the kind");
                if matches(&value) {
                    return value;
                }
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {kind} event in 30 s; got {buffer}"));
        let chunk = chunk.unwrap().expect("the stream goes on");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

fn submit(d: &Daemon, token: Option<&str>, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmon"));
    cmd.arg("submit").arg("--url").arg(d.base()).args(args).env_remove("WASMON_API_TOKEN");
    if let Some(t) = token {
        cmd.env("WASMON_API_TOKEN", t);
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    println!(
        "wasmon submit {}\nexit {:?}\nstdout: {}\nstderr: {}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

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

/// The limits that hold before authentication (issue 16): headers within
/// `header_timeout` or the connection is closed, `requests_per_second` per
/// token (429 with `Retry-After`), at most `max_connections` connections
/// (the next waits until one closes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_limits_hold_before_authentication() {
    use std::io::{Read, Write as _};
    let config = format!(
        "{OBJECTS}\n[api]\nlisten = \"127.0.0.1:0\"\nmax_connections = 3\nheader_timeout = \"1s\"\n\
         requests_per_second = 2\n\n\
         [[api.token]]\nname = \"ci\"\ntoken = \"{CI}\"\nscopes = [\"read\", \"write\"]\n\n\
         [[api.token]]\nname = \"dash\"\ntoken = \"{DASH}\"\nscopes = [\"read\"]\n"
    );
    let d = Daemon::with_config("api-limits", &config, &["-v"], &[]);
    let address = d.base().trim_start_matches("http://").to_string();

    // Headers never finished: the server closes the connection.
    let mut slow = std::net::TcpStream::connect(&address).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    slow.write_all(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut rest = Vec::new();
    slow.read_to_end(&mut rest).expect("closed by the server, not by the read timeout");

    // A token's rate: a burst of twice the rate, then 429.
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = http.get(d.url("/api/v1/status")).bearer_auth(DASH).send().await.unwrap();
        if r.status() == 429 {
            assert!(r.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
            let body: Value = r.json().await.unwrap();
            assert!(body["error"].as_str().unwrap().contains("token 'dash' is over its limit"), "{body}");
            Doc::parse(wasmon_runtime::api::OPENAPI).check_response("GET", "/api/v1/status", 429, &body).unwrap();
            statuses.push(429);
        } else {
            statuses.push(r.status().as_u16());
        }
    }
    assert_eq!(statuses[..4], [200; 4], "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");

    // Three event streams take every connection: a fourth is not served
    // until one of them closes.
    let mut streams = Vec::new();
    for _ in 0..3 {
        let client = reqwest::Client::new();
        let mut s = client.get(d.url("/api/v1/events")).bearer_auth(CI).send().await.unwrap();
        assert_eq!(s.status(), 200);
        s.chunk().await.unwrap();
        streams.push((client, s));
    }
    let waiting = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    let refused = waiting.get(d.url("/api/v1/status")).bearer_auth(CI).send().await;
    assert!(refused.is_err_and(|e| e.is_timeout()), "a fourth connection is not served");
    streams.pop();
    let patient = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let r = patient.get(d.url("/api/v1/status")).bearer_auth(CI).send().await.unwrap();
    assert_eq!(r.status(), 200, "served once a connection closed");
}

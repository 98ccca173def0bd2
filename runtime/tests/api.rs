//! The HTTP API of a real `wasmon run` on loopback, and `wasmon submit`
//! against it. Every JSON answer is checked against the OpenAPI
//! description the server itself serves.

#[path = "api/events.rs"]
mod events;
#[path = "api/limits.rs"]
mod limits;
#[path = "api/reload.rs"]
mod reload;
#[path = "api/requests.rs"]
mod requests;
mod support;
#[path = "api/suppression.rs"]
mod suppression;

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

//! What the sink tests share: the servers they start (VictoriaMetrics,
//! and any process killed when dropped), an OTLP receiver, series
//! queries, the configuration and the awkward perfdata.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prost::Message;
use serde_json::Value;

use crate::support::{Daemon, wait_for};

pub(super) const TOKEN: &str = "sinks-test-token";

/// Under `CI=true` a missing server fails the test; elsewhere it skips.
pub(super) fn require(tool: &str) -> bool {
    if Path::new(tool).exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{tool} is missing; tests/run installs it");
    }
    eprintln!("skipping: {tool} is not installed (tests/run installs it)");
    false
}

pub(super) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A server process, killed when dropped.
pub(super) struct Server(pub(super) Option<Child>);

impl Server {
    pub(super) fn start(program: &str, args: &[String], log: &Path) -> Server {
        let log = std::fs::File::create(log).unwrap();
        let child = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {program}: {e}"));
        Server(Some(child))
    }

    pub(super) fn stop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// VictoriaMetrics with its HTTP (Influx `/write`, export), Graphite and
/// OpenTSDB HTTP ports.
pub(super) struct Victoria {
    pub(super) server: Server,
    pub(super) dir: PathBuf,
    pub(super) http: u16,
    pub(super) graphite: u16,
    pub(super) opentsdb: u16,
}

impl Victoria {
    pub(super) fn start(dir: &Path) -> Victoria {
        let (http, graphite, opentsdb) = (free_port(), free_port(), free_port());
        let mut v = Victoria { server: Server(None), dir: dir.to_path_buf(), http, graphite, opentsdb };
        v.restart();
        v
    }

    pub(super) fn restart(&mut self) {
        let args = [
            format!("-storageDataPath={}", self.dir.join("vm").display()),
            format!("-httpListenAddr=127.0.0.1:{}", self.http),
            format!("-graphiteListenAddr=127.0.0.1:{}", self.graphite),
            format!("-opentsdbHTTPListenAddr=127.0.0.1:{}", self.opentsdb),
            "-search.latencyOffset=0s".into(),
            "-retentionPeriod=100y".into(),
            "-loggerLevel=ERROR".into(),
        ];
        self.server = Server::start("/usr/bin/victoria-metrics", &args, &self.dir.join("vm.log"));
        let url = format!("http://127.0.0.1:{}/health", self.http);
        wait_for("victoria-metrics to answer", Duration::from_secs(30), || {
            std::process::Command::new("curl").args(["-sf", &url]).output().is_ok_and(|o| o.status.success())
        });
    }

    /// Every series matching `selector`, as `/api/v1/export` gives them,
    /// once there are at least `min` (new series take a moment to be
    /// searchable).
    pub(super) async fn export(&self, selector: &str, min: usize) -> Vec<Value> {
        let base = format!("http://127.0.0.1:{}", self.http);
        let client = reqwest::Client::new();
        let mut series = Vec::new();
        for _ in 0..300 {
            client.get(format!("{base}/internal/force_flush")).send().await.unwrap();
            let text = client
                .post(format!("{base}/api/v1/export"))
                .form(&[("match[]", selector)])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            series = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            if series.len() >= min {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        series
    }
}

/// The values of the one series named `name` with the labels `labels`.
pub(super) fn values(series: &[Value], name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    let found: Vec<&Value> = series
        .iter()
        .filter(|s| s["metric"]["__name__"] == name && labels.iter().all(|(k, v)| s["metric"][*k] == *v))
        .collect();
    assert_eq!(found.len(), 1, "one series {name} {labels:?} among:\n{}", dump(series));
    found[0]["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
}

pub(super) fn dump(series: &[Value]) -> String {
    series.iter().map(|s| s["metric"].to_string()).collect::<Vec<_>>().join("\n")
}

pub(super) async fn api(d: &Daemon, method: &str, path: &str, body: Option<Value>) -> Value {
    let client = reqwest::Client::new();
    let mut req = client.request(method.parse().unwrap(), d.url(path)).bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let v: Value = resp.json().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {v}");
    v
}

pub(super) async fn sink(d: &Daemon, name: &str) -> Value {
    let all = api(d, "GET", "/api/v1/sinks", None).await;
    all["sinks"].as_array().unwrap().iter().find(|s| s["name"] == name).cloned().expect("the sink")
}

/// Polls the sink `name` until `done` holds (up to 60 s).
pub(super) async fn wait_sink(d: &Daemon, name: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..600 {
        let s = sink(d, name).await;
        if done(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for sink {name}: {what}; it is {}", sink(d, name).await);
}

pub(super) fn config(dir: &Path, sinks: &str) -> PathBuf {
    let file = dir.join("wasmon.toml");
    std::fs::write(
        &file,
        format!(
            "[api]\nlisten = \"127.0.0.1:0\"\n[[api.token]]\nname = \"t\"\ntoken = \"{TOKEN}\"\nscopes = [\"read\", \"write\"]\n\n\
             [[host]]\nname = \"web1\"\n\n\
             [[service]]\nhost = \"web1\"\nname = \"Disk C:\"\nactive_checks = false\n\n{sinks}"
        ),
    )
    .unwrap();
    file
}

/// A plugin output whose perfdata has every awkward label perfdata can
/// write, a `U`, units known and unknown.
pub(super) const AWKWARD: &str = "OK - disks | 'C:\\'=1.5GB;1;2;0 'with space'=1 'comma,here'=2 'equals=sign'=3 \
                       '\"quoted\"'=4 'it''s'=5 a.b=6 c:d=7 Größe=8ms power=U last=9KB";

/// An OTLP/HTTP receiver: every request body decoded.
pub(super) async fn otlp_receiver() -> (u16, Arc<Mutex<Vec<ExportMetricsServiceRequest>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/v1/metrics",
        axum::routing::post(move |body: axum::body::Bytes| {
            let keep = keep.clone();
            async move {
                match ExportMetricsServiceRequest::decode(body.as_ref()) {
                    Ok(req) => {
                        keep.lock().unwrap().push(req);
                        axum::http::StatusCode::OK
                    }
                    Err(_) => axum::http::StatusCode::BAD_REQUEST,
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, got)
}

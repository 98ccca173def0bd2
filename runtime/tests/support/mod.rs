//! Helpers shared by the integration tests: a `wasmon run` daemon, a
//! webhook receiver and waiting for a condition.

// Each test crate uses a part of them.
#![allow(dead_code)]

pub mod openapi;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The folder of compiled modules the tests share.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmon-cli-cache")
}

/// An empty folder `NAME-PID` in the tests' temporary folder (emptied if
/// it exists).
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `wasmon` binary the tests start: this build's, or the one
/// `WASMON_TEST_BIN` names (a release build, for the chaos test at full
/// scale: see the README).
pub fn wasmon_bin() -> PathBuf {
    std::env::var_os("WASMON_TEST_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_wasmon")), PathBuf::from)
}

/// Polls `done` until it holds; panics naming `what` after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `wasmon run` with its log (stderr) on a pipe, read line by line. It
/// is killed when dropped; a panicking test prints its log.
pub struct Daemon {
    child: Option<Child>,
    log: Arc<Mutex<Vec<String>>>,
    dir: PathBuf,
    base: OnceLock<String>,
}

impl Daemon {
    /// Writes `config` to `wasmon.toml` in a fresh [`temp_dir`] `name` and
    /// starts `wasmon run` on it, as [`Daemon::start`] does.
    pub fn with_config(name: &str, config: &str, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let file = temp_dir(name).join("wasmon.toml");
        std::fs::write(&file, config).unwrap();
        Daemon::start(&file, args, env)
    }

    /// Starts `wasmon run --config CONFIG ARGS...` with the shared module
    /// cache, no RUST_LOG and the variables `env`. Returns at once: wait
    /// for a log line ([`Daemon::wait_for`]) or for the API
    /// ([`Daemon::base`]) to know it is up.
    pub fn start(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let mut child = Command::new(wasmon_bin())
            .args(["run", "--config", config.to_str().unwrap()])
            .args(args)
            .env("WASMON_CACHE_DIR", cache_dir())
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start wasmon run");
        let log = Arc::new(Mutex::new(Vec::new()));
        let pipe = BufReader::new(child.stderr.take().unwrap());
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in pipe.lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let dir = config.parent().unwrap_or(Path::new(".")).to_path_buf();
        Daemon { child: Some(child), log, dir, base: OnceLock::new() }
    }

    /// The folder of its configuration file.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The lines it has logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// How many lines it has logged so far (a mark for [`Daemon::wait_for`]).
    pub fn lines(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// Whether a line after the first `from` contains `part`.
    pub fn has(&self, from: usize, part: &str) -> bool {
        self.log.lock().unwrap().iter().skip(from).any(|l| l.contains(part))
    }

    /// Waits up to 20 s for a line after the first `from` that has every
    /// one of `parts`; returns it.
    pub fn wait_for(&self, from: usize, parts: &[&str]) -> String {
        self.wait_for_within(from, parts, Duration::from_secs(20))
    }

    /// [`Daemon::wait_for`] with a time limit of its own.
    pub fn wait_for_within(&self, from: usize, parts: &[&str], limit: Duration) -> String {
        let find = || self.log.lock().unwrap().iter().skip(from).find(|l| parts.iter().all(|p| l.contains(p))).cloned();
        let mut line = None;
        wait_for(&format!("a log line with {parts:?}"), limit, || {
            line = find();
            line.is_some()
        });
        line.unwrap()
    }

    /// The API's address, `http://IP:PORT`, from its `API listening` log
    /// line (it needs `-v`); waits up to 60 s for it.
    pub fn base(&self) -> &str {
        self.base.get_or_init(|| {
            let line = self.wait_for_within(0, &["API listening", "address="], Duration::from_secs(60));
            let address = line.split("address=").nth(1).and_then(|a| a.split_whitespace().next()).unwrap_or_default();
            format!("http://{address}")
        })
    }

    /// The API's URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// Sends it the signal `name` (`TERM`, `HUP`, ...).
    pub fn signal(&self, name: &str) {
        let child = self.child.as_ref().expect("wasmon run was stopped");
        let status = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// SIGTERM, and waits for it to exit; its exit code.
    pub fn stop(&mut self) -> Option<i32> {
        self.signal("TERM");
        self.child.take()?.wait().unwrap().code()
    }

    /// SIGKILL, and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!("wasmon run's log:\n{}", self.log.lock().unwrap().join("\n"));
        }
    }
}

/// A webhook receiver on loopback: it answers every request 204 and keeps
/// the bodies POSTed to it.
pub struct Webhooks {
    port: u16,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Webhooks {
    pub fn start() -> Webhooks {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                // Headers, then as many body bytes as Content-Length says.
                // A connection cut before its headers ended (a sender
                // killed mid-request) is no request.
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut length = 0;
                let mut headers_ended = false;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if line == "\r\n" {
                        headers_ended = true;
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if headers_ended && reader.read_exact(&mut body).is_ok() {
                    seen.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
                }
                let _ = conn.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
        });
        Webhooks { port, bodies }
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many bodies it has received.
    pub fn count(&self) -> usize {
        self.bodies.lock().unwrap().len()
    }

    /// The bodies received so far, each parsed as JSON (a string if it is
    /// not JSON).
    pub fn json(&self) -> Vec<Value> {
        let bodies = self.bodies.lock().unwrap();
        bodies.iter().map(|b| serde_json::from_str(b).unwrap_or_else(|_| Value::String(b.clone()))).collect()
    }

    /// Waits up to `limit` for `n` bodies; the bodies, as [`Webhooks::json`].
    pub fn wait(&self, n: usize, limit: Duration) -> Vec<Value> {
        wait_for(&format!("{n} webhook calls"), limit, || self.count() >= n);
        self.json()
    }
}

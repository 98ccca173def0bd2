//! What travels on the broker: batches of jobs and of results, and
//! heartbeats, as JSON.

use serde::{Deserialize, Serialize};

use crate::sandbox::module::{CheckCall, CheckRun};

/// Which run of which object a job or result is: the idempotency key. A
/// key is applied at most once.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Key {
    /// The host.
    pub host: String,
    /// The service, or null for the host check.
    pub service: Option<String>,
    /// When the run was due, in milliseconds since the UNIX epoch (the
    /// scheduler's clock).
    pub scheduled: u64,
    /// The object's check attempt when the run was handed out.
    pub attempt: u32,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.service {
            Some(s) => write!(f, "{}/{s}@{}#{}", self.host, self.scheduled, self.attempt),
            None => write!(f, "{}@{}#{}", self.host, self.scheduled, self.attempt),
        }
    }
}

/// One check for a worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Job {
    pub key: Key,
    /// The module's name (a standard check's or a path), for messages and
    /// a plugin's `argv[0]`.
    pub module: String,
    /// The sha256 of the module, in hex: what the worker runs.
    pub digest: String,
    pub call: CheckCall,
}

/// A batch of jobs of one zone (one message).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct JobBatch {
    /// When the scheduler gives the batch up (seconds since the UNIX
    /// epoch): a worker that takes it later drops it unrun.
    pub expires: f64,
    /// The scheduler that handed the batch out: its results go on
    /// `<name>.results.<reply>` (absent: `<name>.results`).
    #[serde(default)]
    pub reply: Option<String>,
    pub jobs: Vec<Job>,
}

/// One finished job.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct JobResult {
    pub key: Key,
    pub run: CheckRun,
}

/// A batch of results (one message).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ResultBatch {
    /// The worker that ran them.
    pub worker: String,
    pub zone: String,
    pub results: Vec<JobResult>,
}

/// A worker's heartbeat.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Heartbeat {
    /// The worker's id (host name and process id).
    pub worker: String,
    pub zone: String,
    /// wasmon's version.
    pub version: String,
    /// Checks finished per second over the last interval.
    pub checks_per_second: f64,
    /// Its concurrency.
    pub concurrency: usize,
    /// Seconds between heartbeats: three missed make it lost.
    pub interval: f64,
}

/// Cuts `items` into JSON messages of at most `max` items and
/// [`super::MAX_PAYLOAD`] bytes: `head` (an object without its closing
/// brace, e.g. `{"expires":1.0,"jobs":[`) then the items, then `]}`. An
/// item too large on its own is returned as an error with its index.
pub(crate) fn batches<T: Serialize>(head: &str, items: &[T], max: usize) -> Vec<Result<Vec<u8>, usize>> {
    let mut out = Vec::new();
    let mut message = Vec::new();
    let mut count = 0;
    let close = |mut m: Vec<u8>| {
        m.extend_from_slice(b"]}");
        m
    };
    for (i, item) in items.iter().enumerate() {
        let json = serde_json::to_vec(item).expect("jobs and results serialize");
        if head.len() + json.len() + 2 > super::MAX_PAYLOAD {
            out.push(Err(i));
            continue;
        }
        if count > 0 && (count == max || message.len() + 1 + json.len() + 2 > super::MAX_PAYLOAD) {
            out.push(Ok(close(std::mem::take(&mut message))));
            count = 0;
        }
        if count == 0 {
            message.extend_from_slice(head.as_bytes());
        } else {
            message.push(b',');
        }
        message.extend_from_slice(&json);
        count += 1;
    }
    if count > 0 {
        out.push(Ok(close(message)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_keep_the_count_and_the_size_and_parse_back() {
        let items: Vec<String> = (0..1000).map(|i| format!("item {i}")).collect();
        let messages = batches(r#"{"items":["#, &items, 300);
        assert_eq!(messages.len(), 4);
        let mut back = Vec::new();
        for m in messages {
            let v: serde_json::Value = serde_json::from_slice(&m.unwrap()).unwrap();
            back.extend(v["items"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()));
        }
        assert_eq!(back, items);
        // Large items: cut by size, not count.
        let big: Vec<String> = (0..5).map(|_| "x".repeat(400 * 1024)).collect();
        let messages = batches(r#"{"items":["#, &big, 300);
        assert_eq!(messages.len(), 3);
        assert!(messages.iter().all(|m| m.as_ref().unwrap().len() <= crate::cluster::MAX_PAYLOAD));
        let huge = vec!["x".repeat(2 * 1024 * 1024)];
        assert_eq!(batches(r#"{"items":["#, &huge, 300), vec![Err(0)]);
    }
}

//! One pushing sink's thread: takes results from its [`Queue`], encodes
//! their points, sends them in batches, and spools what cannot be sent.
//!
//! Order is kept: while the spool holds anything, new points go to its end
//! and batches are sent from its head; only with an empty spool do points
//! go straight from memory. A send that fails (no connection, a timeout, a
//! 408, 429 or 5xx) moves its batch to the spool and waits before the next
//! try: 250 ms doubling up to `retry_max`, each wait drawn between half
//! and all of it (jitter), or what `Retry-After` says. Any other 4xx
//! rejects the batch: its points are counted as rejected, the first is
//! logged, and they are not sent again.

use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::queue::Queue;
use super::spool::{Record, Spool};
use super::{Counters, Point, Selection, sink_error};
use crate::config::model::{Sink as SinkConfig, SinkTarget};
use crate::error::Error;

/// The first wait after a failed send.
const FIRST_RETRY: Duration = Duration::from_millis(250);

/// How a format turns points into records and records into a request body.
pub(crate) trait Format: Send {
    /// Appends the record of one point; nothing if the format cannot hold
    /// it (an unknown value where the format has no way to say so).
    fn encode(&self, p: &Point, out: &mut Vec<Record>);

    /// One request's body from records, in order.
    fn body(&self, records: &[Record]) -> Vec<u8> {
        records.concat()
    }
}

/// Why a send failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Try again later (after `retry_after` if the server said).
    Transient { message: String, retry_after: Option<Duration> },
    /// The server refused the batch: do not send it again.
    Rejected(String),
}

/// Where batches go.
pub(crate) enum Transport {
    Http { client: reqwest::Client, url: String, content_type: &'static str, gzip: bool, token: Option<String> },
    Tcp { address: String, timeout: Duration, conn: Option<TcpStream> },
}

impl Transport {
    fn send(&mut self, rt: &tokio::runtime::Runtime, body: Vec<u8>) -> Result<(), Failure> {
        match self {
            Transport::Http { client, url, content_type, gzip, token } => {
                let mut req = client.post(url.as_str()).header(reqwest::header::CONTENT_TYPE, *content_type);
                if let Some(t) = token {
                    req = req.header(reqwest::header::AUTHORIZATION, format!("Token {t}"));
                }
                let body = if *gzip {
                    req = req.header(reqwest::header::CONTENT_ENCODING, "gzip");
                    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    e.write_all(&body)
                        .and_then(|()| e.finish())
                        .map_err(|e| Failure::Transient { message: format!("gzip: {e}"), retry_after: None })?
                } else {
                    body
                };
                rt.block_on(async {
                    let resp = req.body(body).send().await.map_err(|e| Failure::Transient {
                        message: format!("POST {url}: {}", error_chain(&e)),
                        retry_after: None,
                    })?;
                    let status = resp.status();
                    if status.is_success() {
                        return Ok(());
                    }
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(retry_after);
                    let text = resp.text().await.unwrap_or_default();
                    let message =
                        format!("POST {url}: {status}: {}", text.trim().chars().take(500).collect::<String>());
                    let code = status.as_u16();
                    if status.is_client_error() && code != 408 && code != 429 {
                        Err(Failure::Rejected(message))
                    } else {
                        Err(Failure::Transient { message, retry_after })
                    }
                })
            }
            Transport::Tcp { address, timeout, conn } => {
                // A connection the server has closed is seen before writing
                // to it, not after the points went into the void.
                if let Some(c) = conn.as_mut()
                    && !alive(c)
                {
                    *conn = None;
                }
                let result = (|| -> std::io::Result<()> {
                    if conn.is_none() {
                        let addr = std::net::ToSocketAddrs::to_socket_addrs(address.as_str())?
                            .next()
                            .ok_or_else(|| std::io::Error::other("the name has no address"))?;
                        let c = TcpStream::connect_timeout(&addr, *timeout)?;
                        c.set_write_timeout(Some(*timeout))?;
                        *conn = Some(c);
                    }
                    let c = conn.as_mut().expect("connected");
                    c.write_all(&body)?;
                    c.flush()
                })();
                result.map_err(|e| {
                    *conn = None;
                    Failure::Transient { message: format!("{address}: {e}"), retry_after: None }
                })
            }
        }
    }
}

/// Whether the peer has not closed the connection (nothing to read, no EOF).
fn alive(c: &mut TcpStream) -> bool {
    if c.set_nonblocking(true).is_err() {
        return false;
    }
    let mut buf = [0u8; 256];
    let ok = loop {
        match c.read(&mut buf) {
            Ok(0) => break false,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break true,
            Err(_) => break false,
        }
    };
    ok && c.set_nonblocking(false).is_ok()
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(v: &str) -> Option<Duration> {
    if let Ok(s) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let when = httpdate::parse_http_date(v.trim()).ok()?;
    Some(when.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// A wait between `d / 2` and `d`.
fn jitter(d: Duration) -> Duration {
    let mut h = std::hash::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    let half = d / 2;
    half + Duration::from_nanos(h.finish() % (half.as_nanos() as u64 + 1))
}

/// The format and transport of a pushing sink.
fn format_and_transport(c: &SinkConfig) -> Result<(Box<dyn Format>, Transport), Error> {
    let client = || {
        reqwest::Client::builder()
            .timeout(c.timeout)
            .build()
            .map_err(|e| sink_error(&c.name, "cannot build its HTTP client".into(), e))
    };
    let http = |url: String, content_type, gzip, token| -> Result<Transport, Error> {
        Ok(Transport::Http { client: client()?, url, content_type, gzip, token })
    };
    let tcp = |address: String| Transport::Tcp { address, timeout: c.timeout, conn: None };
    let (format, transport): (Box<dyn Format>, Transport) = match &c.target {
        SinkTarget::Influx { url, token } => {
            let token = token.as_ref().map(|t| t.expose().to_string());
            (
                Box::new(super::influx::Influx::for_url(url)),
                http(url.clone(), "text/plain; charset=utf-8", false, token)?,
            )
        }
        SinkTarget::Graphite { address, prefix } => {
            (Box::new(super::graphite::Graphite { prefix: prefix.clone() }), tcp(address.clone()))
        }
        SinkTarget::OpenTsdb { url, denormalize } => {
            let rules = denormalize.iter().filter_map(|r| super::opentsdb::Denormal::parse(r).ok()).collect();
            match url.strip_prefix("telnet://") {
                Some(rest) => {
                    let address = rest.trim_end_matches('/').to_string();
                    (Box::new(super::opentsdb::OpenTsdb { telnet: true, denormalize: rules }), tcp(address))
                }
                None => {
                    let trimmed = url.trim_end_matches('/');
                    let path = reqwest::Url::parse(url).map(|u| u.path().to_string()).unwrap_or_default();
                    let put = if path.is_empty() || path == "/" { format!("{trimmed}/api/put") } else { url.clone() };
                    let format = super::opentsdb::OpenTsdb { telnet: false, denormalize: rules };
                    (Box::new(format), http(put, "application/json", true, None)?)
                }
            }
        }
        SinkTarget::Otlp { url } => {
            (Box::new(super::otlp::Otlp), http(url.clone(), "application/x-protobuf", false, None)?)
        }
        SinkTarget::Prometheus { .. } => unreachable!("a Prometheus sink is scraped, not pushed"),
    };
    Ok((format, transport))
}

/// Starts the thread of a pushing sink.
pub(crate) fn start(
    c: &SinkConfig,
    spool: Option<PathBuf>,
    queue: Arc<Queue>,
    counters: Arc<Counters>,
) -> Result<std::thread::JoinHandle<()>, Error> {
    let (format, transport) = format_and_transport(c)?;
    let spool = Spool::open(spool.as_deref(), &c.name).map_err(|e| {
        let file = spool.as_deref().map(|p| p.display().to_string()).unwrap_or_default();
        sink_error(&c.name, format!("cannot open its spool {file}"), e)
    })?;
    counters.spooled.store(spool.len() as u64, Ordering::Relaxed);
    if !spool.is_empty() {
        tracing::info!(sink = %c.name, points = spool.len(), "sink: sending the spooled points first");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| sink_error(&c.name, "cannot start its runtime".into(), e))?;
    let runner = Runner {
        name: c.name.clone(),
        selection: Selection::of(c),
        format,
        transport,
        queue,
        spool,
        counters,
        rt,
        batch: c.batch.max(1),
        cap: c.spool_points,
        flush_interval: c.flush_interval,
        timeout: c.timeout,
        retry_max: c.retry_max.max(FIRST_RETRY),
        pending: Vec::new(),
        backoff: FIRST_RETRY,
        retry_at: None,
    };
    std::thread::Builder::new()
        .name(format!("wasmon-sink-{}", c.name))
        .spawn(move || runner.run())
        .map_err(|e| sink_error(&c.name, "cannot start its thread".into(), e))
}

struct Runner {
    name: String,
    selection: Selection,
    format: Box<dyn Format>,
    transport: Transport,
    queue: Arc<Queue>,
    spool: Spool,
    counters: Arc<Counters>,
    rt: tokio::runtime::Runtime,
    batch: usize,
    cap: usize,
    flush_interval: Duration,
    timeout: Duration,
    retry_max: Duration,
    /// Encoded, not sent yet, nothing in the spool before them.
    pending: Vec<Record>,
    backoff: Duration,
    retry_at: Option<Instant>,
}

impl Runner {
    fn run(mut self) {
        let mut points = Vec::new();
        let mut records = Vec::new();
        loop {
            // The queue hands over a batch's worth at once, or what came
            // within the flush interval: either way it is sent now.
            let wait = if self.spool.is_empty() {
                self.flush_interval
            } else {
                self.retry_at.map_or(Duration::ZERO, |t| t.saturating_duration_since(Instant::now()))
            };
            let taken = self.queue.take(wait);
            let closing = taken.is_none();
            for r in taken.unwrap_or_default() {
                self.selection.points(&r, &mut points);
                for p in points.drain(..) {
                    self.format.encode(&p, &mut records);
                }
            }
            if !records.is_empty() {
                if self.spool.is_empty() {
                    self.pending.append(&mut records);
                } else {
                    let r = std::mem::take(&mut records);
                    self.spool(r);
                }
            }
            if closing {
                self.stop();
                return;
            }
            if !self.pending.is_empty() {
                self.send_pending();
            }
            if !self.spool.is_empty() && self.retry_at.is_none_or(|t| Instant::now() >= t) {
                self.send_spooled();
            }
        }
    }

    /// Sends what is in memory, batch by batch; on a failure the rest goes
    /// to the spool.
    fn send_pending(&mut self) {
        let mut pending = std::mem::take(&mut self.pending);
        while !pending.is_empty() {
            let n = pending.len().min(self.batch);
            match self.send(&pending[..n]) {
                Ok(()) => {
                    pending.drain(..n);
                }
                Err(()) => {
                    self.spool(pending);
                    return;
                }
            }
        }
    }

    /// Sends one batch from the head of the spool.
    fn send_spooled(&mut self) {
        let batch = match self.spool.peek(self.batch) {
            Ok(b) => b,
            Err(e) => return self.spool_failed(e),
        };
        if self.send(&batch).is_ok() {
            if let Err(e) = self.spool.pop(batch.len()) {
                self.spool_failed(e);
            }
            self.counters.spooled.store(self.spool.len() as u64, Ordering::Relaxed);
            if self.spool.is_empty() {
                tracing::info!(sink = %self.name, "sink: the spool is sent");
            }
        }
    }

    /// Sends `batch`: Ok if it is done with (sent, or rejected and
    /// counted), Err if it must be tried again (the wait is set).
    fn send(&mut self, batch: &[Record]) -> Result<(), ()> {
        let body = self.format.body(batch);
        match self.transport.send(&self.rt, body) {
            Ok(()) => {
                self.counters.sent.fetch_add(batch.len() as u64, Ordering::Relaxed);
                if self.retry_at.take().is_some() {
                    tracing::info!(sink = %self.name, "sink: sending again");
                }
                self.backoff = FIRST_RETRY;
                Ok(())
            }
            Err(Failure::Rejected(message)) => {
                self.counters.rejected.fetch_add(batch.len() as u64, Ordering::Relaxed);
                let first = String::from_utf8_lossy(&batch[0]).chars().take(300).collect::<String>();
                tracing::error!(sink = %self.name, points = batch.len(), %message, first = %first.trim_end(), "sink: the database rejected a batch; it is dropped");
                self.counters.error(message);
                Ok(())
            }
            Err(Failure::Transient { message, retry_after }) => {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
                let wait = retry_after.unwrap_or_else(|| jitter(self.backoff));
                self.backoff = (self.backoff * 2).min(self.retry_max);
                if self.retry_at.is_none() {
                    tracing::warn!(sink = %self.name, %message, "sink: cannot send; spooling until it can");
                } else {
                    tracing::debug!(sink = %self.name, %message, ?wait, "sink: still cannot send");
                }
                self.retry_at = Some(Instant::now() + wait);
                self.counters.error(message);
                Err(())
            }
        }
    }

    fn spool(&mut self, records: Vec<Record>) {
        let n = records.len();
        match self.spool.push(records, self.cap) {
            Ok(0) => {}
            Ok(dropped) => {
                let before = self.counters.dropped.fetch_add(dropped as u64, Ordering::Relaxed);
                if before == 0 || (before + dropped as u64) / 10_000 != before / 10_000 {
                    tracing::warn!(sink = %self.name, cap = self.cap, dropped = before + dropped as u64, "sink: the spool is full; its oldest points are dropped");
                }
            }
            Err(e) => {
                self.counters.dropped.fetch_add(n as u64, Ordering::Relaxed);
                self.spool_failed(e);
            }
        }
        self.counters.spooled.store(self.spool.len() as u64, Ordering::Relaxed);
    }

    fn spool_failed(&mut self, e: rusqlite::Error) {
        let message = format!("spool: {e}");
        tracing::error!(sink = %self.name, %message, "sink: the spool failed");
        self.counters.error(message);
        self.retry_at = Some(Instant::now() + jitter(self.backoff));
    }

    /// Sends what it can until its timeout, then spools the rest.
    fn stop(&mut self) {
        let deadline = Instant::now() + self.timeout;
        if self.spool.is_empty() && !self.pending.is_empty() {
            self.send_pending();
        }
        while !self.spool.is_empty() && Instant::now() < deadline {
            if let Some(t) = self.retry_at {
                if t > deadline {
                    break;
                }
                std::thread::sleep(t.saturating_duration_since(Instant::now()));
            }
            self.send_spooled();
        }
        if !self.spool.is_empty() {
            let kept = matches!(self.spool, Spool::File { .. });
            tracing::warn!(sink = %self.name, points = self.spool.len(), kept, "sink: stopped with points unsent (kept: in the spool file for the next start)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_a_date() {
        assert_eq!(retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(retry_after("soon"), None);
    }

    #[test]
    fn jitter_stays_within_half_and_all() {
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(2));
            assert!(j >= Duration::from_secs(1) && j <= Duration::from_secs(2), "{j:?}");
        }
    }
}

//! The accept loop and the limits that hold before a request is
//! authenticated (issue 16): at most `max_connections` open connections
//! (more wait in the listen backlog until one closes), request headers
//! within `header_timeout` (else the connection is closed), at most
//! `event_buffer` bytes buffered for a connection's response (an event
//! stream subscriber that does not read falls behind and is told it
//! `lagged`), and `requests_per_second` per token ([`RateLimits`]).

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::config::ApiLimits;

/// Smallest response buffer hyper accepts (it refuses less than 8 KiB).
const MIN_BUFFER: usize = 16 << 10;

/// Serves `app` on `listener` until `shutdown` resolves; then accepts no
/// more connections, asks every open one to finish its request under way
/// and returns when all are closed.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &ApiLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.event_buffer.max(MIN_BUFFER));
    let builder = Arc::new(builder);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (closing, closed) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    let mut full_since: Option<Instant> = None;
    loop {
        // A permit first: over the cap, connections wait in the backlog
        // and cost no descriptor here.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        if permits.available_permits() == 0 && full_since.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
            tracing::warn!(max_connections = limits.max_connections, "API: the connection limit is reached");
            full_since = Some(Instant::now());
        }
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: wait rather than spin.
                    tracing::warn!("API: cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let builder = builder.clone();
        let service = TowerToHyperService::new(app.clone());
        let mut closed = closed.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), service));
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, "API connection: {e}");
                    }
                    return;
                }
                _ = closed.wait_for(|c| *c) => conn.as_mut().graceful_shutdown(),
            }
            let _ = conn.await;
        });
    }
    drop(listener);
    let _ = closing.send(true);
    // Every connection holds a permit until it is closed.
    let _all = permits.acquire_many(limits.max_connections.max(1) as u32).await;
    Ok(())
}

/// A token bucket per token: `rate` requests a second, bursts up to twice
/// that.
pub(super) struct RateLimits {
    rate: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimits {
    pub(super) fn new(requests_per_second: u32) -> RateLimits {
        RateLimits { rate: f64::from(requests_per_second.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from `token`'s bucket: `Ok`, or `Err` with the
    /// seconds until the next one is allowed.
    pub(super) fn take(&self, token: &str) -> Result<(), u64> {
        let burst = 2.0 * self.rate;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = buckets.entry(token.to_string()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_gets_its_rate_and_a_burst() {
        let limits = RateLimits::new(5);
        let allowed = (0..100).filter(|_| limits.take("ci").is_ok()).count();
        assert!((10..=11).contains(&allowed), "{allowed}");
        assert_eq!(limits.take("ci"), Err(1));
        assert!(limits.take("dash").is_ok(), "each token has its own bucket");
    }
}

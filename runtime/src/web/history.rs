//! The state history and metric history of one object: read from the
//! retention file (opened read-only while the monitor writes it), or,
//! without one, the metric samples the page kept in memory since it
//! started.

use std::time::Duration;

use super::Web;
use crate::retention::{HistoryEntry, MetricSeries, ObjectKey, Store};

/// Most state changes a detail page shows.
const HISTORY_SHOWN: usize = 50;

fn key(host: &str, service: Option<&str>) -> ObjectKey {
    ObjectKey { host: host.to_string(), service: service.map(str::to_string) }
}

/// The object's last state changes, newest first; an error as text.
pub(super) async fn states(web: &Web, host: &str, service: Option<&str>) -> Result<Vec<HistoryEntry>, String> {
    let Some(path) = web.0.monitor.retention_file().map(|p| p.to_path_buf()) else {
        return Err("No retention file ([engine] state_file): no state history is kept.".into());
    };
    let key = key(host, service);
    tokio::task::spawn_blocking(move || {
        let store = Store::open_read_only(&path)?;
        store.history(&key, HISTORY_SHOWN)
    })
    .await
    .map_err(|e| format!("reading the state history failed: {e}"))?
    .map_err(|e| format!("cannot read the state history: {e}"))
}

/// The object's metrics with their samples since `since` (seconds).
pub(super) async fn metrics(
    web: &Web,
    host: &str,
    service: Option<&str>,
    since: f64,
) -> Result<Vec<MetricSeries>, String> {
    let key = key(host, service);
    let since = Duration::from_secs_f64(since.max(0.0));
    let Some(path) = web.0.monitor.retention_file().map(|p| p.to_path_buf()) else {
        return Ok(web.0.recent.samples(&key, since));
    };
    tokio::task::spawn_blocking(move || {
        let store = Store::open_read_only(&path)?;
        store.metric_history(&key, since)
    })
    .await
    .map_err(|e| format!("reading the metric history failed: {e}"))?
    .map_err(|e| format!("cannot read the metric history: {e}"))
}

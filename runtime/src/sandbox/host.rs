//! The per-run store data and the host side of the `log`, `value-store` and
//! `system` imports, plus the network policy applied to `wasi:http`.

use std::net::IpAddr;
use std::sync::Arc;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use super::bindings::wasmon::check::{log, system, value_store};
use super::memory::Accountant;
use super::policy::Grants;
use crate::sandbox::values::Values;

/// Most log messages one run may write; the rest are counted and dropped.
const MAX_LOG_MESSAGES: u32 = 100;
/// Longest log message kept, in bytes.
const MAX_LOG_LEN: usize = 1024;

/// Everything one run's `Store` holds. Built fresh for every run.
pub(crate) struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) table: ResourceTable,
    pub(crate) net: NetPolicy,
    /// Linear memory and host bytes against the memory limit.
    pub(crate) limiter: Accountant,
    pub(crate) values: Values,
    pub(crate) check: Arc<str>,
    pub(crate) logged: u32,
    /// The sockets and descriptors this run may still take.
    pub(crate) descriptors: super::descriptors::RunDescriptors,
}

/// Who may be reached: the grants and the target they are relative to.
#[derive(Clone)]
pub(crate) struct NetPolicy {
    pub(crate) grants: Arc<Grants>,
    pub(crate) target_name: Arc<str>,
    pub(crate) target_address: Option<IpAddr>,
    /// The process's descriptor pool and the run's HTTP requests under way.
    pub(crate) descriptors: (Arc<tokio::sync::Semaphore>, Arc<tokio::sync::Semaphore>),
}

impl NetPolicy {
    pub(crate) fn allows_ip(&self, ip: IpAddr) -> bool {
        self.grants.allows_ip(ip, self.target_address)
    }

    /// Whether a `wasi:http` request to `host` (a name or an address literal)
    /// is allowed. Names other than the target's need the DNS grant, and then
    /// every address they resolve to must be allowed.
    async fn allows_http_host(&self, host: &str) -> Result<(), String> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return if self.allows_ip(ip) {
                Ok(())
            } else {
                Err(format!("connection to {ip} is not granted to this check"))
            };
        }
        if self.grants.any_address && self.grants.dns {
            return Ok(());
        }
        if self.grants.target && bare.eq_ignore_ascii_case(&self.target_name) && self.target_address.is_some() {
            return Ok(());
        }
        if !self.grants.dns {
            return Err(format!("name lookup of '{bare}' is not granted to this check"));
        }
        let addrs = tokio::net::lookup_host((bare, 0)).await.map_err(|e| format!("cannot resolve '{bare}': {e}"))?;
        for a in addrs {
            if !self.allows_ip(a.ip()) {
                return Err(format!("connection to {} ({bare}) is not granted to this check", a.ip()));
            }
        }
        Ok(())
    }
}

impl NetPolicy {
    /// A request to the target by its name goes to the target's address:
    /// plain HTTP is sent to that address with the name in `Host`; HTTPS
    /// (whose certificate is checked against the name) is let through only
    /// if every address the name resolves to is granted.
    async fn pin_target<B>(&self, request: &mut http::Request<B>) -> Result<(), String> {
        let Some(address) = self.target_address else { return Ok(()) };
        // Only the granted target is pinned: a check without the target
        // grant must not reach its address this way.
        if !self.allows_ip(address) {
            return Ok(());
        }
        let uri = request.uri().clone();
        let host = uri.host().unwrap_or_default();
        if host.parse::<IpAddr>().is_ok() || !host.eq_ignore_ascii_case(&self.target_name) {
            return Ok(());
        }
        if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
            let port = uri.port_u16().unwrap_or(443);
            let addrs =
                tokio::net::lookup_host((host, port)).await.map_err(|e| format!("cannot resolve '{host}': {e}"))?;
            for a in addrs {
                if !self.allows_ip(a.ip()) {
                    return Err(format!("'{host}' resolves to {}, which is not granted to this check", a.ip()));
                }
            }
            return Ok(());
        }
        let authority = match (address, uri.port_u16()) {
            (IpAddr::V4(ip), Some(p)) => format!("{ip}:{p}"),
            (IpAddr::V6(ip), Some(p)) => format!("[{ip}]:{p}"),
            (IpAddr::V4(ip), None) => ip.to_string(),
            (IpAddr::V6(ip), None) => format!("[{ip}]"),
        };
        let original = uri.authority().map(|a| a.to_string()).unwrap_or_default();
        let mut parts = uri.into_parts();
        parts.authority = Some(authority.parse().map_err(|e| format!("bad address {authority}: {e}"))?);
        *request.uri_mut() = http::Uri::from_parts(parts).map_err(|e| format!("cannot address {authority}: {e}"))?;
        if !request.headers().contains_key(http::header::HOST) {
            let value = http::HeaderValue::from_str(&original).map_err(|e| format!("bad Host '{original}': {e}"))?;
            request.headers_mut().insert(http::header::HOST, value);
        }
        Ok(())
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.net }
    }
}

impl WasiHttpHooks for NetPolicy {
    /// Smaller chunks than wasmtime's 1 MiB, so what a body buffers is
    /// small beside the memory limit it counts against.
    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        super::memory::BODY_CHUNK
    }

    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<wasmtime_wasi_http::WasiBody>,
                        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        use http_body_util::BodyExt;
        let policy = self.clone();
        drop(fut);
        Box::new(async move {
            // One descriptor and one of the run's requests, held until the
            // connection closes.
            let (pool, http) = &policy.descriptors;
            let Some(permits) = super::descriptors::RunDescriptors::http_permits(pool, http) else {
                tracing::debug!("outgoing HTTP request over the run's limit of requests or descriptors");
                return Err(wasmtime_wasi_http::Error::ConnectionLimitReached);
            };
            let mut request = request;
            let host = request.uri().host().unwrap_or_default().to_string();
            if let Err(why) = policy.allows_http_host(&host).await {
                tracing::debug!(%host, %why, "outgoing HTTP request denied");
                return Err(wasmtime_wasi_http::Error::HttpRequestDenied);
            }
            // The target's name means the target's address, the one wasmon
            // resolved and granted, not whatever DNS says now.
            if let Err(why) = policy.pin_target(&mut request).await {
                tracing::debug!(%host, %why, "outgoing HTTP request denied");
                return Err(wasmtime_wasi_http::Error::HttpRequestDenied);
            }
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            let io = async move {
                let result = io.await;
                drop(permits);
                result
            };
            Ok((res.map(BodyExt::boxed_unsync), Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}

/// How a guest ended that called WASI 0.2's `exit(err)`: a failure with no
/// code. wasmtime-wasi reports it as exit status 1, the same as
/// `exit-with-code(1)`; a plugin's 1 means WARNING, so the two must differ.
#[derive(Debug)]
pub(crate) struct ExitFailure;

impl std::fmt::Display for ExitFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("exited with a failure status that carries no code")
    }
}

impl std::error::Error for ExitFailure {}

/// The WASI exit interface the linker provides (wasmtime-wasi 48); guests
/// importing any 0.2 version of it are linked to this one.
const EXIT_INTERFACE: &str = "wasi:cli/exit@0.2.12";

/// Replaces `wasi:cli/exit`'s `exit` in a linker that has WASI 0.2, so
/// that `exit(err)` ends the guest with [`ExitFailure`] instead of exit
/// status 1 (`exit(ok)` stays status 0, `exit-with-code` is unchanged).
pub(crate) fn distinguish_failure_exit(linker: &mut wasmtime::component::Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let result = linker.instance(EXIT_INTERFACE).and_then(|mut exit| {
        exit.func_wrap("exit", |_store, (status,): (Result<(), ()>,)| -> wasmtime::Result<()> {
            Err(match status {
                Ok(()) => wasmtime::Error::new(wasmtime_wasi::I32Exit(0)),
                Err(()) => wasmtime::Error::new(ExitFailure),
            })
        })
    });
    linker.allow_shadowing(false);
    result
}

/// Most table elements a guest may grow a table to.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl HostState {
    /// Measures the host bytes the run holds against its memory limit (see
    /// [`Accountant::settle`]); false when over it.
    pub(crate) fn settle(&mut self) -> bool {
        let connections = self.descriptors.http_under_way();
        self.limiter.settle(&mut self.table, connections)
    }
}

/// Enforces the memory limit on linear memory and host bytes together, and
/// remembers that it was hit.
impl ResourceLimiter for HostState {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if !self.settle() {
            return Ok(false);
        }
        Ok(self.limiter.grow(current, desired))
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        self.logged += 1;
        if self.logged > MAX_LOG_MESSAGES {
            if self.logged == MAX_LOG_MESSAGES + 1 {
                tracing::warn!(check = %self.check, "check logged more than {MAX_LOG_MESSAGES} messages in one run; dropping the rest");
            }
            return Ok(());
        }
        // One line, no control characters: a guest cannot forge log
        // lines or write escape sequences to the daemon's log.
        let message = crate::sanitize::line(&message, MAX_LOG_LEN);
        let check = &*self.check;
        match level {
            log::Level::Debug => tracing::debug!(target: "wasmon::guest", check, "{message}"),
            log::Level::Info => tracing::info!(target: "wasmon::guest", check, "{message}"),
            log::Level::Warn => tracing::warn!(target: "wasmon::guest", check, "{message}"),
            log::Level::Error => tracing::error!(target: "wasmon::guest", check, "{message}"),
        }
        Ok(())
    }
}

impl value_store::Host for HostState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(self.values.get(&key).map(<[u8]>::to_vec))
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
        Ok(self.values.set(key, value))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        self.values.delete(&key);
        Ok(())
    }
}

impl HostState {
    fn system_granted(&self) -> Result<(), String> {
        if self.net.grants.system {
            Ok(())
        } else {
            Err("the system interface is not granted to this check (grant: system)".to_string())
        }
    }
}

impl system::Host for HostState {
    fn load(&mut self) -> wasmtime::Result<Result<system::LoadAverage, String>> {
        Ok(self.system_granted().and_then(|()| {
            let l = crate::sandbox::system::load_average().map_err(|e| format!("cannot read the load average: {e}"))?;
            Ok(system::LoadAverage { one: l.one, five: l.five, fifteen: l.fifteen, cpus: l.cpus })
        }))
    }

    fn memory(&mut self) -> wasmtime::Result<Result<system::MemoryInfo, String>> {
        Ok(self.system_granted().and_then(|()| {
            let m = crate::sandbox::system::memory().map_err(|e| format!("cannot read memory usage: {e}"))?;
            Ok(system::MemoryInfo {
                mem_total: m.mem_total,
                mem_free: m.mem_free,
                mem_available: m.mem_available,
                buffers: m.buffers,
                cached: m.cached,
                swap_total: m.swap_total,
                swap_free: m.swap_free,
            })
        }))
    }

    fn filesystems(&mut self) -> wasmtime::Result<Result<Vec<system::Filesystem>, String>> {
        Ok(self.system_granted().and_then(|()| {
            let list = crate::sandbox::system::filesystems().map_err(|e| format!("cannot list filesystems: {e}"))?;
            Ok(list
                .into_iter()
                .map(|f| system::Filesystem {
                    mount_point: f.mount_point,
                    device: f.device,
                    fs_type: f.fs_type,
                    total_bytes: f.total_bytes,
                    free_bytes: f.free_bytes,
                    available_bytes: f.available_bytes,
                    total_inodes: f.total_inodes,
                    free_inodes: f.free_inodes,
                })
                .collect())
        }))
    }

    fn uptime(&mut self) -> wasmtime::Result<Result<f64, String>> {
        Ok(self
            .system_granted()
            .and_then(|()| crate::sandbox::system::uptime().map_err(|e| format!("cannot read the uptime: {e}"))))
    }
}

impl super::bindings::wasmon::check::types::Host for HostState {}

/// The host side of the imports, called through the generated `Host`
/// traits without any wasm (STYLE 10).
#[cfg(test)]
mod tests {
    use super::*;

    fn state(grants: Grants) -> HostState {
        let pool = Arc::new(tokio::sync::Semaphore::new(8));
        let descriptors = super::super::descriptors::RunDescriptors::new(pool, Default::default());
        HostState {
            wasi: wasmtime_wasi::WasiCtxBuilder::new().build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            net: NetPolicy {
                grants: Arc::new(grants),
                target_name: "web1".into(),
                target_address: Some("127.0.0.1".parse().unwrap()),
                descriptors: (descriptors.pool().clone(), descriptors.http.clone()),
            },
            limiter: Accountant::new(1 << 20),
            values: Values::new(),
            check: "test".into(),
            logged: 0,
            descriptors,
        }
    }

    #[tokio::test]
    async fn the_target_name_is_pinned_to_its_address_only_when_granted() {
        let request = || http::Request::get("http://web1:8080/health").body(()).unwrap();
        let mut r = request();
        state(Grants::default()).net.pin_target(&mut r).await.unwrap();
        assert_eq!(r.uri().to_string(), "http://127.0.0.1:8080/health");
        assert_eq!(r.headers()[http::header::HOST], "web1:8080");

        // Without the target grant the name is not turned into its address.
        let no_target = Grants { target: false, ..Grants::default() };
        let mut r = request();
        state(no_target).net.pin_target(&mut r).await.unwrap();
        assert_eq!(r.uri().to_string(), "http://web1:8080/health");
        assert!(r.headers().get(http::header::HOST).is_none());

        // Another name and an address are left as they are.
        let mut r = http::Request::get("http://10.0.0.9/").body(()).unwrap();
        state(Grants::default()).net.pin_target(&mut r).await.unwrap();
        assert_eq!(r.uri().to_string(), "http://10.0.0.9/");
    }

    #[test]
    fn value_store_round_trip_and_limits() {
        let mut s = state(Grants::default());
        use value_store::Host as _;
        assert_eq!(s.get("k".into()).unwrap(), None);
        assert_eq!(s.set("k".into(), vec![1, 2]).unwrap(), Ok(()));
        assert_eq!(s.get("k".into()).unwrap(), Some(vec![1, 2]));
        let err = s.set("big".into(), vec![0; crate::sandbox::values::MAX_VALUE_LEN + 1]).unwrap().unwrap_err();
        assert!(err.contains("larger than the limit"), "{err}");
        s.delete("k".into()).unwrap();
        s.delete("never-there".into()).unwrap();
        assert!(s.values.is_empty());
    }

    #[test]
    fn system_needs_its_grant() {
        use system::Host as _;
        let mut denied = state(Grants::default());
        let err = denied.load().unwrap().unwrap_err();
        assert_eq!(err, "the system interface is not granted to this check (grant: system)");
        assert!(denied.memory().unwrap().is_err() && denied.filesystems().unwrap().is_err());
        let mut granted = state(Grants { system: true, ..Grants::default() });
        let load = granted.load().unwrap().unwrap();
        assert!(load.cpus >= 1 && load.one >= 0.0);
        let mem = granted.memory().unwrap().unwrap();
        assert!(mem.mem_total > 0 && mem.mem_available <= mem.mem_total);
        assert!(granted.filesystems().unwrap().unwrap().iter().any(|f| f.mount_point == "/"));
        assert!(granted.uptime().unwrap().unwrap() > 0.0);
    }

    #[test]
    fn log_is_bounded() {
        use log::Host as _;
        let mut s = state(Grants::default());
        for _ in 0..MAX_LOG_MESSAGES + 50 {
            s.log(log::Level::Warn, "x".repeat(10 * MAX_LOG_LEN)).unwrap();
        }
        assert_eq!(s.logged, MAX_LOG_MESSAGES + 50, "every message is counted, the rest dropped");
    }

    #[tokio::test]
    async fn http_hosts_follow_the_grants() {
        let s = state(Grants::default());
        assert!(s.net.allows_http_host("127.0.0.1").await.is_ok());
        assert!(s.net.allows_http_host("web1").await.is_ok(), "the target's own name");
        let err = s.net.allows_http_host("127.0.0.2").await.unwrap_err();
        assert_eq!(err, "connection to 127.0.0.2 is not granted to this check");
        let err = s.net.allows_http_host("example.com").await.unwrap_err();
        assert_eq!(err, "name lookup of 'example.com' is not granted to this check");
        // With name lookups granted, every address a name resolves to must be
        // granted too (the request may go to any of them).
        let loopback = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
        let dns = state(Grants { dns: true, addresses: loopback, ..Grants::default() });
        assert!(dns.net.allows_http_host("localhost").await.is_ok());
        assert!(dns.net.allows_http_host("[::2]").await.is_err());
    }
}

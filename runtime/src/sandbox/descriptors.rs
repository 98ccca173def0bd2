//! File descriptors and host memory a run may take outside its linear
//! memory (issue 16): sockets and HTTP connections per run, a process-wide
//! pool that leaves a reserve of descriptors for the API, the state file
//! and the sinks, and the resource table and header limits that bound
//! what a guest can make the host hold.
//!
//! - Every `wasi:sockets` socket a run creates and every `wasi:http`
//!   request it sends takes a descriptor from the sandbox's pool, held
//!   until the run ends (a socket) or the connection closes (HTTP). A run
//!   creates at most [`SocketLimits::sockets`] sockets and has at most
//!   [`SocketLimits::http_requests`] HTTP requests under way; beyond that,
//!   or with the pool empty, the guest gets `new-socket-limit` or
//!   `connection-limit-reached`, never a descriptor.
//! - The pool is the process's soft `RLIMIT_NOFILE` (raised to the hard
//!   limit at start by [`raise_descriptor_limit`]) less a reserve of a
//!   quarter (at least 256), so no check can starve the rest of the
//!   daemon.
//! - A `wasi:http` fields resource holds at most [`FIELD_SIZE_LIMIT`]
//!   bytes; what the guest makes the host hold is counted in bytes against
//!   its memory limit (see `memory`).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddressFamily};
use wasmtime_wasi::p2::bindings::sockets::{tcp_create_socket, udp_create_socket};
use wasmtime_wasi::p2::{TcpSocket, UdpSocket};
use wasmtime_wasi::sockets::WasiSocketsCtxView;

use super::host::HostState;

/// The default most sockets one run creates.
pub const MAX_SOCKETS: u32 = 32;
/// The default most `wasi:http` requests one run has under way.
pub const MAX_HTTP_REQUESTS: u32 = 16;
/// The largest `wasi:http` fields resource (headers, trailers), in bytes
/// of the host's representation (wasmtime's default is 128 KiB).
pub const FIELD_SIZE_LIMIT: usize = 16 << 10;
/// Descriptors kept for the rest of the process, at least.
const MIN_RESERVE: u64 = 256;

/// Per-run caps on descriptors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketLimits {
    /// Sockets one run may create. Default 32.
    pub sockets: u32,
    /// `wasi:http` requests one run may have under way. Default
    /// 16.
    pub http_requests: u32,
}

impl Default for SocketLimits {
    fn default() -> SocketLimits {
        SocketLimits { sockets: MAX_SOCKETS, http_requests: MAX_HTTP_REQUESTS }
    }
}

/// Raises the process's soft limit of open files to its hard limit and
/// returns the new soft limit.
pub fn raise_descriptor_limit() -> std::io::Result<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: setrlimit reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    Ok(limit.rlim_cur)
}

/// The descriptors checks may use together: the soft limit less the
/// reserve.
pub(crate) fn pool_size() -> usize {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes the struct it is given.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 { limit.rlim_cur } else { 1024 };
    let soft = soft.min(1 << 24);
    let reserve = (soft / 4).max(MIN_RESERVE);
    soft.saturating_sub(reserve) as usize
}

/// One run's share of descriptors: what it may still create and the
/// permits of the pool it holds.
pub(crate) struct RunDescriptors {
    pool: Arc<Semaphore>,
    sockets_left: u32,
    held: Vec<OwnedSemaphorePermit>,
    /// The run's HTTP requests under way.
    pub(crate) http: Arc<Semaphore>,
    http_limit: usize,
}

impl RunDescriptors {
    pub(crate) fn new(pool: Arc<Semaphore>, limits: SocketLimits) -> RunDescriptors {
        RunDescriptors {
            pool,
            sockets_left: limits.sockets,
            held: Vec::new(),
            http: Arc::new(Semaphore::new(limits.http_requests as usize)),
            http_limit: limits.http_requests as usize,
        }
    }

    /// The run's HTTP requests whose connections are still open.
    pub(crate) fn http_under_way(&self) -> usize {
        self.http_limit.saturating_sub(self.http.available_permits())
    }

    /// A permit for one more socket, or `None` over the run's cap or with
    /// the pool empty.
    fn socket(&mut self) -> bool {
        if self.sockets_left == 0 {
            return false;
        }
        match self.pool.clone().try_acquire_owned() {
            Ok(permit) => {
                self.sockets_left -= 1;
                self.held.push(permit);
                true
            }
            Err(_) => false,
        }
    }

    /// The permits an HTTP request holds until its connection closes, or
    /// `None` over the run's cap or with the pool empty.
    pub(crate) fn http_permits(
        pool: &Arc<Semaphore>,
        http: &Arc<Semaphore>,
    ) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        let request = http.clone().try_acquire_owned().ok()?;
        let descriptor = pool.clone().try_acquire_owned().ok()?;
        Some((request, descriptor))
    }

    /// The process-wide pool.
    pub(crate) fn pool(&self) -> &Arc<Semaphore> {
        &self.pool
    }
}

/// The `wasi:sockets` interfaces of wasmtime-wasi 48.
const TCP_CREATE: &str = "wasi:sockets/tcp-create-socket@0.2.12";
const UDP_CREATE: &str = "wasi:sockets/udp-create-socket@0.2.12";

type Created<T> = wasmtime::Result<(Result<Resource<T>, ErrorCode>,)>;

/// Replaces `create-tcp-socket` and `create-udp-socket` in a linker that
/// has WASI 0.2 with versions that count against the run's
/// `RunDescriptors` before they create the socket.
pub(crate) fn count_sockets(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let result = (|| {
        linker.instance(TCP_CREATE)?.func_wrap(
            "create-tcp-socket",
            |mut store, (family,): (IpAddressFamily,)| -> Created<TcpSocket> {
                let s: &mut HostState = store.data_mut();
                if !s.descriptors.socket() {
                    return Ok((Err(ErrorCode::NewSocketLimit),));
                }
                let mut view = WasiSocketsCtxView { ctx: s.wasi.sockets(), table: &mut s.table };
                match tcp_create_socket::Host::create_tcp_socket(&mut view, family) {
                    Ok(r) => Ok((Ok(r),)),
                    Err(e) => Ok((Err(e.downcast()?),)),
                }
            },
        )?;
        linker.instance(UDP_CREATE)?.func_wrap_async(
            "create-udp-socket",
            |mut store, (family,): (IpAddressFamily,)| {
                Box::new(async move {
                    let s: &mut HostState = store.data_mut();
                    if !s.descriptors.socket() {
                        return Ok((Err(ErrorCode::NewSocketLimit),));
                    }
                    let mut view = WasiSocketsCtxView { ctx: s.wasi.sockets(), table: &mut s.table };
                    let created: Created<UdpSocket> =
                        match udp_create_socket::Host::create_udp_socket(&mut view, family).await {
                            Ok(r) => Ok((Ok(r),)),
                            Err(e) => Ok((Err(e.downcast()?),)),
                        };
                    created
                })
            },
        )?;
        Ok(())
    })();
    linker.allow_shadowing(false);
    result
}

//! The sandbox: one wasmtime engine with a pooling allocator, copy-on-write
//! memory images and epoch interruption; a linker with WASI 0.2, `wasi:http`
//! and the wasmon host interfaces; a precompiled-module cache; and a fresh
//! `Store` and instance for every run.

pub(crate) mod bindings;
mod cache;
mod capture;
pub(crate) mod compile;
mod convert;
pub mod descriptors;
pub mod handler;
mod host;
mod memory;
pub(crate) mod module;
pub mod policy;
mod run;
pub mod standard;
pub mod system;
pub(crate) mod values;

pub use self::compile::CompileLimits;
pub use self::convert::ITEM_NOT_FOUND;
pub use self::descriptors::{SocketLimits, raise_descriptor_limit};
pub(crate) use self::run::misuse;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};
use wasmtime_wasi::p2::bindings::CommandPre;

pub use self::cache::default_cache_dir;
pub(crate) use self::host::HostState;
use crate::error::Error;
use crate::sandbox::module::{CheckModule, Exports, ModuleKind};

/// How often the epoch advances: the granularity of timeouts.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Up to this many concurrent runs, linear memories reserve 4 GiB and need
/// no bounds checks in compiled code; beyond it they reserve their limit.
const GUARDED_SLOTS: u32 = 2048;

/// A WebAssembly page.
const WASM_PAGE: usize = 64 << 10;

/// Builds a [`Sandbox`].
#[derive(Debug, Clone)]
pub struct SandboxBuilder {
    cache_dir: Option<PathBuf>,
    max_concurrency: u32,
    max_memory: usize,
    sockets: descriptors::SocketLimits,
    compile: CompileLimits,
}

impl Default for SandboxBuilder {
    fn default() -> SandboxBuilder {
        SandboxBuilder {
            cache_dir: default_cache_dir(),
            max_concurrency: 64,
            max_memory: 256 << 20,
            sockets: descriptors::SocketLimits::default(),
            compile: CompileLimits::default(),
        }
    }
}

impl SandboxBuilder {
    /// Where precompiled modules are kept; `None` compiles every module at
    /// load. Default: [`default_cache_dir`].
    pub fn cache_dir(mut self, dir: Option<PathBuf>) -> SandboxBuilder {
        self.cache_dir = dir;
        self
    }

    /// How many checks may run at the same time; further runs wait for a
    /// free slot. Sizes the instance pool. Default 64. Up to 2,048 slots a
    /// linear memory reserves 4 GiB of address space and compiled code
    /// needs no bounds checks; beyond that it reserves only its limit, so
    /// 10,000 slots fit in the address space.
    pub fn max_concurrency(mut self, n: u32) -> SandboxBuilder {
        self.max_concurrency = n.max(1);
        self
    }

    /// The largest memory limit any check may be given (the pool reserves
    /// address space for it). Default 256 MiB.
    pub fn max_memory(mut self, bytes: usize) -> SandboxBuilder {
        self.max_memory = bytes;
        self
    }

    /// How many sockets one run may create and how many `wasi:http`
    /// requests it may have under way (default 32 and 16; see
    /// [`SocketLimits`]).
    pub fn socket_limits(mut self, limits: SocketLimits) -> SandboxBuilder {
        self.sockets = limits;
        self
    }

    /// The time and memory one compilation of a module may take (default
    /// 2 minutes and 2 GiB; see [`CompileLimits`]). Over either, the module
    /// is refused with the reason.
    pub fn compile_limits(mut self, limits: CompileLimits) -> SandboxBuilder {
        self.compile = limits;
        self
    }

    /// Creates the engine, the linker and the epoch ticker.
    pub fn build(self) -> Result<Sandbox, Error> {
        let engine = Engine::new(&self.engine_config()).map_err(Error::engine)?;
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(Error::engine)?;
        host::distinguish_failure_exit(&mut linker).map_err(Error::engine)?;
        descriptors::count_sockets(&mut linker).map_err(Error::engine)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(Error::engine)?;
        bindings::Check::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s).map_err(Error::engine)?;
        // World handler's own interface holds only types; `types` and
        // `log` are shared with world check and already linked.
        linker.instance("wasmon:check/events@0.1.0").map_err(Error::engine)?;

        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = engine.weak();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("wasmon-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        match engine.upgrade() {
                            Some(e) => e.increment_epoch(),
                            None => break,
                        }
                    }
                })
                .map_err(|source| Error::Thread { what: "the epoch thread", source })?
        };
        let cache = cache::Cache::new(&engine, self.cache_dir.clone(), self.compile);
        Ok(Sandbox {
            inner: Arc::new(Inner {
                engine,
                linker,
                cache,
                slots: tokio::sync::Semaphore::new(self.max_concurrency as usize),
                max_concurrency: self.max_concurrency as usize,
                max_memory: self.max_memory,
                sockets: self.sockets,
                descriptors: Arc::new(tokio::sync::Semaphore::new(descriptors::pool_size())),
                stop,
                _ticker: ticker,
            }),
        })
    }

    fn engine_config(&self) -> Config {
        let mut config = Config::new();
        config.epoch_interruption(true);
        // Checks use no component-model async; leaving its per-store state
        // out makes every call several times cheaper.
        config.concurrency_support(false);
        config.wasm_backtrace_max_frames(std::num::NonZeroUsize::new(64));
        config.wasm_backtrace_details(wasmtime::WasmBacktraceDetails::Disable);
        config.max_wasm_stack(512 << 10);
        config.async_stack_size(2 << 20);
        config.memory_init_cow(true);

        let n = self.max_concurrency;
        // Address space: by default a linear memory reserves 4 GiB and
        // guard pages, so compiled code needs no bounds checks, and a slot
        // of four memories takes about 16 GiB; the 47-bit user address
        // space (128 TiB) holds about 5,300 slots. Beyond `GUARDED_SLOTS`
        // a memory reserves only its limit: the code checks bounds itself
        // (slower only in guest-heavy loops) and 10,000 slots take about
        // 4 TiB. Compiled modules differ between the two, and the cache
        // keys them apart.
        if n > GUARDED_SLOTS {
            config.memory_reservation(self.max_memory.next_multiple_of(WASM_PAGE) as u64);
            config.memory_reservation_for_growth(0);
        }
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(n);
        // A Rust wasm32-wasip2 component holds a handful of core instances
        // (the program, the WASI adapter and shims) with one or two memories.
        pool.max_core_instances_per_component(32);
        pool.max_memories_per_component(4);
        pool.max_tables_per_component(8);
        pool.total_core_instances(n * 32);
        pool.total_memories(n * 4);
        pool.total_tables(n * 8);
        pool.total_stacks(n);
        pool.max_memory_size(self.max_memory);
        // Reuse a slot's first pages in place instead of unmapping them:
        // resets cost a memset, not a page fault per page on the next run.
        pool.linear_memory_keep_resident(1 << 20);
        // On Linux 6.7+ reset only the pages a run dirtied instead of the
        // whole kept-resident region (a memset and a memcpy of up to 1 MiB
        // were a quarter of each run); other kernels fall back.
        pool.pagemap_scan(wasmtime::Enabled::Auto);
        pool.table_keep_resident(64 << 10);
        // Return a slot to the pool as soon as it is reset. With the page
        // map every dirtied page is reset in place and nothing is left to
        // return to the kernel, but a batch size above 1 still queued every
        // slot in a shared, locked queue (and made an empty madvise call per
        // batch): 7 % of the CPU under `wasmon bench`.
        pool.decommit_batch_size(1);
        pool.async_stack_keep_resident(64 << 10);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        config
    }
}

/// The engine that loads and runs checks. Cheap to clone; clones share the
/// engine, the instance pool and the cache.
///
/// Every run gets a fresh `Store` and instance: nothing leaks from one run
/// or one service to the next.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<HostState>,
    cache: cache::Cache,
    slots: tokio::sync::Semaphore,
    max_concurrency: usize,
    max_memory: usize,
    sockets: SocketLimits,
    /// Descriptors all runs may take together (see [`descriptors`]).
    descriptors: Arc<tokio::sync::Semaphore>,
    stop: Arc<AtomicBool>,
    _ticker: std::thread::JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A builder with the defaults.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// Loads a module from bytes: compiles it (or loads it from the cache)
    /// and checks that it imports nothing the host does not provide and is
    /// one of the [`ModuleKind`]s:
    ///
    /// - a component that implements the `wasmon:check` contract;
    /// - a `wasi:cli/command` component (it exports `wasi:cli/run`), run as
    ///   a command plugin;
    /// - a WASI preview1 core module that exports `_start`, converted to a
    ///   command component (keeping its exit codes, see
    ///   [`crate::plugin::preview1_to_component`]) and run as a plugin.
    ///
    /// Anything else is refused with the reason.
    pub fn load(&self, name: &str, bytes: &[u8]) -> Result<CheckModule, Error> {
        let reject = |reason: String| Error::InvalidModule { module: name.to_string(), reason };
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        if wasmparser::Parser::is_core_wasm(bytes) {
            return self.load_preview1(name, bytes, digest);
        }
        if !wasmparser::Parser::is_component(bytes) {
            return Err(reject("it is not a WebAssembly component or module (bad magic number or version)".into()));
        }
        let component = self
            .inner
            .cache
            .load(&self.inner.engine, &digest, || Ok(bytes.into()))
            .map_err(|e| reject(format!("it does not compile: {}", error_chain(&e))))?;
        let pre = self.inner.linker.instantiate_pre(&component).map_err(|e| reject(import_error(&e)))?;
        let exports = match bindings::CheckPre::new(pre.clone()) {
            Ok(check) => Exports::Check(check),
            Err(_) if bindings::handler::HandlerPre::new(pre.clone()).is_ok() => {
                return Err(reject(
                    "it is an event handler (world handler), not a check: configure it in a [[handler]] table".into(),
                ));
            }
            Err(e) if !exports_run(&component) => return Err(reject(export_error(&component, &e))),
            Err(_) => Exports::Command(
                CommandPre::new(pre).map_err(|e| reject(command_error(&e)))?,
                ModuleKind::CommandPlugin,
            ),
        };
        Ok(CheckModule::new(self.clone(), name, digest, exports))
    }

    /// Loads a WASI preview1 command module as a plugin: converted to a
    /// component, which is cached compiled under a key of the module and
    /// the conversion (so a cached module is not converted again).
    fn load_preview1(&self, name: &str, core: &[u8], digest: [u8; 32]) -> Result<CheckModule, Error> {
        let reject = |reason: String| Error::InvalidModule { module: name.to_string(), reason };
        crate::plugin::check_command_module(core).map_err(reject)?;
        let key = crate::plugin::conversion_key(&digest);
        let mut conversion = None;
        let component = self
            .inner
            .cache
            .load(&self.inner.engine, &key, || {
                crate::plugin::preview1_to_component(core)
                    .map(Into::into)
                    .map_err(|why| wasmtime::Error::msg(conversion.insert(why).clone()))
            })
            .map_err(|e| match conversion.take() {
                Some(why) => reject(why),
                None => reject(format!("it does not compile: {}", error_chain(&e))),
            })?;
        let pre = self.inner.linker.instantiate_pre(&component).map_err(|e| reject(import_error(&e)))?;
        let pre = CommandPre::new(pre).map_err(|e| reject(command_error(&e)))?;
        Ok(CheckModule::new(self.clone(), name, digest, Exports::Command(pre, ModuleKind::Preview1Plugin)))
    }

    /// Loads an event handler: a component of world `handler`
    /// (`wit/handler.wit`). Anything else is refused with the reason.
    pub fn load_handler(&self, name: &str, bytes: &[u8]) -> Result<crate::sandbox::handler::HandlerModule, Error> {
        let reject = |reason: String| Error::InvalidModule { module: name.to_string(), reason };
        if !wasmparser::Parser::is_component(bytes) {
            return Err(reject(
                "it is not a WebAssembly component (an event handler is a component of world handler)".into(),
            ));
        }
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let component = self
            .inner
            .cache
            .load(&self.inner.engine, &digest, || Ok(bytes.into()))
            .map_err(|e| reject(format!("it does not compile: {}", error_chain(&e))))?;
        let pre = self.inner.linker.instantiate_pre(&component).map_err(|e| reject(import_error(&e)))?;
        let pre = bindings::handler::HandlerPre::new(pre).map_err(|e| {
            reject(format!(
                "it is not an event handler: it does not export handle of world handler of wasmon:check@0.1.0 ({})",
                error_chain(&e)
            ))
        })?;
        Ok(crate::sandbox::handler::HandlerModule {
            inner: CheckModule::new(self.clone(), name, digest, Exports::Handler(pre)),
        })
    }

    /// Loads an event handler from a file (see [`Sandbox::load_handler`]).
    pub fn load_handler_file(&self, path: &Path) -> Result<crate::sandbox::handler::HandlerModule, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::Read { path: path.to_path_buf(), source: e })?;
        self.load_handler(&path.display().to_string(), &bytes)
    }

    /// Loads a check component from a file.
    pub fn load_file(&self, path: &Path) -> Result<CheckModule, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::Read { path: path.to_path_buf(), source: e })?;
        self.load(&path.display().to_string(), &bytes)
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn max_memory(&self) -> usize {
        self.inner.max_memory
    }

    /// How many runs may execute at the same time.
    pub fn max_concurrency(&self) -> usize {
        self.inner.max_concurrency
    }

    pub(crate) fn sockets(&self) -> SocketLimits {
        self.inner.sockets
    }

    pub(crate) fn descriptors(&self) -> Arc<tokio::sync::Semaphore> {
        self.inner.descriptors.clone()
    }

    pub(crate) async fn slot(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.inner.slots.acquire().await.expect("the slot semaphore is never closed")
    }
}

/// Joins an error and its causes on one line.
pub(crate) fn error_chain(e: &wasmtime::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

fn import_error(e: &wasmtime::Error) -> String {
    format!("it imports something wasmon does not provide: {}", error_chain(e))
}

/// Whether a component exports `wasi:cli/run` (of WASI 0.2): a command.
fn exports_run(component: &Component) -> bool {
    component.component_type().exports(component.engine()).any(|(name, _)| name.starts_with("wasi:cli/run@0.2"))
}

fn command_error(e: &wasmtime::Error) -> String {
    format!("it is a WASI command, but its wasi:cli/run cannot be called: {}", error_chain(e))
}

/// Explains a missing or mistyped export.
fn export_error(component: &Component, e: &wasmtime::Error) -> String {
    let ty = component.component_type();
    let engine = component.engine();
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();
    format!(
        "it does not implement the wasmon:check@0.1.0 contract ({}) and is not a WASI command \
         (no wasi:cli/run export); it exports: {}",
        error_chain(e),
        if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") }
    )
}

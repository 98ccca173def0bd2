//! The sandbox: one wasmtime engine with a pooling allocator, copy-on-write
//! memory images and epoch interruption; a linker with WASI 0.2, `wasi:http`
//! and the wasmon host interfaces; a precompiled-module cache; and a fresh
//! `Store` and instance for every run.

pub(crate) mod bindings;
mod cache;
mod capture;
mod host;
pub mod policy;
mod run;

pub use self::run::ITEM_NOT_FOUND;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use self::cache::default_cache_dir;
pub(crate) use self::host::HostState;
use crate::error::Error;
use crate::module::CheckModule;

/// How often the epoch advances: the granularity of timeouts.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Builds a [`Sandbox`].
#[derive(Debug, Clone)]
pub struct SandboxBuilder {
    cache_dir: Option<PathBuf>,
    max_concurrency: u32,
    max_memory: usize,
}

impl Default for SandboxBuilder {
    fn default() -> SandboxBuilder {
        SandboxBuilder { cache_dir: default_cache_dir(), max_concurrency: 64, max_memory: 256 << 20 }
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
    /// free slot. Sizes the instance pool. Default 64.
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

    /// Creates the engine, the linker and the epoch ticker.
    pub fn build(self) -> Result<Sandbox, Error> {
        let engine = Engine::new(&self.engine_config()).map_err(Error::engine)?;
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(Error::engine)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(Error::engine)?;
        bindings::Check::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(Error::engine)?;

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
                .map_err(|e| Error::Engine(format!("cannot start the epoch thread: {e}")))?
        };
        let cache = cache::Cache::new(&engine, self.cache_dir.clone());
        Ok(Sandbox {
            inner: Arc::new(Inner {
                engine,
                linker,
                cache,
                slots: tokio::sync::Semaphore::new(self.max_concurrency as usize),
                max_memory: self.max_memory,
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
    max_memory: usize,
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

    /// Loads a check component from bytes: compiles it (or loads it from
    /// the cache) and checks that it implements the `wasmon:check` contract
    /// and imports nothing the host does not provide.
    pub fn load(&self, name: &str, bytes: &[u8]) -> Result<CheckModule, Error> {
        let reject = |reason: String| Error::InvalidModule { module: name.to_string(), reason };
        if wasmparser::Parser::is_core_wasm(bytes) {
            return Err(reject(
                "it is a core WebAssembly module, not a component: build it for wasm32-wasip2 \
                 (or wrap it with `wasm-tools component new`)"
                    .into(),
            ));
        }
        if !wasmparser::Parser::is_component(bytes) {
            return Err(reject("it is not a WebAssembly component (bad magic number or version)".into()));
        }
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let component = self
            .inner
            .cache
            .load(&self.inner.engine, bytes, &digest)
            .map_err(|e| reject(format!("it does not compile: {}", error_chain(&e))))?;
        let pre = self.inner.linker.instantiate_pre(&component).map_err(|e| reject(import_error(&e)))?;
        let pre = bindings::CheckPre::new(pre).map_err(|e| reject(export_error(&component, &e)))?;
        Ok(CheckModule::new(self.clone(), name, digest, pre))
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

/// Explains a missing or mistyped export, recognising WASI commands.
fn export_error(component: &Component, e: &wasmtime::Error) -> String {
    let ty = component.component_type();
    let engine = component.engine();
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();
    if exports.iter().any(|n| n.starts_with("wasi:cli/run")) {
        return "it is a WASI command (it exports wasi:cli/run), not a wasmon:check@0.1.0 component: \
                it must export describe, discover and check"
            .to_string();
    }
    format!(
        "it does not implement the wasmon:check@0.1.0 contract ({}); it exports: {}",
        error_chain(e),
        if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") }
    )
}

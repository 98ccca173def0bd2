//! The precompiled-module cache: a directory of `.cwasm` files keyed by the
//! wasmtime version, the engine settings and the sha256 of the component, so
//! a check compiled once loads in well under a millisecond afterwards.

use std::borrow::Cow;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::compile::CompileLimits;

/// A cache directory, or none, and how what is not in it is compiled.
#[derive(Debug)]
pub(crate) struct Cache {
    dir: Option<PathBuf>,
    /// Hash of the wasmtime version and the engine's compatibility settings.
    engine_key: [u8; 32],
    /// The budget of one compilation.
    limits: CompileLimits,
    /// Held while compiling: one compilation at a time.
    compiling: std::sync::Mutex<()>,
}

/// Feeds `Hash` output into sha256, so the key is stable across runs
/// (unlike `DefaultHasher`, which is randomly seeded).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        unreachable!("only the sha256 digest is read")
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl Cache {
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>, limits: CompileLimits) -> Cache {
        let mut h = ShaHasher(Sha256::new());
        // Includes the wasmtime version (the default module version
        // strategy) and every setting that affects compiled code.
        engine.precompile_compatibility_hash().hash(&mut h);
        Cache { dir, engine_key: h.0.finalize().into(), limits, compiling: std::sync::Mutex::new(()) }
    }

    /// Compiles a component within the budget, one at a time (see
    /// [`super::compile`]).
    fn compile(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
        let _one = self.compiling.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        super::compile::compile(engine, bytes, self.limits).map_err(wasmtime::Error::new)
    }

    /// The cache file for a component with this digest.
    fn path(&self, digest: &[u8; 32]) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let mut h = Sha256::new();
        h.update(self.engine_key);
        h.update(digest);
        Some(dir.join(format!("{}.cwasm", hex::encode(h.finalize()))))
    }

    /// Loads the component with key `digest` (the sha256 of its bytes, or
    /// of what they are made from) from the cache, or compiles the bytes
    /// `component` gives and stores the result; `component` is called only
    /// then. A cache that cannot be read or written is only logged: the
    /// component is compiled instead.
    pub(crate) fn load<'a>(
        &self,
        engine: &Engine,
        digest: &[u8; 32],
        component: impl FnOnce() -> wasmtime::Result<Cow<'a, [u8]>>,
    ) -> wasmtime::Result<Component> {
        let Some(path) = self.path(digest) else {
            return self.compile(engine, &component()?);
        };
        // Read into memory rather than `deserialize_file`, which maps the
        // file: a mapped file changed or truncated underneath a loaded module
        // would kill the host with SIGBUS.
        if let Ok(precompiled) = fs::read(&path) {
            // SAFETY: the bytes were written by `Component::serialize` of an
            // engine with the same version and settings (both are part of
            // the file name), into a directory only this user writes, and
            // only renamed into place once complete; wasmtime checks the
            // header and rejects bytes from another version or config.
            match unsafe { Component::deserialize(engine, &precompiled) } {
                Ok(c) => return Ok(c),
                Err(e) => tracing::warn!(path = %path.display(), "ignoring unusable precompiled module: {e:#}"),
            }
        }
        let component = self.compile(engine, &component()?)?;
        if let Err(e) = store(&path, &component) {
            tracing::warn!(path = %path.display(), "cannot write the precompiled-module cache: {e:#}");
        }
        Ok(component)
    }
}

fn store(path: &Path, component: &Component) -> anyhow::Result<()> {
    let dir = path.parent().expect("cache files live in a directory");
    fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    }
    let bytes = component.serialize().map_err(|e| anyhow::anyhow!("{e}"))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(())
}

/// The default cache directory: `$WASMON_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/wasmon`, else `~/.cache/wasmon`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("WASMON_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("wasmon"));
    }
    std::env::var_os("HOME").filter(|d| !d.is_empty()).map(|h| PathBuf::from(h).join(".cache/wasmon"))
}

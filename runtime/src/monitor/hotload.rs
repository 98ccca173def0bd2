//! Hot-loading: check modules replaced under a running monitor.
//!
//! A task of its own watches the checks folder (`[engine] checks_dir`) and
//! the folder of every module file the configuration names. A burst of
//! file events (an editor or `cp` writes in several steps) settles for
//! [`DEBOUNCE`] before the files are looked at; [`crate::Monitor::reload`]
//! (and so SIGHUP in `wasmon run`) looks at once. Every look reads each
//! module file and compares its sha256 with the version in service:
//! unchanged content is not reloaded. New content is compiled on a
//! blocking thread and validated against the contract (it loads as a check
//! or a command plugin; a check's `describe()` answers with no breach of
//! [`crate::contract::verify_info`]), then handed to the engine task, which
//! swaps it in. A version that fails is rejected and the old one stays; a
//! later write of the file is looked at again, so a half-written file that
//! was rejected is followed by the complete one.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use super::{Answer, Command};
use crate::engine::{Event, Input, ModuleAction, ModuleChange, ModuleFile};
use crate::error::Error;
use crate::sandbox::Sandbox;
use crate::sandbox::module::{CheckModule, ModuleKind};

/// How long file events must be quiet before the files are looked at.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// What a reload changed ([`crate::Monitor::reload`]). Modules are named
/// as in [`crate::ModuleStatus::name`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReloadReport {
    /// Modules loaded that were not in service (new, or back after removal).
    pub loaded: Vec<String>,
    /// Modules in service replaced by a new version.
    pub replaced: Vec<String>,
    /// New versions refused, with why; the old versions stay in service.
    pub rejected: Vec<Rejection>,
    /// Modules whose files are gone.
    pub removed: Vec<String>,
    /// What a configuration reload changed, when the configuration file was
    /// read again too (`POST /api/v1/reload`, SIGHUP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<crate::engine::ConfigChange>,
}

/// A refused module version.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rejection {
    /// The module.
    pub module: String,
    /// Why, in one line.
    pub reason: String,
}

impl ReloadReport {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.loaded.is_empty() && self.replaced.is_empty() && self.rejected.is_empty() && self.removed.is_empty()
    }

    fn add(&mut self, event: &Event) {
        if let Event::Module { module, action, reason, .. } = event {
            let module = module.clone();
            match action {
                ModuleAction::Loaded => self.loaded.push(module),
                ModuleAction::Replaced => self.replaced.push(module),
                ModuleAction::Removed => self.removed.push(module),
                ModuleAction::Rejected => {
                    self.rejected.push(Rejection { module, reason: reason.clone().unwrap_or_default() })
                }
            }
        }
    }
}

impl std::fmt::Display for ReloadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} loaded, {} replaced, {} rejected, {} removed",
            self.loaded.len(),
            self.replaced.len(),
            self.rejected.len(),
            self.removed.len()
        )?;
        match &self.config {
            Some(c) => write!(f, "; configuration: {c}"),
            None => Ok(()),
        }
    }
}

/// A reload asked for, and where its report goes.
pub(super) type ReloadRequest = oneshot::Sender<Result<ReloadReport, Error>>;

/// What the reloader is asked.
pub(super) enum Request {
    /// Look at the files now.
    Reload(ReloadRequest),
    /// A configuration reload changed the module files in use: know these
    /// (files already known keep what was learnt about them).
    Files(Vec<ModuleFile>),
}

/// One module file the reloader knows.
#[derive(Clone, Debug)]
struct Entry {
    /// The module's name (the path as the configuration resolved it).
    name: String,
    path: PathBuf,
    /// `path` made absolute, as file events name it.
    abs: PathBuf,
    /// The digest of the version in service, if one was ever loaded.
    live: Option<String>,
    /// The file is gone.
    missing: bool,
    /// What was last refused (a digest, or why the file could not be
    /// read): not reported again until the file changes.
    rejected: Option<String>,
    /// The kind in service.
    kind: Option<ModuleKind>,
    /// How many objects use it.
    services: usize,
}

impl Entry {
    fn new(f: ModuleFile) -> Entry {
        Entry {
            abs: absolute(&f.path),
            name: f.name,
            path: f.path,
            live: Some(f.digest),
            missing: false,
            rejected: None,
            kind: Some(f.kind),
            services: f.services,
        }
    }
}

/// What a look at one file found.
enum Found {
    /// The version in service.
    Unchanged,
    /// What was refused last time.
    Refused,
    Gone,
    Refusing {
        digest: Option<String>,
        key: String,
        reason: String,
    },
    Compiled {
        digest: String,
        module: CheckModule,
    },
}

/// The reloader task's state.
pub(super) struct Reloader {
    sandbox: Sandbox,
    commands: mpsc::WeakUnboundedSender<Command>,
    checks_dir: Option<PathBuf>,
    entries: Vec<Entry>,
    watch: bool,
}

impl Reloader {
    pub(super) fn new(
        sandbox: Sandbox,
        commands: mpsc::WeakUnboundedSender<Command>,
        checks_dir: Option<PathBuf>,
        files: Vec<ModuleFile>,
        watch: bool,
    ) -> Reloader {
        let entries = files.into_iter().map(Entry::new).collect();
        Reloader { sandbox, commands, checks_dir, entries, watch }
    }

    /// Knows `files` from now on: the modules of a new configuration.
    fn know(&mut self, files: Vec<ModuleFile>) {
        let mut old = std::mem::take(&mut self.entries);
        for f in files {
            match old.iter().position(|e| e.name == f.name) {
                Some(i) => {
                    let mut e = old.swap_remove(i);
                    e.services = f.services;
                    self.entries.push(e);
                }
                None => self.entries.push(Entry::new(f)),
            }
        }
    }

    /// Looks at the files once, then on every settled burst of file events
    /// and every reload asked for, until the monitor stops.
    pub(super) async fn run(mut self, mut requests: mpsc::UnboundedReceiver<Request>) {
        let (tx, mut file_events) = mpsc::unbounded_channel();
        let _watcher = if self.watch { self.watcher(tx) } else { None };
        if self.reload().await.is_err() {
            return;
        }
        let settle = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(settle);
        let mut settling = false;
        loop {
            tokio::select! {
                request = requests.recv() => {
                    let reply = match request {
                        None => break,
                        Some(Request::Files(files)) => {
                            self.know(files);
                            continue;
                        }
                        Some(Request::Reload(reply)) => reply,
                    };
                    settling = false;
                    let report = self.reload().await;
                    let stopped = report.is_err();
                    let _ = reply.send(report);
                    if stopped {
                        break;
                    }
                }
                Some(event) = file_events.recv() => {
                    if self.relevant(&event) {
                        settling = true;
                        settle.as_mut().reset(tokio::time::Instant::now() + DEBOUNCE);
                    }
                }
                () = &mut settle, if settling => {
                    settling = false;
                    if self.reload().await.is_err() {
                        break;
                    }
                }
            }
        }
    }

    /// Watches the checks folder and the folder of every known module
    /// file. A folder that cannot be watched is logged; reloads still work.
    fn watcher(&self, tx: mpsc::UnboundedSender<notify::Event>) -> Option<notify::RecommendedWatcher> {
        use notify::Watcher as _;
        let mut folders: Vec<PathBuf> = self.checks_dir.iter().map(|d| absolute(d)).collect();
        for e in &self.entries {
            if let Some(parent) = e.abs.parent() {
                folders.push(parent.to_path_buf());
            }
        }
        folders.sort();
        folders.dedup();
        if folders.is_empty() {
            return None;
        }
        let handler = move |event: notify::Result<notify::Event>| match event {
            Ok(event) => {
                let _ = tx.send(event);
            }
            Err(e) => tracing::warn!("watching check modules: {e}"),
        };
        let mut watcher = match notify::recommended_watcher(handler) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!("cannot watch check modules ({e}); SIGHUP or a reload call still reloads them");
                return None;
            }
        };
        for folder in &folders {
            match watcher.watch(folder, notify::RecursiveMode::NonRecursive) {
                Ok(()) => tracing::debug!(folder = %folder.display(), "watching for check modules"),
                Err(e) => tracing::warn!(folder = %folder.display(), "cannot watch for check modules: {e}"),
            }
        }
        Some(watcher)
    }

    /// Whether a file event may have changed a module: a write, a creation,
    /// a removal or a rename of a known module file or of a `.wasm` in the
    /// checks folder. Opening and reading (our own looks) are not.
    fn relevant(&self, event: &notify::Event) -> bool {
        use notify::EventKind;
        use notify::event::{AccessKind, AccessMode};
        let writes = match event.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
            EventKind::Access(_) => false,
            _ => true,
        };
        let checks_dir = self.checks_dir.as_deref().map(absolute);
        writes
            && event.paths.iter().any(|p| {
                self.entries.iter().any(|e| e.abs == *p)
                    || (is_wasm(p) && checks_dir.as_deref().is_some_and(|d| p.parent() == Some(d)))
            })
    }

    /// Looks at every module file and applies what changed.
    async fn reload(&mut self) -> Result<ReloadReport, Error> {
        let commands = self.commands.upgrade().filter(|c| !c.is_closed()).ok_or(Error::Stopped)?;
        let entries = self.entries.clone();
        let checks_dir = self.checks_dir.clone();
        let sandbox = self.sandbox.clone();
        // Reading, hashing and compiling block: not on a runtime thread.
        let (new, found) = tokio::task::spawn_blocking(move || look(&sandbox, &entries, checks_dir.as_deref()))
            .await
            .map_err(|source| Error::Task { what: "module loading", source })?;
        self.entries.extend(new);
        let mut changes = Vec::new();
        for (i, found) in found {
            if let Some(change) = self.settle(i, found).await {
                changes.push(change);
            }
        }
        let mut report = ReloadReport::default();
        if changes.is_empty() {
            return Ok(report);
        }
        let (batch, answers): (Vec<_>, Vec<_>) = changes
            .into_iter()
            .map(|c| {
                let (reply, answer) = oneshot::channel();
                ((Input::Module(c), reply), answer)
            })
            .unzip();
        commands.send(Command::ApplyBatch(batch)).map_err(|_| Error::Stopped)?;
        for answer in answers {
            if let Answer::Events(events) = answer.await.map_err(|_| Error::Stopped)?? {
                for event in &events {
                    report.add(event);
                }
            }
        }
        Ok(report)
    }

    /// Validates what was found for entry `i` and updates the entry;
    /// returns the change for the engine, if any.
    async fn settle(&mut self, i: usize, found: Found) -> Option<ModuleChange> {
        let (digest, module) = match found {
            Found::Unchanged => {
                // The version in service is back in the file: a refused
                // version written again is reported again.
                self.entries[i].rejected = None;
                return None;
            }
            Found::Gone => {
                let e = &mut self.entries[i];
                let was_live = e.live.is_some() && !e.missing;
                e.missing = true;
                e.rejected = None;
                return was_live.then(|| ModuleChange::Removed { name: e.name.clone() });
            }
            Found::Refused => return None,
            Found::Refusing { digest, key, reason } => return Some(self.refuse(i, digest, key, reason)),
            Found::Compiled { digest, module } => (digest, module),
        };
        let version = match self.validate(i, &module).await {
            Ok(version) => version,
            Err(reason) => return Some(self.refuse(i, Some(digest.clone()), digest, reason)),
        };
        let e = &mut self.entries[i];
        e.live = Some(digest);
        e.missing = false;
        e.rejected = None;
        e.kind = Some(module.kind());
        Some(ModuleChange::Loaded { module, path: e.path.clone(), version })
    }

    fn refuse(&mut self, i: usize, digest: Option<String>, key: String, reason: String) -> ModuleChange {
        let e = &mut self.entries[i];
        e.rejected = Some(key);
        ModuleChange::Rejected { name: e.name.clone(), digest, reason }
    }

    /// The contract: a check describes itself without a breach of
    /// [`crate::contract::verify_info`]; a module in use stays of the kind
    /// its services are configured for (a check takes parameters, a
    /// command plugin arguments). Returns a check's version.
    async fn validate(&self, i: usize, module: &CheckModule) -> Result<Option<String>, String> {
        let e = &self.entries[i];
        let new = module.kind();
        if let Some(old) = e.kind
            && e.services > 0
            && old.is_plugin() != new.is_plugin()
        {
            let (is, configured) = if new.is_plugin() {
                ("a command plugin", "a wasmon check (parameters, not arguments)")
            } else {
                ("a wasmon check", "a command plugin (arguments, not parameters)")
            };
            return Err(format!("it is {is}, and the services using it are configured for {configured}"));
        }
        if new != ModuleKind::Check {
            return Ok(None);
        }
        let info = module.describe().await.map_err(|e| match e {
            Error::Run { message, .. } => format!("describe() failed: {message}"),
            other => format!("describe() failed: {other}"),
        })?;
        let breaches = crate::contract::verify_info(&info);
        if breaches.is_empty() {
            Ok(Some(info.version))
        } else {
            Err(format!("its describe() breaks the check contract: {}", breaches.join("; ")))
        }
    }
}

/// Reads every known module file and every `.wasm` in the checks folder
/// that is not known yet, and compiles what changed. Returns the new
/// entries (to append) and, by entry index, what was found.
fn look(sandbox: &Sandbox, entries: &[Entry], checks_dir: Option<&Path>) -> (Vec<Entry>, Vec<(usize, Found)>) {
    let known: HashSet<&Path> = entries.iter().map(|e| e.abs.as_path()).collect();
    let mut new = Vec::new();
    if let Some(dir) = checks_dir {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(d) => d.flatten().map(|e| e.path()).filter(|p| is_wasm(p) && p.is_file()).collect(),
            Err(e) => {
                tracing::warn!(folder = %dir.display(), "cannot read the checks folder: {e}");
                Vec::new()
            }
        };
        files.sort();
        for path in files {
            let abs = absolute(&path);
            if known.contains(abs.as_path()) {
                continue;
            }
            new.push(Entry {
                name: path.display().to_string(),
                path,
                abs,
                live: None,
                missing: false,
                rejected: None,
                kind: None,
                services: 0,
            });
        }
    }
    let found = entries
        .iter()
        .chain(&new)
        .enumerate()
        .filter_map(|(i, e)| {
            let found = look_at(sandbox, e);
            // A file that came and went before it was ever loaded.
            let vanished = e.live.is_none() && matches!(found, Found::Gone);
            (!vanished).then_some((i, found))
        })
        .collect();
    (new, found)
}

fn look_at(sandbox: &Sandbox, e: &Entry) -> Found {
    let bytes = match std::fs::read(&e.path) {
        Ok(b) => b,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Found::Gone,
        Err(err) => {
            let reason = format!("cannot read {}: {err}", e.path.display());
            if e.rejected.as_deref() == Some(reason.as_str()) {
                return Found::Refused;
            }
            return Found::Refusing { digest: None, key: reason.clone(), reason };
        }
    };
    let digest = hex::encode(Sha256::digest(&bytes));
    if !e.missing && e.live.as_deref() == Some(digest.as_str()) {
        return Found::Unchanged;
    }
    if e.rejected.as_deref() == Some(digest.as_str()) {
        return Found::Refused;
    }
    match sandbox.load(&e.name, &bytes) {
        Ok(module) => Found::Compiled { digest, module },
        Err(err) => {
            let reason = match err {
                Error::InvalidModule { reason, .. } => reason,
                other => other.to_string(),
            };
            Found::Refusing { digest: Some(digest.clone()), key: digest, reason }
        }
    }
}

fn is_wasm(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "wasm")
}

/// `p` made absolute without touching the file system (a removed file
/// still has a path).
fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

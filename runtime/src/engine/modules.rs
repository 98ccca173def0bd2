//! The engine's check modules: one slot per module, which objects point at
//! by index. Hot-loading (see [`crate::monitor`]) swaps a slot's module on
//! the engine task, so a check start stays one index and one `Arc` clone:
//! runs already started keep the version they cloned, the next run of every
//! object of the slot takes the new one.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use super::{Engine, Event};
use crate::event::CheckRef;
use crate::sandbox::module::{CheckModule, ModuleKind};
use crate::state::Time;

/// What happened to a check module under a running monitor, in an
/// [`Event::Module`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModuleAction {
    /// A module that was not in service (new, or back after it was
    /// removed) was loaded.
    Loaded,
    /// A module in service was replaced by a new version.
    Replaced,
    /// A new version did not compile or does not keep the contract: the
    /// old one (if any) stays in service.
    Rejected,
    /// The module's file is gone: its services end UNKNOWN, naming it,
    /// until it is back.
    Removed,
}

/// A module's last rejection.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModuleError {
    /// When, in seconds since the clock's epoch.
    pub at: f64,
    /// Why, in one line.
    pub reason: String,
}

/// One check module as the monitor has it ([`crate::Monitor::modules`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModuleStatus {
    /// The name it was loaded under: the file's path as the configuration
    /// resolved it, or a standard check's name.
    pub name: String,
    /// The file, or null for a standard check.
    pub path: Option<PathBuf>,
    /// A wasmon check or a command plugin.
    pub kind: ModuleKind,
    /// What the check's `describe()` says; null for command plugins.
    pub version: Option<String>,
    /// The sha256 of the version in service, in hex.
    pub digest: String,
    /// When the version in service was loaded, in seconds since the
    /// clock's epoch.
    pub loaded_at: f64,
    /// How many hosts and services use it.
    pub services: usize,
    /// Whether its file is gone (its services end UNKNOWN until it is back).
    pub removed: bool,
    /// Its last rejection, if a version was ever rejected.
    pub last_error: Option<ModuleError>,
}

/// A change the monitor's module watcher hands the engine to apply.
#[derive(Debug)]
pub enum ModuleChange {
    /// A module that compiled and keeps the contract: swapped in for the
    /// module of the same name, or added.
    Loaded {
        /// The module (its name is the slot's).
        module: CheckModule,
        /// Its file.
        path: PathBuf,
        /// What `describe()` says, for a check.
        version: Option<String>,
    },
    /// A version that was refused; the module in service stays.
    Rejected {
        /// The module's name.
        name: String,
        /// The sha256 of what was refused, if it could be read.
        digest: Option<String>,
        /// Why.
        reason: String,
    },
    /// The module's file is gone.
    Removed {
        /// The module's name.
        name: String,
    },
}

/// A module slot.
pub(super) struct Slot {
    /// The version in service (a [`CheckModule::missing`] one once removed).
    pub(super) module: CheckModule,
    path: Option<PathBuf>,
    /// The module's name and `describe()` version, as result events name it.
    pub(super) check: CheckRef,
    digest: String,
    loaded_at: Time,
    last_error: Option<ModuleError>,
    removed: bool,
}

impl Slot {
    pub(super) fn new(module: CheckModule, path: Option<PathBuf>) -> Slot {
        let digest = module.digest_hex();
        let check = CheckRef { module: Arc::from(module.name()), version: None };
        Slot { module, path, check, digest, loaded_at: Time::ZERO, last_error: None, removed: false }
    }
}

/// The message of a run of a removed module's service.
fn removed_message(name: &str) -> String {
    format!("Check module {name} was removed: its file is gone; the service runs it again once it is back")
}

/// A module loaded from a file, as the watcher starts from.
#[derive(Clone, Debug)]
pub struct ModuleFile {
    /// The module's name.
    pub name: String,
    /// Its file.
    pub path: PathBuf,
    /// The sha256 of the version in service.
    pub digest: String,
    /// Its kind.
    pub kind: ModuleKind,
    /// How many hosts and services use it.
    pub services: usize,
}

impl Engine {
    fn services_of(&self) -> Vec<usize> {
        let mut n = vec![0; self.modules.len()];
        // A passive-only object without a check uses no module.
        for m in self.objects.iter().filter_map(|o| o.module) {
            n[m] += 1;
        }
        n
    }

    /// Every check module, in load order (configured ones first), with how
    /// many objects use it. Modules that were removed and that no object
    /// uses are left out.
    pub fn modules(&self) -> Vec<ModuleStatus> {
        let services = self.services_of();
        self.modules
            .iter()
            .zip(services)
            .filter(|(s, n)| !s.removed || *n > 0)
            .map(|(s, services)| ModuleStatus {
                name: s.module.name().to_string(),
                path: s.path.clone(),
                kind: s.module.kind(),
                version: s.check.version.as_deref().map(str::to_string),
                digest: s.digest.clone(),
                loaded_at: s.loaded_at.as_secs_f64(),
                services,
                removed: s.removed,
                last_error: s.last_error.clone(),
            })
            .collect()
    }

    /// The modules loaded from files (not the standard checks), where the
    /// watcher starts from.
    pub fn module_files(&self) -> Vec<ModuleFile> {
        let services = self.services_of();
        self.modules
            .iter()
            .zip(services)
            .filter_map(|(s, services)| {
                Some(ModuleFile {
                    name: s.module.name().to_string(),
                    path: s.path.clone()?,
                    digest: s.digest.clone(),
                    kind: s.module.kind(),
                    services,
                })
            })
            .collect()
    }

    /// Asks every check module for its version (`describe()`) and takes
    /// `now` as their load time. A check that does not describe itself
    /// has no version.
    pub async fn describe_modules(&mut self, now: Time) {
        for slot in &mut self.modules {
            slot.loaded_at = now;
            if slot.module.kind() == ModuleKind::Check {
                slot.check.version = slot.module.describe().await.ok().map(|info| Arc::from(info.version));
            }
        }
    }

    /// Applies a hot-loading change at `now` and returns its event. A
    /// loaded module replaces the one of the same name (runs in flight
    /// finish on the old one) or is added; a rejected one only records
    /// the error; a removed one makes its objects' next runs end UNKNOWN
    /// naming it, without running anything.
    pub fn apply_module(&mut self, change: ModuleChange, now: Time) -> Event {
        let t = now.as_secs_f64();
        match change {
            ModuleChange::Loaded { module, path, version } => {
                let name = module.name().to_string();
                let digest = module.digest_hex();
                let action = match self.module_index.get(&name) {
                    Some(&i) => {
                        let slot = &mut self.modules[i];
                        let action = if slot.removed { ModuleAction::Loaded } else { ModuleAction::Replaced };
                        slot.module = module;
                        slot.path = Some(path);
                        slot.check.version = version.as_deref().map(Arc::from);
                        slot.digest = digest.clone();
                        slot.loaded_at = now;
                        slot.removed = false;
                        action
                    }
                    None => {
                        let mut slot = Slot::new(module, Some(path));
                        slot.check.version = version.as_deref().map(Arc::from);
                        slot.loaded_at = now;
                        self.modules.push(slot);
                        self.module_index.insert(name.clone(), self.modules.len() - 1);
                        ModuleAction::Loaded
                    }
                };
                Event::Module { t, module: name, action, version, digest: Some(digest), reason: None }
            }
            ModuleChange::Rejected { name, digest, reason } => {
                if let Some(&i) = self.module_index.get(&name) {
                    self.modules[i].last_error = Some(ModuleError { at: t, reason: reason.clone() });
                }
                Event::Module {
                    t,
                    module: name,
                    action: ModuleAction::Rejected,
                    version: None,
                    digest,
                    reason: Some(reason),
                }
            }
            ModuleChange::Removed { name } => {
                let message = removed_message(&name);
                if let Some(&i) = self.module_index.get(&name) {
                    let slot = &mut self.modules[i];
                    slot.module = slot.module.missing(&message);
                    slot.removed = true;
                }
                Event::Module {
                    t,
                    module: name,
                    action: ModuleAction::Removed,
                    version: None,
                    digest: None,
                    reason: Some(message),
                }
            }
        }
    }
}

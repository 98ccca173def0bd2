//! One monitored object as the engine keeps it, and a loaded event handler.

use std::sync::Arc;

use crate::config::{CheckSpec, Schedule};
use crate::event::Status;
use crate::outcome::State;
use crate::retention::ObjectKey;
use crate::sandbox::handler::{HandlerModule, HandlerTrigger};
use crate::sandbox::policy::Target;
use crate::sandbox::values::Values;
use crate::state::{FlapPolicy, NotificationPolicy, NotifyState, ObjectState};

use super::dependency;

/// One monitored object and everything the engine keeps for it. Names are
/// shared (`Arc<str>`) with the lookup index and with every event.
pub(super) struct Object {
    pub(super) host: Arc<str>,
    pub(super) service: Option<Arc<str>>,
    pub(super) item: Option<String>,
    pub(super) check: Arc<CheckSpec>,
    /// The plugin arguments, macros expanded (empty for a wasmon check).
    pub(super) args: Arc<[String]>,
    /// The module of its check; `None` for a passive-only object without one.
    pub(super) module: Option<usize>,
    pub(super) target: Arc<Target>,
    pub(super) schedule: Schedule,
    pub(super) notification: NotificationPolicy,
    pub(super) contacts: Arc<[String]>,
    /// Indexes into the engine's handlers.
    pub(super) handlers: Arc<[usize]>,
    pub(super) flap_policy: FlapPolicy,
    pub(super) state: ObjectState,
    pub(super) notify: NotifyState,
    pub(super) values: Values,
    /// A check of it is running (its value store is out with the run).
    pub(super) running: bool,
    /// Dependencies, passive results and freshness.
    pub(super) dep: dependency::Links,
    /// Its check and notification periods, escalations and notification
    /// number.
    pub(super) notices: super::notifications::Notices,
}

impl Object {
    pub(super) fn is_host(&self) -> bool {
        self.service.is_none()
    }

    /// How a state is named for this object: UP/DOWN for hosts.
    pub(super) fn state_name(&self, s: State) -> Status {
        Status::of(self.is_host(), s)
    }

    pub(super) fn key(&self) -> ObjectKey {
        ObjectKey { host: self.host.to_string(), service: self.service.as_deref().map(str::to_string) }
    }
}

/// A configured event handler, loaded.
pub(super) struct EngineHandler {
    pub(super) name: Arc<str>,
    pub(super) module: HandlerModule,
    pub(super) on: HandlerTrigger,
    pub(super) params: Vec<(String, String)>,
    pub(super) limits: crate::Limits,
    pub(super) grants: crate::Grants,
}

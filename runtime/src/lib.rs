//! wasmon's engine as a library: load monitoring checks that are
//! WebAssembly components built against the `wasmon:check` contract, run
//! each in a fresh, limited sandbox, and monitor hosts and services with
//! them as `wasmon run` does.
//!
//! # The flow, in order
//!
//! 1. [`config`]: the TOML configuration is read into hosts, services,
//!    contacts and handlers (every problem with its file, line and key);
//!    [`pack`]s expand into services.
//! 2. The engine (crate-private) builds its object table from it and
//!    schedules every check.
//! 3. Due checks run in the [`Sandbox`], each in a fresh wasmtime instance
//!    with a time, memory and output limit and only the network access it
//!    is granted; a run always ends as an [`Outcome`].
//! 4. The state processor (crate-private) turns each result into the object's
//!    new state (SOFT/HARD, attempts, dependency failure, flapping,
//!    downtime, acknowledgements) and decides notifications.
//! 5. Everything that leaves the engine is an [`Event`] ([`event`]) on one
//!    ordered stream, handed to one ordered list of [`Subscriber`]s
//!    ([`pipeline`]): retention (commits, then hands notifications to
//!    [`notify`]), event handlers, the log, the broadcast for the HTTP
//!    [`api`], then an embedder's own subscribers.
//! 6. What comes in from outside (passive results, rechecks,
//!    acknowledgements, downtime, module changes) is an
//!    [`Input`], applied by the same engine; what it refuses is a
//!    [`Refusal`], which the API maps to a status code.
//!
//! [`Monitor`] drives all of it on the real clock; [`simulate`] on a
//! simulated one. Retention's store is crate-private too: an embedder
//! reads state through [`Monitor`] and events through a [`Subscriber`].
//!
//! # Embedding the monitor
//!
//! ```no_run
//! use wasmon_runtime::{Event, Monitor, Retention, Subscriber};
//!
//! /// Gets every event, in order, on a thread of its own.
//! struct Printer;
//!
//! impl Subscriber for Printer {
//!     fn events(&mut self, step: &[Event]) {
//!         for event in step {
//!             if let Event::Result(r) = event {
//!                 println!("{} is {} ({}): {}", r.object(), r.state, r.state_type, r.output);
//!             }
//!         }
//!     }
//! }
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let monitor = Monitor::builder()
//!     .config_file("wasmon.toml".as_ref())?
//!     .retention(Retention::None)
//!     .subscriber(Printer, 1024)
//!     .start()
//!     .await?;
//! let result = monitor.run_now("web1", Some("HTTP")).await?;
//! println!("{}", serde_json::to_string(&result)?);
//! monitor.stop().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Running one check
//!
//! ```
//! use wasmon_runtime::{CheckCall, Sandbox, State};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), wasmon_runtime::Error> {
//!     // One sandbox per process: it owns the engine, the instance pool and
//!     // the precompiled-module cache.
//!     let sandbox = Sandbox::builder().cache_dir(None).build()?;
//!
//!     // A standard check by name, or any component with `load_file`.
//!     let dummy = sandbox.load_standard("dummy")?;
//!     println!("{}", dummy.describe().await?.title);
//!
//!     let call = CheckCall {
//!         params: vec![("state".into(), "WARNING".into()), ("text".into(), "Disk nearly full".into())],
//!         ..CheckCall::default()
//!     };
//!     // A run never fails: timeouts, traps and memory limits are outcomes.
//!     let run = dummy.check(&call).await;
//!     assert_eq!(run.outcome.state, State::Warning);
//!     println!("{}", run.outcome.plugin_output());
//!
//!     // Keep `run.values` for the service's next run: it is what the
//!     // check stored (counters, sequence positions).
//!     Ok(())
//! }
//! ```
//!
//! Calls on a [`CheckModule`] may be made from many tasks at once; at most
//! [`SandboxBuilder::max_concurrency`] runs execute at the same time and the
//! rest wait for a slot.
#![deny(missing_docs)]
#![warn(unnameable_types)]

pub mod api;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod contract;
pub(crate) mod engine;
mod error;
pub mod event;
pub mod export;
#[doc(hidden)]
pub mod fuzzing;
pub mod import;
pub mod monitor;
pub mod notify;
pub mod outcome;
pub mod output;
pub mod pack;
pub mod pipeline;
pub mod plugin;
mod refusal;
pub(crate) mod retention;
mod sandbox;
pub mod sanitize;
pub(crate) mod schedule;
pub(crate) mod state;
pub mod timeperiod;
pub mod web;

pub use engine::{
    ConfigChange, CustomNotification, Input, Inputs, ModuleAction, ModuleChange, ModuleError, ModuleStatus,
    ObjectStatus, SimInput, read_inputs, simulate, simulate_from, simulate_with,
};
pub use error::Error;
pub use event::{Event, NotificationEvent, ResultEvent, Source, Status};
pub use monitor::{Monitor, MonitorBuilder, ReloadReport, Retention, Submission};
pub use outcome::{Metric, Outcome, Range, State, Termination};
pub use pipeline::Subscriber;
pub use refusal::Refusal;
pub use retention::{HistoryLimits, ObjectKey, StoreError};
pub use sandbox::module::{
    CheckCall, CheckInfo, CheckModule, CheckRun, DiscoverCall, Item, MAX_DISCOVERED_ITEMS, Manpage, ModuleKind,
    ParamInfo,
};
pub use sandbox::policy::{Grants, Limits, ResolveError, Target, resolve_address};
pub use sandbox::values::Values;
pub use sandbox::{CompileLimits, SocketLimits, raise_descriptor_limit};
pub use sandbox::{Sandbox, SandboxBuilder, default_cache_dir};
pub use sandbox::{handler, standard, system};
pub use state::{
    Acknowledgement, Downtime, DowntimeRequest, FlapPolicy, NotificationKind, NotificationPolicy, Semantics, StateType,
    SuppressionReason,
};

/// The text reported for `check-error::item-not-found`.
pub use sandbox::ITEM_NOT_FOUND;

impl Sandbox {
    /// Loads the standard check called `name` (see [`standard::all`]).
    pub fn load_standard(&self, name: &str) -> Result<CheckModule, Error> {
        let check = standard::find(name)?;
        self.load(check.name, check.wasm)
    }

    /// Loads `spec`: a path to a `.wasm` file if one exists there (or the
    /// text looks like a path), otherwise the standard check of that name.
    /// Returns the module and the grants it gets by default.
    pub fn load_spec(&self, spec: &str) -> Result<(CheckModule, Grants), Error> {
        if let Some(path) = spec_file(spec) {
            return Ok((self.load_file(path)?, Grants::default()));
        }
        let check = standard::find(spec)?;
        Ok((self.load(check.name, check.wasm)?, check.grants()))
    }
}

/// The file a check spec names: a path to a `.wasm` if one exists there
/// (or the text looks like a path); `None` for a standard check's name.
pub(crate) fn spec_file(spec: &str) -> Option<&std::path::Path> {
    let path = std::path::Path::new(spec);
    (path.exists() || spec.contains('/') || spec.ends_with(".wasm")).then_some(path)
}

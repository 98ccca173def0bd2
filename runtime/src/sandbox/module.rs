//! A loaded check module and what it says about itself.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use wasmtime_wasi::p2::bindings::CommandPre;

use crate::error::Error;
use crate::outcome::Outcome;
use crate::sandbox::Sandbox;
use crate::sandbox::bindings::{self, CheckPre};
use crate::sandbox::policy::{Grants, Limits, Target};
use crate::sandbox::values::Values;

/// A loaded module, compiled and linked, ready to run any number of times:
/// a check component of the `wasmon:check` contract, or a WASI command run
/// as a Nagios-style plugin (see [`ModuleKind`]). Both run through
/// [`check`](CheckModule::check). Cheap to clone.
#[derive(Clone)]
pub struct CheckModule {
    pub(crate) sandbox: Sandbox,
    pub(crate) name: Arc<str>,
    digest: [u8; 32],
    pub(crate) exports: Exports,
}

/// What a module exports, pre-linked.
#[derive(Clone)]
pub(crate) enum Exports {
    /// The `check` world: describe, discover, check.
    Check(CheckPre<crate::sandbox::HostState>),
    /// `wasi:cli/run`, from a command component or a converted preview1
    /// module.
    Command(CommandPre<crate::sandbox::HostState>, ModuleKind),
    /// The `handler` world: handle (see [`crate::sandbox::handler`]).
    Handler(bindings::handler::HandlerPre<crate::sandbox::HostState>),
    /// A module of this kind whose file was removed under a running
    /// monitor (see [`crate::monitor`]'s hot-loading): every run ends
    /// UNKNOWN with the message, and nothing runs.
    Missing(ModuleKind, Arc<str>),
}

/// What kind of module a [`CheckModule`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModuleKind {
    /// A component implementing the `wasmon:check` contract: it describes
    /// itself, discovers items and takes parameters.
    Check,
    /// A `wasi:cli/command` component (it exports `wasi:cli/run`), run as
    /// a Nagios-style plugin: command-line arguments in, plugin output and
    /// an exit code out.
    CommandPlugin,
    /// A WASI preview1 core module with `_start` (e.g. built for
    /// `wasm32-wasip1`), converted to a command component at load and run
    /// as a plugin like [`ModuleKind::CommandPlugin`].
    Preview1Plugin,
    /// An event handler (world `handler`, see [`crate::sandbox::handler`]): it
    /// reacts to results, it does not check anything.
    Handler,
}

impl ModuleKind {
    /// Whether modules of this kind run as command plugins.
    pub fn is_plugin(self) -> bool {
        matches!(self, ModuleKind::CommandPlugin | ModuleKind::Preview1Plugin)
    }
}

impl std::fmt::Debug for CheckModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckModule")
            .field("name", &self.name)
            .field("kind", &self.kind())
            .field("digest", &self.digest_hex())
            .finish()
    }
}

/// One run of a check: what to look at, with which limits and grants, and
/// the service's value store as the previous run left it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CheckCall {
    /// The host the check runs against.
    pub target: Target,
    /// The item the service monitors, if the check has items.
    pub item: Option<String>,
    /// Parameters as name and value, in order.
    pub params: Vec<(String, String)>,
    /// Command-line arguments of a command plugin, macros already expanded
    /// (see [`crate::plugin::expand_args`]), without `argv[0]`: the plugin
    /// gets the module's file name as `argv[0]`. A plugin takes these
    /// instead of an item and parameters; a wasmon check takes none.
    pub args: Vec<String>,
    /// Resource limits.
    pub limits: Limits,
    /// What the check may reach.
    pub grants: Grants,
    /// The service's value store (a plugin has no access to it).
    pub values: Values,
}

/// A finished run: the outcome and the value store to keep for the next run
/// (unchanged unless the run completed).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckRun {
    /// State, output and performance data.
    pub outcome: Outcome,
    /// The service's value store after the run.
    pub values: Values,
}

/// The most items one discovery returns by default: [`DiscoverCall::max_items`].
pub const MAX_DISCOVERED_ITEMS: usize = 1000;

/// Longest item name kept from a discovery, in bytes.
const MAX_ITEM_LEN: usize = 256;

/// A discovery request: the target and the parameters that shape discovery.
#[derive(Clone, Debug)]
pub struct DiscoverCall {
    /// The host to discover items on.
    pub target: Target,
    /// Parameters as name and value.
    pub params: Vec<(String, String)>,
    /// Resource limits.
    pub limits: Limits,
    /// What the check may reach.
    pub grants: Grants,
    /// The most items kept (default [`MAX_DISCOVERED_ITEMS`]): a discovery
    /// that returns more is cut to the first ones, with a warning that says
    /// how many it found.
    pub max_items: usize,
}

impl Default for DiscoverCall {
    fn default() -> DiscoverCall {
        DiscoverCall {
            target: Target::default(),
            params: Vec::new(),
            limits: Limits::default(),
            grants: Grants::default(),
            max_items: MAX_DISCOVERED_ITEMS,
        }
    }
}

/// An item found by discovery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The item's name, passed back as [`CheckCall::item`].
    pub name: String,
    /// Parameters discovery recommends for this item.
    pub params: Vec<(String, String)>,
}

/// What a check says about itself (`describe()`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInfo {
    /// Short name.
    pub name: String,
    /// The check's version.
    pub version: String,
    /// "Device: what is monitored".
    pub title: String,
    /// The manpage.
    pub manpage: Manpage,
    /// Every parameter the check understands.
    pub params: Vec<ParamInfo>,
}

/// A check's manpage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manpage {
    /// What is monitored and when it is OK, WARN or CRIT.
    pub description: String,
    /// How the item is formed, if the check has items.
    pub item: Option<String>,
    /// How discovery finds services, if the check discovers.
    pub discovery: Option<String>,
}

/// Documentation of one parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamInfo {
    /// Parameter name.
    pub name: String,
    /// Meaning and syntax.
    pub description: String,
    /// The default value, if any.
    pub default: Option<String>,
    /// Where the default comes from.
    pub default_source: Option<String>,
}

impl CheckModule {
    pub(crate) fn new(sandbox: Sandbox, name: &str, digest: [u8; 32], exports: Exports) -> CheckModule {
        CheckModule { sandbox, name: name.into(), digest, exports }
    }

    /// The name the module was loaded under (a path or a standard check name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is a wasmon check or a command plugin, and of which
    /// origin.
    pub fn kind(&self) -> ModuleKind {
        match &self.exports {
            Exports::Check(_) => ModuleKind::Check,
            Exports::Command(_, kind) => *kind,
            Exports::Handler(_) => ModuleKind::Handler,
            Exports::Missing(kind, _) => *kind,
        }
    }

    /// This module, gone: its runs end UNKNOWN with `message` without
    /// running anything, and it neither describes itself nor discovers.
    pub(crate) fn missing(&self, message: &str) -> CheckModule {
        CheckModule { exports: Exports::Missing(self.kind(), message.into()), ..self.clone() }
    }

    /// Fails `call` if the module is gone (see [`CheckModule::missing`]).
    fn present(&self, call: &'static str) -> Result<(), Error> {
        match &self.exports {
            Exports::Missing(_, message) => {
                Err(Error::Run { module: self.name.to_string(), call, message: message.to_string() })
            }
            _ => Ok(()),
        }
    }

    /// What a command plugin gets as `argv[0]`: the file name of the
    /// module (the last part of the name it was loaded under).
    pub fn program_name(&self) -> &str {
        std::path::Path::new(&*self.name).file_name().and_then(|n| n.to_str()).unwrap_or(&self.name)
    }

    fn not_a_handler(&self) -> Result<(), Error> {
        if self.kind() == ModuleKind::Handler {
            return Err(Error::InvalidModule {
                module: self.name.to_string(),
                reason: "it is an event handler (world handler): it neither describes itself nor discovers".into(),
            });
        }
        Ok(())
    }

    /// The sha256 of the component, in hex.
    pub fn digest_hex(&self) -> String {
        hex::encode(self.digest)
    }

    /// Asks the check to describe itself. Runs with the default limits and
    /// no grants. A command plugin has no description:
    /// [`Error::CommandPlugin`].
    pub async fn describe(&self) -> Result<CheckInfo, Error> {
        self.present("describe")?;
        self.not_a_handler()?;
        if self.kind().is_plugin() {
            return Err(Error::CommandPlugin { module: self.name.to_string(), call: "describe" });
        }
        let info = self.execute_describe().await.map_err(|message| Error::Run {
            module: self.name.to_string(),
            call: "describe",
            message,
        })?;
        Ok(CheckInfo {
            name: info.name,
            version: info.version,
            title: info.title,
            manpage: Manpage {
                description: info.manpage.description,
                item: info.manpage.item,
                discovery: info.manpage.discovery,
            },
            params: info
                .params
                .into_iter()
                .map(|p| ParamInfo {
                    name: p.name,
                    description: p.description,
                    default: p.default_value,
                    default_source: p.default_source,
                })
                .collect(),
        })
    }

    /// Asks the check which items it would monitor on the target. A
    /// command plugin does not discover: [`Error::CommandPlugin`].
    pub async fn discover(&self, call: &DiscoverCall) -> Result<Vec<Item>, Error> {
        self.present("discover")?;
        self.not_a_handler()?;
        if self.kind().is_plugin() {
            return Err(Error::CommandPlugin { module: self.name.to_string(), call: "discover" });
        }
        let items = self.execute_discover(call).await.map_err(|message| Error::Run {
            module: self.name.to_string(),
            call: "discover",
            message,
        })?;
        if items.len() > call.max_items {
            tracing::warn!(
                module = %self.name,
                found = items.len(),
                kept = call.max_items,
                "discovery found more items than allowed (max_discovered_items): the rest are left out"
            );
        }
        // Item names become service names and log fields: one bounded line.
        Ok(items
            .into_iter()
            .take(call.max_items)
            .map(|i| Item {
                name: crate::sanitize::line(&i.name, MAX_ITEM_LEN),
                params: i.params.into_iter().map(|p| (p.name, p.value)).collect(),
            })
            .collect())
    }

    /// What a command plugin prints for `--help`, as it printed it (stdout,
    /// or stderr when stdout is empty): the usage of its arguments, since a
    /// plugin cannot [`describe`](CheckModule::describe) itself. Runs in the
    /// sandbox without a target, within 5 s. A wasmon check has no
    /// `--help` ([`Error::Run`]: use `describe`).
    pub async fn plugin_help(&self) -> Result<String, Error> {
        let run = |message: String| Error::Run { module: self.name.to_string(), call: "--help", message };
        self.present("--help")?;
        if !self.kind().is_plugin() {
            return Err(run("it is a wasmon check, not a command plugin: it describes itself (describe)".into()));
        }
        self.execute_help().await.map_err(run)
    }

    /// Runs the check once in a fresh instance. Never fails: every way a run
    /// can end is mapped to a state and a message.
    ///
    /// A wasmon check gets the item and parameters; a command plugin gets
    /// the arguments, and its output and exit code are mapped by the plugin
    /// interface (see [`crate::plugin`]). Giving a plugin an item or
    /// parameters, or a check arguments, is a configuration mistake that
    /// ends UNKNOWN (termination `BadParams`) without running anything.
    pub async fn check(&self, call: &CheckCall) -> CheckRun {
        match &self.exports {
            Exports::Check(_) => self.execute_check(call).await,
            Exports::Command(..) => self.execute_plugin(call).await,
            Exports::Handler(_) => crate::sandbox::misuse(
                call,
                "This is an event handler (world handler), not a check: configure it in a [[handler]] table",
            ),
            Exports::Missing(_, message) => CheckRun {
                outcome: Outcome::not_run(message.to_string(), crate::Termination::HostError),
                values: call.values.clone(),
            },
        }
    }
}

pub(crate) fn wit_params(params: &[(String, String)]) -> Vec<bindings::wasmon::check::types::Param> {
    params
        .iter()
        .map(|(name, value)| bindings::wasmon::check::types::Param { name: name.clone(), value: value.clone() })
        .collect()
}

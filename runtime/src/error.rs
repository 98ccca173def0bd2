//! The library's error type.

use std::path::PathBuf;

/// What can go wrong when loading or asking a check module. A check *run*
/// never fails: every way it ends is an [`Outcome`](crate::Outcome).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The wasmtime engine (its configuration or its linker) could not be
    /// set up.
    #[error("cannot set up the WebAssembly engine: {0:#}")]
    Wasmtime(#[source] wasmtime::Error),
    /// A metric sink cannot start: its address, HTTP client, spool,
    /// runtime or thread.
    #[error("sink \"{sink}\": {what}: {source}")]
    Sink {
        /// The sink's name.
        sink: String,
        /// What failed, e.g. `listen: cannot listen on 127.0.0.1:9642`.
        what: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The engine broke one of its own promises (a bug): what it was.
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// A thread of wasmon's own could not be started.
    #[error("cannot start {what}: {source}")]
    Thread {
        /// Which thread (`the epoch thread`, `a subscriber`).
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A task of wasmon's own failed (it panicked or was cancelled).
    #[error("the {what} task failed: {source}")]
    Task {
        /// Which task (`loading`, `engine`).
        what: &'static str,
        /// Why.
        #[source]
        source: tokio::task::JoinError,
    },
    /// A request was applied but its commit to the retention file failed.
    #[error("applied, but not saved to the state file: {0}")]
    NotSaved(String),
    /// The object a request waited for was removed by a configuration
    /// reload.
    #[error("the object was removed by a configuration reload")]
    Removed,
    /// A module file could not be read.
    #[error("cannot read module '{}': {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A module was rejected at load.
    #[error("module '{module}' was rejected: {reason}")]
    InvalidModule {
        /// The module's name or path.
        module: String,
        /// Why, in one line.
        reason: String,
    },
    /// There is no standard check of that name and no such file.
    #[error("'{name}' is neither a file nor a standard check (standard checks: {known})")]
    UnknownCheck {
        /// What was asked for.
        name: String,
        /// The standard checks, comma-separated.
        known: String,
    },
    /// Scale-out (`[cluster]`, `wasmon worker`): the NATS server cannot be
    /// reached, or a stream, consumer or bucket cannot be made.
    #[error("cluster: {0}")]
    Cluster(String),
    /// The configuration cannot be put to work (an address that does not
    /// resolve, a module that does not load).
    #[error("configuration: {0}")]
    Config(String),
    /// A file the configuration names (an inputs file) cannot be read.
    #[error("configuration: {}: cannot read: {source}", path.display())]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A TOML file other than the configuration (an inputs file) is not
    /// valid TOML of the expected shape.
    #[error("configuration: {}: {source}", path.display())]
    Toml {
        /// The file.
        path: PathBuf,
        /// Where and why.
        #[source]
        source: toml::de::Error,
    },
    /// A check's arguments have a macro that cannot be expanded.
    #[error("configuration: {0}")]
    Macro(#[from] crate::plugin::MacroError),
    /// A host's pack cannot be opened or expanded.
    #[error("configuration: host \"{host}\": {source}")]
    HostPack {
        /// The host.
        host: String,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// A configuration file has problems: every one of them, each naming
    /// its file, line and key (a reload refused; the running configuration
    /// stays).
    #[error("{0}")]
    InvalidConfig(#[from] crate::config::ConfigError),
    /// The retention file could not be opened, read or written.
    #[error("retention: {0}")]
    Retention(#[from] crate::retention::StoreError),
    /// The HTTP API could not listen on its address.
    #[error("HTTP API: [api] listen: cannot listen on {address}: {source}")]
    Listen {
        /// The `[api] listen` address.
        address: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP API stopped serving.
    #[error("HTTP API: serving on {address}: {source}")]
    Serve {
        /// The address it served on.
        address: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The request was refused (an unknown object, a malformed request,
    /// an object that does not take what was asked); nothing changed.
    #[error(transparent)]
    Refused(#[from] crate::Refusal),
    /// The monitor has stopped.
    #[error("the monitor has stopped")]
    Stopped,
    /// `describe` or `discover` did not return normally.
    #[error("{call} of module '{module}' failed: {message}")]
    Run {
        /// The module's name or path.
        module: String,
        /// `describe` or `discover`.
        call: &'static str,
        /// The mapped message (timeout, trap, check error).
        message: String,
    },
    /// A check pack (a source directory, a pack file or an installed pack)
    /// is wrong or cannot be used: one line per problem, each naming the
    /// file (and, in a source manifest, the line, column and key).
    #[error("{}", .0.join("\n"))]
    Pack(Vec<String>),
    /// `describe` or `discover` was asked of a command plugin, which has
    /// neither: it only runs, with command-line arguments.
    #[error(
        "module '{module}' is a WASI command plugin, which has no {call}(): it runs with command-line \
         arguments (`wasmon check MODULE -- ARGS`, or `args = [...]` in the configuration)"
    )]
    CommandPlugin {
        /// The module's name or path.
        module: String,
        /// `describe` or `discover`.
        call: &'static str,
    },
}

impl Error {
    pub(crate) fn engine(e: wasmtime::Error) -> Error {
        Error::Wasmtime(e)
    }
}

//! The library's error type.

use std::path::PathBuf;

/// What can go wrong when loading or asking a check module. A check *run*
/// never fails: every way it ends is an [`Outcome`](crate::Outcome).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The wasmtime engine could not be set up.
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),
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
    /// A configuration file has problems: every one of them, each naming
    /// its file, line and key (a reload refused; the running configuration
    /// stays).
    #[error("{0}")]
    InvalidConfig(#[from] crate::config::ConfigError),
    /// The retention file could not be opened, read or written.
    #[error("retention: {0}")]
    Retention(#[from] crate::retention::StoreError),
    /// No object of that host and service is configured.
    #[error("no such object: host '{host}'{}", service.as_ref().map(|s| format!(", service '{s}'")).unwrap_or_default())]
    NotFound {
        /// The host asked for.
        host: String,
        /// The service asked for, if any.
        service: Option<String>,
    },
    /// The HTTP API could not listen or serve.
    #[error("HTTP API: {0}")]
    Api(String),
    /// The object does not take what was asked of it: a passive result
    /// with `passive_checks = false`, a recheck of an object without a check.
    #[error("host '{host}'{}: {reason}", service.as_ref().map(|s| format!(", service '{s}'")).unwrap_or_default())]
    Refused {
        /// The host asked for.
        host: String,
        /// The service asked for, if any.
        service: Option<String>,
        /// Why, in words.
        reason: String,
    },
    /// A request (a downtime, an acknowledgement) is malformed.
    #[error("invalid request: field '{field}': {reason}")]
    InvalidRequest {
        /// The field that is wrong.
        field: &'static str,
        /// What was expected.
        reason: String,
    },
    /// Only an object in a problem state can be acknowledged.
    #[error(
        "cannot acknowledge host '{host}'{}: it is {state}; only a problem (not OK/UP) can be acknowledged",
        service.as_ref().map(|s| format!(", service '{s}'")).unwrap_or_default()
    )]
    NotAProblem {
        /// The host.
        host: String,
        /// The service, if any.
        service: Option<String>,
        /// Its state (UP for a host).
        state: String,
    },
    /// The object has no acknowledgement to remove.
    #[error(
        "host '{host}'{} has no acknowledgement",
        service.as_ref().map(|s| format!(", service '{s}'")).unwrap_or_default()
    )]
    NotAcknowledged {
        /// The host.
        host: String,
        /// The service, if any.
        service: Option<String>,
    },
    /// No downtime has that id (it may have ended).
    #[error("no downtime with id {id} (it may have ended or been cancelled)")]
    NoSuchDowntime {
        /// The id asked for.
        id: u64,
    },
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
        Error::Engine(format!("{e:#}"))
    }
}

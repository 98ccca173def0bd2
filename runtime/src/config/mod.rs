//! The configuration file: TOML, read into the [object model](model) and
//! validated completely before anything runs.
//!
//! ```toml
//! [engine]                      # optional
//! state_semantics = "opsview"   # or "nagios"
//! max_concurrent_checks = 64
//! state_file = "wasmon.db"      # relative to the config file's folder
//! checks_dir = "checks"        # watched for hot-loading (default: "checks" if it exists)
//! packs_dir = "packs"          # installed check packs, relative likewise
//!
//! [defaults]                    # optional: any object key but name, host, use, check, item
//! check_interval = "5m"
//! flap_detection = true         # flapping: default true, thresholds in percent
//! low_flap_threshold = 20.0     # stops flapping below (0 <= low < high <= 100)
//! high_flap_threshold = 30.0    # starts flapping above
//!
//! [[template]]                  # a named set of object keys
//! name = "fast"
//! check_interval = "31s"
//!
//! [[host]]
//! name = "web1"
//! address = "127.0.0.1"
//! check = "tcp"                 # optional host check
//! params = { port = 22 }
//! parents = ["router1"]         # hosts it depends on (not in [defaults])
//! packs = ["linux-basics"]      # installed check packs: their services (see crate::pack)
//! pack_params = { "linux-basics" = { "Disk {item}" = { warning = "85%" } } }
//!
//! [[service]]
//! host = "web1"
//! name = "Lifecycle"
//! use = "fast"                  # or a list: later templates win
//! check = "dummy"               # a standard check or a path to a .wasm
//! params = { sequence = "OK,WARNING,CRITICAL" }
//! contacts = ["ops"]
//! parents = ["SNMP Agent", { host = "core1", service = "SNMP Agent" }]
//!
//! [[service]]
//! host = "web1"
//! name = "Backup"
//! active_checks = false         # passive only (default true); no check needed
//! passive_checks = true         # false refuses submitted results (default true)
//! check_freshness = true        # a threshold alone enables it too
//! freshness_threshold = "10m"   # default: check_interval + 15s
//! stale_state = "UNKNOWN"       # the default
//!
//! [[contact]]
//! name = "ops"
//! methods = [{ type = "log" }]
//! notification_options = "w,c,r"   # Nagios letters (default: all)
//!
//! [[contactgroup]]              # named in contact_groups = [...]
//! name = "admins"
//! members = ["ops"]
//!
//! [[timeperiod]]                # named in check_period, notification_period
//! name = "workhours"
//! timezone = "Europe/Berlin"    # IANA name (default UTC)
//! monday = "09:00-17:00"        # any weekday; dates: "2026-12-24", "december 24", "day 1"
//! exclude = ["holidays"]        # other [[timeperiod]]s
//!
//! [[escalation]]                # from the 3rd problem notification on
//! host = "web*"                 # names or patterns; no service: the host's own
//! service = "*"
//! first_notification = 3
//! contact_groups = ["admins"]
//! notification_interval = "1h"
//!
//! [api]                         # optional: the HTTP API of `wasmon run`
//! listen = "127.0.0.1:8642"
//! [[api.token]]
//! name = "ci"
//! token_env = "WASMON_API_TOKEN"
//! scopes = ["read", "write"]
//!
//! [[sink]]                      # metric sinks, see crate::export
//! name = "prom"
//! type = "prometheus"           # or "influxdb", "graphite", "opentsdb", "otlp"
//! listen = "127.0.0.1:9642"
//! ```
//!
//! A value is taken from, in rising precedence: the built-in defaults, the
//! `[defaults]` table, the templates in `use` order, the object's own keys.
//! `params` merge key by key the same way; every other key (lists included)
//! is replaced as a whole by the layer above.
//!
//! `parents` name hosts (for a host) or services (for a service: a plain
//! name is a service of the same host); an unknown name or a dependency
//! cycle is a problem naming it (`a -> b -> a`). A service's own host is
//! always its parent too. The state processor's dependency rules
//! (crate-private `state::dependency`) say what a failed parent does, and
//! the engine's `Due` says what freshness does.
//!
//! Every problem is reported, each as `FILE:LINE:COLUMN: what: why`, and a
//! file with any problem yields no [`Config`] at all.

mod api;
pub mod model;
mod parents;
pub(crate) mod read;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

pub use api::{API_MAX_BODY, API_PORT, ApiLimits, ApiSettings, ApiToken, Scope, Secret};
pub use model::*;
pub use read::parse_size;

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read it: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file was read, and is wrong: one line per problem, in file order.
    #[error("{}", lines(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// The problems found (none for [`ConfigError::Read`]).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid(p) => p,
        }
    }
}

fn lines(problems: &[Problem]) -> String {
    problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n")
}

/// One problem in a configuration file, at a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file, as it was named to [`load`] or [`parse`].
    pub file: PathBuf,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// What is wrong, naming the object and the key.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.column, self.message)
    }
}

/// The configuration `wasmon run` uses when it is given none: this
/// machine's load, memory and root filesystem, state in `./wasmon.db`,
/// notifications to the log.
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// Reads [`DEFAULT_CONFIG`], as if it were the file `wasmon.toml` in the
/// current directory (so its state file is `./wasmon.db`).
pub fn builtin() -> Result<Config, ConfigError> {
    parse(DEFAULT_CONFIG, Path::new("wasmon.toml"))
}

/// Reads and validates the configuration file at `path`. Relative paths in
/// it (`state_file`, check modules) are resolved against its folder.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    parse(&text, path)
}

/// Validates `text` as if it were the content of the file `path` (which
/// need not exist: it names the file in messages, and its folder resolves
/// relative paths).
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    read::read(text, path).map_err(ConfigError::Invalid)
}

//! What the subcommands share: output, failures, logging, the configuration,
//! the arguments of a check run and the parsers of their values.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{Args, ValueEnum};

use wasmon_runtime::{CheckModule, Grants, ResolveError, Sandbox, State, Target, Values};

/// Prints a line to stdout. A closed stdout (`wasmon check … | head -1`)
/// is not a failure: the exit code still gives the state.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Prints to stdout, like [`outln!`] without the newline.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// An error that keeps a command from doing its job; `main` turns it into
/// exit code 3.
pub struct Failure(pub anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure(e.into())
    }
}

/// Where and how a check runs; shared by `check` and `discover`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The check: a path to a .wasm file or the name of a standard check
    /// (dummy, tcp, http, dns, load, memory, disk, uptime). The file is a wasmon check
    /// component, or a command plugin: a WASI command component or a WASI
    /// preview1 module (e.g. built for wasm32-wasip1)
    #[arg(value_name = "MODULE")]
    pub module: String,

    /// The host to check: a name (resolved once, here) or an IP address
    #[arg(short = 'H', long = "host", value_name = "HOST")]
    pub host: Option<String>,

    /// A check parameter, repeatable (see `wasmon describe MODULE`)
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,

    /// Wall-time limit of the run
    #[arg(short = 't', long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Memory limit of the check's linear memory
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub memory: usize,

    /// Grant more than the default (a connection to the host's address only):
    /// `system`, `dns`, `net=<IP address>`, `net=any`; `no-target` takes the
    /// host's address away. Repeatable. Standard checks come with what they need.
    #[arg(long = "grant", value_name = "GRANT")]
    pub grants: Vec<String>,
}

/// How `describe` and `discover` print.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextFormat {
    /// For people
    Text,
    /// One JSON value
    Json,
}

pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("wasmon={default},wasmon_runtime={default}")));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// The module, its grants (defaults plus `--grant`), the target, the params.
pub(crate) struct Prepared {
    pub(crate) module: CheckModule,
    pub(crate) grants: Grants,
    pub(crate) target: Target,
    pub(crate) params: Vec<(String, String)>,
}

pub(crate) fn prepare(sandbox: &Sandbox, run: &RunArgs) -> Result<Prepared, Failure> {
    let params = run.params.iter().map(|p| parse_param(p)).collect::<Result<Vec<_>, _>>()?;
    let (module, mut grants) = sandbox.load_spec(&run.module)?;
    for g in &run.grants {
        grants.add(g).map_err(|e| anyhow!("--grant {e}"))?;
    }
    let target = match &run.host {
        None => Target::default(),
        Some(host) => Target::new(host.clone(), Some(resolve(host)?)),
    };
    Ok(Prepared { module, grants, target, params })
}

/// Loads a configuration; on problems prints each on its own line (file,
/// line, column, key) on stderr and fails with their count.
pub(crate) fn load_config(path: &Path) -> Result<wasmon_runtime::config::Config, Failure> {
    match wasmon_runtime::config::load(path) {
        Ok(c) => Ok(c),
        Err(e @ wasmon_runtime::config::ConfigError::Read { .. }) => Err(e.into()),
        Err(e) => {
            eprintln!("{e}");
            let n = e.problems().len();
            Err(anyhow!("{}: {n} problem{} found", path.display(), if n == 1 { "" } else { "s" }).into())
        }
    }
}

/// What `grants` allow, one line each, for the manpages.
pub(crate) fn granted(grants: &Grants) -> String {
    let mut granted = Vec::new();
    if grants.target {
        granted.push("connections to the host's address".to_string());
    }
    if grants.dns {
        granted.push("name lookups".to_string());
    }
    if grants.system {
        granted.push("the system interface (load, memory, filesystems, uptime)".to_string());
    }
    granted.extend(grants.addresses.iter().map(|a| format!("connections to {a}")));
    if grants.any_address {
        granted.push("connections to any address".to_string());
    }
    if granted.is_empty() { "nothing".to_string() } else { granted.join("\n") }
}

pub(crate) fn parse_param(p: &str) -> anyhow::Result<(String, String)> {
    match p.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => bail!("-p '{p}': expected KEY=VALUE"),
    }
}

/// Resolves `-H` once, here: the check connects to this address.
pub(crate) fn resolve(host: &str) -> anyhow::Result<IpAddr> {
    match wasmon_runtime::resolve_address(host) {
        Ok(ip) => Ok(ip),
        Err(ResolveError::Lookup { error, .. }) => {
            Err(anyhow::Error::new(error).context(format!("-H '{host}': cannot resolve the host name")))
        }
        Err(ResolveError::NoAddress { .. }) => Err(anyhow!("-H '{host}': the host name has no addresses")),
    }
}

pub(crate) fn load_values(path: &Path) -> anyhow::Result<Values> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).with_context(|| {
            format!(
                "--state-file {}: not a value store written by wasmon (expected a JSON object of byte arrays)",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Values::new()),
        Err(e) => Err(e).with_context(|| format!("--state-file {}: cannot read it", path.display())),
    }
}

pub(crate) fn save_values(path: &Path, values: &Values) -> anyhow::Result<()> {
    let text = serde_json::to_string(values)?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("--state-file {}: cannot write it", path.display()))
}

pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let max = wasmon_runtime::sanitize::MAX_DURATION;
    let d = match s.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 => {
            wasmon_runtime::sanitize::seconds(secs, max).unwrap_or(Duration::MAX)
        }
        Ok(_) => return Err(format!("'{s}': expected a positive duration such as 10s, 500ms or 1m")),
        Err(_) => humantime::parse_duration(s)
            .map_err(|e| format!("'{s}': expected a duration such as 10s, 500ms or 1m ({e})"))?,
    };
    if d.is_zero() {
        return Err(format!("'{s}': the duration must be more than zero"));
    }
    if d > max {
        return Err(format!("'{s}': the duration must be at most {}", humantime::format_duration(max)));
    }
    Ok(d)
}

/// Sizes as `65536`, `64KiB`, `64MiB`, `1GiB` (also `K`/`M`/`G`, `KB`/`MB`/`GB`, all binary).
pub(crate) fn parse_size(s: &str) -> Result<usize, String> {
    wasmon_runtime::config::parse_size(s)
}

pub(crate) fn parse_state(s: &str) -> Result<State, String> {
    s.parse::<State>().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_durations_and_params() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("16k"), Ok(16 << 10));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("64 furlongs").unwrap_err().contains("unknown unit"));
        assert!(parse_size("0").is_err());
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0s").is_err());
        assert_eq!(parse_param("port=22").unwrap(), ("port".into(), "22".into()));
        assert_eq!(parse_param("send=a=b").unwrap(), ("send".into(), "a=b".into()));
        assert!(parse_param("port").unwrap_err().to_string().contains("expected KEY=VALUE"));
    }
}

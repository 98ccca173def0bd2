//! The resolved object model: what a configuration file means once
//! defaults and templates are applied and every reference is checked.
//! The engine, the scheduler and `wasmon simulate` use only these types.

use std::path::PathBuf;
use std::time::Duration;

use crate::sandbox::policy::{Grants, Limits};
use crate::state::{FlapPolicy, NotificationPolicy, Semantics, StateConfig};

/// A validated configuration. `Config::default()` is an empty one (no
/// objects), for building a configuration in code with `..Default::default()`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// Engine-wide settings.
    pub engine: EngineSettings,
    /// Hosts, in file order.
    pub hosts: Vec<Host>,
    /// Services, in file order.
    pub services: Vec<Service>,
    /// Contacts, in file order.
    pub contacts: Vec<Contact>,
    /// Event handlers, in file order.
    pub handlers: Vec<Handler>,
    /// The HTTP API (`[api]`), if `wasmon run` is to serve one.
    pub api: Option<super::ApiSettings>,
    /// Time periods (`[[timeperiod]]`), in file order.
    pub timeperiods: Vec<crate::timeperiod::TimePeriod>,
    /// Contact groups (`[[contactgroup]]`), in file order. Objects and
    /// escalations name them; the reader puts their members in the
    /// objects' and escalations' `contacts`.
    pub contact_groups: Vec<ContactGroup>,
    /// Notification escalations (`[[escalation]]`), in file order.
    pub escalations: Vec<Escalation>,
    /// Metric sinks (`[[sink]]`), in file order (see [`crate::export`]).
    pub sinks: Vec<Sink>,
    /// Scale-out on NATS JetStream (`[cluster]`, see [`crate::cluster`]):
    /// the checks of objects with a `zone` run on `wasmon worker`s.
    pub cluster: Option<crate::cluster::ClusterSettings>,
}

/// Engine-wide settings (`[engine]`); the default is what a file without
/// `[engine]` gets, with the state file relative to the current directory.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineSettings {
    /// `state_semantics`: "opsview" (default) or "nagios".
    pub state_semantics: Semantics,
    /// `max_concurrent_checks`: the global concurrency cap (default 64).
    pub max_concurrent_checks: u32,
    /// `state_file`: the SQLite retention file (default `wasmon.db` beside the config).
    pub state_file: PathBuf,
    /// `checks_dir`: the folder of check modules `wasmon run` watches and
    /// hot-loads (default `checks` beside the config, if that folder
    /// exists; `None`: no checks folder, only the folders of the module
    /// files the configuration names are watched).
    pub checks_dir: Option<PathBuf>,
    /// `packs_dir`: where check packs are installed (default `packs` beside the config).
    pub packs_dir: PathBuf,
    /// `keep_removed`: how long the retention rows of a host or service
    /// the configuration no longer has are kept (default 7 days), so that
    /// one put back within that time resumes its state.
    pub keep_removed: Duration,
    /// `history_max_age`, `history_max_size`: how much state-change history
    /// the state file keeps (default 31 days, 256 MiB).
    pub history: crate::retention::HistoryLimits,
    /// `max_discovered_items`: the most items one discovery of a pack
    /// service creates services for (default 1000).
    pub max_discovered_items: usize,
    /// `compile_timeout`, `compile_memory`: the budget of compiling one
    /// module (default 2 minutes, 2 GiB).
    pub compile: crate::sandbox::CompileLimits,
}

/// How an object is checked: the module, its parameters, limits and grants.
/// The default has an empty module name: set `module`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckSpec {
    /// A standard check's name or a path to a `.wasm` component (relative
    /// paths resolved against the config file's folder).
    pub module: String,
    /// Parameters as name and value, in order.
    pub params: Vec<(String, String)>,
    /// A command plugin's arguments (`args`), with `$HOSTNAME$`,
    /// `$HOSTADDRESS$` and `$SERVICEDESC$` macros not yet expanded.
    pub args: Vec<String>,
    /// Sandbox limits (`timeout`, `memory`, `output_limit`, `timeout_state`).
    pub limits: Limits,
    /// Grants: the module's defaults plus the configured `grants = [...]`.
    pub grants: Grants,
    /// `zone`: the zone of the `wasmon worker`s that run it when the
    /// configuration has a `[cluster]`; `None`: it runs in this process. A
    /// service without a zone of its own takes its host's.
    pub zone: Option<String>,
}

/// When and how often an object is checked. The default is the built-in
/// one: every 5 minutes, retried every minute, HARD after 3 attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// `check_interval`.
    pub check_interval: Duration,
    /// `retry_interval`.
    pub retry_interval: Duration,
    /// `max_check_attempts` (at least 1).
    pub max_check_attempts: u32,
}

/// The built-in `check_interval`.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(300);
/// The built-in `retry_interval`.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(60);
/// The built-in `max_check_attempts`.
pub const MAX_CHECK_ATTEMPTS: u32 = 3;
/// The built-in `[engine] max_concurrent_checks`.
pub const MAX_CONCURRENT_CHECKS: u32 = 64;
/// The built-in `[engine] state_file`, relative to the config file's folder.
pub const STATE_FILE: &str = "wasmon.db";
/// The built-in `[engine] checks_dir`, relative to the config file's
/// folder, used when that folder exists.
pub const CHECKS_DIR: &str = "checks";
/// The built-in `[engine] packs_dir`, relative to the config file's folder.
pub const PACKS_DIR: &str = "packs";

impl Default for Schedule {
    fn default() -> Schedule {
        Schedule {
            check_interval: CHECK_INTERVAL,
            retry_interval: RETRY_INTERVAL,
            max_check_attempts: MAX_CHECK_ATTEMPTS,
        }
    }
}

impl Default for EngineSettings {
    fn default() -> EngineSettings {
        EngineSettings {
            state_semantics: Semantics::default(),
            max_concurrent_checks: MAX_CONCURRENT_CHECKS,
            state_file: PathBuf::from(STATE_FILE),
            checks_dir: None,
            packs_dir: PathBuf::from(PACKS_DIR),
            keep_removed: KEEP_REMOVED,
            history: crate::retention::HistoryLimits::default(),
            max_discovered_items: crate::sandbox::module::MAX_DISCOVERED_ITEMS,
            compile: crate::sandbox::CompileLimits::default(),
        }
    }
}

/// How long a removed object's retention rows stay by default: a week.
pub const KEEP_REMOVED: Duration = Duration::from_secs(7 * 24 * 3600);

impl Schedule {
    /// The state processor's view of this schedule.
    pub(crate) fn state_config(&self, semantics: Semantics) -> StateConfig {
        StateConfig {
            max_check_attempts: self.max_check_attempts,
            check_interval: self.check_interval,
            retry_interval: self.retry_interval,
            semantics,
        }
    }
}

/// A host (`[[host]]`). The default has an empty name, no address and no check.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Host {
    /// Unique name.
    pub name: String,
    /// The address checks connect to (a name or an IP address), if any.
    pub address: Option<String>,
    /// The host check, if any (its OK and WARNING mean UP).
    pub check: Option<CheckSpec>,
    /// Its schedule.
    pub schedule: Schedule,
    /// Names of the contacts notified about it.
    pub contacts: Vec<String>,
    /// When to notify.
    pub notification: NotificationPolicy,
    /// `check_period`: the time period active checks (and freshness
    /// checks) run in; `None`: always.
    pub check_period: Option<String>,
    /// `notification_period`: the time period notifications go out in;
    /// `None`: always.
    pub notification_period: Option<String>,
    /// Names of the event handlers that run on its results.
    pub event_handlers: Vec<String>,
    /// `parents`: the hosts it depends on (dependency failure, seed 002).
    pub parents: Vec<String>,
    /// Passive results and freshness.
    pub passive: PassiveSettings,
    /// Flap detection (`flap_detection`, `low_flap_threshold`, `high_flap_threshold`).
    pub flapping: FlapPolicy,
    /// The check packs it uses (`packs`), with its overrides (`pack_params`).
    /// [`crate::pack::expand`] turns them into services and empties this.
    pub packs: Vec<HostPack>,
    /// `zone`: where its checks and those of its services without a zone
    /// of their own run (see [`CheckSpec::zone`]).
    pub zone: Option<String>,
}

/// A check pack a host uses (`packs = ["NAME"]`) and what the host
/// overrides of it (`pack_params = { "NAME" = { ... } }`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostPack {
    /// The installed pack's name.
    pub name: String,
    /// Parameters for every service of the pack whose check takes them.
    pub params: Vec<(String, String)>,
    /// Parameters of some services only: the key is a service name of the
    /// pack as its manifest writes it (`"Disk {item}"`) or one service's
    /// name (`"Disk /var"`, which wins).
    pub services: Vec<(String, Vec<(String, String)>)>,
}

/// A service (`[[service]]`). The default has empty names: set `host`,
/// `name` and `check.module`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Service {
    /// The host it belongs to (a name from `hosts`).
    pub host: String,
    /// Its name, unique on its host.
    pub name: String,
    /// The item it monitors, if the check has items.
    pub item: Option<String>,
    /// Its check (the default, an empty module, for a passive-only service
    /// without one: `active_checks = false` and no `check`).
    pub check: CheckSpec,
    /// Its schedule.
    pub schedule: Schedule,
    /// Names of the contacts notified about it.
    pub contacts: Vec<String>,
    /// When to notify.
    pub notification: NotificationPolicy,
    /// `check_period`: the time period active checks (and freshness
    /// checks) run in; `None`: always.
    pub check_period: Option<String>,
    /// `notification_period`: the time period notifications go out in;
    /// `None`: always.
    pub notification_period: Option<String>,
    /// Names of the event handlers that run on its results.
    pub event_handlers: Vec<String>,
    /// `parents`: the services it depends on (dependency failure, seed 002).
    pub parents: Vec<ServiceRef>,
    /// Passive results and freshness.
    pub passive: PassiveSettings,
    /// Flap detection (`flap_detection`, `low_flap_threshold`, `high_flap_threshold`).
    pub flapping: FlapPolicy,
}

/// A service named as a parent: `"SNMP Agent"` (on the same host) or
/// `{ host = "core1", service = "SNMP Agent" }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ServiceRef {
    /// The parent's host.
    pub host: String,
    /// The parent service's name.
    pub service: String,
}

/// Passive results and freshness checking of one object (seed 002,
/// "Freshness Checking"). The default is Nagios's: active and passive
/// checks on, no freshness checking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PassiveSettings {
    /// `active_checks` (default true): false makes the object passive only
    /// (its check, if it has one, runs only when its result is stale).
    pub active_checks: bool,
    /// `passive_checks` (default true): false refuses submitted results.
    pub passive_checks: bool,
    /// `check_freshness` with `freshness_threshold`: how long without any
    /// result (active or passive) the object may go before it is stale.
    /// `None`: no freshness checking. Enabled without a threshold, it is
    /// the check interval plus [`FRESHNESS_LATENCY`].
    pub freshness_threshold: Option<Duration>,
    /// `stale_state` (default UNKNOWN): the state of a stale object that
    /// has no check to run.
    pub stale_state: crate::outcome::State,
}

/// What a derived freshness threshold adds to the check interval (as
/// Nagios adds latency).
pub const FRESHNESS_LATENCY: Duration = Duration::from_secs(15);

impl Default for PassiveSettings {
    fn default() -> PassiveSettings {
        PassiveSettings {
            active_checks: true,
            passive_checks: true,
            freshness_threshold: None,
            stale_state: crate::outcome::State::Unknown,
        }
    }
}

/// When an event handler runs (`on`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HandlerTrigger {
    /// After every result.
    Result,
    /// After every state change, SOFT or HARD (the default, as Nagios runs
    /// event handlers).
    #[default]
    StateChange,
    /// After HARD state changes only.
    HardChange,
}

/// An event handler (`[[handler]]`): a component of world `handler`.
#[derive(Clone, Debug, PartialEq)]
pub struct Handler {
    /// Unique name, what objects list in `event_handlers`.
    pub name: String,
    /// The component: a path to a `.wasm`, resolved against the config
    /// file's folder.
    pub module: String,
    /// When it runs.
    pub on: HandlerTrigger,
    /// Its parameters, in order.
    pub params: Vec<(String, String)>,
    /// Sandbox limits (`timeout`, `memory`, `output_limit`).
    pub limits: Limits,
    /// What it may reach (`grants`): like a check, by default the address
    /// of the host whose event it handles, and nothing else.
    pub grants: Grants,
}

/// A contact (`[[contact]]`) and how it is notified.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Contact {
    /// Unique name.
    pub name: String,
    /// Its notification methods, in order.
    pub methods: Vec<Method>,
    /// What it is notified about (`notification_options`,
    /// `host_notification_options`, `service_notification_options`).
    pub options: NotificationOptions,
}

/// What a contact is notified about, as Nagios' letters say: for services
/// `w` WARNING, `u` UNKNOWN, `c` CRITICAL, `r` recovery, `f` flapping
/// start and stop, `s` downtime start, end and cancellation; for hosts `d`
/// DOWN, `u` UNREACHABLE, `r`, `f`, `s`; `n` nothing, `a` everything (the
/// default). Acknowledgements go by the state acknowledged; custom
/// notifications to everyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotificationOptions {
    /// The letters for host notifications.
    pub host: OptionLetters,
    /// The letters for service notifications.
    pub service: OptionLetters,
}

impl Default for NotificationOptions {
    fn default() -> NotificationOptions {
        NotificationOptions { host: OptionLetters::ALL, service: OptionLetters::ALL }
    }
}

/// A set of Nagios notification option letters (`u` means UNKNOWN for a
/// service, UNREACHABLE for a host).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionLetters(u8);

impl OptionLetters {
    /// Every letter.
    pub const ALL: OptionLetters = OptionLetters(0b111_1111);
    /// No letter (`n`).
    pub const NONE: OptionLetters = OptionLetters(0);
    const LETTERS: &str = "wucdrfs";

    /// The set of `letters` (each one of `w u c d r f s`); `n` and `a`
    /// are handled by the reader.
    pub fn of(letters: &[char]) -> OptionLetters {
        OptionLetters(letters.iter().filter_map(|l| Self::LETTERS.find(*l)).fold(0, |set, i| set | 1 << i))
    }

    /// Whether `letter` is in the set.
    pub fn has(self, letter: char) -> bool {
        Self::LETTERS.find(letter).is_some_and(|i| self.0 & 1 << i != 0)
    }
}

/// A contact group (`[[contactgroup]]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContactGroup {
    /// Unique name, what `contact_groups` lists.
    pub name: String,
    /// A description, if any.
    pub alias: Option<String>,
    /// Its contacts' names (`members`, and the members of the groups in
    /// `contactgroup_members`).
    pub members: Vec<String>,
}

/// A notification escalation (`[[escalation]]`), as Nagios'
/// hostescalation and serviceescalation: from the `first_notification`th
/// problem notification of a matching object to the
/// `last_notification`th, its contacts are notified instead of the
/// object's, every `notification_interval`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Escalation {
    /// The hosts it applies to: a name or a pattern with `*` and `?`.
    pub host: String,
    /// The services it applies to (a name or a pattern); `None`: the
    /// host itself.
    pub service: Option<String>,
    /// The first notification number it applies to (from 1).
    pub first_notification: u32,
    /// The last one; 0: no last.
    pub last_notification: u32,
    /// The contacts notified (with the members of its `contact_groups`).
    pub contacts: Vec<String>,
    /// `notification_interval`: how often to repeat the notification
    /// while it applies (the shortest of the escalations that apply
    /// wins); `None`: the object's. Zero: no more notifications.
    pub notification_interval: Option<Duration>,
}

/// A notification method.
#[derive(Clone, Debug, PartialEq)]
pub enum Method {
    /// Write the notification to wasmon's log.
    Log,
    /// HTTP POST of the notification as JSON.
    Webhook {
        /// Where to POST.
        url: String,
        /// Per-attempt timeout (default 10 s).
        timeout: Duration,
    },
    /// Mail through an SMTP server.
    Email {
        /// Recipient address.
        to: String,
        /// Sender address.
        from: String,
        /// `host:port` of the SMTP server.
        smtp: String,
    },
}

impl Method {
    /// The method's kind as configured: "log", "webhook" or "email".
    pub fn kind(&self) -> &'static str {
        match self {
            Method::Log => "log",
            Method::Webhook { .. } => "webhook",
            Method::Email { .. } => "email",
        }
    }
}

/// A metric sink (`[[sink]]`): where the metrics of every result go (see
/// [`crate::export`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Sink {
    /// Unique name (in logs, `GET /api/v1/sinks` and the spool).
    pub name: String,
    /// The format and where it goes (`type` and its keys).
    pub target: SinkTarget,
    /// `hosts`: host name patterns (`*` and `?`); empty: every host.
    pub hosts: Vec<String>,
    /// `services`: service name patterns; empty: every service (and host results).
    pub services: Vec<String>,
    /// `labels`: metric label patterns; empty: every metric.
    pub labels: Vec<String>,
    /// `thresholds` (default true): send warn, crit, min and max.
    pub thresholds: bool,
    /// `metadata` (default false): send state, state type, attempt,
    /// execution time and lateness as metrics too.
    pub metadata: bool,
    /// `queue_points` (default 100,000): how many points may wait in memory.
    pub queue_points: usize,
    /// `queue_bytes` (default 64 MiB): how many bytes they may take.
    pub queue_bytes: usize,
    /// `spool_points` (default 1,000,000): the spool's cap; beyond it the
    /// oldest are dropped.
    pub spool_points: usize,
    /// `batch` (default 1,000): points per request.
    pub batch: usize,
    /// `flush_interval` (default 1 s): how long points wait for a batch to fill.
    pub flush_interval: Duration,
    /// `timeout` (default 10 s): per request.
    pub timeout: Duration,
    /// `retry_max` (default 30 s): the longest wait between two tries.
    pub retry_max: Duration,
}

/// A sink's format and address.
#[derive(Clone, Debug, PartialEq)]
pub enum SinkTarget {
    /// `type = "prometheus"`: a text exposition served at `GET /metrics`.
    Prometheus {
        /// `listen`.
        listen: std::net::SocketAddr,
    },
    /// `type = "opentsdb"`: HTTP `/api/put` (gzip JSON) or `telnet://` `put` lines.
    OpenTsdb {
        /// `url`: `http://host:4242` or `telnet://host:4242`.
        url: String,
        /// `denormalize`: tsdbrelay rules such as `os.cpu__host`.
        denormalize: Vec<String>,
    },
    /// `type = "influxdb"`: line protocol to `/write` (v1) or `/api/v2/write`.
    Influx {
        /// `url`, with its query (`db`, or `org` and `bucket`).
        url: String,
        /// From `token_env`: sent as `Authorization: Token …`.
        token: Option<super::Secret>,
    },
    /// `type = "graphite"`: the plaintext protocol over TCP.
    Graphite {
        /// `address`: `host:port`.
        address: String,
        /// `prefix` (default "wasmon").
        prefix: String,
    },
    /// `type = "otlp"`: OTLP/HTTP protobuf.
    Otlp {
        /// `url`, such as `http://127.0.0.1:4318/v1/metrics`.
        url: String,
    },
}

impl SinkTarget {
    /// The `type` as configured.
    pub fn kind(&self) -> &'static str {
        match self {
            SinkTarget::Prometheus { .. } => "prometheus",
            SinkTarget::OpenTsdb { .. } => "opentsdb",
            SinkTarget::Influx { .. } => "influxdb",
            SinkTarget::Graphite { .. } => "graphite",
            SinkTarget::Otlp { .. } => "otlp",
        }
    }
}

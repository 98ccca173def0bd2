//! Everything that leaves the engine: one typed, ordered stream of
//! [`Event`]s. Retention, notifications, event handlers, the log, the API's
//! event stream and an embedder's [`Subscriber`](crate::Subscriber) all read
//! this stream and nothing else, so a consumer never reaches back into the
//! engine: a [`ResultEvent`] carries everything about one processed result
//! (typed state, output, long output, metrics, timing, what changed).
//!
//! Every event serialises to one JSON object with a `kind` field, as
//! `wasmon simulate` prints them and the API's `GET /api/v1/events` streams
//! them. Times are seconds since the clock's epoch (the UNIX epoch on the
//! real clock, the start on the simulated one).

use std::sync::Arc;

use serde::{Serialize, Serializer};

use crate::engine::ModuleAction;
use crate::outcome::{Metric, State};
use crate::sandbox::handler::{PendingHandler, Trigger};
use crate::state::{Downtime, NotificationKind, NotifyState, StateEvent, StateType, SuppressionReason};

/// Something the engine did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A processed check result.
    Result(#[serde(serialize_with = "arc")] Arc<ResultEvent>),
    /// A notification the engine decided, one per contact method (or one
    /// with null method and contact when the object has no contacts).
    Notification(#[serde(serialize_with = "arc")] Arc<NotificationEvent>),
    /// An event handler ran.
    Handler {
        /// When the handler finished.
        t: f64,
        /// The host.
        host: String,
        /// The service, or null for a host.
        service: Option<String>,
        /// The handler's name.
        handler: String,
        /// Why it ran.
        trigger: Trigger,
        /// Whether it did its job.
        ok: bool,
        /// What it said it did, or why it failed.
        output: String,
    },
    /// An object started or stopped flapping (one kind, `flapping`, with
    /// `started` true or false).
    Flapping {
        /// When.
        t: f64,
        /// The host.
        host: String,
        /// The service, or null for a host.
        service: Option<String>,
        /// True when flapping started, false when it stopped.
        started: bool,
        /// The weighted percent state change that decided it.
        percent_state_change: f64,
    },
    /// A scheduled downtime started or ended (at its exact time: a timer,
    /// or for a flexible one the problem result that triggered it), or an
    /// active one was cancelled (`started` false).
    Downtime {
        /// When.
        t: f64,
        /// The host.
        host: String,
        /// The service, or null for a host downtime.
        service: Option<String>,
        /// The downtime's id.
        id: u64,
        /// True when it started, false when it ended.
        started: bool,
        /// Whether it is a flexible one.
        flexible: bool,
        /// For a host downtime, whether it covers the host's services.
        with_services: bool,
        /// Who scheduled it.
        author: String,
        /// Why.
        comment: String,
    },
    /// Engine bookkeeping for retention that no other event shows (the set
    /// of downtimes changed; an object left dependency failure with no
    /// state to restore). Not shown by `wasmon simulate`, the API's event
    /// stream or the log; other subscribers ignore it.
    #[serde(skip)]
    Bookkeeping(Bookkeeping),
    /// An acknowledgement was given (`active` true) or cleared (false: by a
    /// state change, a recovery or a removal).
    Acknowledgement {
        /// When.
        t: f64,
        /// The host.
        host: String,
        /// The service, or null for a host.
        service: Option<String>,
        /// Who acknowledged.
        author: String,
        /// Their comment.
        comment: String,
        /// Cleared only by a recovery.
        sticky: bool,
        /// Given (true) or cleared (false).
        active: bool,
    },
    /// A notification that was decided and not sent, and why.
    NotificationSuppressed {
        /// When.
        t: f64,
        /// The host.
        host: String,
        /// The service, or null for a host.
        service: Option<String>,
        /// PROBLEM or RECOVERY.
        #[serde(rename = "type")]
        kind: NotificationKind,
        /// The state it was about (UP/DOWN for hosts).
        state: Status,
        /// `downtime`, `flapping` or `acknowledged`.
        reason: SuppressionReason,
    },
    /// A check module was hot-loaded, replaced, rejected or removed under
    /// a running monitor.
    Module {
        /// When.
        t: f64,
        /// The module's name (its path as the configuration resolved it).
        module: String,
        /// What happened.
        action: ModuleAction,
        /// The new version's `describe()` version; null for command
        /// plugins, rejections and removals.
        version: Option<String>,
        /// The sha256 (hex) of the new version, or of the refused one;
        /// null for a removal or an unreadable file.
        digest: Option<String>,
        /// Why it was rejected or what its services now say; null when
        /// loaded or replaced.
        reason: Option<String>,
    },
    /// A new configuration took over under a running monitor: the objects
    /// it added, removed and changed (by host and service), and how many it
    /// kept as they were.
    Config {
        /// When.
        t: f64,
        /// What changed.
        #[serde(flatten)]
        change: crate::engine::ConfigChange,
    },
    /// Scale-out ([`crate::cluster`]): a worker joined, was lost or is
    /// back; the broker was lost or is back.
    Cluster {
        /// When.
        t: f64,
        /// What happened.
        change: crate::cluster::ClusterChange,
        /// The worker, or null for the broker.
        worker: Option<String>,
        /// The worker's zone, or null for the broker.
        zone: Option<String>,
        /// One line for people.
        message: String,
    },
}

impl Event {
    /// The event's `kind`, as its JSON names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Result(_) => "result",
            Event::Notification(_) => "notification",
            Event::Handler { .. } => "handler",
            Event::Flapping { .. } => "flapping",
            Event::Downtime { .. } => "downtime",
            Event::Bookkeeping(_) => "bookkeeping",
            Event::Acknowledgement { .. } => "acknowledgement",
            Event::NotificationSuppressed { .. } => "notification_suppressed",
            Event::Module { .. } => "module",
            Event::Config { .. } => "config",
            Event::Cluster { .. } => "cluster",
        }
    }

    /// Whether the event is shown to people and programs outside
    /// (`wasmon simulate`, the API's event stream, the log): every kind but
    /// [`Event::Bookkeeping`].
    pub fn is_shown(&self) -> bool {
        !matches!(self, Event::Bookkeeping(_))
    }

    /// The result, if this is a result event.
    pub fn as_result(&self) -> Option<&ResultEvent> {
        match self {
            Event::Result(r) => Some(r),
            _ => None,
        }
    }
}

/// Engine bookkeeping carried to retention (see [`Event::Bookkeeping`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Bookkeeping(pub(crate) Note);

/// What a [`Bookkeeping`] event says.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Note {
    /// Every downtime now pending or in effect, and the highest id given out.
    Downtimes(Arc<Vec<Downtime>>, u64),
    /// The object left dependency failure with no state to restore: only
    /// the failure record goes.
    DependencyCleared(crate::retention::ObjectKey),
}

/// A state as people see it: OK, WARNING, CRITICAL or UNKNOWN for a
/// service; UP, DOWN or UNREACHABLE for a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// A service is OK.
    Ok,
    /// A service is WARNING.
    Warning,
    /// A service is CRITICAL.
    Critical,
    /// A service is UNKNOWN.
    Unknown,
    /// A host is UP.
    Up,
    /// A host is DOWN.
    Down,
    /// A host is UNREACHABLE (only dependency failure imposes it).
    Unreachable,
}

impl Status {
    /// How the engine's `state` is named for a host (`is_host`) or a
    /// service: for a host OK is UP, UNKNOWN is UNREACHABLE and anything
    /// else DOWN.
    pub fn of(is_host: bool, state: State) -> Status {
        match (is_host, state) {
            (true, State::Ok) => Status::Up,
            (true, State::Unknown) => Status::Unreachable,
            (true, _) => Status::Down,
            (false, State::Ok) => Status::Ok,
            (false, State::Warning) => Status::Warning,
            (false, State::Critical) => Status::Critical,
            (false, State::Unknown) => Status::Unknown,
        }
    }

    /// The engine's state behind it (a host's UP is OK, DOWN is CRITICAL,
    /// UNREACHABLE is UNKNOWN).
    pub fn state(self) -> State {
        match self {
            Status::Ok | Status::Up => State::Ok,
            Status::Warning => State::Warning,
            Status::Critical | Status::Down => State::Critical,
            Status::Unknown | Status::Unreachable => State::Unknown,
        }
    }

    /// The name: `OK`, `DOWN`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
            Status::Up => "UP",
            Status::Down => "DOWN",
            Status::Unreachable => "UNREACHABLE",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Status {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Status {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Where a result came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The object's own check, run by the scheduler (or on request).
    Active,
    /// A result submitted from outside (the API, [`crate::Monitor::submit`]).
    Passive,
    /// A state the engine imposed or restored: the object entered, changed
    /// or left dependency failure (seed 002).
    Dependency,
    /// A stale object's `stale_state`: no result came within its freshness
    /// threshold and it has no check to run.
    Freshness,
}

/// The check an object runs: its module and that module's version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckRef {
    /// The module's name: a standard check's name or the file's path as
    /// the configuration resolved it.
    #[serde(serialize_with = "arc_str")]
    pub module: Arc<str>,
    /// What the module's `describe()` says its version is; null for a
    /// command plugin, or before the module was described.
    #[serde(serialize_with = "opt_arc_str")]
    pub version: Option<Arc<str>>,
}

/// One processed result: everything a consumer needs about it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResultEvent {
    /// When the result was applied.
    pub t: f64,
    /// The host.
    #[serde(serialize_with = "arc_str")]
    pub host: Arc<str>,
    /// The service, or null for a host result.
    #[serde(serialize_with = "opt_arc_str")]
    pub service: Option<Arc<str>>,
    /// The object's check; null for a passive-only object without one.
    pub check: Option<CheckRef>,
    /// The state after the result.
    pub state: Status,
    /// SOFT or HARD.
    pub state_type: StateType,
    /// The attempt shown to people.
    pub attempt: u32,
    /// `max_check_attempts`.
    pub max_attempts: u32,
    /// The first line of output.
    pub output: String,
    /// The rest of the output, verbatim; null when there is none.
    pub long_output: Option<String>,
    /// The performance data: label, value, unit (`uom`), warn, crit, min,
    /// max.
    pub metrics: Vec<Metric>,
    /// What was wrong with the performance data entries left out of
    /// `metrics`, one line each; absent when nothing was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub perfdata_errors: Vec<String>,
    /// Where the result came from.
    pub source: Source,
    /// How long the check ran, in seconds; null for a result that no
    /// check produced here (passive, dependency, freshness).
    pub execution_time: Option<f64>,
    /// When the check was due; null unless the scheduler ran it.
    pub scheduled: Option<f64>,
    /// When the check started running; null unless a check ran.
    pub ran: Option<f64>,
    /// The state before the result.
    pub previous_state: Status,
    /// The state type before the result.
    pub previous_state_type: StateType,
    /// Whether the state changed (SOFT or HARD).
    pub state_changed: bool,
    /// Whether the state type changed (SOFT to HARD or back).
    pub state_type_changed: bool,
    /// Whether the HARD state changed: what notifications are about.
    pub hard_state_changed: bool,
    /// When the state last changed.
    pub last_state_change: Option<f64>,
    /// When the HARD state last changed.
    pub last_hard_state_change: Option<f64>,
    /// Whether the object is flapping after the result.
    pub flapping: bool,
    /// Whether its problem is acknowledged after the result.
    pub acknowledged: bool,
    /// While it is in dependency failure: the cause ("Dependency failure:
    /// router is DOWN").
    pub dependency_failure: Option<String>,
    /// What retention writes and the handlers run: the engine's, not for
    /// display.
    #[serde(skip)]
    pub(crate) private: ResultPrivate,
}

/// The part of a [`ResultEvent`] that is the engine's bookkeeping, for
/// retention and the event handlers.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ResultPrivate {
    /// When it was applied, exactly as the engine holds it.
    pub time: crate::state::Time,
    /// Whether a restart must not lose it: it changed the state, state
    /// type, attempt, last HARD state or notification bookkeeping (not only
    /// the output and the check time). Written at once; others with the
    /// next flush.
    pub significant: bool,
    /// The state processor's events (the state history).
    pub changes: Vec<StateEvent>,
    /// What retention keeps of the object's state beyond the public
    /// fields, with its times exact.
    pub kept: Kept,
    /// The notification bookkeeping after the result.
    pub notify: NotifyState,
    /// The check's value store after the result.
    pub values: crate::Values,
    /// The dependency failure after the result, for retention.
    pub dependency: Option<crate::state::dependency::DependencyFailure>,
    /// The event handlers to run, in configuration order.
    pub handlers: Vec<PendingHandler>,
}

/// The part of an object's state a result event does not show: with the
/// event's state, output, long output and metrics, the whole
/// [`ObjectState`](crate::state::ObjectState) retention writes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Kept {
    pub last_hard_state: State,
    pub last_check: Option<crate::state::Time>,
    pub last_state_change: Option<crate::state::Time>,
    pub last_hard_state_change: Option<crate::state::Time>,
    pub flapping: crate::state::FlapState,
    pub acknowledgement: Option<Box<crate::state::AckState>>,
}

impl ResultEvent {
    /// The object's whole state after the result, as retention writes it.
    pub(crate) fn object_state(&self) -> crate::state::ObjectState {
        let k = &self.private.kept;
        crate::state::ObjectState {
            perfdata_errors: self.perfdata_errors.clone(),
            state: self.state.state(),
            state_type: self.state_type,
            attempt: self.attempt,
            last_hard_state: k.last_hard_state,
            last_check: k.last_check,
            last_state_change: k.last_state_change,
            last_hard_state_change: k.last_hard_state_change,
            output: self.output.clone(),
            long_output: self.long_output.clone(),
            perfdata: self.metrics.clone(),
            flapping: k.flapping,
            acknowledgement: k.acknowledgement.clone(),
        }
    }
}

impl PartialEq for PendingHandler {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl ResultEvent {
    /// The object's name: `web1/HTTP`, or `web1` for a host.
    pub fn object(&self) -> String {
        match &self.service {
            Some(s) => format!("{}/{}", self.host, s),
            None => self.host.to_string(),
        }
    }
}

/// A notification's id: the same number in the retention file's
/// `notifications` table, in the webhook body and in this event, so a
/// receiver can drop a repeat after a restart. Ids of a retention file
/// are never reused; without one they count from 1 at every start.
pub type NotificationId = u64;

/// One notification to one contact by one method.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NotificationEvent {
    /// Its stable id.
    pub id: NotificationId,
    /// When it was decided.
    pub t: f64,
    /// The host.
    #[serde(serialize_with = "arc_str")]
    pub host: Arc<str>,
    /// The service, or null for a host notification.
    #[serde(serialize_with = "opt_arc_str")]
    pub service: Option<Arc<str>>,
    /// PROBLEM, RECOVERY, ACKNOWLEDGEMENT, FLAPPINGSTART, FLAPPINGSTOP,
    /// DOWNTIMESTART, DOWNTIMEEND, DOWNTIMECANCELLED or CUSTOM.
    #[serde(rename = "type")]
    pub kind: NotificationKind,
    /// The state notified about (UP/DOWN for hosts).
    pub state: Status,
    /// The method's kind: "log", "webhook" or "email"; null when the
    /// object has no contacts.
    pub method: Option<String>,
    /// The contact's name; null when the object has no contacts.
    pub contact: Option<String>,
    /// The first line of the output that decided it.
    pub output: String,
    /// The rest of that output, possibly empty.
    pub long_output: String,
    /// The attempt the state was reached at.
    pub attempt: u32,
    /// `max_check_attempts`.
    pub max_attempts: u32,
    /// The HARD change it is about (repeated problem notifications share
    /// it).
    pub change_time: f64,
    /// Who acknowledged, scheduled the downtime or sent the custom
    /// notification; left out for the other types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Their comment; left out for the other types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// What retention records and the notifier delivers by.
    #[serde(skip)]
    pub(crate) private: NotificationPrivate,
}

/// The part of a [`NotificationEvent`] for retention and the notifier.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NotificationPrivate {
    /// When it was decided, exactly as the engine holds it.
    pub time: crate::state::Time,
    /// The HARD change it is about, exactly.
    pub change_time: crate::state::Time,
    /// The HARD state notified about, as retention keeps it.
    pub hard_state: State,
    /// The contact's method it goes by (`None` without contacts).
    pub method: Option<crate::config::Method>,
}

fn arc_str<S: Serializer>(s: &Arc<str>, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s)
}

fn opt_arc_str<S: Serializer>(s: &Option<Arc<str>>, ser: S) -> Result<S::Ok, S::Error> {
    match s {
        Some(s) => ser.serialize_some(&**s),
        None => ser.serialize_none(),
    }
}

fn arc<T: Serialize, S: Serializer>(v: &Arc<T>, ser: S) -> Result<S::Ok, S::Error> {
    (**v).serialize(ser)
}

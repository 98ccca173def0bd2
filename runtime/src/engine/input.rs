//! One vocabulary for everything done to the engine from outside: passive
//! results, manual rechecks, acknowledgements, downtime and module changes.
//! The daemon's commands ([`crate::Monitor`]), the simulator's inputs at
//! simulated times ([`super::simulate_with`]) and the API all speak it, and
//! [`Engine::apply`] is where it enters.

use std::time::Duration;

use super::{CustomNotification, Engine, Event, Finished, ModuleChange};
use crate::error::Error;
use crate::outcome::{Outcome, State, Termination};
use crate::schedule::ObjectId;
use crate::state::{Acknowledgement, Downtime, DowntimeRequest, Time};

/// A result submitted from outside: a passive check result.
#[derive(Clone, Debug, PartialEq)]
pub struct Submission {
    /// The host.
    pub host: String,
    /// The service, or `None` for the host itself.
    pub service: Option<String>,
    /// The state (for a host: OK and WARNING mean UP).
    pub state: State,
    /// The first line of output.
    pub output: String,
    /// Further lines of output.
    pub long_output: Option<String>,
    /// Performance data.
    pub metrics: Vec<crate::Metric>,
    /// What was wrong with performance data entries left out of `metrics`.
    pub perfdata_errors: Vec<String>,
}

impl Submission {
    /// The outcome the state processor gets.
    pub fn outcome(self) -> Outcome {
        Outcome {
            state: self.state,
            summary: self.output,
            long_output: self.long_output,
            metrics: self.metrics,
            perfdata_errors: self.perfdata_errors,
            duration: Duration::ZERO,
            termination: Termination::Completed,
            truncated: false,
        }
    }
}

/// Something done to the engine from outside.
#[derive(Debug)]
pub enum Input {
    /// A passive result, processed by the same state processor and
    /// notification rules as a check's.
    Submit(Submission),
    /// Run the check of a host (service `None`) or service now, out of
    /// schedule.
    RunNow(String, Option<String>),
    /// Acknowledge an object's problem.
    Acknowledge(Acknowledgement),
    /// Remove an object's acknowledgement.
    RemoveAcknowledgement(String, Option<String>),
    /// Schedule a downtime.
    ScheduleDowntime(DowntimeRequest),
    /// Cancel a downtime by id (one in effect ends now).
    CancelDowntime(u64),
    /// A check module was hot-loaded, replaced, rejected or removed.
    Module(ModuleChange),
    /// Send a CUSTOM notification about an object.
    Notify(CustomNotification),
}

/// What [`Engine::apply`] did.
#[derive(Debug)]
pub enum Applied {
    /// A processed passive result and what it caused, to publish.
    Result(Finished),
    /// Events to publish as one step (an acknowledgement, a downtime
    /// cancelled, a module change).
    Events(Vec<Event>),
    /// A downtime was scheduled: it, with its id, and its events.
    Downtime(Downtime, Vec<Event>),
    /// A manual recheck was accepted: the driver runs this object's check
    /// ([`Engine::start`], then [`Engine::finish`] with no due time).
    Run(ObjectId),
}

impl Engine {
    /// Applies `input` at `now`. Refused with an error (and nothing
    /// changed): an unknown host or service, an object that takes no
    /// passive results or has no check to run, a malformed acknowledgement
    /// or downtime.
    pub fn apply(&mut self, input: Input, now: Time) -> Result<Applied, Error> {
        match input {
            Input::Submit(s) => {
                let id = self.find_or_not_found(&s.host, s.service.as_deref())?;
                self.accepts_passive(id)?;
                // Passive output goes through the sanitiser and the output
                // limit as a check's does, whoever submits it.
                let mut outcome = s.outcome();
                crate::sanitize::fit_output(&mut outcome, &self.objects[id].check.limits);
                Ok(Applied::Result(self.submit(id, outcome, now)))
            }
            Input::RunNow(host, service) => {
                let id = self.find_or_not_found(&host, service.as_deref())?;
                self.can_run(id)?;
                Ok(Applied::Run(id))
            }
            Input::Acknowledge(mut ack) => {
                ack.author = crate::sanitize::line(&ack.author, crate::sanitize::MAX_COMMENT_LEN);
                ack.comment = crate::sanitize::bounded_text(&ack.comment, crate::sanitize::MAX_COMMENT_LEN);
                self.acknowledge(ack, now).map(|e| Applied::Events(self.with_notifications(e, now, false)))
            }
            Input::Notify(request) => self.custom_notification(request, now).map(Applied::Events),
            Input::RemoveAcknowledgement(host, service) => {
                self.remove_acknowledgement(&host, service.as_deref(), now).map(Applied::Events)
            }
            // Retention learns of the new set of downtimes from a
            // bookkeeping event after their own.
            Input::ScheduleDowntime(mut request) => {
                request.author = crate::sanitize::line(&request.author, crate::sanitize::MAX_COMMENT_LEN);
                request.comment = crate::sanitize::bounded_text(&request.comment, crate::sanitize::MAX_COMMENT_LEN);
                self.schedule_downtime(request, now).map(|(d, events)| {
                    let mut events = self.with_notifications(events, now, false);
                    self.downtimes_changed(&mut events);
                    Applied::Downtime(d, events)
                })
            }
            Input::CancelDowntime(id) => self.cancel_downtime(id, now).map(|events| {
                let mut events = self.with_notifications(events, now, true);
                self.downtimes_changed(&mut events);
                Applied::Events(events)
            }),
            Input::Module(change) => Ok(Applied::Events(vec![self.apply_module(change, now)])),
        }
    }
}

/// A simulation's inputs as a file gives them (`wasmon simulate --inputs`):
/// how long to run, and the inputs at their times.
#[derive(Debug, Default)]
pub struct Inputs {
    /// `duration = "6m"`: how much simulated time to run, if the file says.
    pub duration: Option<Duration>,
    /// The inputs, each at its simulated time.
    pub inputs: Vec<(Duration, Input)>,
    /// `start = "2026-12-07T09:00:00Z"`: the wall-clock time (since the
    /// UNIX epoch) of simulated time zero, if the file says.
    pub start: Option<Duration>,
}

/// The file's TOML shape.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct InputsFile {
    #[serde(default, with = "humantime_serde_opt")]
    duration: Option<Duration>,
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    input: Vec<InputEntry>,
}

/// One `[[input]]`: its time and exactly one action.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct InputEntry {
    #[serde(with = "humantime_serde_req")]
    at: Duration,
    submit: Option<SubmitEntry>,
    run_now: Option<ObjectEntry>,
    acknowledge: Option<Acknowledgement>,
    remove_acknowledgement: Option<ObjectEntry>,
    schedule_downtime: Option<DowntimeRequest>,
    cancel_downtime: Option<CancelEntry>,
    notify: Option<CustomNotification>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitEntry {
    host: String,
    service: Option<String>,
    state: State,
    #[serde(default)]
    output: String,
    long_output: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectEntry {
    host: String,
    service: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelEntry {
    id: u64,
}

/// Reads a simulation's inputs from the TOML file at `path`:
///
/// ```toml
/// duration = "6m"      # optional
///
/// [[input]]
/// at = "90s"
/// submit = { host = "server", service = "HTTP", state = "WARNING", output = "WARNING - from the agent" }
///
/// [[input]]
/// at = "2m"
/// run_now = { host = "server", service = "HTTP" }
/// ```
///
/// Each `[[input]]` has `at` and exactly one of `submit`, `run_now`,
/// `acknowledge` (`host`, `service`, `author`, `comment`, `sticky`),
/// `remove_acknowledgement`, `schedule_downtime` (`host`, `service`,
/// `with_services`, `start`, `end` and `flexible` in seconds, `author`,
/// `comment`), `cancel_downtime` (`id`) and `notify` (a CUSTOM
/// notification: `host`, `service`, `author`, `comment`).
///
/// `start = "2026-12-07T09:00:00Z"` (optional, RFC 3339) is the wall-clock
/// time of simulated time zero, which time periods are read against (the
/// default: the UNIX epoch).
pub fn read_inputs(path: &std::path::Path) -> Result<Inputs, Error> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadConfig { path: path.into(), source })?;
    let file: InputsFile = toml::from_str(&text).map_err(|source| Error::Toml { path: path.into(), source })?;
    let mut inputs = Vec::with_capacity(file.input.len());
    for (i, e) in file.input.into_iter().enumerate() {
        let mut found = Vec::new();
        if let Some(s) = e.submit {
            found.push(Input::Submit(Submission {
                host: s.host,
                service: s.service,
                state: s.state,
                output: s.output,
                long_output: s.long_output,
                metrics: Vec::new(),
                perfdata_errors: Vec::new(),
            }));
        }
        if let Some(o) = e.run_now {
            found.push(Input::RunNow(o.host, o.service));
        }
        if let Some(a) = e.acknowledge {
            found.push(Input::Acknowledge(a));
        }
        if let Some(o) = e.remove_acknowledgement {
            found.push(Input::RemoveAcknowledgement(o.host, o.service));
        }
        if let Some(d) = e.schedule_downtime {
            found.push(Input::ScheduleDowntime(d));
        }
        if let Some(c) = e.cancel_downtime {
            found.push(Input::CancelDowntime(c.id));
        }
        if let Some(n) = e.notify {
            found.push(Input::Notify(n));
        }
        if found.len() != 1 {
            return Err(Error::Config(format!(
                "{shown}: input {}: expected exactly one of submit, run_now, acknowledge, remove_acknowledgement, \
                 schedule_downtime, cancel_downtime, notify, found {}",
                i + 1,
                found.len()
            )));
        }
        inputs.push((e.at, found.pop().expect("one")));
    }
    let start = match &file.start {
        None => None,
        Some(text) => match text.parse::<jiff::Timestamp>() {
            Ok(t) if t.as_second() >= 0 => Some(crate::timeperiod::since_epoch(t)),
            _ => {
                return Err(Error::Config(format!(
                    "{shown}: start: expected a time such as \"2026-12-07T09:00:00Z\" (RFC 3339, not before 1970), \
                     found \"{text}\""
                )));
            }
        },
    };
    Ok(Inputs { duration: file.duration, inputs, start })
}

/// `"90s"`, `"6m"`: a required duration in humantime's syntax.
mod humantime_serde_req {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!("expected a duration such as \"90s\", found \"{text}\": {e}"))
        })
    }
}

/// An optional duration in humantime's syntax.
mod humantime_serde_opt {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                humantime::parse_duration(&text).map_err(|e| {
                    serde::de::Error::custom(format!("expected a duration such as \"6m\", found \"{text}\": {e}"))
                })
            })
            .transpose()
    }
}

//! One object's status, as the API shows it.

use serde::Serialize;

use crate::schedule::ObjectId;
use crate::state::{Acknowledgement, StateType};

use super::Engine;

impl Engine {
    /// Object `id`'s status, as the API shows it.
    pub fn status(&self, id: ObjectId) -> ObjectStatus {
        let o = &self.objects[id];
        ObjectStatus {
            host: o.host.to_string(),
            service: o.service.as_deref().map(str::to_string),
            state: o.state_name(o.state.state).to_string(),
            state_type: o.state.state_type,
            attempt: o.state.attempt,
            max_attempts: o.schedule.max_check_attempts,
            output: o.state.output.clone(),
            long_output: o.state.long_output.clone(),
            perfdata: o.state.perfdata.iter().map(crate::Metric::perfdata).collect::<Vec<_>>().join(" "),
            last_check: o.state.last_check.map(|t| t.as_secs_f64()),
            last_state_change: o.state.last_state_change.map(|t| t.as_secs_f64()),
            last_hard_state_change: o.state.last_hard_state_change.map(|t| t.as_secs_f64()),
            next_check: self.scheduler.due(id).map(|t| t.as_secs_f64()),
            running: o.running,
            dependency_failure: o.dep.failure.as_ref().map(|f| f.output.clone()),
            stale: o.dep.stale,
            flapping: o.state.flapping.flapping,
            percent_state_change: o.state.flapping.percent_state_change,
            in_downtime: self.in_downtime(id),
            downtimes: self.downtime_ids(id),
            acknowledgement: o.state.acknowledgement.as_ref().map(|a| Acknowledgement {
                host: o.host.to_string(),
                service: o.service.as_deref().map(str::to_string),
                author: a.author.clone(),
                comment: a.comment.clone(),
                sticky: a.sticky,
            }),
        }
    }
}

/// One object's status: its state and when it was last and will next be
/// checked. Times are seconds since the clock's epoch (the UNIX epoch on
/// the real clock).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ObjectStatus {
    /// The host.
    pub host: String,
    /// The service, or null for the host itself.
    pub service: Option<String>,
    /// OK/WARNING/CRITICAL/UNKNOWN, or UP/DOWN/UNREACHABLE for a host.
    pub state: String,
    /// SOFT or HARD.
    pub state_type: StateType,
    /// The attempt shown to people.
    pub attempt: u32,
    /// `max_check_attempts`.
    pub max_attempts: u32,
    /// The last output's first line.
    pub output: String,
    /// The last long output.
    pub long_output: Option<String>,
    /// The last performance data, in plugin syntax.
    pub perfdata: String,
    /// When the last result was processed.
    pub last_check: Option<f64>,
    /// When the state last changed.
    pub last_state_change: Option<f64>,
    /// When the HARD state last changed.
    pub last_hard_state_change: Option<f64>,
    /// When the next check is due, if one is scheduled.
    pub next_check: Option<f64>,
    /// Whether a check of it is running now.
    pub running: bool,
    /// The cause while it is in dependency failure ("Dependency failure:
    /// router is DOWN").
    pub dependency_failure: Option<String>,
    /// Whether its freshness threshold passed without a result.
    pub stale: bool,
    /// Whether it is flapping.
    pub flapping: bool,
    /// Its weighted percent state change over the last 21 results.
    pub percent_state_change: f64,
    /// Whether a downtime covering it is in effect.
    pub in_downtime: bool,
    /// The ids of the downtimes covering it, pending and in effect.
    pub downtimes: Vec<u64>,
    /// The acknowledgement of its problem, if any.
    pub acknowledgement: Option<Acknowledgement>,
}

//! What the engine refuses to do when asked: one variant per reason, so
//! that the HTTP API (and the status page's actions) map every one of them
//! to a status code with an exhaustive `match`.

use std::fmt;

/// A request the engine or the monitor refuses: the object is unknown,
/// the request is malformed, or the object does not take what was asked
/// of it. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No object of that host and service is configured.
    NotFound {
        /// The host asked for.
        host: String,
        /// The service asked for, if any.
        service: Option<String>,
    },
    /// No downtime has that id (it may have ended).
    NoSuchDowntime {
        /// The id asked for.
        id: u64,
    },
    /// The object has no acknowledgement to remove.
    NotAcknowledged {
        /// The host.
        host: String,
        /// The service, if any.
        service: Option<String>,
    },
    /// Only an object in a problem state can be acknowledged.
    NotAProblem {
        /// The host.
        host: String,
        /// The service, if any.
        service: Option<String>,
        /// Its state (UP for a host).
        state: String,
    },
    /// A passive result for an object with `passive_checks = false`.
    PassiveDisabled {
        /// The host.
        host: String,
        /// The service, if any.
        service: Option<String>,
    },
    /// A recheck of an object without a check (a passive-only object).
    NoCheck {
        /// The host.
        host: String,
        /// The service, if any.
        service: Option<String>,
    },
    /// A required text field (a host name, an author, a comment) is empty.
    EmptyField {
        /// The field.
        field: &'static str,
        /// What it should hold (`None`: only that it must not be empty).
        expected: Option<&'static str>,
    },
    /// A downtime whose `end` is not after its `start`.
    EndNotAfterStart,
    /// A downtime whose `end` has already passed.
    EndInPast,
    /// A flexible downtime of zero duration.
    ZeroFlexible,
    /// `with_services` on a service downtime.
    WithServicesOnService,
    /// With `[cluster] shards`: another scheduler leads the object's shard,
    /// so it takes the inputs about it.
    LedElsewhere {
        /// The host.
        host: String,
        /// The service, if any.
        service: Option<String>,
        /// The host's shard.
        shard: u32,
    },
}

impl Refusal {
    /// The request field a malformed request got wrong, with what is wrong
    /// with it; `None` for a refusal that is not about a field.
    pub fn field(&self) -> Option<(&'static str, String)> {
        Some(match self {
            Refusal::EmptyField { field, expected: Some(expected) } => {
                (field, format!("expected {expected}, found an empty string"))
            }
            Refusal::EmptyField { field, expected: None } => (field, "is an empty string".into()),
            Refusal::EndNotAfterStart => ("end", "must be after 'start'".into()),
            Refusal::EndInPast => ("end", "is in the past".into()),
            Refusal::ZeroFlexible => ("flexible", "a flexible downtime needs a duration of more than zero".into()),
            Refusal::WithServicesOnService => {
                ("with_services", "applies to a host downtime only (no 'service')".into())
            }
            Refusal::NotFound { .. }
            | Refusal::NoSuchDowntime { .. }
            | Refusal::NotAcknowledged { .. }
            | Refusal::NotAProblem { .. }
            | Refusal::PassiveDisabled { .. }
            | Refusal::NoCheck { .. }
            | Refusal::LedElsewhere { .. } => return None,
        })
    }
}

/// `, service 'NAME'` or nothing.
fn service_part(service: &Option<String>) -> String {
    service.as_ref().map(|s| format!(", service '{s}'")).unwrap_or_default()
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((field, reason)) = self.field() {
            return write!(f, "invalid request: field '{field}': {reason}");
        }
        match self {
            Refusal::NotFound { host, service } => write!(f, "no such object: host '{host}'{}", service_part(service)),
            Refusal::NoSuchDowntime { id } => {
                write!(f, "no downtime with id {id} (it may have ended or been cancelled)")
            }
            Refusal::NotAcknowledged { host, service } => {
                write!(f, "host '{host}'{} has no acknowledgement", service_part(service))
            }
            Refusal::NotAProblem { host, service, state } => write!(
                f,
                "cannot acknowledge host '{host}'{}: it is {state}; only a problem (not OK/UP) can be acknowledged",
                service_part(service)
            ),
            Refusal::PassiveDisabled { host, service } => write!(
                f,
                "host '{host}'{}: it does not accept passive results (passive_checks = false)",
                service_part(service)
            ),
            Refusal::NoCheck { host, service } => {
                write!(f, "host '{host}'{}: it has no check to run (a passive-only object)", service_part(service))
            }
            Refusal::LedElsewhere { host, service, shard } => write!(
                f,
                "host '{host}'{}: its shard ({shard}) is led by another scheduler of the cluster; send this to \
                 that one (wasmon cluster status names it)",
                service_part(service)
            ),
            Refusal::EmptyField { .. }
            | Refusal::EndNotAfterStart
            | Refusal::EndInPast
            | Refusal::ZeroFlexible
            | Refusal::WithServicesOnService => unreachable!("a field refusal is written above"),
        }
    }
}

impl std::error::Error for Refusal {}

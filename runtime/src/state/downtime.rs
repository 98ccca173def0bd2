//! Scheduled downtime and acknowledgements: the requests, what the engine
//! keeps of them, and the pure rules (which objects a downtime covers, when
//! an acknowledgement is cleared). Times are [`Time`]s; in JSON they are
//! seconds since the clock's epoch (the UNIX epoch on the real clock), and
//! a flexible duration is seconds too.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{StateEvent, Time};
use crate::outcome::State;
use crate::refusal::Refusal;

/// An acknowledgement of an object's problem: while it lasts the problem's
/// notifications are suppressed. A normal one is cleared by the object's
/// next state change, a sticky one only by its recovery to OK/UP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// The host.
    pub host: String,
    /// The service, or `None` for the host itself.
    #[serde(default)]
    pub service: Option<String>,
    /// Who acknowledged.
    pub author: String,
    /// Why, or what is being done.
    pub comment: String,
    /// Cleared only by a recovery, not by a change to another problem state.
    #[serde(default)]
    pub sticky: bool,
}

/// What an object keeps of its acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckState {
    /// Who acknowledged.
    pub author: String,
    /// Their comment.
    pub comment: String,
    /// Cleared only by a recovery.
    pub sticky: bool,
    /// When it was given.
    pub time: Time,
}

/// Whether `ack` survives a result that produced `events` and left the
/// object in `state`: a normal acknowledgement is cleared by any state
/// change (SOFT or HARD, also from one problem state to another), a sticky
/// one only when the state is OK again.
pub fn ack_survives(ack: &AckState, events: &[StateEvent], state: State) -> bool {
    if state == State::Ok {
        return false;
    }
    ack.sticky || !events.iter().any(|e| matches!(e, StateEvent::StateChange { .. }))
}

/// A request to schedule downtime.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DowntimeRequest {
    /// The host.
    pub host: String,
    /// The service, or `None` for the host.
    #[serde(default)]
    pub service: Option<String>,
    /// For a host downtime: its services are in downtime too.
    #[serde(default)]
    pub with_services: bool,
    /// When it may start (seconds in JSON).
    #[serde(with = "secs")]
    pub start: Time,
    /// When it ends at the latest (a flexible one: when it may start at
    /// the latest).
    #[serde(with = "secs")]
    pub end: Time,
    /// `None`: fixed, from `start` to `end`. Some duration: flexible, it
    /// starts when the object enters a problem state between `start` and
    /// `end`, and then lasts this long.
    #[serde(default, with = "opt_secs")]
    pub flexible: Option<Duration>,
    /// Who scheduled it.
    pub author: String,
    /// Why.
    pub comment: String,
}

/// A scheduled downtime, pending or in effect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Downtime {
    /// Its number, unique for the life of the retention file.
    pub id: u64,
    /// The host.
    pub host: String,
    /// The service, or `None` for the host.
    pub service: Option<String>,
    /// For a host downtime: its services are covered too.
    pub with_services: bool,
    /// When it may start.
    #[serde(with = "secs")]
    pub start: Time,
    /// When a fixed one ends, or a flexible one may start at the latest.
    #[serde(with = "secs")]
    pub end: Time,
    /// A flexible one's duration; `None` for a fixed one.
    #[serde(with = "opt_secs")]
    pub flexible: Option<Duration>,
    /// Who scheduled it.
    pub author: String,
    /// Why.
    pub comment: String,
    /// When it started, `None` while pending.
    #[serde(with = "opt_secs")]
    pub started: Option<Time>,
}

impl DowntimeRequest {
    /// Checks the request (not whether its object exists): `end` after
    /// `start`, a flexible duration of more than zero, an author.
    pub fn validate(&self) -> Result<(), Refusal> {
        if self.host.trim().is_empty() {
            return Err(Refusal::EmptyField { field: "host", expected: Some("a host name") });
        }
        if self.end <= self.start {
            return Err(Refusal::EndNotAfterStart);
        }
        if self.flexible.is_some_and(|d| d.is_zero()) {
            return Err(Refusal::ZeroFlexible);
        }
        if self.with_services && self.service.is_some() {
            return Err(Refusal::WithServicesOnService);
        }
        if self.author.trim().is_empty() {
            return Err(Refusal::EmptyField { field: "author", expected: Some("who schedules the downtime") });
        }
        Ok(())
    }
}

impl Downtime {
    /// The downtime `request` becomes with number `id`.
    pub fn new(id: u64, request: DowntimeRequest) -> Downtime {
        let DowntimeRequest { host, service, with_services, start, end, flexible, author, comment } = request;
        Downtime { id, host, service, with_services, start, end, flexible, author, comment, started: None }
    }

    /// Whether it covers the object of `host` and `service` (`None`: the host).
    pub fn covers(&self, host: &str, service: Option<&str>) -> bool {
        self.host == host && (self.service.as_deref() == service || (self.service.is_none() && self.with_services))
    }

    /// Whether a problem of this object triggers it (a flexible one): its
    /// own object, not the services a host downtime covers.
    pub fn triggered_by(&self, host: &str, service: Option<&str>) -> bool {
        self.host == host && self.service.as_deref() == service
    }

    /// When it ends once started: `end` for a fixed one, start plus the
    /// duration for a flexible one.
    pub fn ends_at(&self) -> Option<Time> {
        let started = self.started?;
        Some(match self.flexible {
            None => self.end,
            Some(d) => started + d,
        })
    }
}

/// Serde of a [`Time`] as seconds (a float).
pub mod secs {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Time;

    /// Writes seconds.
    pub fn serialize<S: Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(t.as_secs_f64())
    }

    /// Reads seconds: a finite number of zero or more.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        let n = f64::deserialize(d)?;
        Time::try_from_secs_f64(n)
            .map_err(|_| serde::de::Error::custom(format!("expected seconds (a number of zero or more), found {n}")))
    }
}

/// Serde of an optional [`Time`] or duration as seconds (a float) or null.
pub mod opt_secs {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Time;

    /// Writes seconds or null.
    pub fn serialize<S: Serializer>(t: &Option<Time>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&t.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    /// Reads seconds or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Time>, D::Error> {
        match Option::<f64>::deserialize(d)? {
            None => Ok(None),
            Some(n) => Time::try_from_secs_f64(n).map(Some).map_err(|_| {
                serde::de::Error::custom(format!("expected seconds (a number of zero or more), found {n}"))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> DowntimeRequest {
        DowntimeRequest {
            host: "web1".into(),
            service: None,
            with_services: true,
            start: Duration::from_secs(100),
            end: Duration::from_secs(200),
            flexible: None,
            author: "alice".into(),
            comment: "patching".into(),
        }
    }

    #[test]
    fn covers_the_host_and_with_services_its_services() {
        let d = Downtime::new(1, request());
        assert!(d.covers("web1", None));
        assert!(d.covers("web1", Some("HTTP")));
        assert!(!d.covers("web2", None));
        let host_only = Downtime::new(2, DowntimeRequest { with_services: false, ..request() });
        assert!(!host_only.covers("web1", Some("HTTP")));
        let service =
            Downtime::new(3, DowntimeRequest { service: Some("HTTP".into()), with_services: false, ..request() });
        assert!(
            service.covers("web1", Some("HTTP"))
                && !service.covers("web1", None)
                && !service.covers("web1", Some("SSH"))
        );
        assert!(d.triggered_by("web1", None) && !d.triggered_by("web1", Some("HTTP")));
    }

    #[test]
    fn validation_names_the_field() {
        let bad = DowntimeRequest { end: Duration::from_secs(50), ..request() };
        assert_eq!(bad.validate().unwrap_err().to_string(), "invalid request: field 'end': must be after 'start'");
        let bad = DowntimeRequest { flexible: Some(Duration::ZERO), ..request() };
        assert!(bad.validate().unwrap_err().to_string().contains("field 'flexible'"));
        let bad = DowntimeRequest { author: " ".into(), ..request() };
        assert!(bad.validate().unwrap_err().to_string().contains("field 'author'"));
        request().validate().unwrap();
    }

    #[test]
    fn ends_at() {
        let mut d = Downtime::new(1, DowntimeRequest { flexible: Some(Duration::from_secs(30)), ..request() });
        assert_eq!(d.ends_at(), None);
        d.started = Some(Duration::from_secs(150));
        assert_eq!(d.ends_at(), Some(Duration::from_secs(180)));
        d.flexible = None;
        assert_eq!(d.ends_at(), Some(Duration::from_secs(200)));
    }

    #[test]
    fn acknowledgements_clear_by_kind() {
        let normal = AckState { author: "a".into(), comment: "c".into(), sticky: false, time: Duration::ZERO };
        let sticky = AckState { sticky: true, ..normal.clone() };
        let change = [StateEvent::StateChange {
            from: State::Warning,
            to: State::Critical,
            state_type: super::super::StateType::Soft,
        }];
        assert!(ack_survives(&normal, &[], State::Critical));
        assert!(!ack_survives(&normal, &change, State::Critical));
        assert!(ack_survives(&sticky, &change, State::Critical));
        assert!(!ack_survives(&sticky, &[], State::Ok));
    }

    #[test]
    fn json_times_are_seconds() {
        let json = serde_json::to_value(Downtime::new(7, request())).unwrap();
        assert_eq!(json["start"], 100.0);
        assert_eq!(json["flexible"], serde_json::Value::Null);
        let r: DowntimeRequest =
            serde_json::from_str(r#"{"host":"h","start":1.5,"end":9,"flexible":60,"author":"a","comment":""}"#)
                .unwrap();
        assert_eq!((r.start, r.flexible), (Duration::from_millis(1500), Some(Duration::from_secs(60))));
        let e = serde_json::from_str::<DowntimeRequest>(r#"{"host":"h","start":-1,"end":9,"author":"a","comment":""}"#);
        assert!(e.unwrap_err().to_string().contains("expected seconds"));
    }
}

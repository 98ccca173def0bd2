//! The keys of hosts, services, templates and `[defaults]`.

use super::*;

/// Keys every host, service, template and `[defaults]` may set.
pub(super) const SETTING_KEYS: &[&str] = &[
    "check",
    "params",
    "args",
    "check_interval",
    "retry_interval",
    "max_check_attempts",
    "notification_interval",
    "first_notification_delay",
    "contacts",
    "event_handlers",
    "timeout",
    "memory",
    "output_limit",
    "timeout_state",
    "grants",
    "parents",
    "active_checks",
    "passive_checks",
    "check_freshness",
    "freshness_threshold",
    "stale_state",
    "flap_detection",
    "low_flap_threshold",
    "high_flap_threshold",
];

/// What kind of table an object's keys come from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Defaults,
    Template,
    Host,
    Service,
}

impl Kind {
    pub(super) fn header(self) -> &'static str {
        match self {
            Kind::Defaults => "[defaults]",
            Kind::Template => "[[template]]",
            Kind::Host => "[[host]]",
            Kind::Service => "[[service]]",
        }
    }

    pub(super) fn keys(self) -> Vec<&'static str> {
        let (before, after): (&[&str], &[&str]) = match self {
            Kind::Defaults => (&[], &[]),
            Kind::Template => (&["name"], &["item"]),
            Kind::Host => (&["name", "address", "use", "packs", "pack_params"], &[]),
            Kind::Service => (&["host", "name", "use", "item"], &[]),
        };
        let settings = SETTING_KEYS.iter().filter(|k| self != Kind::Defaults || (**k != "check" && **k != "parents"));
        before.iter().chain(settings).chain(after).copied().collect()
    }
}

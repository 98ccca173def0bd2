//! One layer of settings, and how layers stack.

use super::*;

/// One layer of settings: the built-ins, `[defaults]`, a template or an
/// object's own keys. `None` leaves the value of the layer below.
#[derive(Clone, Debug, Default)]
pub(super) struct Layer {
    /// The module and its default grants.
    pub(super) check: Option<(String, Grants)>,
    /// Whether some layer writes `check` (even a bad one, already reported).
    pub(super) check_written: bool,
    pub(super) params: Vec<(String, String)>,
    pub(super) args: Option<Vec<String>>,
    pub(super) item: Option<String>,
    pub(super) check_interval: Option<Duration>,
    pub(super) retry_interval: Option<Duration>,
    pub(super) max_check_attempts: Option<u32>,
    pub(super) notification_interval: Option<Duration>,
    pub(super) first_notification_delay: Option<Duration>,
    pub(super) contacts: Option<Vec<String>>,
    pub(super) event_handlers: Option<Vec<String>>,
    pub(super) timeout: Option<Duration>,
    pub(super) memory: Option<usize>,
    pub(super) output_limit: Option<usize>,
    pub(super) timeout_state: Option<State>,
    pub(super) grants: Option<Vec<String>>,
    pub(super) parents: Option<Vec<crate::config::parents::Written>>,
    pub(super) active_checks: Option<bool>,
    pub(super) passive_checks: Option<bool>,
    pub(super) check_freshness: Option<bool>,
    pub(super) freshness_threshold: Option<Duration>,
    pub(super) stale_state: Option<State>,
    pub(super) flap_detection: Option<bool>,
    /// The value and where it is written (for the low < high check).
    pub(super) low_flap_threshold: Option<(f64, Range<usize>)>,
    pub(super) high_flap_threshold: Option<(f64, Range<usize>)>,
}

impl Layer {
    /// Puts `top` over `self`: its values win; params merge key by key.
    pub(super) fn apply(&mut self, top: &Layer) {
        fn over<T: Clone>(low: &mut Option<T>, high: &Option<T>) {
            if high.is_some() {
                low.clone_from(high);
            }
        }
        over(&mut self.check, &top.check);
        self.check_written |= top.check_written;
        over(&mut self.item, &top.item);
        over(&mut self.args, &top.args);
        over(&mut self.check_interval, &top.check_interval);
        over(&mut self.retry_interval, &top.retry_interval);
        over(&mut self.max_check_attempts, &top.max_check_attempts);
        over(&mut self.notification_interval, &top.notification_interval);
        over(&mut self.first_notification_delay, &top.first_notification_delay);
        over(&mut self.contacts, &top.contacts);
        over(&mut self.event_handlers, &top.event_handlers);
        over(&mut self.timeout, &top.timeout);
        over(&mut self.memory, &top.memory);
        over(&mut self.output_limit, &top.output_limit);
        over(&mut self.timeout_state, &top.timeout_state);
        over(&mut self.grants, &top.grants);
        over(&mut self.parents, &top.parents);
        over(&mut self.active_checks, &top.active_checks);
        over(&mut self.passive_checks, &top.passive_checks);
        over(&mut self.check_freshness, &top.check_freshness);
        over(&mut self.freshness_threshold, &top.freshness_threshold);
        over(&mut self.stale_state, &top.stale_state);
        over(&mut self.flap_detection, &top.flap_detection);
        over(&mut self.low_flap_threshold, &top.low_flap_threshold);
        over(&mut self.high_flap_threshold, &top.high_flap_threshold);
        for (k, v) in &top.params {
            match self.params.iter_mut().find(|(name, _)| name == k) {
                Some(slot) => slot.1.clone_from(v),
                None => self.params.push((k.clone(), v.clone())),
            }
        }
    }

    pub(super) fn schedule(&self) -> Schedule {
        let d = Schedule::default();
        Schedule {
            check_interval: self.check_interval.unwrap_or(d.check_interval),
            retry_interval: self.retry_interval.unwrap_or(d.retry_interval),
            max_check_attempts: self.max_check_attempts.unwrap_or(d.max_check_attempts),
        }
    }

    /// Passive results and freshness: a threshold enables freshness
    /// checking unless `check_freshness = false`; enabled without one, it
    /// is the check interval plus [`FRESHNESS_LATENCY`].
    pub(super) fn passive(&self) -> PassiveSettings {
        let d = PassiveSettings::default();
        let enabled = self.check_freshness.unwrap_or(self.freshness_threshold.is_some());
        let threshold = self.freshness_threshold.unwrap_or(self.schedule().check_interval + FRESHNESS_LATENCY);
        PassiveSettings {
            active_checks: self.active_checks.unwrap_or(d.active_checks),
            passive_checks: self.passive_checks.unwrap_or(d.passive_checks),
            freshness_threshold: enabled.then_some(threshold),
            stale_state: self.stale_state.unwrap_or(d.stale_state),
        }
    }

    pub(super) fn notification(&self) -> NotificationPolicy {
        NotificationPolicy {
            interval: self.notification_interval.unwrap_or(Duration::ZERO),
            first_delay: self.first_notification_delay.unwrap_or(Duration::ZERO),
        }
    }

    pub(super) fn flapping(&self) -> FlapPolicy {
        let d = FlapPolicy::default();
        FlapPolicy {
            enabled: self.flap_detection.unwrap_or(d.enabled),
            low_threshold: self.low_flap_threshold.as_ref().map_or(d.low_threshold, |(v, _)| *v),
            high_threshold: self.high_flap_threshold.as_ref().map_or(d.high_threshold, |(v, _)| *v),
        }
    }

    /// The check, if the layers name a module.
    pub(super) fn check_spec(&self) -> Option<CheckSpec> {
        let (module, mut grants) = self.check.clone()?;
        for g in self.grants.iter().flatten() {
            // Each grant was validated where it is written.
            let _ = grants.add(g);
        }
        let d = Limits::default();
        let limits = Limits {
            timeout: self.timeout.unwrap_or(d.timeout),
            timeout_state: self.timeout_state.unwrap_or(d.timeout_state),
            memory: self.memory.unwrap_or(d.memory),
            output: self.output_limit.unwrap_or(d.output),
            metrics: d.metrics,
        };
        Some(CheckSpec {
            module,
            params: self.params.clone(),
            args: self.args.clone().unwrap_or_default(),
            limits,
            grants,
        })
    }
}

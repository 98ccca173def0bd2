//! One layer of settings, and how layers stack.

use super::*;

/// `check` over the layer below: a good module replaces it; a bad one
/// (`Some(None)`, already reported) only marks `check` as written, so the
/// module below stays.
pub(super) fn keep_check<T: Clone>(low: &mut Option<Option<T>>, high: &Option<Option<T>>) {
    match high {
        Some(Some(_)) => low.clone_from(high),
        Some(None) if low.is_none() => *low = Some(None),
        _ => {}
    }
}

/// `params` over the layer below: merged key by key, the layer's values win.
pub(super) fn merge_params(low: &mut Option<Vec<(String, String)>>, high: &Option<Vec<(String, String)>>) {
    let Some(high) = high else { return };
    let low = low.get_or_insert_with(Vec::new);
    for (k, v) in high {
        match low.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1.clone_from(v),
            None => low.push((k.clone(), v.clone())),
        }
    }
}

impl Layer {
    /// Whether some layer writes `check` (even a bad one, already reported).
    pub(super) fn check_written(&self) -> bool {
        self.check.is_some()
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

    /// The zone the layers name; `None` for none or an empty one (this
    /// process).
    pub(super) fn zone(&self) -> Option<String> {
        self.zone.clone().filter(|z| !z.is_empty())
    }

    /// The check, if the layers name a module.
    pub(super) fn check_spec(&self) -> Option<CheckSpec> {
        let (module, mut grants) = self.check.clone().flatten()?;
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
            params: self.params.clone().unwrap_or_default(),
            args: self.args.clone().unwrap_or_default(),
            limits,
            grants,
            zone: self.zone(),
        })
    }
}

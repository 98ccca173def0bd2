//! What the cluster (see [`crate::cluster`]) asks of an object: its zone,
//! its name and its check attempt.

use super::Engine;
use crate::sandbox::values::Values;
use crate::schedule::ObjectId;

impl Engine {
    /// The zone whose workers run object `id`'s check, if it has one.
    pub(crate) fn zone(&self, id: ObjectId) -> Option<&str> {
        self.objects[id].check.zone.as_deref()
    }

    /// The zones objects name, sorted.
    pub(crate) fn zones(&self) -> Vec<String> {
        let zones: std::collections::BTreeSet<&String> =
            self.objects.iter().filter_map(|o| o.check.zone.as_ref()).collect();
        zones.into_iter().cloned().collect()
    }

    /// Object `id`'s host and service names and its check attempt.
    pub(crate) fn run_key(&self, id: ObjectId) -> (&str, Option<&str>, u32) {
        let o = &self.objects[id];
        (&o.host, o.service.as_deref(), o.state.attempt)
    }

    /// Object `id`'s sandbox limits: a worker's result is held to them
    /// again, as a passive result is.
    pub(crate) fn limits(&self, id: ObjectId) -> &crate::Limits {
        &self.objects[id].check.limits
    }

    /// Every module in service: name and sha256 (hex).
    pub(crate) fn module_digests(&self) -> Vec<(String, String)> {
        self.modules.iter().map(|s| (s.module.name().to_string(), s.module.digest_hex())).collect()
    }

    /// What the cluster keeps of object `id` for another scheduler to
    /// take over: its state, notification bookkeeping and value store
    /// (`None` while its check runs: the value store is out with it).
    pub(crate) fn shard_state(
        &self,
        id: ObjectId,
    ) -> Option<(&crate::state::ObjectState, &crate::state::NotifyState, &Values)> {
        let o = &self.objects[id];
        (!o.running).then_some((&o.state, &o.notify, &o.values))
    }

    /// Schedules the first checks of `ids` (objects of a shard this
    /// scheduler now leads) spread over their intervals from `now`.
    pub(crate) fn schedule_taken(&mut self, ids: Vec<ObjectId>, now: crate::state::Time) {
        self.spread(ids, &|| now);
    }
}

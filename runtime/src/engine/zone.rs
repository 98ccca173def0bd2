//! What the cluster (see [`crate::cluster`]) asks of an object: its zone,
//! its name and its check attempt.

use super::Engine;
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
}

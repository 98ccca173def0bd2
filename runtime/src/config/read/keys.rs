//! The one table of setting keys: for each key, the tables that may set it,
//! how its value is read, and (through the [`Layer`] field it generates) how
//! it is layered. Unknown-key messages, layering and reading all come from
//! [`SETTINGS`]; adding a key is one entry in [`settings!`] (and the model
//! field that [`Layer`]'s resolved views fill from it).

use std::ops::Range;
use std::time::Duration;

use super::layer::{keep_check, merge_params};
use super::{Reader, Val};
use crate::config::parents::Written;
use crate::outcome::State;
use crate::sandbox::policy::Grants;

/// What kind of table an object's keys come from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Defaults,
    Template,
    Host,
    Service,
}

/// Every kind of table: a setting that `[defaults]` may set too.
const ALL: &[Kind] = &[Kind::Defaults, Kind::Template, Kind::Host, Kind::Service];
/// A setting of a particular object (or template), never a default.
const OBJECTS: &[Kind] = &[Kind::Template, Kind::Host, Kind::Service];

impl Kind {
    pub(super) fn header(self) -> &'static str {
        match self {
            Kind::Defaults => "[defaults]",
            Kind::Template => "[[template]]",
            Kind::Host => "[[host]]",
            Kind::Service => "[[service]]",
        }
    }

    /// The keys that name the object itself, are never layered and are read
    /// by [`Reader::object_table`]. A service lists `item` (a setting) among
    /// them, where its messages have always listed it.
    fn own_keys(self) -> &'static [&'static str] {
        match self {
            Kind::Defaults => &[],
            Kind::Template => &["name"],
            Kind::Host => &["name", "address", "use", "packs", "pack_params"],
            Kind::Service => &["host", "name", "use", "item"],
        }
    }

    /// Every key this kind of table may have, in the order messages list
    /// them: its own keys, then the settings it may set.
    pub(super) fn keys(self) -> Vec<&'static str> {
        let own = self.own_keys();
        let settings = SETTINGS.iter().filter(|s| s.kinds.contains(&self) && !own.contains(&s.key));
        own.iter().copied().chain(settings.map(|s| s.key)).collect()
    }
}

/// One setting key: a row of [`SETTINGS`].
pub(super) struct Setting {
    /// The key as written (and the name of its [`Layer`] field).
    pub(super) key: &'static str,
    /// The kinds of table that may set it.
    pub(super) kinds: &'static [Kind],
    /// Reads the value of the key in the object `cx` into its field of the
    /// layer; a bad value is reported and leaves the field unset.
    pub(super) read: fn(&mut Reader<'_>, &Val<'_>, &str, &mut Layer),
}

impl Setting {
    /// The setting `key`, if it is one.
    pub(super) fn get(key: &str) -> Option<&'static Setting> {
        SETTINGS.iter().find(|s| s.key == key)
    }
}

/// Generates, from one list of settings, [`Layer`] (one `Option` field per
/// setting), [`Layer::apply`] and [`SETTINGS`]. Each entry is
/// `key: Type, kinds, reader[, merge how];` where the reader is a closure
/// `|reader, value, context, key|` that returns `Some` value or reports the
/// problem and returns `None`, and `merge` names how a layer's value goes
/// over the one below (by default [`over`]: replaced as a whole).
macro_rules! settings {
    (@merge) => { over };
    (@merge $merge:path) => { $merge };
    ($(
        $(#[$doc:meta])*
        $key:ident: $ty:ty, $kinds:expr, $read:expr $(, merge $merge:path)?;
    )+) => {
        /// One layer of settings: the built-ins, `[defaults]`, a template or
        /// an object's own keys. `None` leaves the value of the layer below.
        #[derive(Clone, Debug, Default)]
        pub(super) struct Layer {
            $($(#[$doc])* pub(super) $key: Option<$ty>,)+
        }

        impl Layer {
            /// Puts `top` over `self`: its values win, merged where an entry
            /// says how (`params` key by key).
            pub(super) fn apply(&mut self, top: &Layer) {
                $({
                    let merge: fn(&mut Option<$ty>, &Option<$ty>) = settings!(@merge $($merge)?);
                    merge(&mut self.$key, &top.$key);
                })+
            }
        }

        /// Every setting key, in the order messages list them.
        pub(super) static SETTINGS: &[Setting] = &[$(
            Setting {
                key: stringify!($key),
                kinds: $kinds,
                read: |r, v, cx, layer| layer.$key = read::<$ty>($read, r, v, cx, stringify!($key)),
            },
        )+];
    };
}

/// How an entry reads its value: `Some` value, or `None` once the problem
/// is reported.
type Read<T> = fn(&mut Reader<'_>, &Val<'_>, &str, &str) -> Option<T>;

/// Reads the value `v` of `key` in the object `cx` with an entry's reader
/// (a function, so that the reader's closure gets its types).
fn read<T>(read: Read<T>, r: &mut Reader<'_>, v: &Val<'_>, cx: &str, key: &str) -> Option<T> {
    read(r, v, cx, key)
}

/// A layer's value replaces the one below.
fn over<T: Clone>(low: &mut Option<T>, high: &Option<T>) {
    if high.is_some() {
        low.clone_from(high);
    }
}

settings! {
    /// The module and its default grants; `Some(None)` if it is written but
    /// bad (already reported).
    check: Option<(String, Grants)>, OBJECTS, |r, v, cx, _| Some(r.check(v, cx)), merge keep_check;
    params: Vec<(String, String)>, ALL, |r, v, cx, _| Some(r.params(v, cx)), merge merge_params;
    args: Vec<String>, ALL, |r, v, cx, k| r.args(v, cx, k);
    check_interval: Duration, ALL, |r, v, cx, k| r.duration(v, cx, k, false);
    retry_interval: Duration, ALL, |r, v, cx, k| r.duration(v, cx, k, false);
    max_check_attempts: u32, ALL, |r, v, cx, k| r.integer(v, cx, k, 1, u32::MAX.into()).map(|n| n as u32);
    notification_interval: Duration, ALL, |r, v, cx, k| r.duration(v, cx, k, true);
    first_notification_delay: Duration, ALL, |r, v, cx, k| r.duration(v, cx, k, true);
    contacts: Vec<String>, ALL, |r, v, cx, k| r.contact_names(v, cx, k);
    event_handlers: Vec<String>, ALL, |r, v, cx, k| r.handler_names(v, cx, k);
    timeout: Duration, ALL, |r, v, cx, k| r.duration(v, cx, k, false);
    memory: usize, ALL, |r, v, cx, k| r.size(v, cx, k);
    output_limit: usize, ALL, |r, v, cx, k| r.size(v, cx, k);
    timeout_state: State, ALL, |r, v, cx, k| r.state(v, cx, k);
    grants: Vec<String>, ALL, |r, v, cx, k| r.grant_names(v, cx, k);
    parents: Vec<Written>, OBJECTS, |r, v, cx, _| r.parents(v, cx);
    active_checks: bool, ALL, |r, v, cx, k| r.boolean(v, cx, k);
    passive_checks: bool, ALL, |r, v, cx, k| r.boolean(v, cx, k);
    check_freshness: bool, ALL, |r, v, cx, k| r.boolean(v, cx, k);
    freshness_threshold: Duration, ALL, |r, v, cx, k| r.duration(v, cx, k, false);
    stale_state: State, ALL, |r, v, cx, k| r.state(v, cx, k);
    flap_detection: bool, ALL, |r, v, cx, k| r.boolean(v, cx, k);
    /// The value and where it is written (for the low < high check).
    low_flap_threshold: (f64, Range<usize>), ALL, |r, v, cx, k| r.percent(v, cx, k);
    high_flap_threshold: (f64, Range<usize>), ALL, |r, v, cx, k| r.percent(v, cx, k);
    check_period: String, ALL, |r, v, cx, k| r.period_name(v, cx, k);
    notification_period: String, ALL, |r, v, cx, k| r.period_name(v, cx, k);
    contact_groups: Vec<String>, ALL, |r, v, cx, k| r.contact_group_names(v, cx, k);
    /// The worker zone; an empty string: this process (see [`crate::cluster`]).
    zone: String, ALL, |r, v, cx, k| r.zone(v, cx, k);
    item: String, &[Kind::Template, Kind::Service], |r, v, cx, k| r.string(v, cx, k, "a string");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys each kind lists in unknown-key messages, in the order they
    /// have always been listed.
    #[test]
    fn expected_keys_keep_their_order() {
        let settings = "check, params, args, check_interval, retry_interval, max_check_attempts, \
            notification_interval, first_notification_delay, contacts, event_handlers, timeout, memory, \
            output_limit, timeout_state, grants, parents, active_checks, passive_checks, check_freshness, \
            freshness_threshold, stale_state, flap_detection, low_flap_threshold, high_flap_threshold, \
            check_period, notification_period, contact_groups, zone";
        let defaults = settings.replace("check, ", "").replace("parents, ", "");
        assert_eq!(Kind::Defaults.keys().join(", "), defaults);
        assert_eq!(Kind::Template.keys().join(", "), format!("name, {settings}, item"));
        assert_eq!(Kind::Host.keys().join(", "), format!("name, address, use, packs, pack_params, {settings}"));
        assert_eq!(Kind::Service.keys().join(", "), format!("host, name, use, item, {settings}"));
    }
}

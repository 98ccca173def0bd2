//! The conversions between the WIT types a guest speaks and the library's
//! types: states, targets, check errors, metrics, partial results.

use super::bindings::wasmon::check::types as wit;
use super::policy::Target;
use crate::outcome::{Metric, Range, State, Termination};

/// The standard text for `check-error::item-not-found` (Checkmk's wording).
pub const ITEM_NOT_FOUND: &str = "Item not found in monitoring data";

pub(super) fn to_wit_state(s: State) -> wit::State {
    match s {
        State::Ok => wit::State::Ok,
        State::Warning => wit::State::Warning,
        State::Critical => wit::State::Critical,
        State::Unknown => wit::State::Unknown,
    }
}

pub(super) fn wit_target(t: &Target) -> wit::Target {
    wit::Target { name: t.name.clone(), address: t.address.map(|a| a.to_string()).unwrap_or_default() }
}

/// Maps a `check-error` to how the run ended and the message to show.
pub(super) fn check_error(e: wit::CheckError) -> (Termination, String) {
    match e {
        wit::CheckError::ItemNotFound => (Termination::ItemNotFound, ITEM_NOT_FOUND.to_string()),
        wit::CheckError::BadParams(m) => (Termination::BadParams, m),
        wit::CheckError::Failed(m) => (Termination::Failed, m),
    }
}

/// Combines partial results: the worst state; the summaries joined with
/// ", " (seed 004 5.5), each non-OK partial marked as Checkmk does when
/// there are several; the details joined by lines.
pub(super) fn combine(partials: Vec<wit::PartialResult>) -> (State, String, Option<String>) {
    if partials.is_empty() {
        return (State::Unknown, "Check returned no result".to_string(), None);
    }
    let several = partials.len() > 1;
    let mut state = State::Ok;
    let mut summaries = Vec::new();
    let mut details = Vec::new();
    for p in partials {
        let s = wit_state(p.state);
        state = state.worst(s);
        let mut text = p.summary.trim().to_string();
        if several {
            text.push_str(match s {
                State::Ok => "",
                State::Warning => "(!)",
                State::Critical => "(!!)",
                State::Unknown => "(?)",
            });
        }
        if !text.is_empty() {
            summaries.push(text);
        }
        if let Some(d) = p.details.filter(|d| !d.trim().is_empty()) {
            details.push(d.trim_end().to_string());
        }
    }
    let details = (!details.is_empty()).then(|| details.join("\n"));
    (state, summaries.join(", "), details)
}

pub(crate) fn wit_state(s: wit::State) -> State {
    match s {
        wit::State::Ok => State::Ok,
        wit::State::Warning => State::Warning,
        wit::State::Critical => State::Critical,
        wit::State::Unknown => State::Unknown,
    }
}

pub(super) fn metric(m: wit::Metric) -> Metric {
    let range = |r: wit::Range| Range { start: r.start, end: r.end, inside: r.inside };
    Metric {
        label: m.label,
        value: m.value,
        uom: m.uom,
        warn: m.warn.map(range),
        crit: m.crit.map(range),
        min: m.min,
        max: m.max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partial(state: wit::State, summary: &str) -> wit::PartialResult {
        wit::PartialResult { state, summary: summary.into(), details: None }
    }

    #[test]
    fn worst_state_wins_and_summaries_join() {
        let (state, summary, _) = combine(vec![
            partial(wit::State::Ok, "Used: 10%"),
            partial(wit::State::Unknown, "Inodes: unknown"),
            partial(wit::State::Warning, "Free: 5 GiB"),
        ]);
        assert_eq!(state, State::Unknown);
        assert_eq!(summary, "Used: 10%, Inodes: unknown(?), Free: 5 GiB(!)");
        let (state, _, _) = combine(vec![partial(wit::State::Critical, "a"), partial(wit::State::Unknown, "b")]);
        assert_eq!(state, State::Critical);
        let (state, summary, _) = combine(vec![]);
        assert_eq!((state, summary.as_str()), (State::Unknown, "Check returned no result"));
    }
}

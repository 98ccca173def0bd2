//! `dummy`: returns the state and text it is given, or walks through a
//! sequence of states, one per run. For testing notifications and the engine.

use wasmon_sdk::{
    Check, CheckError, CheckInfo, CheckRequest, CheckResult, DiscoverRequest, Item, Manpage, Metric, Output, ParamInfo,
    Params, RequestExt, State, store,
};

/// Value-store key of the sequence position (the index of the next step).
const POSITION_KEY: &str = "sequence_position";
/// Value-store key of the sequence the position belongs to.
const SEQUENCE_KEY: &str = "sequence";

const DEFAULT_TEXT: &str = "Dummy check";

struct Dummy;

/// Parses a comma-separated list of state names.
fn parse_sequence(text: &str) -> Result<Vec<State>, CheckError> {
    let entries: Vec<&str> = text.split(',').map(str::trim).collect();
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            entry.parse::<State>().map_err(|_| {
                CheckError::BadParams(format!(
                    "parameter 'sequence': entry {} of {} is '{entry}', expected OK, WARNING, CRITICAL or UNKNOWN (or WARN, CRIT, 0-3)",
                    i + 1,
                    entries.len()
                ))
            })
        })
        .collect()
}

/// The step to run now: `stored` is the saved (sequence, position) if any. A
/// changed sequence starts over at step 0; positions wrap around.
fn step_index(sequence: &str, len: usize, stored: Option<(String, f64)>) -> usize {
    match stored {
        Some((text, pos)) if text == sequence && pos.is_finite() && pos >= 0.0 => (pos as usize) % len,
        _ => 0,
    }
}

/// Builds the result from the parameters and, for a sequence, the step index.
fn evaluate(params: &Params<'_>, step: Option<(usize, &[State])>) -> Result<CheckResult, CheckError> {
    let text = params.get("text");
    let mut out = Output::new();
    match step {
        Some((index, states)) => {
            let state = states[index];
            let step = format!("Sequence step {} of {}: {state}", index + 1, states.len());
            match text {
                Some(t) => out.partial(state, format!("{t}, {step}")),
                None => out.partial(state, step),
            };
        }
        None => {
            let state = params.state("state", State::Ok)?;
            out.partial(state, text.unwrap_or(DEFAULT_TEXT));
        }
    }
    if let Some(value) = params.optional_number("metric")? {
        out.metric(Metric::number("value", value));
    }
    Ok(out.into_result())
}

impl Check for Dummy {
    fn describe() -> CheckInfo {
        CheckInfo {
            name: "dummy".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: "Dummy: State given by parameters".into(),
            manpage: Manpage::new(
                "Monitors nothing: returns the state and text given as parameters, like the \
                 Monitoring Plugins' check_dummy. With 'sequence', each run returns the next \
                 state of the list, starting over after the last one; the position is kept \
                 per service in the value store, and a changed sequence starts again at its \
                 first step. The state is OK, WARNING, CRITICAL or UNKNOWN exactly as given. \
                 Meant for testing notifications, state changes and the engine.",
            ),
            params: vec![
                ParamInfo::new(
                    "state",
                    "State to return: OK, WARNING, CRITICAL or UNKNOWN (also WARN, CRIT, 0-3). \
                     Ignored when 'sequence' is given.",
                )
                .default("OK"),
                ParamInfo::new("text", "The summary text.").default(DEFAULT_TEXT),
                ParamInfo::new(
                    "sequence",
                    "Comma-separated states, e.g. 'OK,OK,CRITICAL'; each run returns the next \
                     one. The summary says 'Sequence step N of M: STATE', after 'text' when given.",
                ),
                ParamInfo::new("metric", "A number to report as the metric 'value' (no unit)."),
            ],
        }
    }

    fn discover(request: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        request.params().reject_unknown(&[])?;
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let params = request.params();
        params.reject_unknown(&["state", "text", "sequence", "metric"])?;
        let Some(sequence_text) = params.get("sequence") else {
            return evaluate(&params, None);
        };
        let states = parse_sequence(sequence_text)?;
        let stored =
            store::get_string(SEQUENCE_KEY).zip(store::get_f64s(POSITION_KEY).and_then(|v| v.first().copied()));
        let index = step_index(sequence_text, states.len(), stored);
        let result = evaluate(&params, Some((index, &states)))?;
        store::set_string(SEQUENCE_KEY, sequence_text)?;
        store::set_f64s(POSITION_KEY, &[((index + 1) % states.len()) as f64])?;
        Ok(result)
    }
}

wasmon_sdk::export_check!(Dummy);

#[cfg(test)]
mod tests {
    use super::*;
    use wasmon_sdk::{Param, params};

    #[test]
    fn state_and_text() {
        let l = Param::list(&[("state", "crit"), ("text", "Hello"), ("metric", "4.5")]);
        let r = evaluate(&params(&l), None).unwrap();
        assert_eq!(r.state(), State::Critical);
        assert_eq!(r.summary(), "Hello");
        assert_eq!(r.metrics[0].value, 4.5);
        let r = evaluate(&params(&[]), None).unwrap();
        assert_eq!((r.state(), r.summary()), (State::Ok, DEFAULT_TEXT.to_string()));
        let bad = Param::list(&[("state", "purple")]);
        assert!(matches!(evaluate(&params(&bad), None), Err(CheckError::BadParams(m)) if m.contains("'purple'")));
    }

    #[test]
    fn sequence_steps_and_wraps() {
        let states = parse_sequence("ok, WARN,2").unwrap();
        assert_eq!(states, [State::Ok, State::Warning, State::Critical]);
        let seq = "ok, WARN,2";
        assert_eq!(step_index(seq, 3, None), 0);
        assert_eq!(step_index(seq, 3, Some((seq.into(), 2.0))), 2);
        assert_eq!(step_index(seq, 3, Some((seq.into(), 3.0))), 0);
        assert_eq!(step_index(seq, 3, Some(("ok".into(), 2.0))), 0, "changed sequence restarts");
        let l = Param::list(&[("text", "T")]);
        let r = evaluate(&params(&l), Some((1, &states))).unwrap();
        assert_eq!(r.state(), State::Warning);
        assert_eq!(r.summary(), "T, Sequence step 2 of 3: WARNING");
        let r = evaluate(&params(&[]), Some((2, &states))).unwrap();
        assert_eq!(r.summary(), "Sequence step 3 of 3: CRITICAL");
    }

    #[test]
    fn bad_sequence_entry_is_named() {
        let err = parse_sequence("OK,, CRIT").unwrap_err();
        assert_eq!(
            err,
            CheckError::BadParams(
                "parameter 'sequence': entry 2 of 3 is '', expected OK, WARNING, CRITICAL or UNKNOWN (or WARN, CRIT, 0-3)".into()
            )
        );
    }
}

//! Building a [`CheckResult`] from partial results and metrics.

use std::time::Duration;

use crate::{CheckResult, Levels, Metric, PartialResult, State, check_levels, render};

impl PartialResult {
    /// A partial result with a state and a one-line summary, without details.
    pub fn new(state: State, summary: impl Into<String>) -> PartialResult {
        PartialResult { state, summary: summary.into(), details: None }
    }

    /// Sets the details (long output) of this partial result.
    #[must_use]
    pub fn with_details(mut self, details: impl Into<String>) -> PartialResult {
        self.details = Some(details.into());
        self
    }
}

impl CheckResult {
    /// The service state the host derives: the worst state of the partials
    /// (OK < WARNING < UNKNOWN < CRITICAL), UNKNOWN when there are none.
    pub fn state(&self) -> State {
        if self.partials.is_empty() { State::Unknown } else { State::worst_of(self.partials.iter().map(|p| p.state)) }
    }

    /// The summary the host shows: the partial summaries joined with ", ".
    pub fn summary(&self) -> String {
        join_summaries(&self.partials)
    }
}

fn join_summaries(partials: &[PartialResult]) -> String {
    partials.iter().map(|p| p.summary.as_str()).collect::<Vec<_>>().join(", ")
}

/// Collects partial results and metrics for one check run.
///
/// ```
/// use wasmon_sdk::{Metric, Output, State};
/// let mut out = Output::new();
/// out.ok("Response time: 12 ms").metric(Metric::seconds("time", 0.012));
/// out.warn("Certificate: expires in 10 days").details("Issuer: Example CA");
/// assert_eq!(out.state(), State::Warning);
/// assert_eq!(out.summary(), "Response time: 12 ms, Certificate: expires in 10 days");
/// let result = out.into_result();
/// assert_eq!(result.partials.len(), 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Output {
    partials: Vec<PartialResult>,
    metrics: Vec<Metric>,
}

impl Output {
    /// An empty output.
    pub fn new() -> Output {
        Output::default()
    }

    /// Appends a partial result.
    pub fn push(&mut self, partial: PartialResult) -> &mut Output {
        self.partials.push(partial);
        self
    }

    /// Appends a partial result with `state` and `summary`.
    pub fn partial(&mut self, state: State, summary: impl Into<String>) -> &mut Output {
        self.push(PartialResult::new(state, summary))
    }

    /// Appends an OK partial result.
    pub fn ok(&mut self, summary: impl Into<String>) -> &mut Output {
        self.partial(State::Ok, summary)
    }

    /// Appends a WARNING partial result.
    pub fn warn(&mut self, summary: impl Into<String>) -> &mut Output {
        self.partial(State::Warning, summary)
    }

    /// Appends a CRITICAL partial result.
    pub fn crit(&mut self, summary: impl Into<String>) -> &mut Output {
        self.partial(State::Critical, summary)
    }

    /// Appends an UNKNOWN partial result.
    pub fn unknown(&mut self, summary: impl Into<String>) -> &mut Output {
        self.partial(State::Unknown, summary)
    }

    /// Adds lines of details (long output) to the last partial result; if it
    /// already has details, the new text goes on a new line.
    ///
    /// # Panics
    ///
    /// When there is no partial result yet.
    pub fn details(&mut self, text: impl Into<String>) -> &mut Output {
        let last = self.partials.last_mut().expect("Output::details called before any partial result");
        let text = text.into();
        last.details = Some(match last.details.take() {
            Some(existing) => format!("{existing}\n{text}"),
            None => text,
        });
        self
    }

    /// Appends a network check's response time: the partial result
    /// `Response time: 12 ms` judged against the upper `levels` (see
    /// [`check_levels`]) and the metric `response_time` in seconds, from 0 to
    /// the check's `timeout`. Document the levels with
    /// [`ParamInfo::response_time_levels`](crate::ParamInfo::response_time_levels).
    ///
    /// ```
    /// use std::time::Duration;
    /// use wasmon_sdk::{Levels, Output, State};
    /// let mut out = Output::new();
    /// out.response_time(Duration::from_millis(1500), &Levels::upper(1.0, 2.0), Duration::from_secs(10));
    /// assert_eq!(out.state(), State::Warning);
    /// assert_eq!(out.summary(), "Response time: 1.50 s (warn/crit at 1.00 s/2.00 s)");
    /// assert_eq!(out.metrics()[0].label, "response_time");
    /// ```
    pub fn response_time(&mut self, elapsed: Duration, levels: &Levels, timeout: Duration) -> &mut Output {
        let seconds = elapsed.as_secs_f64();
        self.push(check_levels(seconds, levels, "Response time", render::seconds));
        self.metric(Metric::seconds("response_time", seconds).with_levels(levels).min(0.0).max(timeout.as_secs_f64()))
    }

    /// Appends a metric.
    pub fn metric(&mut self, metric: Metric) -> &mut Output {
        self.metrics.push(metric);
        self
    }

    /// The worst state of the partial results so far (OK when there are none).
    pub fn state(&self) -> State {
        State::worst_of(self.partials.iter().map(|p| p.state))
    }

    /// The partial summaries joined with ", ", as the host will show them.
    pub fn summary(&self) -> String {
        join_summaries(&self.partials)
    }

    /// The partial results so far.
    pub fn partials(&self) -> &[PartialResult] {
        &self.partials
    }

    /// The metrics so far.
    pub fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

    /// The finished result.
    pub fn into_result(self) -> CheckResult {
        CheckResult { partials: self.partials, metrics: self.metrics }
    }
}

impl From<Output> for CheckResult {
    fn from(output: Output) -> CheckResult {
        output.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_worst_in_severity_order() {
        let mut out = Output::new();
        assert_eq!(out.state(), State::Ok);
        out.ok("A: 1");
        assert_eq!(out.state(), State::Ok);
        out.warn("B: 2");
        assert_eq!(out.state(), State::Warning);
        out.unknown("C: ?");
        assert_eq!(out.state(), State::Unknown);
        out.crit("D: 4");
        assert_eq!(out.state(), State::Critical);
        out.unknown("E: ?").ok("F: 6");
        assert_eq!(out.state(), State::Critical);
        assert_eq!(out.summary(), "A: 1, B: 2, C: ?, D: 4, E: ?, F: 6");
        let result = out.into_result();
        assert_eq!(result.state(), State::Critical);
        assert_eq!(result.summary(), "A: 1, B: 2, C: ?, D: 4, E: ?, F: 6");
    }

    #[test]
    fn details_attach_to_last_partial() {
        let mut out = Output::new();
        out.ok("A: 1").warn("B: 2").details("line 1").details("line 2");
        out.metric(Metric::count("things", 2.0));
        let result = out.into_result();
        assert_eq!(result.partials[0].details, None);
        assert_eq!(result.partials[1].details.as_deref(), Some("line 1\nline 2"));
        assert_eq!(result.metrics.len(), 1);
    }

    #[test]
    fn response_time_adds_the_judged_time_and_its_metric() {
        let mut out = Output::new();
        out.ok("Connected");
        out.response_time(Duration::from_millis(12), &Levels::none(), Duration::from_millis(9500));
        assert_eq!((out.state(), out.summary()), (State::Ok, "Connected, Response time: 12 ms".to_string()));
        let m = &out.metrics()[0];
        assert_eq!((m.label.as_str(), m.value, m.uom.as_str()), ("response_time", 0.012, "s"));
        assert!(m.warn.is_none() && m.crit.is_none());
        assert_eq!((m.min, m.max), (Some(0.0), Some(9.5)));
        let mut out = Output::new();
        out.response_time(Duration::from_secs(3), &Levels::upper(1.0, 2.0), Duration::from_secs(10));
        assert_eq!(out.state(), State::Critical);
        assert!(out.metrics()[0].crit.is_some());
    }

    #[test]
    fn empty_result_is_unknown_for_the_host() {
        assert_eq!(Output::new().into_result().state(), State::Unknown);
    }

    #[test]
    fn partial_result_constructor() {
        let p = PartialResult::new(State::Critical, "Port: closed").with_details("refused");
        assert_eq!(p.state, State::Critical);
        assert_eq!(p.summary, "Port: closed");
        assert_eq!(p.details.as_deref(), Some("refused"));
    }
}

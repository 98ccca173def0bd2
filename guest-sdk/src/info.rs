//! Builders for a check's self-description ([`CheckInfo`](crate::CheckInfo), [`Manpage`],
//! [`ParamInfo`]). The contract's completeness and output rules are verified
//! by the host, for checks in any language: `wasmon describe` reports what a
//! check breaks, and `wasmon_runtime::contract` offers the same to tests.

use std::time::Duration;

use crate::{Manpage, ParamInfo};

impl ParamInfo {
    /// A parameter with its name and description (meaning and syntax), no default.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> ParamInfo {
        ParamInfo { name: name.into(), description: description.into(), default_value: None, default_source: None }
    }

    /// Sets the value used when the parameter is not given.
    #[must_use]
    pub fn default(mut self, value: impl Into<String>) -> ParamInfo {
        self.default_value = Some(value.into());
        self
    }

    /// Sets where the default comes from (required for default thresholds,
    /// Checkmk guideline 5.6).
    #[must_use]
    pub fn source(mut self, source: impl Into<String>) -> ParamInfo {
        self.default_source = Some(source.into());
        self
    }

    /// The parameters `warning` and `critical` of a network check's response
    /// time (read with [`Params::levels_upper`](crate::Params::levels_upper),
    /// shown with [`Output::response_time`](crate::Output::response_time)),
    /// with no default value and `source` saying why.
    ///
    /// ```
    /// let [warning, critical] = wasmon_sdk::ParamInfo::response_time_levels("no default levels");
    /// assert_eq!(warning.description, "Response time in seconds at or above which the check is WARN.");
    /// assert_eq!(critical.name, "critical");
    /// ```
    pub fn response_time_levels(source: &str) -> [ParamInfo; 2] {
        [("warning", "WARN"), ("critical", "CRIT")].map(|(name, state)| {
            ParamInfo::new(name, format!("Response time in seconds at or above which the check is {state}."))
                .source(source)
        })
    }

    /// The standard `timeout` parameter of a check that waits on I/O, read
    /// with [`CheckRequest::io_timeout`](crate::CheckRequest::io_timeout):
    /// "Time allowed `what`, as seconds ('10', '2.5') or with a unit ...".
    /// `what` says what the time covers ("for the lookup"), `default` is the
    /// default passed to `io_timeout` (shown as `10s`), `source` where it
    /// comes from.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = wasmon_sdk::ParamInfo::timeout("for the lookup", Duration::from_secs(10), "check_dns's default for -t");
    /// assert!(p.description.starts_with("Time allowed for the lookup, as seconds ('10', '2.5')"));
    /// assert_eq!(p.default_value.as_deref(), Some("10s"));
    /// ```
    pub fn timeout(what: &str, default: Duration, source: impl Into<String>) -> ParamInfo {
        ParamInfo::new(
            "timeout",
            format!(
                "Time allowed {what}, as seconds ('10', '2.5') or with a unit ('10s', '500ms'). \
                 Never more than 90% of the wall time the host gives the run (`wasmon check -t`), \
                 so that the check reports its own timeout first."
            ),
        )
        .default(format!("{}s", default.as_secs_f64()))
        .source(source)
    }
}

impl Manpage {
    /// A manpage with its description (what is monitored, when OK, WARN, CRIT).
    pub fn new(description: impl Into<String>) -> Manpage {
        Manpage { description: description.into(), item: None, discovery: None }
    }

    /// Sets how the item is formed.
    #[must_use]
    pub fn item(mut self, text: impl Into<String>) -> Manpage {
        self.item = Some(text.into());
        self
    }

    /// Sets when and how discovery finds services.
    #[must_use]
    pub fn discovery(mut self, text: impl Into<String>) -> Manpage {
        self.discovery = Some(text.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_fill_the_fields() {
        let p = ParamInfo::new("warning", "Free space.").default("20%").source("Nagios sample config");
        assert_eq!(
            (p.name.as_str(), p.default_value.as_deref(), p.default_source.as_deref()),
            ("warning", Some("20%"), Some("Nagios sample config"))
        );
        let m = Manpage::new("Monitors one filesystem.").item("The mount point.").discovery("One per filesystem.");
        assert_eq!(
            (m.item.as_deref(), m.discovery.as_deref()),
            (Some("The mount point."), Some("One per filesystem."))
        );
    }

    #[test]
    fn timeout_documents_the_io_timeout() {
        let p = ParamInfo::timeout("for the whole request", Duration::from_millis(2500), "example");
        assert_eq!(p.name, "timeout");
        assert_eq!(
            p.description,
            "Time allowed for the whole request, as seconds ('10', '2.5') or with a unit ('10s', '500ms'). \
             Never more than 90% of the wall time the host gives the run (`wasmon check -t`), so that the \
             check reports its own timeout first."
        );
        assert_eq!((p.default_value.as_deref(), p.default_source.as_deref()), (Some("2.5s"), Some("example")));
    }
}

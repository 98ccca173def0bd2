//! Builders for a check's self-description ([`CheckInfo`], [`Manpage`],
//! [`ParamInfo`]). The contract's completeness and output rules are verified
//! by the host, for checks in any language: `wasmon describe` reports what a
//! check breaks, and `wasmon_runtime::contract` offers the same to tests.

use crate::{Manpage, ParamInfo};

impl ParamInfo {
    /// A parameter with its name and description (meaning and syntax), no default.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> ParamInfo {
        ParamInfo {
            name: name.into(),
            description: description.into(),
            default_value: None,
            default_source: None,
        }
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
        assert_eq!((m.item.as_deref(), m.discovery.as_deref()), (Some("The mount point."), Some("One per filesystem.")));
    }
}

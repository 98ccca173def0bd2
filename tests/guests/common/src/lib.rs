//! Bindings of the wasmon world `check`, generated once, and a few helpers for
//! the hostile test guests in `tests/guests/`.
//!
//! The guests deliberately do not use the SDK (`wasmon-sdk`): they test the
//! host against the bare WIT contract, and must keep building while the SDK
//! changes. A guest implements [`Guest`] and exports itself with
//! [`export!`](crate::export):
//!
//! ```ignore
//! use guest_common::*;
//!
//! struct Quiet;
//!
//! impl Guest for Quiet {
//!     fn describe() -> CheckInfo {
//!         info("quiet", "Test: quiet", "Always OK.", &[])
//!     }
//!     fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
//!         Ok(Vec::new())
//!     }
//!     fn check(_: CheckRequest) -> Result<CheckResult, CheckError> {
//!         Ok(result(vec![partial(State::Ok, "Quiet")], Vec::new()))
//!     }
//! }
//!
//! guest_common::export!(Quiet);
//! ```

use std::str::FromStr;

/// The generated bindings of world `check` (`wit/check.wit`).
#[allow(missing_docs, clippy::all, reason = "generated code; the WIT carries the docs")]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../../wit",
        world: "check",
        pub_export_macro: true,
        export_macro_name: "export_guest",
        default_bindings_module: "guest_common::bindings",
    });
}

pub use bindings::Guest;
pub use bindings::wasmon::check::types::{
    CheckError, CheckInfo, CheckRequest, CheckResult, DiscoverRequest, Item, Manpage, Metric, Param, ParamInfo,
    PartialResult, Range, State, Target,
};
pub use bindings::wasmon::check::{log, system, value_store};

/// Exports a type implementing [`Guest`] as the component's `describe`,
/// `discover` and `check`.
#[macro_export]
macro_rules! export {
    ($ty:ident) => {
        $crate::bindings::export_guest!($ty with_types_in $crate::bindings);
    };
}

/// Where the defaults of the test guests' parameters come from (Checkmk
/// guideline 5.6 asks every default to name its source).
pub const DEFAULT_SOURCE: &str = "wasmon test suite: chosen to provoke the sandbox's limits";

/// Documentation of one parameter: name, description, default value.
pub type ParamDoc<'a> = (&'a str, &'a str, Option<&'a str>);

/// Builds a check-info for a test guest named `name` (version 0.1.0, no
/// items, no discovery).
pub fn info(name: &str, title: &str, description: &str, params: &[ParamDoc<'_>]) -> CheckInfo {
    CheckInfo {
        name: name.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        title: title.to_owned(),
        manpage: Manpage { description: description.to_owned(), item: None, discovery: None },
        params: params
            .iter()
            .map(|&(name, description, default)| ParamInfo {
                name: name.to_owned(),
                description: description.to_owned(),
                default_value: default.map(str::to_owned),
                default_source: default.map(|_| DEFAULT_SOURCE.to_owned()),
            })
            .collect(),
    }
}

/// The value of parameter `name`; a later duplicate overrides an earlier one.
pub fn param<'a>(request: &'a CheckRequest, name: &str) -> Option<&'a str> {
    request.params.iter().rev().find(|p| p.name == name).map(|p| p.value.as_str())
}

/// The value of parameter `name` parsed as `T`, or `default` when the
/// parameter is missing; a malformed value is a `bad-params` error naming the
/// parameter and `expected`.
pub fn param_or<T: FromStr>(request: &CheckRequest, name: &str, expected: &str, default: T) -> Result<T, CheckError> {
    match param(request, name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| CheckError::BadParams(format!("Parameter {name}: expected {expected}, got \"{text}\""))),
    }
}

/// The value of parameter `name`, which must be given; its absence is a
/// `bad-params` error naming the parameter and `expected`.
pub fn required_param<'a>(request: &'a CheckRequest, name: &str, expected: &str) -> Result<&'a str, CheckError> {
    param(request, name)
        .ok_or_else(|| CheckError::BadParams(format!("Parameter {name} is missing: expected {expected}")))
}

/// One partial result without details.
pub fn partial(state: State, summary: impl Into<String>) -> PartialResult {
    PartialResult { state, summary: summary.into(), details: None }
}

/// A metric without thresholds or bounds.
pub fn metric(label: &str, value: f64, uom: &str) -> Metric {
    Metric { label: label.to_owned(), value, uom: uom.to_owned(), warn: None, crit: None, min: None, max: None }
}

/// A check result.
pub fn result(partials: Vec<PartialResult>, metrics: Vec<Metric>) -> CheckResult {
    CheckResult { partials, metrics }
}

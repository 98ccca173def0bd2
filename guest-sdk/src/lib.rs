//! Write wasmon monitoring checks in Rust.
//!
//! A check is a WebAssembly component (target `wasm32-wasip2`) that implements
//! [`Check`]: `describe` documents it, `discover` finds the items it would
//! monitor, `check` runs it once. A check crate depends on this crate alone,
//! is built as a `cdylib`, and ends with [`export_check!`]:
//!
//! ```no_run
//! use wasmon_sdk::{
//!     check_levels, render, Check, CheckError, CheckInfo, CheckRequest, CheckResult,
//!     DiscoverRequest, Item, Manpage, Metric, Output, ParamInfo, RequestExt,
//! };
//!
//! /// Warns when the machine was rebooted recently.
//! struct Uptime;
//!
//! impl Check for Uptime {
//!     fn describe() -> CheckInfo {
//!         CheckInfo {
//!             name: "uptime".into(),
//!             version: env!("CARGO_PKG_VERSION").into(),
//!             title: "Linux: Uptime".into(),
//!             manpage: Manpage {
//!                 description: "Time since the machine booted, from /proc/uptime. \
//!                     WARN or CRIT when it is below the levels (a recent reboot)."
//!                     .into(),
//!                 item: None,
//!                 discovery: None,
//!             },
//!             params: vec![ParamInfo {
//!                 name: "warning".into(),
//!                 description: "Warn when up for less than this many seconds.".into(),
//!                 default_value: Some("600".into()),
//!                 default_source: Some("example value".into()),
//!             }],
//!         }
//!     }
//!
//!     fn discover(_request: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
//!         Ok(Vec::new())
//!     }
//!
//!     fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
//!         let params = request.params();
//!         params.reject_unknown(&["warning", "critical"])?;
//!         let levels = params.levels_lower("warning", "critical", Some((600.0, 60.0)))?;
//!         let up = wasmon_sdk::system::uptime().map_err(CheckError::Failed)?;
//!         let mut out = Output::new();
//!         out.push(check_levels(up, &levels, "Up since boot", render::seconds));
//!         out.metric(Metric::seconds("uptime", up).with_levels(&levels));
//!         Ok(out.into_result())
//!     }
//! }
//!
//! wasmon_sdk::export_check!(Uptime);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`. Give the
//! guest a small stack (the host creates a fresh instance for every run, and a
//! 64 KiB stack instead of Rust's default 1 MiB keeps that cheap) in the check
//! workspace's `.cargo/config.toml`; a library cannot set its dependents' link
//! arguments, so the SDK cannot do it for you:
//!
//! ```toml
//! [build]
//! target = "wasm32-wasip2"
//!
//! [target.wasm32-wasip2]
//! rustflags = ["-C", "link-arg=-zstack-size=65536"]
//! ```
//!
//! Keep the `name` section in release builds (`strip = "debuginfo"`, not
//! `strip = true`): the host prints guest backtraces with function names.
//!
//! What the crate offers:
//!
//! - the contract's types ([`CheckRequest`], [`CheckResult`], [`Metric`], ...)
//!   with helpers: [`State::worst`], [`Range::parse`], metric constructors in
//!   canonical units such as [`Metric::bytes`];
//! - [`Thresholds`] (Monitoring Plugins ranges) and [`Levels`] with
//!   [`check_levels`] (Checkmk levels, compared with `>=`);
//! - [`Output`] to collect partial results and metrics (a network check's
//!   [`Output::response_time`] included); [`render`] for values in summaries;
//! - [`Params`] (via [`RequestExt::params`]) to read parameters with clear errors
//!   ([`bad_param`], [`invalid_param`] for a check's own checks),
//!   [`CheckRequest::io_timeout`] with its documentation [`ParamInfo::timeout`],
//!   and [`CheckRequest::new`] to build requests in unit tests;
//! - [`Deadline`] to wait on WASI I/O (sockets, HTTP, name lookups) no longer
//!   than the check's timeout;
//! - the host's imports: [`store`] (value store, counter rates and averages), [`log`],
//!   [`system`] (load, memory, filesystems, uptime), and WASI as [`wasi`].
#![deny(missing_docs)]

/// Bindings generated from `wit/check.wit`. Use the re-exports at the crate
/// root instead.
#[doc(hidden)]
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "check",
        pub_export_macro: true,
        export_macro_name: "__export_check_world",
        default_bindings_module: "wasmon_sdk::bindings",
        runtime_path: "wasmon_sdk::wit_bindgen::rt",
        additional_derives: [PartialEq],
    });
}

// Lets the generated code name this crate as `wasmon_sdk`, the same path it
// uses when the export macro expands inside a check crate.
#[allow(unused_extern_crates)]
extern crate self as wasmon_sdk;

pub mod deadline;
pub mod info;
pub mod levels;
pub mod log;
pub mod metric;
pub mod output;
pub mod params;
pub mod range;
pub mod render;
pub mod state;
pub mod store;

pub use wasip2 as wasi;
pub use wit_bindgen;

pub use bindings::Guest as Check;
pub use bindings::wasmon::check::system;
pub use bindings::wasmon::check::types::{
    CheckError, CheckInfo, CheckRequest, CheckResult, DiscoverRequest, Item, Manpage, Metric, Param, ParamInfo,
    PartialResult, Range, State, Target,
};
pub use deadline::Deadline;
pub use levels::{Levels, check_levels};
pub use output::Output;
pub use params::{Amount, Params, RequestExt, bad_param, invalid_param, params, parse_bytes};
pub use range::{RangeError, Thresholds};
pub use state::ParseStateError;

/// Exports a type implementing [`Check`] as the check component's `describe`,
/// `discover` and `check`. Use it once, at the crate root of a check:
///
/// ```ignore
/// struct MyCheck;
/// impl wasmon_sdk::Check for MyCheck { /* ... */ }
/// wasmon_sdk::export_check!(MyCheck);
/// ```
#[macro_export]
macro_rules! export_check {
    ($t:ident) => {
        $crate::bindings::__export_check_world!($t with_types_in $crate::bindings);
    };
}

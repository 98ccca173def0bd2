//! Paths of the test guests, for wasmon's integration tests.
//!
//! The guests live in `tests/guests/`, a separate cargo workspace that the
//! build script compiles for `wasm32-wasip2` (release profile, 64 KiB guest
//! stack, `name` section kept for backtraces). Each guest implements world
//! `check` of `wit/check.wit` directly with `wit-bindgen`, without the SDK,
//! and does one hostile or otherwise telling thing in `check()`: spin, hoard
//! memory, overflow a stack, trap, panic, flood its output, reach for the
//! network, the filesystem or the host's facts. `not_a_check` is a plain
//! `wasi:cli/command` program that the host must refuse.
//!
//! For every guest `tests/guests/<name>` there is a constant `<NAME>` holding
//! the absolute path of its component, an entry in [`ALL`], and an invocation
//! in [`foreach_guest!`], which lets the test suite check that no guest goes
//! untested:
//!
//! ```
//! macro_rules! assert_exists {
//!     ($name:ident) => {
//!         assert!(std::path::Path::new(wasmon_tests::ALL
//!             .iter()
//!             .find(|(name, _)| *name == stringify!($name))
//!             .unwrap()
//!             .1)
//!         .is_file());
//!     };
//! }
//! wasmon_tests::foreach_guest!(assert_exists);
//! assert!(wasmon_tests::TRAP.ends_with("guest_trap.wasm"));
//! ```

#![deny(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

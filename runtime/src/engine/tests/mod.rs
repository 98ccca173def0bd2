//! The engine driven by hand (moved here from `tests/all/` so that the
//! engine, the state and the store can stay crate-private): downtime and
//! acknowledgements, dependency failure and freshness, retention's flush.

mod dependency;
mod downtime;
mod flush;

use std::sync::OnceLock;

use crate::Sandbox;

/// One sandbox for these tests (no module cache on disk).
fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| Sandbox::builder().cache_dir(None).max_concurrency(8).build().expect("sandbox"))
}

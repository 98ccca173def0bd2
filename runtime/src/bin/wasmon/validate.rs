//! `wasmon validate`: read and check a configuration, run nothing.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::common::{Failure, load_config};

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The configuration file
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
}

/// `wasmon validate`: every problem on its own line on stderr, then a
/// failure (exit 3) that counts them.
pub(crate) fn validate(args: &ValidateArgs, cache_dir: Option<PathBuf>) -> Result<u8, Failure> {
    let mut c = load_config(&args.config)?;
    if c.hosts.iter().any(|h| !h.packs.is_empty()) {
        // Discovery runs the packs' checks: a sandbox and a runtime.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        runtime.block_on(async {
            let sandbox = wasmon_runtime::Monitor::sandbox_for(&c).cache_dir(cache_dir).build()?;
            wasmon_runtime::pack::expand(&mut c, &sandbox).await
        })?;
    }
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    outln!(
        "{}: OK ({}, {}, {})",
        args.config.display(),
        count(c.hosts.len(), "host"),
        count(c.services.len(), "service"),
        count(c.contacts.len(), "contact")
    );
    Ok(0)
}

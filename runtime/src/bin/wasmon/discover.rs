//! `wasmon discover`: the items a check would monitor on a host.

use anyhow::Context;
use clap::Args;

use wasmon_runtime::{DiscoverCall, Limits, Sandbox};

use crate::common::{Failure, RunArgs, TextFormat, prepare};

#[derive(Args, Debug)]
pub struct DiscoverArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// Output format
    #[arg(short = 'f', long, value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
}

pub(crate) async fn discover(sandbox: &Sandbox, args: DiscoverArgs) -> Result<u8, Failure> {
    let p = prepare(sandbox, &args.run)?;
    let call = DiscoverCall {
        target: p.target,
        params: p.params,
        limits: Limits { timeout: args.run.timeout, memory: args.run.memory, ..Limits::default() },
        grants: p.grants,
        ..DiscoverCall::default()
    };
    let items = p.module.discover(&call).await?;
    match args.format {
        TextFormat::Json => outln!("{}", serde_json::to_string_pretty(&items).context("cannot print JSON")?),
        TextFormat::Text => {
            for item in &items {
                let params: Vec<String> = item.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                if params.is_empty() {
                    outln!("{}", item.name);
                } else {
                    outln!("{}\t{}", item.name, params.join(" "));
                }
            }
        }
    }
    Ok(0)
}

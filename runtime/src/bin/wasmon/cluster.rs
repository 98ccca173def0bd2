//! `wasmon cluster status`: a running `wasmon run`'s cluster, from its API.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::common::Failure;

#[derive(Args, Debug)]
pub struct ClusterArgs {
    #[command(subcommand)]
    pub command: ClusterCommand,
}

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// The workers (zone, version, checks/s, last seen), each zone's queue and the counters
    Status {
        /// The API of the running `wasmon run` (its `[api] listen`)
        #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8642")]
        url: String,

        /// A token of `[[api.token]]` with the `read` scope [default: $WASMON_API_TOKEN]
        #[arg(long, value_name = "TOKEN")]
        token: Option<String>,

        /// text (a table) or json (the API's answer)
        #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
}

pub async fn cluster(args: ClusterArgs) -> Result<u8, Failure> {
    let ClusterCommand::Status { url, token, format } = args.command;
    Ok(status(&url, token, &format).await?)
}

async fn status(url: &str, token: Option<String>, format: &str) -> anyhow::Result<u8> {
    let token = match token.or_else(|| std::env::var("WASMON_API_TOKEN").ok()) {
        Some(t) if !t.trim().is_empty() => t,
        _ => bail!("no API token: give --token or set WASMON_API_TOKEN"),
    };
    let base = url.trim_end_matches('/');
    let base = base.strip_suffix("/api/v1").unwrap_or(base);
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        bail!("--url '{url}': expected an http:// or https:// URL such as http://127.0.0.1:8642");
    }
    let client =
        reqwest::Client::builder().timeout(Duration::from_secs(30)).build().context("cannot set up the HTTP client")?;
    let response = client
        .get(format!("{base}/api/v1/cluster"))
        .bearer_auth(token.trim())
        .send()
        .await
        .map_err(|e| anyhow!("cannot reach the wasmon API at {base}: {e}"))?;
    let status = response.status();
    let text = response.text().await.context("cannot read the answer")?;
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !status.is_success() {
        let message = answer.get("error").and_then(Value::as_str).map(str::to_string).unwrap_or(text);
        bail!("the API answered {status}: {message}");
    }
    if format == "json" {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(0);
    }
    let connected = if answer["connected"].as_bool() == Some(true) { "connected" } else { "NOT connected" };
    println!(
        "NATS {} ({connected}), cluster {}",
        answer["nats"].as_str().unwrap_or("?"),
        answer["name"].as_str().unwrap_or("?")
    );
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
    println!("\n{:<32} {:<16} {:<10} {:>10} {:>10}  STATE", "WORKER", "ZONE", "VERSION", "CHECKS/S", "LAST SEEN");
    for w in answer["workers"].as_array().into_iter().flatten() {
        let ago = now - w["last_seen"].as_f64().unwrap_or(0.0);
        println!(
            "{:<32} {:<16} {:<10} {:>10.1} {:>9.1}s  {}",
            w["worker"].as_str().unwrap_or("?"),
            w["zone"].as_str().unwrap_or("?"),
            w["version"].as_str().unwrap_or("?"),
            w["checks_per_second"].as_f64().unwrap_or(0.0),
            ago.max(0.0),
            if w["lost"].as_bool() == Some(true) { "lost" } else { "up" }
        );
    }
    println!("\n{:<16} {:>8} {:>14} {:>10} {:>8}", "ZONE", "QUEUED", "UNACKNOWLEDGED", "IN FLIGHT", "WORKERS");
    for z in answer["zones"].as_array().into_iter().flatten() {
        println!(
            "{:<16} {:>8} {:>14} {:>10} {:>8}",
            z["zone"].as_str().unwrap_or("?"),
            z["queued_batches"],
            z["unacknowledged_batches"],
            z["in_flight"],
            z["workers"]
        );
    }
    let node = answer["node"].as_str().unwrap_or("?");
    println!("\n{:<8} LEADER (this scheduler: {node})", "SHARD");
    for sh in answer["shards"].as_array().into_iter().flatten() {
        let leader = sh["leader"].as_str().unwrap_or("-");
        let here = if leader == node { "  (here)" } else { "" };
        println!("{:<8} {leader}{here}", sh["shard"]);
    }
    println!(
        "\nchecks handed out {}, applied {}, duplicates dropped {}, late dropped {}, unanswered {}",
        answer["dispatched"], answer["applied"], answer["duplicates"], answer["late"], answer["unanswered"]
    );
    Ok(0)
}

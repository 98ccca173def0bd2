//! `wasmon submit`: passive results to a running `wasmon run`'s HTTP API.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use serde_json::{Value, json};

use crate::common::Failure;

#[derive(Args, Debug)]
pub struct SubmitArgs {
    /// The API of the running `wasmon run` (its `[api] listen`)
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8642")]
    pub url: String,

    /// A token of `[[api.token]]` with the `write` scope [default: $WASMON_API_TOKEN]
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// The host the result is for
    #[arg(short = 'H', long = "host", value_name = "HOST", required_unless_present = "batch")]
    pub host: Option<String>,

    /// The service the result is for; without it, the result is the host's
    #[arg(short = 's', long, value_name = "SERVICE")]
    pub service: Option<String>,

    /// OK, WARNING, CRITICAL, UNKNOWN (UP, DOWN for a host) or 0-3
    #[arg(long, value_name = "STATE", required_unless_present = "batch")]
    pub state: Option<String>,

    /// Results from a file (`-`: stdin): JSON lines or a JSON array of
    /// objects with host, service, state and output, as `POST /api/v1/results` takes them
    #[arg(long, value_name = "FILE", conflicts_with_all = ["host", "service", "state", "output"])]
    pub batch: Option<PathBuf>,

    /// Plugin output, words joined by blanks: `summary | perfdata`, then
    /// long output after a newline
    #[arg(value_name = "OUTPUT")]
    pub output: Vec<String>,
}

/// Sends the result or the batch; prints what the engine made of each.
pub async fn submit(args: SubmitArgs) -> Result<u8, Failure> {
    Ok(send(args).await?)
}

async fn send(args: SubmitArgs) -> anyhow::Result<u8> {
    let token = match args.token.clone().or_else(|| std::env::var("WASMON_API_TOKEN").ok()) {
        Some(t) if !t.trim().is_empty() => t,
        _ => bail!("no API token: give --token or set WASMON_API_TOKEN"),
    };
    let base = args.url.trim_end_matches('/');
    let base = base.strip_suffix("/api/v1").unwrap_or(base);
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        bail!("--url '{}': expected an http:// or https:// URL such as http://127.0.0.1:8642", args.url);
    }
    let body = match &args.batch {
        Some(path) => json!({ "results": read_batch(path)? }),
        None => json!({
            "host": args.host,
            "service": args.service,
            "state": args.state,
            "output": args.output.join(" "),
        }),
    };
    let url = format!("{base}/api/v1/results");
    let client =
        reqwest::Client::builder().timeout(Duration::from_secs(60)).build().context("cannot set up the HTTP client")?;
    let response = client
        .post(&url)
        .bearer_auth(token.trim())
        .json(&body)
        .send()
        .await
        .map_err(|e| anyhow!("cannot reach the wasmon API at {base}: {}", reqwest_reason(&e)))?;
    let status = response.status();
    let text = response.text().await.with_context(|| format!("{url}: cannot read the answer"))?;
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !status.is_success() {
        let message = answer.get("error").and_then(Value::as_str).map(str::to_string).unwrap_or(text);
        bail!("the API refused the result ({status}): {message}");
    }
    if args.batch.is_none() {
        print_line(&describe(&answer));
        return Ok(0);
    }
    let items = answer["results"].as_array().cloned().unwrap_or_default();
    let mut rejected = 0;
    for (i, item) in items.iter().enumerate() {
        match item.get("event") {
            Some(event) => print_line(&describe(event)),
            None => {
                rejected += 1;
                eprintln!(
                    "wasmon: result {} refused: {}",
                    i + 1,
                    item["error"].as_str().unwrap_or("(no reason given)")
                );
            }
        }
    }
    if rejected > 0 {
        bail!("{rejected} of {} results were refused", items.len());
    }
    Ok(0)
}

/// One line per result event: `host/service: STATE TYPE attempt/max: output`.
fn describe(event: &Value) -> String {
    let object = match event["service"].as_str() {
        Some(s) => format!("{}/{s}", event["host"].as_str().unwrap_or("?")),
        None => event["host"].as_str().unwrap_or("?").to_string(),
    };
    format!(
        "{object}: {} {} {}/{}: {}",
        event["state"].as_str().unwrap_or("?"),
        event["state_type"].as_str().unwrap_or("?"),
        event["attempt"],
        event["max_attempts"],
        event["output"].as_str().unwrap_or("")
    )
}

/// Why a request did not get an answer, in words.
fn reqwest_reason(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut deepest = e.to_string();
    while let Some(s) = source {
        deepest = s.to_string();
        source = s.source();
    }
    if e.is_timeout() { "no answer in time".into() } else { deepest }
}

/// The results of a batch file: a JSON array, or one JSON object per line.
fn read_batch(path: &std::path::Path) -> anyhow::Result<Vec<Value>> {
    let name = path.display().to_string();
    let text = if name == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("--batch -: cannot read stdin")?;
        s
    } else {
        std::fs::read_to_string(path).with_context(|| format!("--batch {name}: cannot read it"))?
    };
    let results = if text.trim_start().starts_with('[') {
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(items)) => items,
            Ok(_) => bail!("--batch {name}: expected a JSON array or JSON lines"),
            Err(e) => bail!("--batch {name}: not a JSON array: {e}"),
        }
    } else {
        let mut items = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            items
                .push(serde_json::from_str(line).with_context(|| format!("--batch {name}: line {}: not JSON", i + 1))?);
        }
        items
    };
    if results.is_empty() {
        bail!("--batch {name}: no results in it");
    }
    Ok(results)
}

/// Prints a line to stdout; a closed stdout is no failure.
fn print_line(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

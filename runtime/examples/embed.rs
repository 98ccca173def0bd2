//! Embedding wasmon in a service of your own: a configuration given as a
//! string, no retention file, the event stream, a check run on demand and
//! a passive result submitted by the service itself.
//!
//! ```sh
//! cargo run -p wasmon-runtime --example embed
//! ```
//!
//! It prints every event as a JSON line (the same lines `wasmon simulate`
//! prints), then the status of both services.

use std::path::Path;

use wasmon_runtime::{Monitor, Retention, State, Submission};

const CONFIG: &str = r#"
[engine]
max_concurrent_checks = 4

[[host]]
name = "app"
address = "127.0.0.1"

# An active check: the dummy walks its sequence, one step per run. The
# hour-long interval keeps the scheduler out of the way: this example runs
# it on demand.
[[service]]
host = "app"
name = "Queue depth"
check = "dummy"
params = { sequence = "OK,CRITICAL,CRITICAL,OK,OK" }
check_interval = "1h"
retry_interval = "1h"
max_check_attempts = 2

# Fed by the service itself through Monitor::submit.
[[service]]
host = "app"
name = "Nightly backup"
check = "dummy"
params = { state = "UNKNOWN", text = "No result from the backup job yet" }
check_interval = "24h"
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let monitor =
        Monitor::builder().config_str(CONFIG, Path::new("embedded.toml"))?.retention(Retention::None).start().await?;

    // Every result and notification from now on, as JSON lines.
    let mut events = monitor.subscribe();
    let printer = tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            println!("{}", serde_json::to_string(&event).expect("events serialise"));
        }
    });

    // OK; CRITICAL (SOFT 1/2); CRITICAL (HARD: a PROBLEM notification);
    // OK (SOFT: a recovery from a HARD problem is retried too, as in
    // Opsview); OK (HARD: a RECOVERY notification).
    for _ in 0..5 {
        monitor.run_now("app", Some("Queue depth")).await?;
    }

    // A passive result goes through the same state processor.
    monitor
        .submit(Submission {
            host: "app".into(),
            service: Some("Nightly backup".into()),
            state: State::Ok,
            output: "Backup of 3 databases finished in 42 s".into(),
            long_output: None,
            metrics: Vec::new(),
            perfdata_errors: Vec::new(),
        })
        .await?;

    for status in monitor.statuses().await? {
        println!(
            "status: {} / {}: {} {} {}/{} - {}",
            status.host,
            status.service.as_deref().unwrap_or("-"),
            status.state,
            status.state_type,
            status.attempt,
            status.max_attempts,
            status.output
        );
    }

    // In-flight checks finish, notifications are delivered, state written.
    monitor.stop().await?;
    drop(monitor);
    printer.await?;
    Ok(())
}

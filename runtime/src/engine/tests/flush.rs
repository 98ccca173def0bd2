//! Retention's flush through a monitor (moved from `tests/all/engine.rs`:
//! it reads the store, which is crate-private).

use std::time::Duration;

use super::sandbox;
use crate::retention::{ObjectKey, Store};
use crate::{Monitor, Retention};

/// With a retention file, a result that changes only the output is not
/// written at once but by the next flush, and at the latest at stop; a
/// significant one is written before its notifications.
#[tokio::test]
async fn output_only_results_are_flushed_and_written_at_stop() {
    let dir = std::env::temp_dir().join(format!("wasmon-flush-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("state.db");
    let text = "[[host]]\nname = \"h\"\n\n[[service]]\nhost = \"h\"\nname = \"S\"\ncheck = \"dummy\"\n\
                params = { sequence = \"OK,OK,OK,CRITICAL\" }\ncheck_interval = \"1h\"\n";
    let config = crate::config::parse(text, &dir.join("w.toml")).unwrap();
    let key = ObjectKey::service("h", "S");
    let monitor = Monitor::builder()
        .config(config)
        .sandbox(sandbox().clone())
        .retention(Retention::File(db.clone()))
        .flush_interval(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    for _ in 0..3 {
        monitor.run_now("h", Some("S")).await.unwrap();
    }
    monitor.stop().await.unwrap();
    let stored = Store::open(&db).unwrap().load_objects().unwrap();
    assert_eq!(stored[&key].state.output, "Sequence step 3 of 4: OK");

    // A significant result (OK -> CRITICAL, SOFT 1) is written at once,
    // before the monitor stops.
    let config = crate::config::parse(text, &dir.join("w.toml")).unwrap();
    let monitor = Monitor::builder()
        .config(config)
        .sandbox(sandbox().clone())
        .retention(Retention::File(db.clone()))
        .flush_interval(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    monitor.run_now("h", Some("S")).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stored = Store::open(&db).unwrap().load_objects().unwrap();
        if stored[&key].state.output == "Sequence step 4 of 4: CRITICAL" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not written: {:?}", stored[&key].state.output);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    monitor.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

//! The status page's services list of 10,000 services rendered on the
//! server (the target: under 200 ms), all of them and filtered.
//!
//! Run with `cargo bench --workspace --bench web`.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use wasmon_runtime::ObjectStatus;
use wasmon_runtime::StateType;

fn objects(n: usize) -> Vec<ObjectStatus> {
    let states = ["OK", "OK", "OK", "OK", "OK", "OK", "WARNING", "CRITICAL", "UNKNOWN", "OK"];
    (0..n)
        .map(|i| ObjectStatus {
            host: format!("host{:04}", i / 20),
            service: Some(format!("Service {i} <disk /var>")),
            state: states[i % states.len()].to_string(),
            state_type: StateType::Hard,
            attempt: 1,
            max_attempts: 3,
            output: format!("DISK OK - free space: /var {} MB ({}% inode=99%) & more", i * 7, i % 100),
            long_output: None,
            perfdata: format!("/var={}MB;900;950;0;1000", i % 1000),
            last_check: Some(1_800_000_000.0 - (i % 300) as f64),
            last_state_change: Some(1_799_990_000.0 - i as f64),
            last_hard_state_change: Some(1_799_990_000.0),
            next_check: Some(1_800_000_060.0),
            running: false,
            dependency_failure: None,
            stale: false,
            flapping: i % 97 == 0,
            percent_state_change: 0.0,
            in_downtime: i % 113 == 0,
            downtimes: Vec::new(),
            acknowledgement: None,
        })
        .collect()
}

fn services_page(c: &mut Criterion) {
    let all = objects(10_000);
    let now = 1_800_000_000.0;
    let page = wasmon_runtime::web::render_services(&all, "", now);
    assert_eq!(page.matches("<tr id=").count(), 10_000);
    let mut group = c.benchmark_group("web");
    group.measurement_time(Duration::from_secs(8)).sample_size(20);
    for (name, query) in [("all", ""), ("sorted by state", "sort=state"), ("CRITICAL only", "state=CRITICAL")] {
        group.bench_with_input(BenchmarkId::new("services page, 10000 services", name), &query, |b, q| {
            b.iter(|| wasmon_runtime::web::render_services(&all, q, now).len())
        });
    }
    group.finish();
}

criterion_group!(benches, services_page);
criterion_main!(benches);

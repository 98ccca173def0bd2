//! The cost of one check execution: a fresh sandboxed instance of the
//! standard `dummy` check plus its `check` call, measured beside what users
//! pay today, fork+exec of a native plugin (`check_dummy` from
//! monitoring-plugins, or `/bin/true` where that is not installed).
//!
//! Run with `cargo bench -p wasmon-runtime --bench execution`.

use std::process::Command;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use wasmon_runtime::{CheckCall, Sandbox, State};

fn execution(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let sandbox = Sandbox::builder().cache_dir(None).build().unwrap();
    let dummy = sandbox.load_standard("dummy").unwrap();
    let call = CheckCall {
        params: vec![("state".into(), "OK".into()), ("text".into(), "bench".into())],
        ..CheckCall::default()
    };
    // One run outside the loop: the first touches the pool's pages.
    assert_eq!(rt.block_on(dummy.check(&call)).outcome.state, State::Ok);

    let mut group = c.benchmark_group("execution");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function(BenchmarkId::new("wasm", "dummy fresh instance + check"), |b| {
        b.iter(|| rt.block_on(dummy.check(&call)))
    });

    let native = ["/usr/lib/nagios/plugins/check_dummy", "/bin/true"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("neither check_dummy nor /bin/true exists");
    group.bench_function(BenchmarkId::new("fork+exec", native), |b| {
        b.iter(|| Command::new(native).args(["0", "bench"]).output().unwrap())
    });
    group.finish();
}

criterion_group!(benches, execution);
criterion_main!(benches);

//! The cost of one execution of the C check beside the Rust `dummy`.

use super::redis::{Redis, redis};
use super::*;

/// The cost of one execution (a fresh instance from the cached
/// `InstancePre` and one call) of the C check beside the Rust standard
/// checks, in the same run. For release figures:
/// `cargo test --release -p wasmon-tests --test all -- --ignored c_execution_cost --nocapture`.
#[tokio::test(flavor = "current_thread")]
#[ignore = "a measurement; prints figures"]
async fn c_execution_cost() {
    let Some(wasm) = c_build("redis.wasm") else { return };
    let started = Instant::now();
    let c = sandbox().load_file(&wasm).unwrap();
    println!("loading {} (compiled or from the cache): {:?}", wasm.display(), started.elapsed());
    let dummy = sandbox().load_standard("dummy").unwrap();
    let tcp = sandbox().load_standard("tcp").unwrap();
    let port = redis(Redis::Open).to_string();
    let call = |params: &[(&str, &str)]| CheckCall {
        target: Target::new("127.0.0.1", Some("127.0.0.1".parse().unwrap())),
        params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..CheckCall::default()
    };
    let n = 500;
    let rows = [
        ("rust dummy, state=OK", &dummy, call(&[("state", "OK"), ("text", "bench")]), n * 4, State::Ok),
        ("c redis, bad parameter (no I/O)", &c, call(&[("prot", "x")]), n * 4, State::Unknown),
        ("c redis, PING (info=no)", &c, call(&[("port", port.as_str()), ("info", "no")]), n, State::Ok),
        ("c redis, PING + INFO", &c, call(&[("port", port.as_str())]), n, State::Ok),
        ("rust tcp, connect", &tcp, call(&[("port", port.as_str())]), n, State::Ok),
    ];
    println!("{:<36} {:>6} {:>12} {:>12} {:>12}", "execution", "runs", "mean", "median", "min");
    for (name, module, call, runs, expect) in rows {
        // One run outside the loop: the first touches the pool's pages.
        assert_eq!(module.check(&call).await.outcome.state, expect);
        let mut times = Vec::with_capacity(runs);
        let total = Instant::now();
        for _ in 0..runs {
            let t = Instant::now();
            let run = module.check(&call).await;
            times.push(t.elapsed());
            assert_eq!(run.outcome.state, expect, "{}", run.outcome.plugin_output());
        }
        let mean = total.elapsed() / u32::try_from(runs).unwrap();
        times.sort();
        println!("{name:<36} {runs:>6} {mean:>12.1?} {:>12.1?} {:>12.1?}", times[runs / 2], times[0]);
    }
}

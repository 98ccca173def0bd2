//! Test guest `infinite-loop`: `check()` spins forever without calling the
//! host, so only the host's own interruption (epoch deadline or fuel) can stop
//! it. The host should report UNKNOWN with a timeout message, and stay able to
//! run other checks.

use std::hint::black_box;

use guest_common::*;

struct InfiniteLoop;

impl Guest for InfiniteLoop {
    fn describe() -> CheckInfo {
        info(
            "infinite_loop",
            "Test: Endless loop in check",
            "Never returns from check: it increments a counter in an endless loop \
             without calling the host. The host must interrupt it at the deadline.",
            &[],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(_: CheckRequest) -> Result<CheckResult, CheckError> {
        hostile_spin()
    }
}

/// Increments a counter forever; `black_box` keeps the optimiser from
/// deleting the side-effect-free loop.
#[inline(never)]
fn hostile_spin() -> ! {
    let mut counter: u64 = 0;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

guest_common::export!(InfiniteLoop);

//! Test guest `unbounded-alloc`: `check()` allocates chunks of memory (1 MiB
//! by default), fills each, and keeps them all, forever. The host's memory
//! limit must stop it: either `memory.grow` fails, the allocator reports the
//! failure and the guest aborts (a trap after "memory allocation of N bytes
//! failed" on stderr), or the host's limiter traps. The host should report
//! UNKNOWN naming the memory limit, and stay healthy.

use std::hint::black_box;

use guest_common::*;

struct UnboundedAlloc;

impl Guest for UnboundedAlloc {
    fn describe() -> CheckInfo {
        info(
            "unbounded_alloc",
            "Test: Unbounded memory use in check",
            "Never returns from check: it allocates chunks of memory, writes to \
             every byte and keeps them, until the host's memory limit stops it.",
            &[
                ("chunk_bytes", "Size of each allocation in bytes, a positive integer.", Some("1048576")),
                ("then", "panic: allocate with try_reserve until refused, free it all, then panic.", None),
            ],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let chunk = param_or(&request, "chunk_bytes", "a positive integer", 1usize << 20)?;
        if chunk == 0 {
            return Err(CheckError::BadParams(
                "Parameter chunk_bytes: expected a positive integer, got \"0\"".to_owned(),
            ));
        }
        if param(&request, "then") == Some("panic") {
            hostile_panic_after_refusal(chunk)
        }
        hostile_alloc_forever(chunk)
    }
}

/// Allocates, fills and hoards `chunk`-byte buffers until something stops it.
#[inline(never)]
fn hostile_alloc_forever(chunk: usize) -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    let mut fill: u8 = 1;
    loop {
        // vec![non-zero; n] writes every byte, so the memory is really used
        // and not just reserved.
        hoard.push(vec![fill; chunk]);
        fill = fill.wrapping_add(1).max(1);
        black_box(&mut hoard);
    }
}

/// Allocates `chunk`-byte buffers until one is refused (a `memory.grow`
/// the host refused), frees them all, and then panics: the end is a panic,
/// not the memory limit.
#[inline(never)]
fn hostile_panic_after_refusal(chunk: usize) -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::with_capacity(4096);
    while hoard.len() < hoard.capacity() {
        let mut v = Vec::new();
        if v.try_reserve_exact(chunk).is_err() {
            break;
        }
        v.resize(chunk, 1);
        hoard.push(v);
    }
    let held = hoard.len();
    drop(hoard);
    panic!("deliberate panic after holding {held} chunks")
}

guest_common::export!(UnboundedAlloc);

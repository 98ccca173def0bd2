//! Test guest `stack-overflow`: `check()` recurses without end.
//!
//! Parameter `frames` picks which stack runs out:
//! - `shadow` (default): every frame keeps a 1 KiB array in linear memory, so
//!   the 64 KiB shadow stack (`-zstack-size=65536`) runs out after about 60
//!   frames. With the stack placed first in memory the stack pointer then
//!   wraps below address 0 and the next store traps as an out-of-bounds
//!   memory access.
//! - `native`: frames live only in wasm locals, so the engine's own call stack
//!   (wasmtime's `max_wasm_stack`) runs out and wasm traps with "call stack
//!   exhausted".
//!
//! Either way the host should report UNKNOWN naming the trap, and stay healthy.

use std::hint::black_box;

use guest_common::*;

struct StackOverflow;

impl Guest for StackOverflow {
    fn describe() -> CheckInfo {
        info(
            "stack_overflow",
            "Test: Unbounded recursion in check",
            "Never returns from check: it recurses until a stack runs out, the \
             shadow stack in linear memory or the engine's call stack.",
            &[(
                "frames",
                "Where the recursion keeps its frames: \"shadow\" (1 KiB of linear \
                 memory each) or \"native\" (wasm locals only).",
                Some("shadow"),
            )],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(request: CheckRequest) -> Result<CheckResult, CheckError> {
        let depth = match param(&request, "frames").unwrap_or("shadow") {
            "shadow" => hostile_recurse_shadow(0),
            "native" => hostile_recurse_native(0),
            other => {
                return Err(CheckError::BadParams(format!(
                    "Parameter frames: expected \"shadow\" or \"native\", got \"{other}\""
                )));
            }
        };
        // Not reached: the recursion never ends.
        Ok(result(vec![partial(State::Ok, format!("Recursion ended: {depth}"))], Vec::new()))
    }
}

/// Never set; read with a volatile load so that the recursion's end cannot be
/// proven unreachable and the recursion cannot be folded away.
static STOP: bool = false;

fn stop() -> bool {
    // SAFETY: `STOP` is a valid, aligned, initialised static.
    unsafe { std::ptr::read_volatile(&raw const STOP) }
}

/// Recursion whose frames hold a 1 KiB array in linear memory (its address
/// escapes through `black_box`), so it uses up the shadow stack.
#[inline(never)]
fn hostile_recurse_shadow(depth: u64) -> u64 {
    if stop() {
        return depth;
    }
    let mut frame = [0u8; 1024];
    frame[(depth % 1024) as usize] = depth as u8;
    black_box(&mut frame);
    // Work after the call keeps it from being a tail call.
    hostile_recurse_shadow(depth + 1).wrapping_add(u64::from(frame[(depth % 7) as usize]))
}

/// Recursion that keeps no memory in linear memory, so it uses up the
/// engine's call stack instead.
#[inline(never)]
fn hostile_recurse_native(depth: u64) -> u64 {
    if stop() {
        return depth;
    }
    // Neither an accumulator nor a tail call: LLVM cannot turn this into a loop.
    hostile_recurse_native(depth + 1).wrapping_mul(31) ^ depth
}

guest_common::export!(StackOverflow);

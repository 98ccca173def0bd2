//! Test guest `trap`: `check()` executes the wasm `unreachable` instruction
//! three non-inlined calls deep (`hostile_trap_outer` → `hostile_trap_middle`
//! → `hostile_trap_inner`). The host should report UNKNOWN with a message that
//! names the trap, and its log should carry a backtrace naming those
//! functions (the guests keep their `name` section).

use std::hint::black_box;

use guest_common::*;

struct Trap;

impl Guest for Trap {
    fn describe() -> CheckInfo {
        info(
            "trap",
            "Test: Wasm trap in check",
            "Never returns from check: it executes an unreachable instruction in \
             hostile_trap_inner, called by hostile_trap_middle and hostile_trap_outer.",
            &[],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(_: CheckRequest) -> Result<CheckResult, CheckError> {
        let depth = hostile_trap_outer(black_box(3));
        // Not reached: the depth is never 0.
        Ok(result(vec![partial(State::Ok, format!("Not trapped: {depth}"))], Vec::new()))
    }
}

// Each frame does work after its call so none is a tail call that would
// vanish from the backtrace.

#[inline(never)]
fn hostile_trap_outer(depth: u32) -> u32 {
    black_box(hostile_trap_middle(black_box(depth))) + 1
}

#[inline(never)]
fn hostile_trap_middle(depth: u32) -> u32 {
    black_box(hostile_trap_inner(black_box(depth))) + 1
}

#[inline(never)]
fn hostile_trap_inner(depth: u32) -> u32 {
    if black_box(depth) > 0 {
        core::arch::wasm32::unreachable();
    }
    depth
}

guest_common::export!(Trap);

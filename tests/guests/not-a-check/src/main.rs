//! Test guest `not-a-check`: a plain `wasi:cli/command` program. It exports
//! `wasi:cli/run` instead of `describe`, `discover` and `check`, so the host
//! must refuse to load it as a check.

fn main() {
    println!("hello");
}

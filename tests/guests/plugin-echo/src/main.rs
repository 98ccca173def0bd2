//! Test guest `plugin-echo`: a plain `wasi:cli/command` program written the
//! way a classic Nagios plugin is (argv parsing, `print!`, an exit code),
//! whose behaviour its arguments script. Options run in the order given:
//!
//! - `--print TEXT`: prints TEXT to stdout as it is (no line break added;
//!   arguments may hold line breaks);
//! - `--stderr TEXT`: prints TEXT to stderr;
//! - `--argv`: prints every argument, `argv[0]` included, one per line;
//! - `--probe`: prints `environment: N variables, /etc/passwd: <result>`;
//! - `--connect ADDR`: connects to ADDR (IP address and port) over TCP and
//!   prints `CONNECT OK - connected to ADDR` or
//!   `CONNECT CRITICAL - ADDR: <error>` and exits 0 or 2 right away;
//! - `--flood BYTES`: prints BYTES bytes of `x` in lines of 100;
//! - `--sleep MS`: sleeps MS milliseconds;
//! - `--spin`: loops forever without yielding;
//! - `--alloc MIB`: allocates and fills MIB MiB of memory;
//! - `--panic`: panics (`deliberate plugin panic`);
//! - `--exit CODE`: exits with CODE (0-255) through `wasi:cli/exit`'s
//!   `exit-with-code`, which keeps the code;
//! - `--std-exit CODE`: exits through `std::process::exit(CODE)`, which on
//!   wasm32-wasip2 reaches the host only as success (0) or failure;
//! - `--help`: prints a usage text and exits 0.
//!
//! Without `--exit` or `--std-exit`, `main` returns (exit code 0). Without
//! any argument it prints `UNKNOWN - no arguments (see --help)` and exits 3.
//! A bad option prints `UNKNOWN - ...` and exits 3, as plugins do.

use std::io::Write;
use std::time::Duration;

const USAGE: &str = "Usage: guest-plugin-echo [--print TEXT] [--stderr TEXT] [--argv] [--probe]
  [--connect ADDR] [--flood BYTES] [--sleep MS] [--spin] [--alloc MIB] [--panic]
  [--exit CODE | --std-exit CODE]
";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        unknown("no arguments (see --help)");
    }
    let mut it = args.iter().skip(1);
    while let Some(option) = it.next() {
        let mut value = |what: &str| match it.next() {
            Some(v) => v.clone(),
            None => unknown(&format!("{option} needs {what}")),
        };
        match option.as_str() {
            "--print" => print!("{}", value("a text")),
            "--stderr" => eprint!("{}", value("a text")),
            "--argv" => {
                for a in &args {
                    println!("{a}");
                }
            }
            "--probe" => {
                let passwd = match std::fs::read("/etc/passwd") {
                    Ok(bytes) => format!("read {} bytes", bytes.len()),
                    Err(e) => format!("{e}"),
                };
                println!("environment: {} variables, /etc/passwd: {passwd}", std::env::vars().count());
            }
            "--connect" => {
                let addr = value("an address");
                match std::net::TcpStream::connect(addr.as_str()) {
                    Ok(_) => {
                        println!("CONNECT OK - connected to {addr}");
                        exit_with_code(0);
                    }
                    Err(e) => {
                        println!("CONNECT CRITICAL - {addr}: {e}");
                        exit_with_code(2);
                    }
                }
            }
            "--flood" => {
                let bytes: usize = number(&value("a byte count"));
                let line = format!("{}\n", "x".repeat(99));
                let mut out = std::io::stdout().lock();
                for _ in 0..bytes / line.len() {
                    let _ = out.write_all(line.as_bytes());
                }
            }
            "--sleep" => std::thread::sleep(Duration::from_millis(number(&value("milliseconds")))),
            "--spin" => spin(),
            "--alloc" => {
                let mib: usize = number(&value("a size in MiB"));
                let block = vec![0xa5u8; mib << 20];
                println!("allocated {} bytes", std::hint::black_box(&block).len());
            }
            "--panic" => panic!("deliberate plugin panic"),
            "--exit" => exit_with_code(number(&value("an exit code"))),
            "--std-exit" => {
                let _ = std::io::stdout().flush();
                std::process::exit(number(&value("an exit code")))
            }
            "--help" => {
                print!("{USAGE}");
                exit_with_code(0);
            }
            other => unknown(&format!("unknown option '{other}'")),
        }
    }
}

/// Loops until the host stops it.
fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn number<T: std::str::FromStr>(text: &str) -> T {
    text.parse().unwrap_or_else(|_| unknown(&format!("'{text}' is not a number")))
}

/// Prints `UNKNOWN - why` and exits 3, as a plugin does on bad arguments.
fn unknown(why: &str) -> ! {
    println!("UNKNOWN - {why}");
    exit_with_code(3)
}

/// Exits with `code` through `exit-with-code`, after flushing stdout (the
/// exit does not return, so Rust's own flush at exit never runs).
fn exit_with_code(code: u8) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    wasip2::cli::exit::exit_with_code(code);
    unreachable!("exit-with-code returned")
}

//! `wasmon`: run monitoring checks that are WebAssembly components.

// The arguments' doc comments are their `--help` texts, where `[engine]` is
// a TOML table, not a link.
#![allow(rustdoc::broken_intra_doc_links)]

#[macro_use]
mod common;

mod bench;
mod check;
mod cli;
mod cluster;
mod describe;
mod discover;
mod import;
mod pack;
mod run;
mod simulate;
mod submit;
mod validate;
mod worker;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use common::Failure;

// Check runs allocate on one thread and are freed on another; glibc malloc
// serialised that on its arena locks (see README, Benchmarks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    return ExitCode::SUCCESS;
                }
                // `wasmon` alone: the help, on stderr, as a usage error.
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    return ExitCode::from(3);
                }
                _ => {}
            }
            // Plugin convention: a usage error is UNKNOWN (3), on one line.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments").trim_start_matches("error: ");
            let plugin = std::env::args().nth(1).is_some_and(|a| a == "check");
            report(plugin, &format!("{first} (see `wasmon --help`)"));
            return ExitCode::from(3);
        }
    };
    common::init_logging(cli.verbose);
    // Checks take descriptors from a pool sized by the soft limit, less a
    // reserve for the API, the state file and the sinks.
    if let Err(e) = wasmon_runtime::raise_descriptor_limit() {
        tracing::warn!("cannot raise the limit of open files: {e}");
    }
    let plugin = matches!(cli.command, Command::Check(_));
    // Exit codes are decided here only: the state's for a check that ran,
    // 3 (UNKNOWN) for anything that kept it from running.
    match cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(Failure(e)) => {
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            let mut message = chain[0].clone();
            for cause in &chain[1..] {
                if !message.contains(cause.as_str()) {
                    message.push_str(": ");
                    message.push_str(cause);
                }
            }
            report(plugin, &message.replace('\n', " "));
            ExitCode::from(3)
        }
    }
}

/// Prints an error the way the caller reads it: as UNKNOWN plugin output on
/// stdout for `wasmon check` (Nagios shows it), on stderr otherwise.
fn report(plugin: bool, message: &str) {
    if plugin {
        println!("UNKNOWN - wasmon: {message}");
        let _ = std::io::stdout().flush();
    } else {
        eprintln!("wasmon: error: {message}");
    }
}

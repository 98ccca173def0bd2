//! Builds the standard checks in `checks/` (a separate cargo workspace, for
//! wasm32-wasip2) and embeds them: `$OUT_DIR/standard_checks.rs` lists every
//! check as (name, component bytes), so `wasmon check tcp` needs no files.

#[path = "../tests/build_guests.rs"]
mod build_guests;

use std::fmt::Write as _;
use std::path::PathBuf;

/// Check crates are named `wasmon-check-<name>`.
const PREFIX: &str = "wasmon_check_";

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR unset")?);
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR unset")?);
    let wit_dir = manifest_dir.join("../wit").canonicalize()?;
    println!("cargo:rerun-if-changed={}", wit_dir.display());

    let target_dir = build_guests::shared_target_dir(&out_dir);
    let checks = build_guests::build(&manifest_dir.join("../checks"), &target_dir, "release")?;
    let mut code = String::from("/// Every standard check as (name, component), sorted by name.\n");
    code.push_str("pub(crate) const EMBEDDED: &[(&str, &[u8])] = &[\n");
    for check in &checks {
        let name = check
            .crate_name
            .strip_prefix(PREFIX)
            .ok_or_else(|| format!("check crate {} is not named wasmon-check-<name>", check.crate_name))?;
        let path = check.wasm.to_str().ok_or("non-UTF-8 check path")?;
        writeln!(code, "    ({name:?}, include_bytes!({path:?})),")?;
    }
    code.push_str("];\n");
    if checks.is_empty() {
        return Err("checks/ built no checks".into());
    }
    std::fs::write(out_dir.join("standard_checks.rs"), code)?;
    Ok(())
}

//! Builds the test guests in `tests/guests/` (a separate cargo workspace, for
//! wasm32-wasip2) and writes `$OUT_DIR/guests.rs`: one path constant per guest
//! and the `foreach_guest!` macro that lists them all.

#[path = "build_guests.rs"]
mod build_guests;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Package names of the guests all start with this, in crate spelling.
const PREFIX: &str = "guest_";

/// Not a guest: the bindings and helpers the guests share.
const COMMON: &str = "guest_common";

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
    // The guests' dep-info lists the WIT files the bindings were generated
    // from; the folder itself is declared so that an added file counts too.
    println!("cargo:rerun-if-changed={}", wit_dir.display());

    let target_dir = build_guests::shared_target_dir(&out_dir);
    let guests = build_guests::build(&manifest_dir.join("guests"), &target_dir, "release")?;

    let mut code = String::new();
    let mut names = Vec::new();
    let mut table = String::new();
    for guest in guests.iter().filter(|g| g.crate_name != COMMON) {
        let name = guest
            .crate_name
            .strip_prefix(PREFIX)
            .ok_or_else(|| format!("guest crate {} is not named {PREFIX}<name>", guest.crate_name))?;
        let constant = name.to_uppercase();
        let folder = guest
            .manifest_path
            .parent()
            .and_then(Path::file_name)
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let description = description(&guest.manifest_path)?;
        writeln!(code, "/// {description}.")?;
        writeln!(code, "///")?;
        writeln!(code, "/// The component built from `tests/guests/{folder}`; see its crate docs.")?;
        writeln!(code, "pub const {constant}: &str = {:?};", guest.wasm.to_str().ok_or("non-UTF-8 guest path")?)?;
        writeln!(table, "    ({name:?}, {constant}),")?;
        names.push(name.to_owned());
    }
    if names.is_empty() {
        return Err("tests/guests built no guests".into());
    }

    writeln!(code, "/// Every guest as (name, path of its component), sorted by name.")?;
    writeln!(code, "pub const ALL: &[(&str, &str)] = &[\n{table}];")?;
    writeln!(code, "/// Invokes `$mac!(name)` once for every guest in `tests/guests`, sorted by")?;
    writeln!(code, "/// name (`infinite_loop`, `not_a_check`, …), so that the integration")?;
    writeln!(code, "/// tests can assert at compile time that every guest has a test.")?;
    writeln!(code, "#[macro_export]")?;
    writeln!(code, "macro_rules! foreach_guest {{")?;
    writeln!(code, "    ($mac:ident) => {{")?;
    for name in &names {
        writeln!(code, "        $mac!({name});")?;
    }
    writeln!(code, "    }};")?;
    writeln!(code, "}}")?;

    std::fs::write(out_dir.join("guests.rs"), code)?;
    Ok(())
}

/// The `description` of the package whose manifest is `manifest`, without a
/// final full stop.
fn description(manifest: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(manifest)?;
    let line = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("description"))
        .and_then(|rest| rest.trim_start().strip_prefix('='))
        .map(|value| value.trim().trim_matches('"').trim_end_matches('.').to_owned())
        .ok_or_else(|| format!("{} has no description", manifest.display()))?;
    Ok(line.replace('\\', ""))
}

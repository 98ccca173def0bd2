//! Check packs, our Opspacks (seed 000: "a packaged integration that,
//! added to a host, monitors it with no further configuration").
//!
//! A pack is one file, `NAME-VERSION.wasmonpack`: a tar archive holding its
//! [`Manifest`] as `pack.toml` first, then every check's component as
//! `checks/CHECK.wasm`. The manifest names the pack, lists its checks (each
//! with the manpage its `describe()` gave when the pack was built, its
//! default parameters and the grants it needs) and the services a host
//! with the pack gets, some discovered: one service per item the check's
//! `discover()` finds on the host.
//!
//! - [`build`] makes a pack from a source directory (`DIR/pack.toml`,
//!   components in DIR or standard checks by name) and validates all of it;
//! - [`read_file`] reads and validates a pack file, [`install`] puts it
//!   under the packs directory (`[engine] packs_dir`), [`list`] and
//!   [`open`] read what is installed;
//! - [`expand`] turns every host's `packs = [...]` into ordinary services
//!   of the [configuration](crate::config), discovering items, before the
//!   engine starts.
//!
//! An installed pack is `PACKS_DIR/NAME/pack.toml` and
//! `PACKS_DIR/NAME/checks/CHECK.wasm`; its services run those files, so a
//! daemon that hot-loads module files sees a newer version's components
//! when it is installed.

mod expand;
pub(crate) mod manifest;

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use expand::expand;
pub use manifest::{Manifest, PackCheck, ServiceTemplate, grant_names, matches};

use crate::error::Error;
use crate::sandbox::Sandbox;

/// The file name extension of a pack file.
pub const EXTENSION: &str = "wasmonpack";
/// The manifest's name, in a source directory, a pack file and an installed pack.
pub const MANIFEST: &str = "pack.toml";

/// A validated pack: its manifest and every check's component.
#[derive(Clone, Debug)]
pub struct Pack {
    /// The manifest.
    pub manifest: Manifest,
    /// The components, in the order of `manifest.checks`.
    pub components: Vec<Vec<u8>>,
}

impl Pack {
    /// `NAME-VERSION.wasmonpack`.
    pub fn file_name(&self) -> String {
        format!("{}-{}.{EXTENSION}", self.manifest.name, self.manifest.version)
    }

    /// The pack file: a tar archive with `pack.toml` first, then
    /// `checks/CHECK.wasm` for each check.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let manifest =
            toml::to_string(&self.manifest).map_err(|e| pack_error(format!("cannot write the manifest: {e}")))?;
        let mut tar = tar::Builder::new(Vec::new());
        let mut add = |path: &str, data: &[u8]| {
            let mut header = tar::Header::new_ustar();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            tar.append_data(&mut header, path, data)
                .map_err(|e| pack_error(format!("cannot write {path} into the pack: {e}")))
        };
        add(MANIFEST, manifest.as_bytes())?;
        for (check, wasm) in self.manifest.checks.iter().zip(&self.components) {
            add(&check.component, wasm)?;
        }
        tar.into_inner().map_err(|e| pack_error(format!("cannot write the pack: {e}")))
    }
}

fn pack_error(line: String) -> Error {
    Error::Pack(vec![line])
}

/// Builds a pack from `dir`: reads `DIR/pack.toml`, takes each check's
/// component (a standard check by name, or a `.wasm` file relative to DIR),
/// loads it, captures its `describe()` and checks it against the contract,
/// and validates the manifest (services name the pack's checks, parameters
/// are ones the checks take, grants and schedules parse). Every problem is
/// reported at once, as `FILE:LINE:COLUMN: context: key 'k': expected ...`.
pub async fn build(dir: &Path, sandbox: &Sandbox) -> Result<Pack, Error> {
    let file = dir.join(MANIFEST);
    let text =
        std::fs::read_to_string(&file).map_err(|e| pack_error(format!("{}: cannot read it: {e}", file.display())))?;
    let mut source = manifest::read_source(&text, &file).map_err(Error::Pack)?;
    let mut problems = Vec::new();
    let mut components = Vec::new();
    for (i, spec) in source.components.clone().iter().enumerate() {
        let at = |key: &str, message: String| manifest::Finding {
            section: manifest::Section::Check(i),
            key: key.into(),
            message,
        };
        let bytes = match &source.manifest.checks[i].standard {
            Some(name) => crate::sandbox::standard::find(name)?.wasm.to_vec(),
            None => match std::fs::read(dir.join(spec)) {
                Ok(b) => b,
                Err(e) => {
                    problems.push(
                        source
                            .locate(&file, &at("component", format!("cannot read {}: {e}", dir.join(spec).display()))),
                    );
                    components.push(Vec::new());
                    continue;
                }
            },
        };
        let check = &mut source.manifest.checks[i];
        check.component = format!("checks/{}.wasm", check.name);
        check.sha256 = hex::encode(Sha256::digest(&bytes));
        match describe(sandbox, spec, &bytes).await {
            Ok(info) => check.info = info,
            Err(message) => problems.push(source.locate(&file, &at("component", message))),
        }
        components.push(bytes);
    }
    if problems.is_empty() {
        problems.extend(manifest::verify(&source.manifest).iter().map(|f| source.locate(&file, f)));
    }
    if !problems.is_empty() {
        return Err(Error::Pack(problems));
    }
    Ok(Pack { manifest: source.manifest, components })
}

/// Loads a component and asks it to describe itself; the description must
/// keep the contract ([`crate::contract::verify_info`]).
async fn describe(sandbox: &Sandbox, name: &str, bytes: &[u8]) -> Result<crate::CheckInfo, String> {
    let module = sandbox.load(name, bytes).map_err(|e| format!("the component does not load: {e}"))?;
    if module.kind() != crate::ModuleKind::Check {
        return Err(format!("expected a wasmon check component (world check), found a {:?}", module.kind()));
    }
    let info = module.describe().await.map_err(|e| format!("describe() failed: {e}"))?;
    let breaches = crate::contract::verify_info(&info);
    if !breaches.is_empty() {
        return Err(format!("its describe() breaks the check contract: {}", breaches.join("; ")));
    }
    Ok(info)
}

/// Reads a pack file and validates everything in it, as [`build`] does:
/// the manifest, each component against its recorded sha256, and that
/// each loads and describes itself as the manifest says.
pub async fn read_file(path: &Path, sandbox: &Sandbox) -> Result<Pack, Error> {
    let bytes = std::fs::read(path).map_err(|e| pack_error(format!("{}: cannot read it: {e}", path.display())))?;
    from_bytes(&bytes, &path.display().to_string(), sandbox).await
}

/// [`read_file`] of a pack file's content; `name` names it in messages.
pub async fn from_bytes(bytes: &[u8], name: &str, sandbox: &Sandbox) -> Result<Pack, Error> {
    let bad = |what: String| pack_error(format!("{name}: {what}"));
    let mut archive = tar::Archive::new(bytes);
    let entries = archive.entries().map_err(|e| bad(format!("not a pack file (expected a tar archive): {e}")))?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("not a pack file (expected a tar archive): {e}")))?;
        let path =
            entry.path().map_err(|e| bad(format!("an entry has a bad name: {e}")))?.to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(|e| bad(format!("cannot read {path}: {e}")))?;
        files.push((path, data));
    }
    let Some((first, text)) = files.first() else { return Err(bad("not a pack file: the archive is empty".into())) };
    if first != MANIFEST {
        return Err(bad(format!("not a pack file: the first entry is '{first}', expected '{MANIFEST}'")));
    }
    let text = String::from_utf8_lossy(text).into_owned();
    let manifest = parse_manifest(&text, &format!("{name}: {MANIFEST}"))?;
    let mut problems = Vec::new();
    let mut components = Vec::new();
    for check in &manifest.checks {
        let cx = format!("{name}: check \"{}\"", check.name);
        if check.component != format!("checks/{}.wasm", check.name) {
            problems.push(format!(
                "{cx}: key 'component': expected \"checks/{}.wasm\", found \"{}\"",
                check.name, check.component
            ));
            continue;
        }
        let Some((_, wasm)) = files.iter().find(|(p, _)| *p == check.component) else {
            problems.push(format!("{cx}: the pack has no {}", check.component));
            continue;
        };
        let digest = hex::encode(Sha256::digest(wasm));
        if digest != check.sha256 {
            problems.push(format!("{cx}: {} has sha256 {digest}, the manifest says {}", check.component, check.sha256));
            continue;
        }
        match describe(sandbox, &check.component, wasm).await {
            Ok(info) if info == check.info => {}
            Ok(_) => problems.push(format!("{cx}: {} describes itself differently from the manifest", check.component)),
            Err(message) => problems.push(format!("{cx}: {}: {message}", check.component)),
        }
        components.push(wasm.clone());
    }
    for (path, _) in &files[1..] {
        if !manifest.checks.iter().any(|c| c.component == *path) {
            problems.push(format!("{name}: '{path}' is no check of the manifest"));
        }
    }
    if problems.is_empty() { Ok(Pack { manifest, components }) } else { Err(Error::Pack(problems)) }
}

/// Parses a built manifest and runs the checks every manifest passes;
/// `name` names it in messages.
pub(crate) fn parse_manifest(text: &str, name: &str) -> Result<Manifest, Error> {
    let manifest: Manifest = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let (line, column) = crate::config::read::position(text, span.start);
        pack_error(format!("{name}:{line}:{column}: {}", e.message().trim_end()))
    })?;
    let findings = manifest::verify(&manifest);
    if findings.is_empty() {
        return Ok(manifest);
    }
    Err(Error::Pack(
        findings
            .iter()
            .map(|f| format!("{name}: {}: key '{}': {}", manifest::context(&manifest, &f.section), f.key, f.message))
            .collect(),
    ))
}

/// An installed pack.
#[derive(Clone, Debug)]
pub struct Installed {
    /// Its folder, `PACKS_DIR/NAME`.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

impl Installed {
    /// The installed component of check `check`.
    pub fn component(&self, check: &str) -> PathBuf {
        self.dir.join("checks").join(format!("{check}.wasm"))
    }
}

/// The pack called `name` installed under `packs_dir`.
pub fn open(packs_dir: &Path, name: &str) -> Result<Installed, Error> {
    let dir = packs_dir.join(name);
    let file = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let installed: Vec<String> =
                list(packs_dir).unwrap_or_default().into_iter().map(|p| p.manifest.name).collect();
            let installed = if installed.is_empty() {
                "none is installed".to_string()
            } else {
                format!("installed: {}", installed.join(", "))
            };
            return Err(pack_error(format!(
                "no pack \"{name}\" is installed in {} ({installed}; install one with `wasmon pack install FILE`)",
                packs_dir.display()
            )));
        }
        Err(e) => return Err(pack_error(format!("{}: cannot read it: {e}", file.display()))),
    };
    let manifest = parse_manifest(&text, &file.display().to_string())?;
    if manifest.name != name {
        return Err(pack_error(format!(
            "{}: key 'name': expected \"{name}\" (its folder's name), found \"{}\"",
            file.display(),
            manifest.name
        )));
    }
    Ok(Installed { dir, manifest })
}

/// Every pack installed under `packs_dir`, by name. A missing folder has none.
pub fn list(packs_dir: &Path) -> Result<Vec<Installed>, Error> {
    let entries = match std::fs::read_dir(packs_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(pack_error(format!("{}: cannot read the packs folder: {e}", packs_dir.display()))),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join(MANIFEST).is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names.iter().map(|n| open(packs_dir, n)).collect()
}

/// What [`install`] replaced.
#[derive(Clone, Debug)]
pub struct Replaced {
    /// The manifest of the version that was installed before, if any.
    pub previous: Option<Manifest>,
}

/// Installs `pack` under `packs_dir` as `PACKS_DIR/NAME`, replacing an
/// installed version. Everything is written to a staging folder beside it
/// first; a new pack is then renamed into place in one step. Over an
/// installed version each component is renamed over the old file (each
/// swap atomic, so a module watcher sees whole files only), components the
/// new version no longer has are removed, and the manifest is renamed last:
/// until then the old manifest stays in force.
pub fn install(pack: &Pack, packs_dir: &Path) -> Result<Replaced, Error> {
    let name = &pack.manifest.name;
    let io = |what: &str, path: &Path, e: std::io::Error| pack_error(format!("{}: cannot {what}: {e}", path.display()));
    std::fs::create_dir_all(packs_dir).map_err(|e| io("create the packs folder", packs_dir, e))?;
    // None also when an installed manifest cannot be read: it is replaced.
    let previous = open(packs_dir, name).ok().map(|old| old.manifest);
    let staging = packs_dir.join(format!(".{name}.staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let checks = staging.join("checks");
    std::fs::create_dir_all(&checks).map_err(|e| io("create it", &checks, e))?;
    let manifest =
        toml::to_string(&pack.manifest).map_err(|e| pack_error(format!("cannot write the manifest: {e}")))?;
    std::fs::write(staging.join(MANIFEST), manifest).map_err(|e| io("write it", &staging.join(MANIFEST), e))?;
    for (check, wasm) in pack.manifest.checks.iter().zip(&pack.components) {
        let path = checks.join(format!("{}.wasm", check.name));
        std::fs::write(&path, wasm).map_err(|e| io("write it", &path, e))?;
    }
    let target = packs_dir.join(name);
    let result = if !target.join(MANIFEST).is_file() {
        let _ = std::fs::remove_dir_all(&target);
        std::fs::rename(&staging, &target).map_err(|e| io("move it into place", &target, e))
    } else {
        swap_in(pack, &staging, &target)
    };
    let _ = std::fs::remove_dir_all(&staging);
    result?;
    Ok(Replaced { previous })
}

/// Replaces an installed version file by file, the manifest last.
fn swap_in(pack: &Pack, staging: &Path, target: &Path) -> Result<(), Error> {
    let io = |what: &str, path: &Path, e: std::io::Error| pack_error(format!("{}: cannot {what}: {e}", path.display()));
    let checks = target.join("checks");
    std::fs::create_dir_all(&checks).map_err(|e| io("create it", &checks, e))?;
    let mut keep = Vec::new();
    for check in &pack.manifest.checks {
        let file = format!("{}.wasm", check.name);
        let to = checks.join(&file);
        std::fs::rename(staging.join("checks").join(&file), &to).map_err(|e| io("replace it", &to, e))?;
        keep.push(file);
    }
    if let Ok(entries) = std::fs::read_dir(&checks) {
        for e in entries.flatten() {
            if e.file_name().to_str().is_some_and(|n| !keep.iter().any(|k| k == n)) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let to = target.join(MANIFEST);
    std::fs::rename(staging.join(MANIFEST), &to).map_err(|e| io("replace it", &to, e))
}

/// The packs folder a configuration file uses: its `[engine] packs_dir`,
/// by default `packs` beside it. Reads only that key, so a configuration
/// that lists packs not installed yet still names where to install them.
pub fn packs_dir_of(config: &Path) -> Result<PathBuf, Error> {
    let text = std::fs::read_to_string(config)
        .map_err(|e| pack_error(format!("{}: cannot read it: {e}", config.display())))?;
    let dir = config.parent().map(Path::to_path_buf).unwrap_or_default();
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        let (line, column) = crate::config::read::position(&text, e.span().unwrap_or(0..0).start);
        pack_error(format!("{}:{line}:{column}: invalid TOML: {}", config.display(), e.message().trim_end()))
    })?;
    match table.get("engine").and_then(|e| e.get("packs_dir")) {
        None => Ok(dir.join(crate::config::PACKS_DIR)),
        Some(toml::Value::String(s)) if !s.trim().is_empty() => Ok(dir.join(s)),
        Some(other) => Err(pack_error(format!(
            "{}: [engine]: key 'packs_dir': expected a folder name (a string), found {other}",
            config.display()
        ))),
    }
}

//! `wasmon pack`: build, install, list and show check packs.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};

use wasmon_runtime::pack::{self, Manifest};
use wasmon_runtime::{Grants, Sandbox};

use crate::common::{Failure, TextFormat};

#[derive(Args, Debug)]
pub struct PackArgs {
    #[command(subcommand)]
    pub command: PackCommand,
}

#[derive(Subcommand, Debug)]
pub enum PackCommand {
    /// Build a pack file from a source folder: DIR/pack.toml names the pack,
    /// its checks (standard checks by name or .wasm components in DIR) and
    /// the services a host with the pack gets. Every component is loaded
    /// and its describe() captured and checked; every problem is reported
    /// as FILE:LINE:COLUMN. Writes NAME-VERSION.wasmonpack.
    Build(BuildArgs),
    /// Validate a pack file and install it under the packs folder
    /// ([engine] packs_dir of --config, or --packs-dir), replacing an
    /// installed version. Prints what each check is granted.
    Install(InstallArgs),
    /// List the installed packs: name, version, checks, services, description.
    List(ListArgs),
    /// Show an installed pack: its checks with their manpage titles and
    /// grants, and its services.
    Show(ShowArgs),
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The source folder, holding pack.toml
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Where to write the pack [default: NAME-VERSION.wasmonpack in the current folder]
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Which packs folder: the configuration's or a given one.
#[derive(Args, Debug)]
pub struct PacksDir {
    /// Use the `[engine] packs_dir` of this configuration file (default:
    /// `packs` beside it)
    #[arg(short, long, value_name = "FILE", conflicts_with = "packs_dir")]
    pub config: Option<PathBuf>,

    /// The packs folder [default: ./packs]
    #[arg(long, value_name = "DIR")]
    pub packs_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// The pack file (.wasmonpack)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    #[command(flatten)]
    pub dir: PacksDir,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub dir: PacksDir,

    /// Output format
    #[arg(short = 'f', long, value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The installed pack's name
    #[arg(value_name = "NAME")]
    pub name: String,

    #[command(flatten)]
    pub dir: PacksDir,

    /// Output format
    #[arg(short = 'f', long, value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
}

/// Runs `wasmon pack …`; `cache_dir` is the precompiled-module cache.
pub fn run(args: PackArgs, cache_dir: Option<PathBuf>) -> Result<u8, Failure> {
    match args.command {
        PackCommand::Build(a) => with_sandbox(cache_dir, |sandbox| async move { build(&sandbox, a).await }),
        PackCommand::Install(a) => with_sandbox(cache_dir, |sandbox| async move { install(&sandbox, a).await }),
        PackCommand::List(a) => list(a),
        PackCommand::Show(a) => show(a),
    }
}

fn with_sandbox<F, Fut>(cache_dir: Option<PathBuf>, f: F) -> Result<u8, Failure>
where
    F: FnOnce(Sandbox) -> Fut,
    Fut: std::future::Future<Output = Result<u8, Failure>>,
{
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let sandbox = Sandbox::builder().cache_dir(cache_dir).max_concurrency(4).build()?;
        f(sandbox).await
    })
}

/// A pack error's problems, one per line on stderr, then a failure that
/// counts them.
fn problems(e: wasmon_runtime::Error, what: &str) -> Failure {
    match e {
        wasmon_runtime::Error::Pack(lines) if lines.len() > 1 => {
            for line in &lines {
                eprintln!("{line}");
            }
            anyhow!("{what}: {} problems found", lines.len()).into()
        }
        e => anyhow!("{what}: {e}").into(),
    }
}

async fn build(sandbox: &Sandbox, args: BuildArgs) -> Result<u8, Failure> {
    let built = pack::build(&args.dir, sandbox)
        .await
        .map_err(|e| problems(e, &format!("{} is no valid pack source", args.dir.display())))?;
    let out = args.output.unwrap_or_else(|| PathBuf::from(built.file_name()));
    let bytes = built.to_bytes()?;
    std::fs::write(&out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    let m = &built.manifest;
    outln!(
        "{}: {} {} ({}, {})",
        out.display(),
        m.name,
        m.version,
        count(m.checks.len(), "check"),
        count(m.services.len(), "service")
    );
    Ok(0)
}

async fn install(sandbox: &Sandbox, args: InstallArgs) -> Result<u8, Failure> {
    let dir = packs_dir(&args.dir)?;
    let built = pack::read_file(&args.file, sandbox)
        .await
        .map_err(|e| problems(e, &format!("{} is refused", args.file.display())))?;
    let replaced = pack::install(&built, &dir)?;
    let m = &built.manifest;
    match &replaced.previous {
        Some(old) => {
            outln!("installed {} {} in {} (replacing {})", m.name, m.version, dir.join(&m.name).display(), old.version)
        }
        None => outln!("installed {} {} in {}", m.name, m.version, dir.join(&m.name).display()),
    }
    // A pack never widens grants silently: say what every check gets.
    for check in &m.checks {
        outln!("  check {}: granted {}", check.name, granted(&m.grants(&check.name)));
        let before: Vec<String> =
            replaced.previous.as_ref().and_then(|o| o.check(&check.name)).map(|c| c.grants.clone()).unwrap_or_default();
        let new: Vec<&String> = check.grants.iter().filter(|g| !before.contains(g)).collect();
        if replaced.previous.is_some() && !new.is_empty() {
            let new: Vec<&str> = new.iter().map(|g| g.as_str()).collect();
            eprintln!(
                "wasmon: warning: pack {} {}: check {} is granted more than before: {}",
                m.name,
                m.version,
                check.name,
                new.join(", ")
            );
        }
    }
    Ok(0)
}

fn list(args: ListArgs) -> Result<u8, Failure> {
    let dir = packs_dir(&args.dir)?;
    let packs = pack::list(&dir).map_err(|e| problems(e, &dir.display().to_string()))?;
    match args.format {
        TextFormat::Json => {
            let json: Vec<_> = packs
                .iter()
                .map(|p| {
                    let m = &p.manifest;
                    serde_json::json!({
                        "name": m.name,
                        "version": m.version,
                        "description": m.description,
                        "dir": p.dir,
                        "checks": m.checks.iter().map(|c| &c.name).collect::<Vec<_>>(),
                        "services": m.services.iter().map(|s| &s.name).collect::<Vec<_>>(),
                    })
                })
                .collect();
            outln!("{}", serde_json::to_string_pretty(&json).context("cannot print JSON")?);
        }
        TextFormat::Text => {
            if packs.is_empty() {
                outln!("no packs are installed in {}", dir.display());
            }
            for p in &packs {
                let m = &p.manifest;
                outln!("{} {}: {}", m.name, m.version, m.description);
                outln!("    checks: {}", m.checks.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "));
                outln!("    services: {}", m.services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", "));
            }
        }
    }
    Ok(0)
}

fn show(args: ShowArgs) -> Result<u8, Failure> {
    let dir = packs_dir(&args.dir)?;
    let installed = pack::open(&dir, &args.name).map_err(|e| problems(e, &args.name))?;
    let m = &installed.manifest;
    if args.format == TextFormat::Json {
        let mut json = serde_json::to_value(m).context("cannot print JSON")?;
        json["dir"] = serde_json::json!(installed.dir);
        outln!("{}", serde_json::to_string_pretty(&json).context("cannot print JSON")?);
        return Ok(0);
    }
    outln!("{}", render(m, &installed.dir));
    Ok(0)
}

/// `wasmon pack show` as text.
fn render(m: &Manifest, dir: &Path) -> String {
    let mut out = format!("{} {}\n{}\nInstalled in {}\n\nCHECKS\n", m.name, m.version, m.description, dir.display());
    for c in &m.checks {
        let from = c.standard.as_ref().map(|s| format!(", the standard check {s}")).unwrap_or_default();
        out.push_str(&format!("    {} {}{from}: {}\n", c.name, c.info.version, c.info.title));
        out.push_str(&format!("        granted: {}\n", granted(&m.grants(&c.name))));
        if !c.params.is_empty() {
            out.push_str(&format!("        params: {}\n", pairs(c.params.iter())));
        }
        out.push_str(&format!("        sha256: {}\n", c.sha256));
    }
    out.push_str("\nSERVICES\n");
    for s in &m.services {
        let mut what = format!("check {}", s.check);
        if let Some(item) = &s.item {
            what.push_str(&format!(", item {item}"));
        }
        if s.discover {
            what.push_str(", one per discovered item");
            if !s.include.is_empty() {
                what.push_str(&format!(", include {}", s.include.join(" ")));
            }
            if !s.exclude.is_empty() {
                what.push_str(&format!(", exclude {}", s.exclude.join(" ")));
            }
        }
        out.push_str(&format!("    {}: {what}\n", s.name));
        if !s.params.is_empty() {
            out.push_str(&format!("        params: {}\n", pairs(s.params.iter())));
        }
        let schedule: Vec<String> = [
            s.check_interval.as_ref().map(|v| format!("check_interval {v}")),
            s.retry_interval.as_ref().map(|v| format!("retry_interval {v}")),
            s.max_check_attempts.map(|v| format!("max_check_attempts {v}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !schedule.is_empty() {
            out.push_str(&format!("        schedule: {}\n", schedule.join(", ")));
        }
    }
    out.trim_end().to_string()
}

fn pairs<'a>(it: impl Iterator<Item = (&'a String, &'a String)>) -> String {
    it.map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

/// What `grants` allow, on one line (as `wasmon describe` says it), and
/// the grants as a configuration writes them.
fn granted(grants: &Grants) -> String {
    let names = pack::grant_names(grants);
    let names = if names.is_empty() { "the default".to_string() } else { names.join(", ") };
    format!("{}; grants: {names}", crate::common::granted(grants).replace('\n', ", "))
}

fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The packs folder: `--packs-dir`, the configuration's `[engine]
/// packs_dir`, or `./packs`.
fn packs_dir(args: &PacksDir) -> Result<PathBuf, Failure> {
    if let Some(dir) = &args.packs_dir {
        return Ok(dir.clone());
    }
    match &args.config {
        Some(path) => Ok(pack::packs_dir_of(path)?),
        None => Ok(PathBuf::from(wasmon_runtime::config::PACKS_DIR)),
    }
}

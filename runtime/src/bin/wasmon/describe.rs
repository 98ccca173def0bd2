//! `wasmon describe`: a check's manpage, or a command plugin's help.

use anyhow::Context;
use clap::Args;

use wasmon_runtime::{CheckInfo, CheckModule, Grants, Sandbox};

use crate::common::{Failure, TextFormat, granted};

#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// The check: a path to a .wasm component or the name of a standard check
    #[arg(value_name = "MODULE")]
    pub module: String,

    /// Output format
    #[arg(short = 'f', long, value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
}

pub(crate) async fn describe(sandbox: &Sandbox, args: DescribeArgs) -> Result<u8, Failure> {
    let (module, grants) = sandbox.load_spec(&args.module)?;
    if module.kind().is_plugin() {
        return describe_plugin(&module, &grants, args.format).await;
    }
    let info = module.describe().await?;
    match args.format {
        TextFormat::Json => outln!("{}", serde_json::to_string_pretty(&info).context("cannot print JSON")?),
        TextFormat::Text => out!("{}", manpage(&info, &grants)),
    }
    // What the check's description breaks of the contract, for its author.
    for problem in wasmon_runtime::contract::verify_info(&info) {
        eprintln!("wasmon: warning: {}: {problem}", module.name());
    }
    Ok(0)
}

/// `wasmon describe` of a command plugin: what it is and how to give it
/// arguments, and what it prints for `--help` (run in the sandbox, with no
/// target and a short time limit; see `CheckModule::plugin_help`).
async fn describe_plugin(module: &CheckModule, grants: &Grants, format: TextFormat) -> Result<u8, Failure> {
    let help = match module.plugin_help().await {
        Ok(text) => text.trim_end().to_string(),
        Err(e) => format!("(none: {e})"),
    };
    let kind = match module.kind() {
        wasmon_runtime::ModuleKind::Preview1Plugin => "a WASI preview1 module, converted to a component at load",
        _ => "a WASI command component",
    };
    let argv0 = module.program_name();
    let service = argv0.trim_end_matches(".wasm");
    if format == TextFormat::Json {
        let json = serde_json::json!({
            "module": module.name(),
            "kind": module.kind(),
            "argv0": argv0,
            "macros": wasmon_runtime::plugin::MACROS.iter().map(|(name, what)| serde_json::json!({"name": format!("${name}$"), "value": what})).collect::<Vec<_>>(),
            "help": help,
        });
        outln!("{}", serde_json::to_string_pretty(&json).context("cannot print JSON")?);
        return Ok(0);
    }
    let mut out = format!("{argv0}\nCommand plugin ({kind})\n");
    let section = |out: &mut String, title: &str, text: &str| {
        out.push_str(&format!("\n{title}\n"));
        for line in text.lines() {
            out.push_str(&format!("    {line}\n"));
        }
    };
    section(
        &mut out,
        "DESCRIPTION",
        "A Nagios-style plugin, not a wasmon check: it has no manpage, parameters or\n\
         discovery of its own. wasmon runs it with command-line arguments and reads the\n\
         plugin interface: the first line of stdout up to '|' is the summary and the rest\n\
         performance data, the following lines long output; exit code 0, 1, 2 or 3 is\n\
         OK, WARNING, CRITICAL or UNKNOWN, any other code UNKNOWN. It sees no files, no\n\
         environment variables and an empty stdin; it may connect where it is granted.",
    );
    let macros: Vec<String> =
        wasmon_runtime::plugin::MACROS.iter().map(|(name, what)| format!("    ${name}$  {what}")).collect();
    section(
        &mut out,
        "ARGUMENTS",
        &format!(
            "Give them after `--`:\n    wasmon check {name} -H HOST -- -H '$HOSTADDRESS$' ...\n\
             or in the configuration: args = [\"-H\", \"$HOSTADDRESS$\", ...]\n\
             The plugin gets \"{argv0}\" as argv[0]. Macros:\n{macros}\n    $$  a literal $\n\
             (with `wasmon check`, $SERVICEDESC$ is \"{service}\")",
            name = module.name(),
            macros = macros.join("\n"),
        ),
    );
    section(&mut out, "PLUGIN HELP (its output for --help)", if help.trim().is_empty() { "(none)" } else { &help });
    section(&mut out, "GRANTED BY DEFAULT", &granted(grants));
    out!("{out}");
    Ok(0)
}

/// The manpage as `wasmon describe` prints it.
fn manpage(info: &CheckInfo, grants: &Grants) -> String {
    let mut out = format!("{} {}\n{}\n", info.name, info.version, info.title);
    let section = |out: &mut String, title: &str, text: &str| {
        out.push_str(&format!("\n{title}\n"));
        for line in text.lines() {
            out.push_str(&format!("    {line}\n"));
        }
    };
    section(&mut out, "DESCRIPTION", &info.manpage.description);
    if let Some(item) = &info.manpage.item {
        section(&mut out, "ITEM", item);
    }
    if let Some(d) = &info.manpage.discovery {
        section(&mut out, "DISCOVERY", d);
    }
    out.push_str("\nPARAMETERS\n");
    if info.params.is_empty() {
        out.push_str("    none\n");
    }
    for p in &info.params {
        out.push_str(&format!("    {}\n", p.name));
        for line in p.description.lines() {
            out.push_str(&format!("        {line}\n"));
        }
        match (&p.default, &p.default_source) {
            (Some(d), Some(s)) => out.push_str(&format!("        Default: {d} (source: {s})\n")),
            (Some(d), None) => out.push_str(&format!("        Default: {d}\n")),
            (None, Some(s)) => out.push_str(&format!("        Default: none ({s})\n")),
            (None, None) => {}
        }
    }
    section(&mut out, "GRANTED BY DEFAULT", &granted(grants));
    out
}

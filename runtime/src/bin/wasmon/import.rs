//! `wasmon import nagios`: a Nagios or Naemon configuration as a wasmon
//! configuration on stdout, what needs attention on stderr.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::common::Failure;

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub from: ImportFrom,
}

#[derive(Subcommand, Debug)]
pub enum ImportFrom {
    /// Read a Nagios/Naemon object configuration (its main file, e.g.
    /// /etc/nagios4/nagios.cfg, or one object file) and print the
    /// equivalent wasmon configuration. Plugins with a standard check
    /// (check_tcp, check_http, check_dns, check_load, check_disk,
    /// check_swap, check_dummy) become it; others become command plugins to
    /// build for WASI, imported with active checks off. What needs attention
    /// is printed on stderr as FILE:LINE: message, and at the end of the
    /// output. Exits 0 when the configuration was written, 3 when the file
    /// cannot be read.
    Nagios(NagiosArgs),
}

#[derive(Args, Debug)]
pub struct NagiosArgs {
    /// The main configuration file (nagios.cfg) or an object file
    #[arg(value_name = "FILE")]
    pub config: PathBuf,

    /// Read the absolute paths the configuration names under this directory
    /// (a copy of another machine's /etc)
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Where the command plugins' .wasm files will be, relative to the new
    /// configuration
    #[arg(long, value_name = "DIR", default_value = "plugins")]
    pub plugins_dir: String,

    /// The SMTP server of the contacts' email method
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:25")]
    pub smtp: String,

    /// The sender of notification email
    #[arg(long, value_name = "ADDRESS", default_value = "wasmon@localhost")]
    pub from: String,
}

/// Writes the configuration to stdout and the attention list to stderr.
pub(crate) fn import(args: ImportArgs) -> Result<u8, Failure> {
    let ImportFrom::Nagios(a) = args.from;
    let options = wasmon_runtime::import::nagios::Options {
        root: a.root,
        plugins_dir: a.plugins_dir,
        smtp: a.smtp,
        from: a.from,
    };
    let import = wasmon_runtime::import::nagios::import(&a.config, &options)
        .with_context(|| format!("cannot read {}", a.config.display()))?;
    out!("{}", import.toml);
    for p in &import.attention {
        errln(&p.to_string());
    }
    let plugins = if import.plugins.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = import.plugins.iter().map(String::as_str).collect();
        format!("; command plugins to build for WASI: {}", names.join(", "))
    };
    errln(&format!(
        "wasmon import: {} hosts, {} services; {} items need attention{plugins}",
        import.hosts,
        import.services,
        import.attention.len()
    ));
    Ok(0)
}

/// One line on stderr, its control characters replaced (the input is text
/// from another system's files).
fn errln(s: &str) {
    use std::io::Write as _;
    let clean: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let _ = writeln!(std::io::stderr().lock(), "{clean}");
}

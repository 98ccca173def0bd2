//! Macros in plugin arguments, as Nagios writes them: `$HOSTADDRESS$`.

use crate::sandbox::policy::Target;

/// The macros [`expand_macros`] knows, with what each stands for.
pub const MACROS: [(&str, &str); 3] = [
    ("HOSTNAME", "the host's name"),
    ("HOSTADDRESS", "the host's address (its name when it has none)"),
    ("SERVICEDESC", "the service's description (its name)"),
];

/// What the macros of one service's plugin arguments stand for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MacroContext {
    /// `$HOSTNAME$`: the host's name as configured.
    pub host_name: String,
    /// `$HOSTADDRESS$`: the address the plugin should connect to.
    pub host_address: String,
    /// `$SERVICEDESC$`: the service's description.
    pub service_description: String,
}

impl MacroContext {
    /// The context of a service on `target`: `$HOSTADDRESS$` is the
    /// target's address, or its name when it has none (a local host), so
    /// that the macro never expands to nothing.
    pub fn new(target: &Target, service_description: &str) -> MacroContext {
        MacroContext {
            host_name: target.name.clone(),
            host_address: target.address.map_or_else(|| target.name.clone(), |a| a.to_string()),
            service_description: service_description.to_string(),
        }
    }
}

/// Why an argument's macros cannot be expanded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MacroError {
    /// A `$NAME$` that is not one of [`MACROS`].
    #[error(
        "argument '{arg}': unknown macro ${name}$ (known: $HOSTNAME$, $HOSTADDRESS$, $SERVICEDESC$; \
         write $$ for a literal $)"
    )]
    Unknown {
        /// The name between the dollars.
        name: String,
        /// The whole argument.
        arg: String,
    },
    /// A `$` that neither starts a macro nor is doubled.
    #[error("argument '{arg}': a $ without its closing $ (macros are written $NAME$; write $$ for a literal $)")]
    Unclosed {
        /// The whole argument.
        arg: String,
    },
}

/// Expands the macros of one plugin argument, as Nagios does in a command
/// line: `$HOSTNAME$`, `$HOSTADDRESS$` and `$SERVICEDESC$` become their
/// values from `ctx`, `$$` becomes one `$`; every other text is kept as is,
/// blanks and quotes included (there is no shell). Values are inserted
/// verbatim and not expanded again.
///
/// Unlike Nagios, which passes an unknown `$NAME$` on unchanged, an unknown
/// macro or a lone `$` is an error, so that a typo or a macro wasmon does
/// not have (`$ARG1$`, `$USER1$`) is found when the configuration is read
/// rather than reaching the plugin as text. Expanding with
/// `MacroContext::default()` checks an argument without a host.
pub fn expand_macros(arg: &str, ctx: &MacroContext) -> Result<String, MacroError> {
    let mut out = String::with_capacity(arg.len());
    let mut rest = arg;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after.find('$').ok_or_else(|| MacroError::Unclosed { arg: arg.to_string() })?;
        let name = &after[..end];
        out.push_str(match name {
            "" => "$",
            "HOSTNAME" => &ctx.host_name,
            "HOSTADDRESS" => &ctx.host_address,
            "SERVICEDESC" => &ctx.service_description,
            _ => return Err(MacroError::Unknown { name: name.to_string(), arg: arg.to_string() }),
        });
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Expands the macros of every argument (see [`expand_macros`]).
pub fn expand_args(args: &[String], ctx: &MacroContext) -> Result<Vec<String>, MacroError> {
    args.iter().map(|a| expand_macros(a, ctx)).collect()
}

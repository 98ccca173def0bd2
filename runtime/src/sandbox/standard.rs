//! The standard checks, built from `checks/` and embedded in the binary.

use crate::sandbox::policy::Grants;

include!(concat!(env!("OUT_DIR"), "/standard_checks.rs"));

/// A standard check shipped inside wasmon.
#[derive(Clone, Copy, Debug)]
pub struct StandardCheck {
    /// Its name, as `wasmon check <name>` takes it.
    pub name: &'static str,
    /// The component.
    pub wasm: &'static [u8],
}

impl StandardCheck {
    /// What this check needs beyond the default grants: the local checks
    /// read the `system` interface, `dns` resolves names. The standard checks
    /// are part of wasmon and trusted with exactly what their job needs.
    pub fn grants(&self) -> Grants {
        let mut grants = Grants::default();
        match self.name {
            "load" | "memory" | "disk" | "uptime" => {
                grants.system = true;
                grants.target = false;
            }
            "dns" => grants.dns = true,
            _ => {}
        }
        grants
    }
}

/// The standard check called `name`.
pub fn get(name: &str) -> Option<StandardCheck> {
    EMBEDDED.iter().find(|(n, _)| *n == name).map(|&(name, wasm)| StandardCheck { name, wasm })
}

/// The standard check called `name`, or an error listing the known ones.
pub fn find(name: &str) -> Result<StandardCheck, crate::Error> {
    get(name).ok_or_else(|| crate::Error::UnknownCheck {
        name: name.to_string(),
        known: all().map(|c| c.name).collect::<Vec<_>>().join(", "),
    })
}

/// Every standard check, sorted by name.
pub fn all() -> impl Iterator<Item = StandardCheck> {
    EMBEDDED.iter().map(|&(name, wasm)| StandardCheck { name, wasm })
}

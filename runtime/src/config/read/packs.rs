//! A host's `packs` and `pack_params`: the packs must be installed under
//! `[engine] packs_dir`, and every override must name a parameter that the
//! pack's checks take.

use toml::de::DeValue;

use super::{Reader, Val, describe, list, sorted};
use crate::config::model::HostPack;
use crate::pack::{self, Installed};

impl Reader<'_> {
    /// Reads `packs` and `pack_params` of the host `cx`.
    pub(super) fn packs(&mut self, cx: &str, packs: Option<&Val<'_>>, pack_params: Option<&Val<'_>>) -> Vec<HostPack> {
        let mut out: Vec<(HostPack, Installed)> = Vec::new();
        if let Some(v) = packs {
            for name in self.strings(v, cx, "packs", "a list of pack names").unwrap_or_default() {
                if out.iter().any(|(p, _)| p.name == *name.get_ref()) {
                    self.bad(name.span(), cx, "packs", format!("pack \"{}\" is listed twice", name.get_ref()));
                    continue;
                }
                match pack::open(&self.packs_dir, name.get_ref()) {
                    Ok(installed) => {
                        out.push((HostPack { name: name.get_ref().clone(), ..HostPack::default() }, installed))
                    }
                    Err(e) => self.bad(name.span(), cx, "packs", e.to_string().replace('\n', "; ")),
                }
            }
        }
        let Some(v) = pack_params else { return out.into_iter().map(|(p, _)| p).collect() };
        let Some(table) = v.get_ref().as_table() else {
            self.bad(
                v.span(),
                cx,
                "pack_params",
                format!(
                    "expected a table such as {{ \"linux-basics\" = {{ warning = \"85%\" }} }}, found {}",
                    describe(v)
                ),
            );
            return out.into_iter().map(|(p, _)| p).collect();
        };
        for (name, overrides) in sorted(table) {
            let key = format!("pack_params.{}", name.get_ref());
            let Some((host_pack, installed)) = out.iter_mut().find(|(p, _)| p.name == *name.get_ref()) else {
                let names: Vec<String> = out.iter().map(|(p, _)| p.name.clone()).collect();
                self.bad(
                    name.span(),
                    cx,
                    &key,
                    format!("pack \"{}\" is not in this host's 'packs' ({})", name.get_ref(), list(&names, "packs")),
                );
                continue;
            };
            let Some(overrides) = overrides.get_ref().as_table() else {
                self.bad(
                    overrides.span(),
                    cx,
                    &key,
                    format!("expected a table of parameters, found {}", describe(overrides)),
                );
                continue;
            };
            let manifest = &installed.manifest;
            let mut params = Vec::new();
            let mut services = Vec::new();
            for (k, value) in sorted(overrides) {
                let key = format!("{key}.{}", k.get_ref());
                if let Some(inner) = value.get_ref().as_table() {
                    // Overrides of some services: a template name or one service's name.
                    let templates: Vec<_> =
                        manifest.services.iter().filter(|t| t.name == *k.get_ref() || t.names(k.get_ref())).collect();
                    if templates.is_empty() {
                        let names: Vec<String> = manifest.services.iter().map(|t| t.name.clone()).collect();
                        self.bad(
                            k.span(),
                            cx,
                            &key,
                            format!(
                                "pack \"{}\" has no service \"{}\" ({})",
                                manifest.name,
                                k.get_ref(),
                                list(&names, "services")
                            ),
                        );
                        continue;
                    }
                    let mut list = Vec::new();
                    for (p, value) in sorted(inner) {
                        let key = format!("{key}.{}", p.get_ref());
                        if !templates.iter().any(|t| manifest.takes(&t.check, p.get_ref())) {
                            let t = templates[0];
                            self.bad(p.span(), cx, &key, unknown(manifest, &t.check, p.get_ref()));
                            continue;
                        }
                        if let Some(text) = self.scalar(value, cx, &key) {
                            list.push((p.get_ref().to_string(), text));
                        }
                    }
                    services.push((k.get_ref().to_string(), list));
                } else {
                    // One parameter for every service whose check takes it.
                    if !manifest.services.iter().any(|t| manifest.takes(&t.check, k.get_ref())) {
                        let checks: Vec<&str> = manifest.checks.iter().map(|c| c.name.as_str()).collect();
                        self.bad(
                            k.span(),
                            cx,
                            &key,
                            format!(
                                "no check of pack \"{}\" ({}) has a parameter '{}' (see `wasmon pack show {}`)",
                                manifest.name,
                                checks.join(", "),
                                k.get_ref(),
                                manifest.name
                            ),
                        );
                        continue;
                    }
                    if let Some(text) = self.scalar(value, cx, &key) {
                        params.push((k.get_ref().to_string(), text));
                    }
                }
            }
            host_pack.params = params;
            host_pack.services = services;
        }
        out.into_iter().map(|(p, _)| p).collect()
    }

    /// A parameter value as text.
    fn scalar(&mut self, v: &Val<'_>, cx: &str, key: &str) -> Option<String> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            DeValue::Integer(i) => Some(i.as_str().to_string()),
            DeValue::Float(f) => Some(f.as_str().to_string()),
            DeValue::Boolean(b) => Some(b.to_string()),
            _ => {
                self.bad(v.span(), cx, key, format!("expected a string, number or boolean, found {}", describe(v)));
                None
            }
        }
    }
}

fn unknown(manifest: &pack::Manifest, check: &str, param: &str) -> String {
    let known: Vec<String> =
        manifest.check(check).map(|c| c.info.params.iter().map(|p| p.name.clone()).collect()).unwrap_or_default();
    format!(
        "check \"{check}\" of pack \"{}\" has no parameter '{param}' ({})",
        manifest.name,
        list(&known, "parameters")
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::config::{HostPack, parse};

    /// An installed pack's manifest as `wasmon pack install` writes it (no
    /// component is loaded to read the configuration).
    const MANIFEST: &str = r#"
name = "mini"
version = "1.0.0"
description = "A pack for the reader's tests."

[[check]]
name = "disk"
standard = "disk"
component = "checks/disk.wasm"
sha256 = "00"
grants = ["system", "no-target"]

[check.info]
name = "disk"
version = "0.1.0"
title = "Linux: Filesystem usage"

[check.info.manpage]
description = "Free space, OK, WARN or CRIT by levels."
item = "The mount point."
discovery = "One per filesystem."

[[check.info.params]]
name = "warning"
description = "Warning level."

[[service]]
name = "Disk {item}"
check = "disk"
discover = true
"#;

    fn packs_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wasmon-read-packs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("packs/mini")).unwrap();
        std::fs::write(dir.join("packs/mini/pack.toml"), MANIFEST).unwrap();
        dir
    }

    #[test]
    fn a_host_lists_installed_packs_with_overrides() {
        let dir = packs_dir("good");
        let text = "[[host]]\nname = \"h\"\npacks = [\"mini\"]\npack_params = { mini = { warning = \"90%\", \"Disk /var\" = { warning = \"95%\" } } }\n";
        let c = parse(text, &dir.join("wasmon.toml")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.engine.packs_dir, dir.join("packs"));
        assert_eq!(
            c.hosts[0].packs,
            [HostPack {
                name: "mini".into(),
                params: vec![("warning".into(), "90%".into())],
                services: vec![("Disk /var".into(), vec![("warning".into(), "95%".into())])],
            }]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_pack_or_a_bad_override_names_line_and_key() {
        let dir = packs_dir("bad");
        let text = "[engine]\npacks_dir = \"elsewhere\"\n\n[[host]]\nname = \"h\"\npacks = [\"mini\"]\n";
        let e = parse(text, &dir.join("wasmon.toml")).unwrap_err().to_string();
        let elsewhere = dir.join("elsewhere");
        assert_eq!(
            e,
            format!(
                "{}:6:10: host \"h\": key 'packs': no pack \"mini\" is installed in {} (none is installed; install one with `wasmon pack install FILE`)",
                dir.join("wasmon.toml").display(),
                elsewhere.display()
            )
        );
        let text = "[[host]]\nname = \"h\"\npacks = [\"mini\", \"mini\"]\npack_params = { other = {}, mini = { size = 1, \"Load\" = {}, \"Disk {item}\" = { warnin = \"1\" } } }\n";
        let problems: Vec<String> =
            parse(text, &dir.join("w.toml")).unwrap_err().problems().iter().map(|p| p.to_string()).collect();
        let w = dir.join("w.toml");
        let w = w.display();
        assert_eq!(
            problems,
            [
                format!("{w}:3:18: host \"h\": key 'packs': pack \"mini\" is listed twice"),
                format!(
                    "{w}:4:17: host \"h\": key 'pack_params.other': pack \"other\" is not in this host's 'packs' (packs: mini)"
                ),
                format!(
                    "{w}:4:38: host \"h\": key 'pack_params.mini.size': no check of pack \"mini\" (disk) has a parameter 'size' (see `wasmon pack show mini`)"
                ),
                format!(
                    "{w}:4:48: host \"h\": key 'pack_params.mini.Load': pack \"mini\" has no service \"Load\" (services: Disk {{item}})"
                ),
                format!(
                    "{w}:4:79: host \"h\": key 'pack_params.mini.Disk {{item}}.warnin': check \"disk\" of pack \"mini\" has no parameter 'warnin' (parameters: warning)"
                ),
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

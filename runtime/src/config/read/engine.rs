//! The `[engine]` table.

use super::*;

impl Reader<'_> {
    pub(super) fn engine(&mut self, value: Option<&Val<'_>>) -> EngineSettings {
        let checks = self.dir.join(CHECKS_DIR);
        let checks_dir = checks.is_dir().then_some(checks);
        let mut engine = EngineSettings {
            state_file: self.dir.join(STATE_FILE),
            checks_dir,
            packs_dir: self.dir.join(PACKS_DIR),
            ..EngineSettings::default()
        };
        let Some(value) = value else { return engine };
        let Some(table) = value.get_ref().as_table() else {
            self.problem(value.span(), format!("key 'engine': expected a table [engine], found {}", describe(value)));
            return engine;
        };
        let cx = "[engine]";
        for (key, v) in sorted(table) {
            match key.get_ref().as_ref() {
                "state_semantics" => match v.get_ref().as_str() {
                    Some("opsview") => engine.state_semantics = Semantics::Opsview,
                    Some("nagios") => engine.state_semantics = Semantics::Nagios,
                    _ => self.bad(
                        v.span(),
                        cx,
                        "state_semantics",
                        format!("expected \"opsview\" or \"nagios\", found {}", describe(v)),
                    ),
                },
                "max_concurrent_checks" => {
                    if let Some(n) = self.integer(v, cx, "max_concurrent_checks", 1, u32::MAX.into()) {
                        engine.max_concurrent_checks = n as u32;
                    }
                }
                "keep_removed" => {
                    if let Some(d) = self.duration(v, cx, "keep_removed", true) {
                        engine.keep_removed = d;
                    }
                }
                "state_file" => {
                    if let Some(s) = self.nonempty(v, cx, "state_file", "a file name") {
                        engine.state_file = self.dir.join(s);
                    }
                }
                "checks_dir" => {
                    if let Some(s) = self.nonempty(v, cx, "checks_dir", "a folder") {
                        let dir = self.dir.join(s);
                        match std::fs::metadata(&dir) {
                            Ok(m) if m.is_dir() => engine.checks_dir = Some(dir),
                            Ok(_) => self.bad(
                                v.span(),
                                cx,
                                "checks_dir",
                                format!("expected a folder, but {} is a file", dir.display()),
                            ),
                            Err(e) => self.bad(
                                v.span(),
                                cx,
                                "checks_dir",
                                format!("expected an existing folder, cannot read {}: {e}", dir.display()),
                            ),
                        }
                    }
                }
                "packs_dir" => {
                    if let Some(s) = self.nonempty(v, cx, "packs_dir", "a folder name") {
                        engine.packs_dir = self.dir.join(s);
                    }
                }
                "history_max_age" => {
                    if let Some(d) = self.duration(v, cx, "history_max_age", false) {
                        engine.history.max_age = d;
                    }
                }
                "history_max_size" => {
                    if let Some(n) = self.size(v, cx, "history_max_size") {
                        engine.history.max_size = n as u64;
                    }
                }
                "max_discovered_items" => {
                    if let Some(n) = self.integer(v, cx, "max_discovered_items", 1, 1_000_000) {
                        engine.max_discovered_items = n as usize;
                    }
                }
                "compile_timeout" => {
                    if let Some(d) = self.duration(v, cx, "compile_timeout", false) {
                        engine.compile.time = d;
                    }
                }
                "compile_memory" => {
                    if let Some(n) = self.size(v, cx, "compile_memory") {
                        engine.compile.memory = n;
                    }
                }
                other => self.unknown(key.span(), cx, other, "[engine]", ENGINE_KEYS),
            }
        }
        engine
    }
}

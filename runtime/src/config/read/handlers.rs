//! `[[handler]]` tables.

use super::*;

impl Reader<'_> {
    pub(super) fn handler(
        &mut self,
        index: usize,
        (span, table): &(Range<usize>, &DeTable<'_>),
    ) -> Option<(Handler, Range<usize>)> {
        let name = table.get("name").and_then(|v| v.get_ref().as_str()).map(str::to_string);
        let context = match &name {
            Some(n) => format!("handler \"{n}\""),
            None => format!("[[handler]] number {}", index + 1),
        };
        let cx = context.as_str();
        let mut ok = true;
        let mut name_span = None;
        let mut module = None;
        let mut on = HandlerTrigger::default();
        let mut params = Vec::new();
        let mut grants = Grants::default();
        let mut limits = Limits::default();
        for (key, v) in sorted(table) {
            let k: &str = key.get_ref().as_ref();
            match k {
                "name" => {
                    ok &= self.nonempty(v, cx, k, "a name").is_some();
                    name_span = Some(v.span());
                }
                "module" => {
                    let Some(spec) = self.nonempty(v, cx, k, "a path to a .wasm component of world handler") else {
                        ok = false;
                        continue;
                    };
                    let path = self.dir.join(&spec);
                    match std::fs::read(&path) {
                        Ok(bytes) if bytes.starts_with(b"\0asm") => module = Some(path.display().to_string()),
                        Ok(_) => {
                            self.bad(v.span(), cx, k, format!("{} is not a WebAssembly file", path.display()));
                            ok = false;
                        }
                        Err(e) => {
                            self.bad(v.span(), cx, k, format!("cannot read {}: {e}", path.display()));
                            ok = false;
                        }
                    }
                }
                "on" => match v.get_ref().as_str() {
                    Some("result") => on = HandlerTrigger::Result,
                    Some("state-change") => on = HandlerTrigger::StateChange,
                    Some("hard-change") => on = HandlerTrigger::HardChange,
                    _ => {
                        self.bad(
                            v.span(),
                            cx,
                            k,
                            format!("expected \"result\", \"state-change\" or \"hard-change\", found {}", describe(v)),
                        );
                        ok = false;
                    }
                },
                "params" => params = self.params(v, cx),
                "grants" => match self.strings(v, cx, k, "a list of grants") {
                    Some(list) => {
                        for g in list {
                            if let Err(e) = grants.add(g.get_ref()) {
                                self.bad(g.span(), cx, k, e);
                                ok = false;
                            }
                        }
                    }
                    None => ok = false,
                },
                "timeout" => match self.duration(v, cx, k, false) {
                    Some(d) => limits.timeout = d,
                    None => ok = false,
                },
                "memory" => match self.size(v, cx, k) {
                    Some(n) => limits.memory = n,
                    None => ok = false,
                },
                "output_limit" => match self.size(v, cx, k) {
                    Some(n) => limits.output = n,
                    None => ok = false,
                },
                other => {
                    self.unknown(key.span(), cx, other, "[[handler]]", HANDLER_KEYS);
                    ok = false;
                }
            }
        }
        for key in ["name", "module"] {
            if table.get(key).is_none() {
                self.problem(span.clone(), format!("{cx}: missing key '{key}' (expected a string)"));
                ok = false;
            }
        }
        match (ok, name, module, name_span) {
            (true, Some(name), Some(module), Some(name_span)) => {
                Some((Handler { name, module, on, params, limits, grants }, name_span))
            }
            _ => None,
        }
    }
}

//! Hosts, services, templates and `[defaults]`.

use super::*;

impl Reader<'_> {
    pub(super) fn object<'i>(
        &mut self,
        kind: Kind,
        index: usize,
        (span, table): &(Range<usize>, &DeTable<'i>),
    ) -> Object {
        let str_of = |k: &str| table.get(k).and_then(|v| v.get_ref().as_str()).map(str::to_string);
        let what = match kind {
            Kind::Template => "template",
            Kind::Host => "host",
            Kind::Service => "service",
            Kind::Defaults => "defaults",
        };
        let mut context = match str_of("name") {
            Some(n) => format!("{what} \"{n}\""),
            None => format!("{} number {}", kind.header(), index + 1),
        };
        if kind == Kind::Service
            && let Some(h) = str_of("host")
        {
            context.push_str(&format!(" on host \"{h}\""));
        }
        self.object_table(kind, context, span.clone(), table)
    }

    pub(super) fn object_table(
        &mut self,
        kind: Kind,
        context: String,
        span: Range<usize>,
        table: &DeTable<'_>,
    ) -> Object {
        let cx = context.as_str();
        let mut o = Object {
            context: context.clone(),
            span: span.clone(),
            name: None,
            host: None,
            address: None,
            uses: Vec::new(),
            layer: Layer::default(),
            packs: Vec::new(),
        };
        let allowed = kind.keys();
        for (key, v) in sorted(table) {
            let k: &str = key.get_ref().as_ref();
            match Setting::get(k) {
                Some(setting) if setting.kinds.contains(&kind) => {
                    (setting.read)(self, v, cx, &mut o.layer);
                    continue;
                }
                Some(_) if kind == Kind::Defaults => {
                    let why = format!("'{k}' cannot be a default; set it on the object or in a template");
                    self.problem(key.span(), format!("{cx}: unknown key '{k}' in [defaults]: {why}"));
                    continue;
                }
                _ if !allowed.contains(&k) => {
                    self.unknown(key.span(), cx, k, kind.header(), &allowed);
                    continue;
                }
                _ => {}
            }
            match k {
                "name" => o.name = self.nonempty(v, cx, k, "a name").map(|s| Spanned::new(v.span(), s)),
                "host" => o.host = self.nonempty(v, cx, k, "a host name").map(|s| Spanned::new(v.span(), s)),
                "address" => o.address = self.nonempty(v, cx, k, "a host name or an IP address"),
                "use" => {
                    let names = match v.get_ref() {
                        DeValue::String(s) => vec![Spanned::new(v.span(), s.to_string())],
                        _ => self.strings(v, cx, k, "a template name or a list of them").unwrap_or_default(),
                    };
                    for u in names {
                        if self.templates.contains(u.get_ref()) {
                            o.uses.push(u);
                        } else {
                            let known = list(&self.templates, "templates");
                            self.bad(u.span(), cx, k, format!("no template named \"{}\" ({known})", u.get_ref()));
                        }
                    }
                }
                // Read after the loop: `pack_params` needs `packs`.
                "packs" | "pack_params" => {}
                _ => unreachable!("every own key is handled: {k}"),
            }
        }
        if kind == Kind::Host {
            o.packs = self.packs(cx, table.get("packs"), table.get("pack_params"));
        }
        let required: &[&str] = match kind {
            Kind::Defaults => &[],
            Kind::Template | Kind::Host => &["name"],
            Kind::Service => &["host", "name"],
        };
        for key in required {
            if table.get(*key).is_none() {
                self.problem(span.clone(), format!("{cx}: missing key '{key}' (expected a string)"));
            }
        }
        o
    }
}

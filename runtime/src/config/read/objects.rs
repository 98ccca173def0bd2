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
            if !allowed.contains(&k) {
                self.unknown(key.span(), cx, k, kind.header(), &allowed);
                continue;
            }
            let l = &mut o.layer;
            match k {
                "name" => o.name = self.nonempty(v, cx, k, "a name").map(|s| Spanned::new(v.span(), s)),
                "host" => o.host = self.nonempty(v, cx, k, "a host name").map(|s| Spanned::new(v.span(), s)),
                "address" => o.address = self.nonempty(v, cx, k, "a host name or an IP address"),
                "item" => l.item = self.string(v, cx, k, "a string"),
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
                "check" => {
                    o.layer.check = self.check(v, cx);
                    o.layer.check_written = true;
                }
                "params" => o.layer.params = self.params(v, cx),
                "args" => {
                    let args = self.strings(v, cx, k, "a list of plugin arguments");
                    let mut ok = args.is_some();
                    for a in args.iter().flatten() {
                        if let Err(e) = crate::plugin::expand_macros(a.get_ref(), &Default::default()) {
                            self.bad(a.span(), cx, k, e.to_string());
                            ok = false;
                        }
                    }
                    o.layer.args = args.filter(|_| ok).map(|a| a.into_iter().map(Spanned::into_inner).collect());
                }
                "check_interval" => l.check_interval = self.duration(v, cx, k, false),
                "retry_interval" => l.retry_interval = self.duration(v, cx, k, false),
                "notification_interval" => l.notification_interval = self.duration(v, cx, k, true),
                "first_notification_delay" => l.first_notification_delay = self.duration(v, cx, k, true),
                "timeout" => l.timeout = self.duration(v, cx, k, false),
                "max_check_attempts" => {
                    l.max_check_attempts = self.integer(v, cx, k, 1, u32::MAX.into()).map(|n| n as u32)
                }
                "memory" => l.memory = self.size(v, cx, k),
                "output_limit" => l.output_limit = self.size(v, cx, k),
                "timeout_state" | "stale_state" => {
                    let state = match v.get_ref().as_str().map(str::parse::<State>) {
                        Some(Ok(s)) => Some(s),
                        _ => {
                            self.bad(
                                v.span(),
                                cx,
                                k,
                                format!("expected a state: OK, WARNING, CRITICAL or UNKNOWN, found {}", describe(v)),
                            );
                            None
                        }
                    };
                    if k == "timeout_state" {
                        l.timeout_state = state;
                    } else {
                        l.stale_state = state;
                    }
                }
                "active_checks" => l.active_checks = self.boolean(v, cx, k),
                "passive_checks" => l.passive_checks = self.boolean(v, cx, k),
                "check_freshness" => l.check_freshness = self.boolean(v, cx, k),
                "freshness_threshold" => l.freshness_threshold = self.duration(v, cx, k, false),
                "parents" => l.parents = self.parents(v, cx),
                "contacts" => {
                    let names = self.strings(v, cx, k, "a list of contact names");
                    let mut ok = names.is_some();
                    for c in names.iter().flatten() {
                        if !self.contacts.contains(c.get_ref()) {
                            let known = list(&self.contacts, "contacts");
                            self.bad(c.span(), cx, k, format!("no contact named \"{}\" ({known})", c.get_ref()));
                            ok = false;
                        }
                    }
                    o.layer.contacts = names.filter(|_| ok).map(|n| n.into_iter().map(Spanned::into_inner).collect());
                }
                "event_handlers" => {
                    let names = self.strings(v, cx, k, "a list of handler names");
                    let mut ok = names.is_some();
                    for h in names.iter().flatten() {
                        if !self.handlers.contains(h.get_ref()) {
                            let known = list(&self.handlers, "handlers");
                            self.bad(h.span(), cx, k, format!("no handler named \"{}\" ({known})", h.get_ref()));
                            ok = false;
                        }
                    }
                    o.layer.event_handlers =
                        names.filter(|_| ok).map(|n| n.into_iter().map(Spanned::into_inner).collect());
                }
                "grants" => {
                    let grants = self.strings(v, cx, k, "a list of grants");
                    let mut ok = grants.is_some();
                    for g in grants.iter().flatten() {
                        if let Err(e) = Grants::default().add(g.get_ref()) {
                            self.bad(g.span(), cx, k, e);
                            ok = false;
                        }
                    }
                    o.layer.grants = grants.filter(|_| ok).map(|n| n.into_iter().map(Spanned::into_inner).collect());
                }
                "flap_detection" => match v.get_ref() {
                    DeValue::Boolean(b) => l.flap_detection = Some(*b),
                    _ => self.bad(v.span(), cx, k, format!("expected true or false, found {}", describe(v))),
                },
                "low_flap_threshold" => l.low_flap_threshold = self.percent(v, cx, k),
                "high_flap_threshold" => l.high_flap_threshold = self.percent(v, cx, k),
                // Read after the loop: `pack_params` needs `packs`.
                "packs" | "pack_params" => {}
                _ => unreachable!("every allowed key is handled: {k}"),
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

//! `[[contact]]` tables and their methods.

use super::*;

const CONTACT_KEYS: &[&str] =
    &["name", "methods", "notification_options", "host_notification_options", "service_notification_options"];

impl Reader<'_> {
    pub(super) fn contact(
        &mut self,
        index: usize,
        (span, table): &(Range<usize>, &DeTable<'_>),
    ) -> Option<(Contact, Range<usize>)> {
        let name = table.get("name").and_then(|v| v.get_ref().as_str()).map(str::to_string);
        let context = match &name {
            Some(n) => format!("contact \"{n}\""),
            None => format!("[[contact]] number {}", index + 1),
        };
        let cx = context.as_str();
        let mut methods = Vec::new();
        let mut name_span = None;
        let mut ok = true;
        let (mut options, mut host_options, mut service_options) = (None, None, None);
        for (key, v) in sorted(table) {
            match key.get_ref().as_ref() {
                "name" => {
                    ok &= self.nonempty(v, cx, "name", "a name").is_some();
                    name_span = Some(v.span());
                }
                "methods" => {
                    let Some(items) = v.get_ref().as_array() else {
                        self.bad(
                            v.span(),
                            cx,
                            "methods",
                            format!("expected a list of methods such as [{{ type = \"log\" }}], found {}", describe(v)),
                        );
                        ok = false;
                        continue;
                    };
                    for (i, m) in items.iter().enumerate() {
                        match self.method(m, &format!("{cx}: methods[{}]", i + 1)) {
                            Some(m) => methods.push(m),
                            None => ok = false,
                        }
                    }
                }
                "notification_options" => match self.option_letters(v, cx, "notification_options", "w,u,c,d,r,f,s") {
                    Some(l) => options = Some(periods::letters(&l)),
                    None => ok = false,
                },
                "host_notification_options" => {
                    match self.option_letters(v, cx, "host_notification_options", "d,u,r,f,s") {
                        Some(l) => host_options = Some(periods::letters(&l)),
                        None => ok = false,
                    }
                }
                "service_notification_options" => {
                    match self.option_letters(v, cx, "service_notification_options", "w,u,c,r,f,s") {
                        Some(l) => service_options = Some(periods::letters(&l)),
                        None => ok = false,
                    }
                }
                other => {
                    self.unknown(key.span(), cx, other, "[[contact]]", CONTACT_KEYS);
                    ok = false;
                }
            }
        }
        if name.is_none() && table.get("name").is_none() {
            self.problem(span.clone(), format!("{cx}: missing key 'name' (expected a string)"));
        }
        match (ok, name, name_span) {
            (true, Some(name), Some(name_span)) => {
                let d = NotificationOptions::default();
                let options = NotificationOptions {
                    host: host_options.or(options).unwrap_or(d.host),
                    service: service_options.or(options).unwrap_or(d.service),
                };
                Some((Contact { name, methods, options }, name_span))
            }
            _ => None,
        }
    }

    pub(super) fn method(&mut self, value: &Val<'_>, cx: &str) -> Option<Method> {
        let Some(table) = value.get_ref().as_table() else {
            self.problem(
                value.span(),
                format!("{cx}: expected a table such as {{ type = \"log\" }}, found {}", describe(value)),
            );
            return None;
        };
        let kind = table.get("type");
        let keys: &[&str] = match kind.and_then(|k| k.get_ref().as_str()) {
            Some("log") => &["type"],
            Some("webhook") => &["type", "url", "timeout"],
            Some("email") => &["type", "to", "from", "smtp"],
            _ => {
                let (span, found) = match kind {
                    Some(k) => (k.span(), describe(k)),
                    None => (value.span(), "nothing".to_string()),
                };
                self.bad(span, cx, "type", format!("expected \"log\", \"webhook\" or \"email\", found {found}"));
                return None;
            }
        };
        let kind = kind.and_then(|k| k.get_ref().as_str()).unwrap_or_default();
        let mut ok = true;
        for (key, _) in sorted(table) {
            if !keys.contains(&key.get_ref().as_ref()) {
                self.unknown(key.span(), cx, key.get_ref(), &format!("a {kind} method"), keys);
                ok = false;
            }
        }
        let field = |r: &mut Self, key: &str, what: &str, valid: &dyn Fn(&str) -> bool| -> Option<String> {
            let Some(v) = table.get(key) else {
                r.problem(value.span(), format!("{cx}: missing key '{key}' (expected {what})"));
                return None;
            };
            let s = r.string(v, cx, key, what)?;
            if !valid(&s) {
                r.bad(v.span(), cx, key, format!("expected {what}, found \"{s}\""));
                return None;
            }
            Some(s)
        };
        let method = match kind {
            "log" => Some(Method::Log),
            "webhook" => {
                let url = field(self, "url", "an http:// or https:// URL", &|s| {
                    s.starts_with("http://") && s.len() > 7 || s.starts_with("https://") && s.len() > 8
                });
                let timeout = match table.get("timeout") {
                    Some(v) => self.duration(v, cx, "timeout", false),
                    None => Some(WEBHOOK_TIMEOUT),
                };
                match (url, timeout) {
                    (Some(url), Some(timeout)) => Some(Method::Webhook { url, timeout }),
                    _ => None,
                }
            }
            _ => {
                let address = |s: &str| s.split_once('@').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty());
                let to = field(self, "to", "an email address", &address);
                let from = field(self, "from", "an email address", &address);
                let smtp = field(self, "smtp", "an SMTP server as host:port", &|s| {
                    s.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
                });
                match (to, from, smtp) {
                    (Some(to), Some(from), Some(smtp)) => Some(Method::Email { to, from, smtp }),
                    _ => None,
                }
            }
        };
        method.filter(|_| ok)
    }
}

//! Reads `[api]` and its `[[api.token]]` tables.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::{Reader, Val, describe, sorted};
use crate::config::{API_MAX_BODY, ApiLimits, ApiSettings, ApiToken, Scope, Secret};

const API_KEYS: &[&str] =
    &["listen", "max_body", "max_connections", "header_timeout", "event_buffer", "requests_per_second", "token"];
const TOKEN_KEYS: &[&str] = &["name", "token", "token_env", "scopes"];

impl Reader<'_> {
    /// `[api]`, or `None` (with problems) if it is unusable.
    pub(super) fn api(&mut self, value: &Val<'_>) -> Option<ApiSettings> {
        let Some(table) = value.get_ref().as_table() else {
            self.problem(value.span(), format!("key 'api': expected a table [api], found {}", describe(value)));
            return None;
        };
        let cx = "[api]";
        let mut ok = true;
        let mut listen = None;
        let mut max_body = API_MAX_BODY;
        let mut tokens = Vec::new();
        let mut limits = ApiLimits::default();
        for (key, v) in sorted(table) {
            match key.get_ref().as_ref() {
                "listen" => {
                    let expected = "an IP address and port such as \"127.0.0.1:8642\" or \"[::1]:8642\"";
                    match v.get_ref().as_str().map(|s| s.trim().parse::<SocketAddr>()) {
                        Some(Ok(addr)) => listen = Some(addr),
                        _ => {
                            self.bad(v.span(), cx, "listen", format!("expected {expected}, found {}", describe(v)));
                            ok = false;
                        }
                    }
                }
                "max_body" => match self.size(v, cx, "max_body") {
                    Some(n) => max_body = n,
                    None => ok = false,
                },
                "max_connections" => match self.integer(v, cx, "max_connections", 1, 1_000_000) {
                    Some(n) => limits.max_connections = n as usize,
                    None => ok = false,
                },
                "requests_per_second" => match self.integer(v, cx, "requests_per_second", 1, 1_000_000) {
                    Some(n) => limits.requests_per_second = n as u32,
                    None => ok = false,
                },
                "header_timeout" => match self.duration(v, cx, "header_timeout", false) {
                    Some(d) => limits.header_timeout = d,
                    None => ok = false,
                },
                "event_buffer" => match self.size(v, cx, "event_buffer") {
                    Some(n) => limits.event_buffer = n,
                    None => ok = false,
                },
                "token" => {
                    let expected = "an array of tables [[api.token]]";
                    let Some(items) = v.get_ref().as_array() else {
                        self.bad(v.span(), cx, "token", format!("expected {expected}, found {}", describe(v)));
                        ok = false;
                        continue;
                    };
                    let mut names: HashMap<String, usize> = HashMap::new();
                    let mut secrets: HashMap<String, String> = HashMap::new();
                    for (i, item) in items.iter().enumerate() {
                        let Some(t) = item.get_ref().as_table() else {
                            self.bad(
                                item.span(),
                                cx,
                                "token",
                                format!("expected {expected}, found {}", describe(item)),
                            );
                            ok = false;
                            continue;
                        };
                        let Some((token, name_span)) = self.token(i, item, t) else {
                            ok = false;
                            continue;
                        };
                        let context = format!("[[api.token]] \"{}\"", token.name);
                        if self.duplicate(&mut names, &token.name, name_span.clone(), &context, "token") {
                            ok = false;
                            continue;
                        }
                        if let Some(first) = secrets.insert(token.secret.expose().to_string(), token.name.clone()) {
                            // Which name a request is logged under would be a guess.
                            self.bad(
                                name_span,
                                &context,
                                "token",
                                format!("the same token as [[api.token]] \"{first}\""),
                            );
                            ok = false;
                            continue;
                        }
                        tokens.push(token);
                    }
                }
                other => {
                    self.unknown(key.span(), cx, other, "[api]", API_KEYS);
                    ok = false;
                }
            }
        }
        if table.get("listen").is_none() {
            self.problem(
                value.span(),
                format!("{cx}: missing key 'listen' (expected an IP address and port such as \"127.0.0.1:8642\")"),
            );
            ok = false;
        }
        match (ok, listen) {
            (true, Some(listen)) => Some(ApiSettings { listen, max_body, tokens, limits }),
            _ => None,
        }
    }

    /// One `[[api.token]]` and the span of its name.
    fn token(
        &mut self,
        index: usize,
        value: &Val<'_>,
        table: &toml::de::DeTable<'_>,
    ) -> Option<(ApiToken, std::ops::Range<usize>)> {
        let name = table.get("name").and_then(|v| v.get_ref().as_str()).map(str::to_string);
        let context = match &name {
            Some(n) => format!("[[api.token]] \"{n}\""),
            None => format!("[[api.token]] number {}", index + 1),
        };
        let cx = context.as_str();
        let mut ok = true;
        let mut name_span = None;
        let mut secret = None;
        let mut scopes = Vec::new();
        for (key, v) in sorted(table) {
            let k: &str = key.get_ref().as_ref();
            match k {
                "name" => {
                    ok &= self.nonempty(v, cx, k, "a name").is_some();
                    name_span = Some(v.span());
                }
                "token" => match self.nonempty(v, cx, k, "the token") {
                    Some(s) => secret = Some(s),
                    None => ok = false,
                },
                "token_env" => {
                    let Some(var) = self.nonempty(v, cx, k, "the name of an environment variable") else {
                        ok = false;
                        continue;
                    };
                    if table.get("token").is_some() {
                        // Reported below: one or the other.
                        continue;
                    }
                    match std::env::var(&var) {
                        Ok(s) if !s.trim().is_empty() => secret = Some(s),
                        Ok(_) => {
                            self.bad(
                                v.span(),
                                cx,
                                k,
                                format!("the environment variable {var} is empty (expected the token)"),
                            );
                            ok = false;
                        }
                        Err(_) => {
                            self.bad(
                                v.span(),
                                cx,
                                k,
                                format!("the environment variable {var} is not set (expected the token in it)"),
                            );
                            ok = false;
                        }
                    }
                }
                "scopes" => match self.strings(v, cx, k, "a list of scopes, \"read\" and/or \"write\",") {
                    Some(list) if list.is_empty() => {
                        self.bad(v.span(), cx, k, "expected \"read\" and/or \"write\", found an empty list");
                        ok = false;
                    }
                    Some(list) => {
                        for s in list {
                            match s.get_ref().as_str() {
                                "read" => scopes.push(Scope::Read),
                                "write" => scopes.push(Scope::Write),
                                other => {
                                    self.bad(
                                        s.span(),
                                        cx,
                                        k,
                                        format!("expected \"read\" or \"write\", found \"{other}\""),
                                    );
                                    ok = false;
                                }
                            }
                        }
                    }
                    None => ok = false,
                },
                other => {
                    self.unknown(key.span(), cx, other, "[[api.token]]", TOKEN_KEYS);
                    ok = false;
                }
            }
        }
        for key in ["name", "scopes"] {
            if table.get(key).is_none() {
                let expected = if key == "name" { "a string" } else { "a list such as [\"read\", \"write\"]" };
                self.problem(value.span(), format!("{cx}: missing key '{key}' (expected {expected})"));
                ok = false;
            }
        }
        match (table.get("token"), table.get("token_env")) {
            (Some(_), Some(both)) => {
                self.bad(both.span(), cx, "token_env", "give 'token' or 'token_env', not both");
                ok = false;
            }
            (None, None) => {
                self.problem(value.span(), format!("{cx}: missing key 'token' or 'token_env' (expected the token, or the environment variable that holds it)"));
                ok = false;
            }
            _ => {}
        }
        scopes.dedup();
        match (ok, name, secret, name_span) {
            (true, Some(name), Some(secret), Some(span)) => {
                Some((ApiToken { name, secret: Secret::new(secret), scopes }, span))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{ApiSettings, Problem, Scope, parse};

    const HOST: &str = "[[host]]\nname = \"web1\"\n";

    fn api(text: &str) -> Option<ApiSettings> {
        parse(&format!("{HOST}{text}"), Path::new("conf/wasmon.toml")).map_err(|e| e.to_string()).unwrap().api
    }

    /// The problems, with line numbers counted from the first line of `text`.
    fn problems(text: &str) -> Vec<(usize, String)> {
        let e = parse(&format!("{HOST}{text}"), Path::new("conf/wasmon.toml")).expect_err("a problem");
        println!("{e}");
        e.problems().iter().map(|p: &Problem| (p.line - 2, p.message.clone())).collect()
    }

    #[test]
    fn api_with_tokens_and_defaults() {
        assert_eq!(api(""), None);
        let a = api(
            "[api]\nlisten = \"127.0.0.1:0\"\n\n[[api.token]]\nname = \"ci\"\ntoken = \"s3cret\"\nscopes = [\"read\", \"write\"]\n\n\
             [[api.token]]\nname = \"dash\"\ntoken = \"other\"\nscopes = [\"read\"]\n",
        )
        .unwrap();
        assert_eq!(a.listen.to_string(), "127.0.0.1:0");
        assert_eq!(a.max_body, 1 << 20);
        assert_eq!(a.tokens.len(), 2);
        assert_eq!(a.tokens[0].name, "ci");
        assert_eq!(a.tokens[0].secret.expose(), "s3cret");
        assert!(a.tokens[0].allows(Scope::Write) && a.tokens[0].allows(Scope::Read));
        assert!(a.tokens[1].allows(Scope::Read) && !a.tokens[1].allows(Scope::Write));
        assert!(!format!("{a:?}").contains("s3cret"), "Debug hides the secret");
        let a = api("[api]\nlisten = \"[::1]:8642\"\nmax_body = \"64KiB\"\n").unwrap();
        assert_eq!(a.max_body, 64 << 10);
        assert!(a.tokens.is_empty());
    }

    #[test]
    fn token_from_the_environment() {
        // SAFETY: no other test reads or writes this variable.
        unsafe { std::env::set_var("WASMON_TEST_API_TOKEN_SET", "from-env") };
        let a = api("[api]\nlisten = \"127.0.0.1:1\"\n[[api.token]]\nname = \"ci\"\ntoken_env = \"WASMON_TEST_API_TOKEN_SET\"\nscopes = [\"write\"]\n").unwrap();
        assert_eq!(a.tokens[0].secret.expose(), "from-env");
        let p = problems(
            "[api]\nlisten = \"127.0.0.1:1\"\n[[api.token]]\nname = \"ci\"\ntoken_env = \"WASMON_TEST_API_TOKEN_UNSET\"\nscopes = [\"write\"]\n",
        );
        assert_eq!(
            p,
            [(5, "[[api.token]] \"ci\": key 'token_env': the environment variable WASMON_TEST_API_TOKEN_UNSET is not set (expected the token in it)".to_string())]
        );
    }

    #[test]
    fn every_problem_names_its_line_and_key() {
        assert_eq!(
            problems("[api]\nmax_body = \"1MiB\"\n"),
            [(
                1,
                "[api]: missing key 'listen' (expected an IP address and port such as \"127.0.0.1:8642\")".to_string()
            )]
        );
        let p = problems(
            "[api]\nlisten = \"localhost\"\nmax_body = \"lots\"\nport = 1\n\n\
             [[api.token]]\nname = \"ci\"\ntoken = \"a\"\nscopes = [\"read\", \"admin\"]\n\n\
             [[api.token]]\nname = \"ci\"\ntoken = \"b\"\nscopes = [\"read\"]\n\n\
             [[api.token]]\nname = \"two\"\ntoken = \"c\"\ntoken_env = \"X\"\nscopes = [\"read\"]\n\n\
             [[api.token]]\nname = \"none\"\nscopes = []\n\n\
             [[api.token]]\nname = \"same\"\ntoken = \"b\"\nscopes = [\"read\"]\n",
        );
        let expected: &[(usize, &str)] = &[
            (
                2,
                "[api]: key 'listen': expected an IP address and port such as \"127.0.0.1:8642\" or \"[::1]:8642\", found \"localhost\"",
            ),
            (
                3,
                "[api]: key 'max_body': expected a size such as \"64MiB\", \"16KiB\" or 65536 (more than zero; units B, KiB, MiB, GiB), found \"lots\"",
            ),
            (
                4,
                "[api]: unknown key 'port' in [api] (expected one of: listen, max_body, max_connections, \
                 header_timeout, event_buffer, requests_per_second, token)",
            ),
            (9, "[[api.token]] \"ci\": key 'scopes': expected \"read\" or \"write\", found \"admin\""),
            (19, "[[api.token]] \"two\": key 'token_env': give 'token' or 'token_env', not both"),
            (
                22,
                "[[api.token]] \"none\": missing key 'token' or 'token_env' (expected the token, or the environment variable that holds it)",
            ),
            (24, "[[api.token]] \"none\": key 'scopes': expected \"read\" and/or \"write\", found an empty list"),
            (27, "[[api.token]] \"same\": key 'token': the same token as [[api.token]] \"ci\""),
        ];
        let got: Vec<(usize, &str)> = p.iter().map(|(l, m)| (*l, m.as_str())).collect();
        assert_eq!(got, expected);
        let p = problems(
            "[api]\nlisten = \"127.0.0.1:1\"\n[[api.token]]\nname = \"ci\"\ntoken = \"a\"\nscopes = [\"read\"]\n\
             [[api.token]]\nname = \"ci\"\ntoken = \"b\"\nscopes = [\"read\"]\n",
        );
        assert_eq!(
            p,
            [(
                8,
                "[[api.token]] \"ci\": key 'name': duplicate token name \"ci\" (first defined on line 6)".to_string()
            )]
        );
    }
}

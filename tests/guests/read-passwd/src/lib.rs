//! Test guest `read-passwd`: `check()` tries to read `/etc/passwd` and lists
//! the environment, both of which the default policy hides.
//!
//! Partials: CRITICAL `read /etc/passwd: <error>` when reading fails (what the
//! sandbox should cause: no preopened directory), WARNING
//! `read /etc/passwd: N bytes` when it succeeds, then OK
//! `Environment variables: N` (0 under the default policy). The details list
//! the variables' names, one per line.

use guest_common::*;

struct ReadPasswd;

impl Guest for ReadPasswd {
    fn describe() -> CheckInfo {
        info(
            "read_passwd",
            "Test: Host file and environment access",
            "Reads /etc/passwd and the environment. WARN when /etc/passwd can be \
             read, CRIT when it cannot; the number of environment variables is \
             reported as well.",
            &[],
        )
    }

    fn discover(_: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(_: CheckRequest) -> Result<CheckResult, CheckError> {
        let passwd = match std::fs::read_to_string("/etc/passwd") {
            Ok(text) => partial(State::Warning, format!("read /etc/passwd: {} bytes", text.len())),
            Err(e) => partial(State::Critical, format!("read /etc/passwd: {e}")),
        };
        let names: Vec<String> = std::env::vars_os().map(|(name, _)| name.to_string_lossy().into_owned()).collect();
        let env = PartialResult {
            state: State::Ok,
            summary: format!("Environment variables: {}", names.len()),
            details: (!names.is_empty()).then(|| names.join("\n")),
        };
        Ok(result(vec![passwd, env], vec![metric("environment_variables", names.len() as f64, "")]))
    }
}

guest_common::export!(ReadPasswd);

//! The `dns` check: resolves a host name through the host's resolver and
//! judges the addresses and the response time, like the Monitoring Plugins'
//! `check_dns`.

mod expect;
mod lookup;

use std::net::IpAddr;
use std::time::Duration;

use wasmon_sdk::{
    Check, CheckError, CheckInfo, CheckRequest, CheckResult, Deadline, DiscoverRequest, Item, Levels, Manpage, Output,
    ParamInfo, RequestExt, invalid_param,
};

use expect::Expected;
use lookup::LookupError;

/// Parameters this check understands.
const PARAMS: &[&str] = &["name", "expect", "expect_all", "expect_nxdomain", "warning", "critical", "timeout"];

/// check_dns's default for `-t`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why `warning` and `critical` have no default.
const NO_DEFAULT_LEVELS: &str = "check_dns has no default levels; a normal lookup time depends on the resolver";

/// The `dns` check.
struct Dns;

impl Check for Dns {
    fn describe() -> CheckInfo {
        let [warning, critical] = ParamInfo::response_time_levels(NO_DEFAULT_LEVELS);
        CheckInfo {
            name: "dns".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            title: "Network: DNS name resolution".to_owned(),
            manpage: Manpage::new(
                "Resolves a host name to its IPv4 and IPv6 addresses with the \
                    resolver of the machine wasmon runs on (its /etc/hosts and DNS servers, as \
                    getaddrinfo sees them), and measures how long that takes, like the \
                    Monitoring Plugins' check_dns without -s. The check needs the name lookup \
                    permission (wasi:sockets/ip-name-lookup), which the default policy grants \
                    to this check.\n\
                    OK: the name resolves within the timeout, one of the 'expect' addresses is \
                    among the results (all of them, exactly, with 'expect_all'), and the \
                    response time is below the levels; with 'expect_nxdomain', the name does \
                    not exist.\n\
                    WARN: the response time is at or above the warning level.\n\
                    CRIT: the name does not exist (\"Domain 'example.invalid' was not found by the \
                    server\") or has no addresses; the resolver fails or does not answer within \
                    the timeout; the addresses do not match 'expect'; with 'expect_nxdomain', \
                    the name exists; the response time is at or above the critical level.",
            ),
            params: vec![
                ParamInfo::new("name", "The host name to resolve (check_dns -H).").default("the target's name"),
                ParamInfo::new(
                    "expect",
                    "Comma-separated addresses or CIDR networks, e.g. \
                     '192.0.2.10, 2001:db8::/32'. At least one must match a resolved address \
                     (check_dns -a).",
                ),
                ParamInfo::new(
                    "expect_all",
                    "With 'expect': every entry must match a resolved address and every \
                     resolved address must match an entry (check_dns -L).",
                )
                .default("false")
                .source("check_dns's default"),
                ParamInfo::new(
                    "expect_nxdomain",
                    "The name must not exist: OK when it is not found, CRIT when it resolves \
                     (check_dns -n). Not with 'expect'.",
                )
                .default("false")
                .source("check_dns's default"),
                warning,
                critical,
                ParamInfo::timeout("for the lookup", DEFAULT_TIMEOUT, "check_dns's default for -t"),
            ],
        }
    }

    fn discover(_req: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(req: CheckRequest) -> Result<CheckResult, CheckError> {
        let settings = Settings::from_request(&req)?;
        run(&settings)
    }
}

/// The parameters of one run, parsed and checked.
struct Settings {
    /// The name to resolve.
    name: String,
    /// Expected addresses or networks.
    expect: Option<Vec<Expected>>,
    /// check_dns -L.
    expect_all: bool,
    /// check_dns -n.
    expect_nxdomain: bool,
    /// Response time levels.
    levels: Levels,
    /// Time allowed for the lookup.
    timeout: Duration,
}

impl Settings {
    /// Parses the request's parameters.
    fn from_request(req: &CheckRequest) -> Result<Self, CheckError> {
        let p = req.params();
        p.reject_unknown(PARAMS)?;
        let name = p.get("name").unwrap_or(&req.target.name).trim().to_owned();
        if name.is_empty() {
            return Err(invalid_param("name", "no name given and the target has no name"));
        }
        let expect = p.get("expect").map(expect::parse_list).transpose().map_err(|e| invalid_param("expect", e))?;
        let expect_all = p.bool("expect_all", false)?;
        let expect_nxdomain = p.bool("expect_nxdomain", false)?;
        if expect_all && expect.is_none() {
            return Err(invalid_param("expect_all", "needs 'expect'"));
        }
        if expect_nxdomain && expect.is_some() {
            return Err(invalid_param("expect_nxdomain", "cannot be combined with 'expect'"));
        }
        let levels = p.levels_upper("warning", "critical", None)?;
        let timeout = req.io_timeout(DEFAULT_TIMEOUT)?;
        Ok(Self { name, expect, expect_all, expect_nxdomain, levels, timeout })
    }
}

/// Joins addresses for the output: `127.0.0.1, ::1`.
fn join<T: ToString>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Resolves the name and judges the answer. A name the resolver rejects as
/// malformed is a parameter error (UNKNOWN).
fn run(s: &Settings) -> Result<CheckResult, CheckError> {
    let mut out = Output::new();
    let deadline = Deadline::after(s.timeout);
    let result = lookup::resolve(&s.name, deadline);
    let elapsed = deadline.elapsed();
    let addresses: Vec<IpAddr> = match result {
        Ok(addresses) => addresses,
        Err(LookupError::NotFound) => {
            let text = format!("Domain '{}' was not found by the server", s.name);
            if s.expect_nxdomain {
                out.ok(text);
                out.response_time(elapsed, &s.levels, s.timeout);
            } else {
                out.crit(text);
            }
            return Ok(out.into_result());
        }
        Err(LookupError::InvalidName) => {
            return Err(invalid_param("name", format!("'{}' is not a valid host name", s.name)));
        }
        Err(err) => {
            out.crit(failure_text(&err, &s.name, s.timeout));
            return Ok(out.into_result());
        }
    };
    if s.expect_nxdomain {
        out.crit(format!("Domain '{}' was found by the server: {}", s.name, join(&addresses)));
        out.response_time(elapsed, &s.levels, s.timeout);
        return Ok(out.into_result());
    }
    out.ok(format!("{} resolves to {}", s.name, join(&addresses)));
    if let Some(expected) = &s.expect
        && !expect::satisfied(expected, &addresses, s.expect_all)
    {
        let how = if s.expect_all { "Expected exactly" } else { "Expected" };
        out.crit(format!("{how}: {}", join(expected)));
    }
    out.response_time(elapsed, &s.levels, s.timeout);
    Ok(out.into_result())
}

/// The one-line text for a lookup that failed other than with "not found".
fn failure_text(err: &LookupError, name: &str, timeout: Duration) -> String {
    let seconds = timeout.as_secs_f64();
    match err {
        LookupError::NotFound => format!("Domain '{name}' was not found by the server"),
        LookupError::Timeout => {
            if seconds.fract() == 0.0 {
                format!("DNS lookup of {name} timed out after {seconds:.0} seconds")
            } else {
                format!("DNS lookup of {name} timed out after {seconds} seconds")
            }
        }
        LookupError::InvalidName => format!("'{name}' is not a valid host name"),
        LookupError::Temporary => {
            format!("DNS lookup of {name} failed: temporary resolver failure (no answer)")
        }
        LookupError::Permanent => {
            format!("DNS lookup of {name} failed: permanent resolver failure")
        }
        LookupError::Denied => format!(
            "DNS lookup of {name}: name lookups are not allowed to this check by the sandbox \
             policy (grant 'dns')"
        ),
        LookupError::Other(message) => format!("DNS lookup of {name} failed: {message}"),
    }
}

wasmon_sdk::export_check!(Dns);

#[cfg(test)]
mod tests {
    use super::*;

    /// A request for target `name` without an address, with 10 s from the host.
    fn request(name: &str, params: &[(&str, &str)]) -> CheckRequest {
        CheckRequest::new(name, "", params, 10_000)
    }

    fn error(req: &CheckRequest) -> String {
        match Settings::from_request(req) {
            Err(CheckError::BadParams(m)) => m,
            Err(other) => panic!("unexpected error {other:?}"),
            Ok(_) => panic!("accepted {:?}", req.params),
        }
    }

    #[test]
    fn describe_documents_exactly_the_accepted_params() {
        let documented: Vec<String> = Dns::describe().params.into_iter().map(|p| p.name).collect();
        assert_eq!(documented, PARAMS);
    }

    #[test]
    fn name_defaults_to_the_target() {
        let s = Settings::from_request(&request("www.example.com", &[])).unwrap();
        assert_eq!(s.name, "www.example.com");
        assert!(s.expect.is_none() && !s.expect_all && !s.expect_nxdomain);
        // 90% of the 10 s the host gives the run in `request`.
        assert_eq!(s.timeout, Duration::from_secs(9));
        let s = Settings::from_request(&request("h", &[("name", "other.example")])).unwrap();
        assert_eq!(s.name, "other.example");
    }

    #[test]
    fn bad_params_name_the_parameter() {
        assert!(error(&request("", &[])).contains("'name'"));
        assert!(error(&request("h", &[("expect", "1.2.3")])).contains("'expect'"));
        assert!(error(&request("h", &[("expect_all", "true")])).contains("'expect_all'"));
        let both = [("expect", "192.0.2.1"), ("expect_nxdomain", "true")];
        assert!(error(&request("h", &both)).contains("'expect_nxdomain'"));
        assert!(error(&request("h", &[("warning", "1")])).contains("'warning'"));
    }
}

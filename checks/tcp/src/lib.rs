//! The `tcp` check: connects to a TCP port of the target host, optionally
//! sends a string and looks for an expected string in the reply, and
//! measures the response time, like the Monitoring Plugins' `check_tcp`.

mod conn;
mod text;

use std::net::SocketAddr;
use std::time::Duration;

use wasmon_sdk::{
    Check, CheckError, CheckInfo, CheckRequest, CheckResult, Deadline, DiscoverRequest, Item, Levels, Manpage, Output,
    ParamInfo, RequestExt, State, invalid_param,
};

use conn::NetError;

/// Parameters this check understands.
const PARAMS: &[&str] =
    &["port", "send", "expect", "mismatch", "refuse", "max_bytes", "warning", "critical", "timeout"];

/// The largest `max_bytes` accepted: 16 MiB, well inside the guest's
/// default 64 MiB memory limit.
const MAX_BYTES_LIMIT: usize = 16 << 20;

/// The check_tcp default for `-t`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why `warning` and `critical` have no default.
const NO_DEFAULT_LEVELS: &str = "check_tcp has no default levels; a normal response time depends on the service";

/// The `tcp` check.
struct Tcp;

impl Check for Tcp {
    fn describe() -> CheckInfo {
        let [warning, critical] = ParamInfo::response_time_levels(NO_DEFAULT_LEVELS);
        CheckInfo {
            name: "tcp".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            title: "Network: TCP port connection".to_owned(),
            manpage: Manpage::new(
                "Opens a TCP connection to a port of the target host (its address as \
                    resolved by wasmon, IPv4 or IPv6) and measures the response time, like the \
                    Monitoring Plugins' check_tcp. Optionally it sends a string after connecting \
                    and, with 'expect', reads the reply until the expected text appears, the \
                    server closes the connection, no more data arrives for 2 seconds, or the \
                    timeout passes. The response time covers the connection and, with 'expect', \
                    reading the reply.\n\
                    OK: the connection succeeds within the timeout (and the expected text is \
                    found) and the response time is below the levels.\n\
                    WARN: the response time is at or above the warning level; the reply lacks the \
                    expected text (state set by 'mismatch', default WARN as in check_tcp).\n\
                    CRIT: the connection is refused (state set by 'refuse'), fails or times out \
                    ('Socket timeout after 10 seconds'); the server closes the connection \
                    without sending anything while a reply is expected; the response time is at \
                    or above the critical level.\n\
                    The sandbox lets the check connect only to the target host's address unless \
                    the operator's policy allows more.",
            ),
            params: vec![
                ParamInfo::new("port", "TCP port to connect to, 1-65535. Required."),
                ParamInfo::new(
                    "send",
                    "String to send after connecting, for example 'HEAD / HTTP/1.0\\r\\n\\r\\n'. \
                     The escapes \\r, \\n, \\t and \\\\ are replaced (check_tcp -E -s). Without \
                     'expect' the reply is not read.",
                ),
                ParamInfo::new(
                    "expect",
                    "Text that must occur in the reply (check_tcp -e); the same escapes as \
                     'send' are replaced. The first line of the reply is shown in the output.",
                ),
                ParamInfo::new(
                    "mismatch",
                    "State when the reply lacks the expected text: ok, warn or crit \
                     (check_tcp -M).",
                )
                .default("warn")
                .source("check_tcp's default for -M"),
                ParamInfo::new("refuse", "State when the connection is refused: ok, warn or crit (check_tcp -r).")
                    .default("crit")
                    .source("check_tcp's default for -r"),
                ParamInfo::new(
                    "max_bytes",
                    "Stop reading the reply after this many bytes (check_tcp -m) and judge \
                     what arrived; 1 to 16777216.",
                )
                .default("65536")
                .source("wasmon: a bound on guest memory; check_tcp reads without limit"),
                warning,
                critical,
                ParamInfo::timeout(
                    "to connect and to receive the expected reply",
                    DEFAULT_TIMEOUT,
                    "check_tcp's default for -t",
                ),
            ],
        }
    }

    fn discover(_req: DiscoverRequest) -> Result<Vec<Item>, CheckError> {
        Ok(Vec::new())
    }

    fn check(req: CheckRequest) -> Result<CheckResult, CheckError> {
        let settings = Settings::from_request(&req)?;
        Ok(run(&settings))
    }
}

/// The parameters of one run, parsed and checked.
struct Settings {
    /// Where to connect.
    addr: SocketAddr,
    /// Bytes to send after connecting.
    send: Option<String>,
    /// Text the reply must contain.
    expect: Option<String>,
    /// State for a reply without the expected text.
    mismatch: State,
    /// State for a refused connection.
    refuse: State,
    /// Stop reading after this many bytes.
    max_bytes: usize,
    /// Response time levels.
    levels: Levels,
    /// Connect and read timeout.
    timeout: Duration,
}

impl Settings {
    /// Parses the request's parameters and target address.
    fn from_request(req: &CheckRequest) -> Result<Self, CheckError> {
        let p = req.params();
        p.reject_unknown(PARAMS)?;
        if !p.contains("port") {
            return Err(CheckError::BadParams("parameter 'port' is required".to_owned()));
        }
        let port: u16 = p.parse_in("port", 0, 1..=65_535)?;
        let send = p.get("send").map(text::unescape).transpose().map_err(|e| invalid_param("send", e))?;
        let expect = p.get("expect").map(text::unescape).transpose().map_err(|e| invalid_param("expect", e))?;
        if expect.as_deref() == Some("") {
            return Err(invalid_param("expect", "the expected text is empty"));
        }
        let mismatch = p.state("mismatch", State::Warning)?;
        let refuse = p.state("refuse", State::Critical)?;
        let max_bytes: usize = p.parse_in("max_bytes", 65_536, 1..=MAX_BYTES_LIMIT)?;
        let levels = p.levels_upper("warning", "critical", None)?;
        let timeout = req.io_timeout(DEFAULT_TIMEOUT)?;
        let ip = conn::parse_address(&req.target.address).ok_or_else(|| {
            CheckError::Failed(if req.target.name.is_empty() {
                "No target host: the tcp check needs the address of the host to connect to".to_owned()
            } else {
                format!(
                    "The target '{}' has no IP address to connect to (got '{}')",
                    req.target.name, req.target.address
                )
            })
        })?;
        Ok(Self { addr: SocketAddr::new(ip, port), send, expect, mismatch, refuse, max_bytes, levels, timeout })
    }
}

/// Runs the conversation and judges it.
fn run(s: &Settings) -> CheckResult {
    let mut out = Output::new();
    let endpoint = text::endpoint(&s.addr.ip(), s.addr.port());
    let timeout_text = text::seconds_text(s.timeout.as_secs_f64());
    let deadline = Deadline::after(s.timeout);

    let connection = match conn::connect(s.addr, deadline) {
        Ok(c) => c,
        Err(NetError::Refused) => {
            out.partial(s.refuse, format!("Connect to {endpoint}: Connection refused"));
            return out.into_result();
        }
        Err(err) => return failure(out, &err, &format!("Connect to {endpoint}"), &timeout_text),
    };
    if let Some(data) = &s.send
        && let Err(err) = connection.send(data.as_bytes(), deadline)
    {
        return failure(out, &err, &format!("Send to {endpoint}"), &timeout_text);
    }
    let reply = match &s.expect {
        None => None,
        Some(expect) => {
            let wanted = expect.as_bytes();
            match connection.receive(deadline, |d| text::contains(d, wanted) || d.len() >= s.max_bytes) {
                Ok(reply) => Some(reply),
                Err(err) => {
                    return failure(out, &err, &format!("Receive from {endpoint}"), &timeout_text);
                }
            }
        }
    };
    let elapsed = deadline.elapsed();
    drop(connection);

    out.ok(format!("Connected to {endpoint}"));
    out.response_time(elapsed, &s.levels, s.timeout);
    if let (Some(expect), Some(reply)) = (&s.expect, reply) {
        if reply.data.is_empty() {
            out.crit("No data received from host");
        } else {
            let shown = text::first_line(&reply.data);
            let full = text::printable(&reply.data[..reply.data.len().min(DETAILS_BYTES)]);
            if text::contains(&reply.data, expect.as_bytes()) {
                out.ok(format!("Response: {shown}"));
            } else {
                out.partial(s.mismatch, format!("Unexpected response: {shown}"));
            }
            if !full.is_empty() {
                out.details(full);
            }
        }
    }
    out.into_result()
}

/// How much of the reply goes into the long output.
const DETAILS_BYTES: usize = 2048;

/// The result for a conversation that failed: a timeout is check_tcp's
/// "Socket timeout after N seconds"; anything else names the step.
fn failure(mut out: Output, err: &NetError, step: &str, timeout_text: &str) -> CheckResult {
    let text = match err {
        NetError::Timeout => format!("Socket timeout after {timeout_text} seconds"),
        NetError::Refused => format!("{step}: Connection refused"),
        NetError::Denied => format!("{step}: Not allowed by the sandbox policy"),
        NetError::Other(message) => format!("{step}: {message}"),
    };
    out.crit(text);
    out.into_result()
}

wasmon_sdk::export_check!(Tcp);

#[cfg(test)]
mod tests {
    use super::*;

    /// A request for target "host" at `address`, with 10 s from the host.
    fn request(address: &str, params: &[(&str, &str)]) -> CheckRequest {
        CheckRequest::new("host", address, params, 10_000)
    }

    fn error(req: &CheckRequest) -> String {
        match Settings::from_request(req) {
            Err(CheckError::BadParams(m) | CheckError::Failed(m)) => m,
            Err(other) => panic!("unexpected error {other:?}"),
            Ok(_) => panic!("accepted {:?}", req.params),
        }
    }

    #[test]
    fn describe_documents_exactly_the_accepted_params() {
        let documented: Vec<String> = Tcp::describe().params.into_iter().map(|p| p.name).collect();
        assert_eq!(documented, PARAMS);
    }

    #[test]
    fn defaults_follow_check_tcp() {
        let s = Settings::from_request(&request("192.0.2.1", &[("port", "22")])).unwrap();
        assert_eq!(s.addr, "192.0.2.1:22".parse().unwrap());
        assert_eq!((s.mismatch, s.refuse), (State::Warning, State::Critical));
        // 90% of the 10 s the host gives the run in `request`.
        assert_eq!(s.timeout, Duration::from_secs(9));
        assert!(s.levels.is_none());
        assert_eq!((s.send, s.expect), (None, None));
    }

    #[test]
    fn params_are_parsed() {
        let s = Settings::from_request(&request(
            "2001:db8::1",
            &[
                ("port", "25"),
                ("send", r"EHLO x\r\n"),
                ("expect", "250"),
                ("mismatch", "crit"),
                ("refuse", "ok"),
                ("warning", "0.5"),
                ("critical", "1"),
                ("timeout", "2.5"),
            ],
        ))
        .unwrap();
        assert_eq!(s.addr, "[2001:db8::1]:25".parse().unwrap());
        assert_eq!(s.send.as_deref(), Some("EHLO x\r\n"));
        assert_eq!((s.mismatch, s.refuse), (State::Critical, State::Ok));
        assert_eq!(s.levels, Levels::upper(0.5, 1.0));
        assert_eq!(s.timeout, Duration::from_millis(2500));
    }

    #[test]
    fn bad_params_name_the_parameter() {
        assert!(error(&request("192.0.2.1", &[])).contains("'port' is required"));
        assert!(error(&request("192.0.2.1", &[("port", "0")])).contains("'port'"));
        assert!(error(&request("192.0.2.1", &[("port", "22"), ("expect", "")])).contains("'expect'"));
        assert!(error(&request("192.0.2.1", &[("port", "22"), ("send", r"\z")])).contains("'send'"));
        assert!(error(&request("192.0.2.1", &[("port", "22"), ("bogus", "1")])).contains("bogus"));
        assert!(error(&request("", &[("port", "22")])).contains("has no IP address"));
    }
}

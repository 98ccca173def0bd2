//! The `http` check: sends one GET or HEAD request to a web server of the
//! target host and judges the status code, the response time and optionally
//! the page content, like the Monitoring Plugins' `check_http`.

mod client;
mod url;

use std::time::Duration;

use wasmon_sdk::{
    Check, CheckError, CheckInfo, CheckRequest, CheckResult, Deadline, DiscoverRequest, Item, Levels, Manpage, Metric,
    Output, ParamInfo, RequestExt, State, invalid_param, render,
};

use client::{FetchError, Request};
use url::Url;

/// Parameters this check understands.
const PARAMS: &[&str] = &[
    "url",
    "port",
    "path",
    "ssl",
    "method",
    "expect",
    "onredirect",
    "body",
    "max_body",
    "warning",
    "critical",
    "timeout",
];

/// check_http's default for `-t`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why `warning` and `critical` have no default.
const NO_DEFAULT_LEVELS: &str = "check_http has no default levels; a normal response time depends on the site";

/// Default for `max_body`: 1 MiB.
const DEFAULT_MAX_BODY: u64 = 1 << 20;

/// The largest `max_body` accepted: 16 MiB, well inside the guest's default
/// 64 MiB memory limit.
const MAX_BODY_LIMIT: u64 = 16 << 20;

/// The `http` check.
struct Http;

impl Check for Http {
    fn describe() -> CheckInfo {
        let [warning, critical] = ParamInfo::response_time_levels(NO_DEFAULT_LEVELS);
        CheckInfo {
            name: "http".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            title: "Network: HTTP(S) web server".to_owned(),
            manpage: Manpage::new(
                "Sends one HTTP/1.1 GET or HEAD request to a web server of the \
                    target host, over TLS with 'ssl' or an https URL, and reads the response, \
                    like the Monitoring Plugins' check_http. Redirects are not followed. The \
                    response time covers connecting, the request and reading the body; the page \
                    size is the size of the body (check_http also counts the headers). TLS \
                    certificates are verified against the public web PKI roots built into \
                    wasmon.\n\
                    OK: the status is 2xx, or 3xx with 'onredirect' ok (the default), or one of \
                    the 'expect' codes; the body contains the 'body' text; the response time is \
                    below the levels.\n\
                    WARN: the status is 4xx (without 'expect'); a 3xx with 'onredirect' warn; \
                    the response time is at or above the warning level.\n\
                    CRIT: the status is 5xx (without 'expect') or not one of the 'expect' codes; \
                    the 'body' text is missing; the server cannot be reached, refuses the \
                    connection, fails TLS or answers not at all within the timeout ('Socket \
                    timeout after 10 seconds'); the request is not allowed by the sandbox \
                    policy (by default only the target host may be contacted); the response time \
                    is at or above the critical level.",
            ),
            params: vec![
                ParamInfo::new(
                    "url",
                    "The full URL to request, http:// or https://, e.g. \
                     'https://www.example.com/health'. Replaces 'ssl', 'port' and 'path'.",
                )
                .default(
                    "http://<host>:<port><path> from the target's name (its address when \
                     it has no name) and the parameters below",
                ),
                ParamInfo::new("port", "TCP port, 1-65535.").default("80, or 443 with 'ssl'"),
                ParamInfo::new("path", "Path and query to request.").default("/"),
                ParamInfo::new("ssl", "Use https (true or false).").default("false"),
                ParamInfo::new("method", "GET or HEAD.").default("GET").source("check_http's default"),
                ParamInfo::new(
                    "expect",
                    "Comma-separated status codes that are OK, e.g. '200,204'; any other status \
                     is CRIT (check_http -e).",
                )
                .default("none: 2xx OK, 3xx per 'onredirect', 4xx WARN, 5xx CRIT")
                .source("check_http's status rules"),
                ParamInfo::new(
                    "onredirect",
                    "State for a 3xx status when 'expect' is not given: ok, warn, crit or \
                     unknown (check_http -f; redirects are not followed).",
                )
                .default("ok")
                .source("check_http's default for -f"),
                ParamInfo::new(
                    "body",
                    "Text that must occur in the body (within 'max_body' bytes), else CRIT \
                     (check_http -s). Not with HEAD.",
                ),
                ParamInfo::new(
                    "max_body",
                    "Read at most this many bytes of the body (0 to 16777216); the rest is \
                     not read.",
                )
                .default("1048576 (1 MiB)")
                .source("wasmon: a bound on guest memory and transfer"),
                warning,
                critical,
                ParamInfo::timeout("for the whole request", DEFAULT_TIMEOUT, "check_http's default for -t"),
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
    /// What to request.
    url: Url,
    /// HEAD instead of GET.
    head: bool,
    /// Status codes that are OK; none means check_http's default rules.
    expect: Option<Vec<u16>>,
    /// State for 3xx without `expect`.
    onredirect: State,
    /// Text the body must contain.
    body: Option<String>,
    /// Body bytes to read at most.
    max_body: u64,
    /// Response time levels.
    levels: Levels,
    /// Time allowed for everything.
    timeout: Duration,
}

impl Settings {
    /// Parses the request's parameters and builds the URL.
    fn from_request(req: &CheckRequest) -> Result<Self, CheckError> {
        let p = req.params();
        p.reject_unknown(PARAMS)?;
        let url = match p.get("url") {
            Some(text) => {
                for other in ["port", "path", "ssl"] {
                    if p.get(other).is_some() {
                        return Err(invalid_param(other, "cannot be combined with 'url'"));
                    }
                }
                Url::parse(text.trim()).map_err(|e| invalid_param("url", e))?
            }
            None => {
                let tls = p.bool("ssl", false)?;
                let port: u16 = p.parse_in("port", if tls { 443 } else { 80 }, 1..=65_535)?;
                let path = p.get("path").unwrap_or("/");
                let host = if req.target.name.is_empty() { &req.target.address } else { &req.target.name };
                if host.is_empty() {
                    return Err(invalid_param("url", "the target has no name or address; give a URL"));
                }
                Url::from_parts(tls, host, port, path).map_err(|e| invalid_param("path", e))?
            }
        };
        let head = match p.get("method").map(|m| m.trim().to_ascii_uppercase()).as_deref() {
            None | Some("GET") => false,
            Some("HEAD") => true,
            Some(other) => {
                return Err(invalid_param("method", format!("'{other}' is not GET or HEAD")));
            }
        };
        let expect = p.get("expect").map(url::parse_codes).transpose().map_err(|e| invalid_param("expect", e))?;
        let onredirect = p.state("onredirect", State::Ok)?;
        let body = p.get("body").map(str::to_owned);
        if body.as_deref() == Some("") {
            return Err(invalid_param("body", "the expected text is empty"));
        }
        if head && body.is_some() {
            return Err(invalid_param("body", "a HEAD response has no body to search"));
        }
        let max_body: u64 = p.parse_in("max_body", DEFAULT_MAX_BODY, 0..=MAX_BODY_LIMIT)?;
        let levels = p.levels_upper("warning", "critical", None)?;
        let timeout = req.io_timeout(DEFAULT_TIMEOUT)?;
        Ok(Self { url, head, expect, onredirect, body, max_body, levels, timeout })
    }
}

/// The state of a status code under check_http's rules.
fn status_state(code: u16, expect: Option<&[u16]>, onredirect: State) -> State {
    match expect {
        Some(codes) => {
            if codes.contains(&code) {
                State::Ok
            } else {
                State::Critical
            }
        }
        None => match code {
            200..=299 => State::Ok,
            300..=399 => onredirect,
            400..=499 => State::Warning,
            // 5xx and anything outside 100-599; 1xx never arrives as a final
            // response.
            _ => State::Critical,
        },
    }
}

/// Sends the request and judges the response.
fn run(s: &Settings) -> CheckResult {
    let mut out = Output::new();
    let request = Request { tls: s.url.tls, authority: s.url.authority(), path: s.url.path.clone(), head: s.head };
    let deadline = Deadline::after(s.timeout);
    let response = match client::fetch(&request, deadline, s.timeout, s.max_body) {
        Ok(response) => response,
        Err(err) => {
            out.crit(failure_text(&err, &s.url, s.timeout));
            return out.into_result();
        }
    };
    let elapsed = deadline.elapsed();

    let status = url::status_text(response.status);
    let state = status_state(response.status, s.expect.as_deref(), s.onredirect);
    match &s.expect {
        Some(codes) if state != State::Ok => {
            let list: Vec<String> = codes.iter().map(u16::to_string).collect();
            out.partial(state, format!("Status: {status} (expected {})", list.join(", ")));
        }
        _ => {
            out.partial(state, format!("Status: {status}"));
        }
    }
    if let Some(location) = &response.location {
        out.details(format!("Location: {location}"));
    }
    out.response_time(elapsed, &s.levels, s.timeout);
    let size = response.body.len() as u64;
    if response.truncated {
        out.ok(format!("Page size: {} (stopped reading at max_body)", render::bytes(size as f64)));
    } else {
        out.ok(format!("Page size: {}", render::bytes(size as f64)));
    }
    if let Some(wanted) = &s.body
        && !contains(&response.body, wanted.as_bytes())
    {
        if response.truncated {
            out.crit(format!(
                "String '{wanted}' not found in the first {} of '{}'",
                render::bytes(size as f64),
                s.url.display()
            ));
        } else {
            out.crit(format!("String '{wanted}' not found on '{}'", s.url.display()));
        }
    }
    out.metric(Metric::bytes("size", size as f64).min(0.0));
    out.into_result()
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// The one-line text for a request that got no response.
fn failure_text(err: &FetchError, url: &Url, timeout: Duration) -> String {
    let seconds = timeout.as_secs_f64();
    let timeout_text = if seconds.fract() == 0.0 { format!("{seconds:.0}") } else { format!("{seconds}") };
    let place = format!("{}:{}", url.host, url.port);
    match err {
        FetchError::Timeout => format!("Socket timeout after {timeout_text} seconds"),
        FetchError::Request(message) => format!("Invalid request for {}: {message}", url.display()),
        FetchError::Body(message) => format!("Reading the response body failed: {message}"),
        FetchError::Http(code) => {
            use wasmon_sdk::wasi::http::types::ErrorCode as E;
            match code {
                E::DnsTimeout => format!("DNS lookup of {} timed out", url.host),
                E::DnsError(payload) => match &payload.rcode {
                    Some(rcode) => format!("DNS lookup of {} failed: {rcode}", url.host),
                    None => format!("DNS lookup of {} failed", url.host),
                },
                E::DestinationNotFound => format!("Host {} not found", url.host),
                E::DestinationUnavailable => format!("Connect to {place}: Host unavailable"),
                E::DestinationIpProhibited | E::HttpRequestDenied => {
                    format!("Request to {place} not allowed by the sandbox policy")
                }
                E::DestinationIpUnroutable => format!("Connect to {place}: No route to host"),
                E::ConnectionRefused => format!("Connect to {place}: Connection refused"),
                E::ConnectionTerminated => format!("Connection to {place} closed unexpectedly"),
                E::ConnectionTimeout
                | E::ConnectionReadTimeout
                | E::ConnectionWriteTimeout
                | E::HttpResponseTimeout => {
                    format!("Socket timeout after {timeout_text} seconds")
                }
                E::ConnectionLimitReached => {
                    format!("Connect to {place}: Connection limit reached")
                }
                E::TlsProtocolError => format!("TLS handshake with {place} failed"),
                E::TlsCertificateError => format!("TLS certificate of {place} not valid"),
                E::TlsAlertReceived(alert) => match &alert.alert_message {
                    Some(message) => format!("TLS alert from {place}: {message}"),
                    None => format!("TLS alert from {place}"),
                },
                E::HttpResponseIncomplete => format!("Incomplete HTTP response from {place}"),
                E::HttpProtocolError => format!("Invalid HTTP response from {place}"),
                E::InternalError(Some(message)) => format!("Request to {place} failed: {message}"),
                other => format!("Request to {place} failed: {other:?}"),
            }
        }
    }
}

wasmon_sdk::export_check!(Http);

#[cfg(test)]
mod tests {
    use super::*;

    /// A request with 10 s from the host.
    fn request(name: &str, address: &str, params: &[(&str, &str)]) -> CheckRequest {
        CheckRequest::new(name, address, params, 10_000)
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
        let documented: Vec<String> = Http::describe().params.into_iter().map(|p| p.name).collect();
        assert_eq!(documented, PARAMS);
    }

    #[test]
    fn status_rules_follow_check_http() {
        assert_eq!(status_state(200, None, State::Ok), State::Ok);
        assert_eq!(status_state(204, None, State::Ok), State::Ok);
        assert_eq!(status_state(301, None, State::Ok), State::Ok);
        assert_eq!(status_state(302, None, State::Warning), State::Warning);
        assert_eq!(status_state(404, None, State::Ok), State::Warning);
        assert_eq!(status_state(500, None, State::Ok), State::Critical);
        assert_eq!(status_state(503, None, State::Ok), State::Critical);
        assert_eq!(status_state(404, Some(&[404]), State::Ok), State::Ok);
        assert_eq!(status_state(200, Some(&[201, 204]), State::Ok), State::Critical);
    }

    #[test]
    fn url_defaults_to_the_target() {
        let s = Settings::from_request(&request("www.example.com", "192.0.2.1", &[])).unwrap();
        assert_eq!(s.url.display(), "http://www.example.com/");
        assert!(!s.head && s.expect.is_none() && s.body.is_none());
        assert_eq!(s.max_body, 1 << 20);
        // 90% of the 10 s the host gives the run in `request`.
        assert_eq!(s.timeout, Duration::from_secs(9));

        let s = Settings::from_request(&request(
            "",
            "2001:db8::1",
            &[("ssl", "yes"), ("path", "status?x=1"), ("method", "head")],
        ))
        .unwrap();
        assert_eq!(s.url.display(), "https://[2001:db8::1]/status?x=1");
        assert!(s.head);

        let s = Settings::from_request(&request("h", "192.0.2.1", &[("port", "8080")])).unwrap();
        assert_eq!(s.url.authority(), "h:8080");
    }

    #[test]
    fn bad_params_name_the_parameter() {
        let r = |p: &[(&str, &str)]| error(&request("h", "192.0.2.1", p));
        assert!(r(&[("url", "http://h/"), ("path", "/x")]).contains("'path'"));
        assert!(r(&[("url", "gopher://h/")]).contains("'url'"));
        assert!(r(&[("method", "POST")]).contains("'method'"));
        assert!(r(&[("method", "HEAD"), ("body", "x")]).contains("'body'"));
        assert!(r(&[("expect", "abc")]).contains("'expect'"));
        assert!(r(&[("onredirect", "maybe")]).contains("'onredirect'"));
        assert!(r(&[("port", "65536")]).contains("'port'"));
        assert!(r(&[("timeout", "0")]).contains("'timeout'"));
        assert!(error(&request("", "", &[])).contains("no name or address"));
    }
}
